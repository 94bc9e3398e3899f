"""The compiled attribute encoder writes what the Python one writes, and leaves the rest to it.

``_key_values.encode`` shortcuts ``orjson.dumps(plain_key_values(group))[1:-1]``: both are fed the
same groups (hand-picked edge cases and random ones) and must give the same JSON, value for value;
whatever the compiled encoder declines (None) goes through Python unchanged. ``encode_groups``
shortcuts ``GroupEncoder``'s Python loop: the same bytes, the same tables. The JSON sink's whole
output is compared with each encoder too.
"""

from __future__ import annotations

import enum
import math
import random
import struct
import sys
from typing import Any

import orjson
import pytest

from harness.requirements import unavailable
from otel_ml_logging.export import json_sink, key_values
from otel_ml_logging.export.key_values import (
    GroupEncoder,
    compiled_encode_groups,
    compiled_key_values_json,
    plain_key_values,
    python_key_values_json,
)
from otel_ml_logging.prediction.fields import Attributes
from otel_ml_logging.prediction.telemetry import PredictionTelemetry, SharedAttributes
from tests.plugin.export.test_sinks import CASES, _facts, _model


@pytest.fixture
def compiled() -> Any:
    if compiled_key_values_json is None or compiled_encode_groups is None:
        unavailable(
            "the compiled attribute encoder", "otel_ml_logging/export/_key_values.c was not built (pip install -e .)"
        )
    return compiled_key_values_json


def _encoded_as_shipped(group: Attributes) -> bytes:
    """One group through the encoder the JSON sink uses (compiled, declined groups through Python)."""
    return GroupEncoder().encode((group,), {})


def _items(encoded: bytes) -> list[Any]:
    return orjson.loads(b"[" + encoded + b"]")  # type: ignore[no-any-return]


class Color(str, enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


EDGE_CASES: list[Attributes] = [
    {},
    {"city": "oslo"},
    {"temperature": 21.5, "city": "oslo", "count": 3, "ok": True, "bad": False},
    {"int64 max": 2**63 - 1, "int64 min": -(2**63), "zero": 0, "negative": -7},
    {"small": 5e-324, "large": 1.7976931348623157e308, "tenth": 0.1, "exp": 1e20, "tiny": 1e-7, "negzero": -0.0},
    {"escapes": 'quote" backslash\\ newline\n tab\t cr\r bs\b ff\f nul\x00 unit\x1f del\x7f slash/'},
    {"unicode": "é 日本語 😀 \u2028\u2029", "ключ": "значение"},
    {"": ""},
]
DECLINED: list[Attributes] = [
    {"nan": math.nan},
    {"inf": math.inf},
    {"int beyond 64 bits": 2**64},
    {"bytes": b"\xff"},
    {"sequence": [1, 2]},
    {"enum str": Color.RED},
    {"enum int": Level.HIGH},
    {"none": None},
]


@pytest.mark.parametrize("group", EDGE_CASES, ids=lambda group: ",".join(group) or "empty")
def test_compiled_writes_what_python_writes(compiled: Any, group: Attributes) -> None:
    ours, reference = compiled(group), python_key_values_json(group)
    assert ours is not None
    assert _items(ours) == _items(reference) == plain_key_values(group)
    if not any(type(value) is float for value in group.values()):
        assert ours == reference  # floats aside (repr vs orjson's notation), the same bytes
    assert _encoded_as_shipped(group) == ours


@pytest.mark.parametrize("group", DECLINED, ids=lambda group: next(iter(group)))
def test_values_it_does_not_write_go_through_python(compiled: Any, group: Attributes) -> None:
    assert compiled(group) is None
    assert _encoded_as_shipped(group) == python_key_values_json(group)


def test_a_string_that_is_not_utf8_fails_as_in_python(compiled: Any) -> None:
    group: Attributes = {"surrogate": "\ud800"}
    assert compiled(group) is None
    with pytest.raises(orjson.JSONEncodeError):
        python_key_values_json(group)
    with pytest.raises(orjson.JSONEncodeError):
        _encoded_as_shipped(group)


def test_not_a_dict_is_a_type_error(compiled: Any) -> None:
    with pytest.raises(TypeError, match="dict"):
        compiled([("key", "value")])


def _random_value(rng: random.Random) -> Any:
    kind = rng.randrange(5)
    if kind == 0:
        alphabet = [chr(c) for c in range(0x00, 0x80)] + ["é", "日", "😀", "\u2028", "\ufeff"]
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(40)))
    if kind == 1:
        return rng.randrange(-(2**63), 2**63)
    if kind == 2:  # any finite double, from its bits
        while not math.isfinite(value := struct.unpack("<d", rng.randbytes(8))[0]):
            pass
        return value
    if kind == 3:
        return rng.uniform(-1e6, 1e6)
    return rng.random() < 0.5


