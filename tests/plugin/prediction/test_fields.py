from __future__ import annotations

import datetime
import enum
import math

import pytest
from pydantic import BaseModel

from otel_ml_logging.prediction.config import TRUNCATION_MARKER
from otel_ml_logging.prediction.fields import to_attribute_value, truncate


class Colour(enum.Enum):
    RED = "red"


class Nested(BaseModel):
    a: int
    b: list[float]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (3, 3),
        (2**70, str(2**70)),
        (1.5, 1.5),
        (math.nan, "NaN"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        ("text", "text"),
        (b"caf\xc3\xa9", "café"),
        (b"\xff", "\\xff"),
        (Colour.RED, "red"),
        (datetime.date(2026, 11, 23), "2026-11-23"),
        ({"b": 1, "a": [1, 2]}, '{"a": [1, 2], "b": 1}'),
        ([1, "x", None], '[1, "x", null]'),
        (Nested(a=1, b=[0.5]), '{"a": 1, "b": [0.5]}'),
        ({"x": math.nan}, "{'x': nan}"),
        (None, None),
    ],
)
def test_values_become_valid_attribute_values(value, expected):
    assert to_attribute_value(value, 1024) == expected


def test_unknown_objects_are_stringified():
    class Thing:
        def __str__(self):
            return "thing!"

    assert to_attribute_value(Thing(), 1024) == '"thing!"'


def test_truncation_keeps_the_limit_and_ends_with_the_marker():
    text = "x" * 100
    cut = truncate(text, 40)
    assert len(cut) == 40
    assert cut.endswith(TRUNCATION_MARKER)
    assert truncate("short", 40) == "short"
    assert len(to_attribute_value("y" * 10_000_000, 1024)) == 1024


@pytest.mark.parametrize(
    "value",
    [1.5, math.nan, -math.inf, 7, 2**70, True, "s", "z" * 3000, b"\xff", {"a": [1]}, None, Colour.RED],
)
def test_recorded_fields_follow_the_same_rules_as_attribute_values(value):
    from otel_ml_logging.prediction.config import LoggingDecoratorConfig
    from otel_ml_logging.prediction.fields import FieldRecorder

    recorder = FieldRecorder(LoggingDecoratorConfig(input_fields=["v"], max_value_length=64))
    converted = to_attribute_value(value, 64)
    expected = {} if converted is None else {"ml.prediction.input.v": converted}
    for payload in ({"v": value}, Holder(v=value)):
        recorded = recorder.inputs(payload)
        assert recorded == expected
        assert [type(v) for v in recorded.values()] == [type(v) for v in expected.values()]


class Holder(BaseModel):
    v: object = None