def test_random_groups_give_the_same_values(compiled: Any) -> None:
    rng = random.Random(20261205)
    for _ in range(3000):
        group = {f"k{i}\n{rng.random()}": _random_value(rng) for i in range(rng.randrange(8))}
        ours = compiled(group)
        assert ours is not None, group
        assert _items(ours) == _items(python_key_values_json(group)), group


def test_references_are_kept_balanced(compiled: Any) -> None:
    value = "a value seen once" * 3
    group: Attributes = {"key": value, "number": 1.5}
    before = sys.getrefcount(value)
    for _ in range(1000):
        compiled(group)
        compiled({"declined": b"x", "key": value})
    assert sys.getrefcount(value) == before


def _encoders() -> tuple[GroupEncoder, GroupEncoder]:
    return GroupEncoder(limit=2), GroupEncoder(limit=2, compiled=False)


def test_groups_are_joined_and_each_encoded_once_per_prediction(compiled: Any) -> None:
    model = SharedAttributes({"ml.model.name": "m", "ml.model.version": "1"})
    code = SharedAttributes({"code.function.name": "f"})
    other = SharedAttributes({"one": "too many"})
    identity: Attributes = {"ml.prediction.id": "p1"}
    declined: Attributes = {"payload": b"\x00"}  # type: ignore[dict-item]
    span = (model, identity, {}, code, declined, other)
    record = (model, identity, declined)
    results = []
    for encoder in _encoders():
        table = encoder.prediction_table()
        assert table == {}
        joined = encoder.encode(span, table), encoder.encode(record, table)
        results.append((joined, table, encoder.prediction_table()))
        for group in (model, identity, code, declined, other):
            assert table[id(group)] == python_key_values_json(group)
        # the shared groups, up to the limit: the model's and the code's, not the third
        assert encoder.prediction_table() == {id(model): table[id(model)], id(code): table[id(code)]}
        assert encoder.encode((identity,), encoder.prediction_table()) == python_key_values_json(identity)
    (compiled_result, python_result) = results
    assert compiled_result == python_result
    (span_items, record_items), _, _ = compiled_result
    parts = [python_key_values_json(g) for g in (model, identity, code, declined, other)]
    assert span_items == b",".join(parts)
    assert record_items == b",".join([parts[0], parts[1], parts[3]])
    assert _items(span_items)  # valid JSON


def test_a_table_entry_is_used_as_it_is(compiled: Any) -> None:
    group: Attributes = {"key": "value"}
    for encoder in _encoders():
        assert encoder.encode((group, group), {id(group): b'"given"'}) == b'"given","given"'


def test_a_group_that_cannot_be_encoded_raises_as_in_python(compiled: Any) -> None:
    for encoder in _encoders():
        with pytest.raises(orjson.JSONEncodeError):
            encoder.encode(({"surrogate": "\ud800"},), {})


def _encoded(telemetry: PredictionTelemetry) -> tuple[Any, list[Any]]:
    """A fresh JSON sink's span and records, without the observed time (the sink's own clock)."""
    span, records = json_sink.JsonSink(None, None).encode(telemetry)  # type: ignore[arg-type]
    return span, [{k: v for k, v in record.items() if k != "observedTimeUnixNano"} for record in records]


@pytest.mark.parametrize("case", CASES)
def test_the_json_sink_writes_the_same_with_either_encoder(
    compiled: Any, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    telemetry = _model([]).build(_facts(case))
    with_compiled = _encoded(telemetry)
    monkeypatch.setattr(key_values, "compiled_encode_groups", None)
    assert _encoded(telemetry) == with_compiled
