"""Bad input, table-driven: each row names the input and the exact outcome.

Four families are here: prediction values that are hard to record, bad configuration variables,
invalid collector configuration (checked by the real ``otelcol-ml validate``), bad rest-model-service
configuration (``otel-ml-logging check``). Other families are
covered where their code is tested; README.md ("Bad input") lists every row with where it lives.
"""

from __future__ import annotations

import logging
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ml_base import MLModel
from pydantic import BaseModel, ConfigDict

from harness import REPO_ROOT
from harness.collector import CollectorError, build_collector
from harness.requirements import unavailable
from otel_ml_logging import OTelLoggingDecorator
from otel_ml_logging.prediction.config import TRUNCATION_MARKER
from otel_ml_logging.setup.settings import Settings
from otel_ml_logging.testing import capture_telemetry


class EchoInput(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    value: Any = None


class EchoOutput(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    echo: Any = None


class EchoModel(MLModel):
    display_name, qualified_name, description, version = "Echo", "echo", "Returns its input.", "1"
    input_schema, output_schema = EchoInput, EchoOutput

    def __init__(self) -> None:
        pass

    def predict(self, data: EchoInput) -> EchoOutput:
        return EchoOutput(echo=data.value)


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    __repr__ = __str__


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def cyclic() -> list[Any]:
    value: list[Any] = []
    value.append(value)
    return value


NOT_RECORDED = object()  # the attribute is left out and the failure counted (one for the input, one for the output)

VALUES = [
    ("NaN", math.nan, "NaN"),
    ("+inf", math.inf, "Infinity"),
    ("-inf", -math.inf, "-Infinity"),
    ("bytes, invalid UTF-8", b"ok\xff\xfe", "ok\\xff\\xfe"),
    ("10 MB string", "x" * 10_000_000, "x" * (1024 - len(TRUNCATION_MARKER)) + TRUNCATION_MARKER),
    ("integer beyond 64 bits", 2**100, str(2**100)),
    ("set (not JSON)", {1, 2}, '"{1, 2}"'),
    ("dict with non-string keys", {1: "a", (1, 2): "b"}, "{1: 'a', (1, 2): 'b'}"),
    ("self-containing list", cyclic(), "[[...]]"),
    ("100,000 levels of nesting", nested(100_000), NOT_RECORDED),
    ("__str__ and __repr__ raise", Unprintable(), NOT_RECORDED),
]


@pytest.mark.parametrize(("value", "expected"), [row[1:] for row in VALUES], ids=[row[0] for row in VALUES])
def test_prediction_values(value, expected):
    model = OTelLoggingDecorator(input_fields=["value"], output_fields=["echo"]).set_model(EchoModel())
    with capture_telemetry(model) as captured:
        result = model.predict(EchoInput(value=value))
        after = model.predict(EchoInput(value=1))  # the next prediction is not affected
    assert result.echo is value  # the prediction's result is unchanged
    assert after.echo == 1
    first, second = captured.spans
    assert captured.event_names() == ["ml.prediction.requested", "ml.prediction.created"] * 2
    assert second.attributes["ml.prediction.input.value"] == 1
    if expected is NOT_RECORDED:
        assert "ml.prediction.input.value" not in first.attributes
        assert model.telemetry_failures == 2
    else:
        assert first.attributes["ml.prediction.input.value"] == expected
        assert first.attributes["ml.prediction.output.echo"] == expected
        assert model.telemetry_failures == 0


VARIABLES = [
    # variable, value, what the settings hold instead, the warning's words
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpcc", ("protocols", "traces", "grpc"), "'grpcc' is not one of"),
    ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http", ("protocols", "logs", "grpc"), "'http' is not one of"),
    ("OTEL_ML_LOGGING_QUEUE_SIZE", "0", ("engine", "queue_size", 32768), "'0' is not a positive integer"),
    ("OTEL_ML_LOGGING_QUEUE_SIZE", "-5", ("engine", "queue_size", 32768), "'-5' is not a positive integer"),
    ("OTEL_ML_LOGGING_QUEUE_SIZE", "lots", ("engine", "queue_size", 32768), "'lots' is not a positive integer"),
    ("OTEL_ML_LOGGING_SHUTDOWN_TIMEOUT", "soon", ("shutdown_timeout", None, 3.0), "'soon' is not a number of"),
    ("OTEL_ML_LOGGING_SHUTDOWN_TIMEOUT", "-1", ("shutdown_timeout", None, 3.0), "'-1' is not a number of"),
    ("OTEL_ML_LOGGING_SHUTDOWN_TIMEOUT", "inf", ("shutdown_timeout", None, 3.0), "'inf' is not a number of"),
    ("OTEL_ML_LOGGING_SHUTDOWN_TIMEOUT", "nan", ("shutdown_timeout", None, 3.0), "'nan' is not a number of"),
]


@pytest.mark.parametrize(
    ("variable", "value", "fallback", "warning"), VARIABLES, ids=[f"{row[0]}={row[1]}" for row in VARIABLES]
)
def test_bad_variables_warn_naming_them_and_fall_back(variable, value, fallback, warning, caplog):
    with caplog.at_level(logging.WARNING):
        settings = Settings.resolve(environ={variable: value})
    attribute, key, expected = fallback
    held = getattr(settings, attribute)
    held = held[key] if isinstance(held, dict) else (getattr(held, key) if key else held)
    assert held == expected
    (message,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert variable in message
    assert warning in message


COLLECTOR_CONFIGS = [
    # an invalid file merged after collector/config.yaml, and the words the collector's error must contain
    ("unknown top-level key", "exporterz: {}\n", "has invalid keys: exporterz"),
    ("unknown receiver setting", "receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpiont: x\n", "endpiont"),
    (
        "unknown exporter type",
        "exporters:\n  elasticsaerch: {}\nservice:\n  pipelines:\n    logs:\n      receivers: [otlp]\n"
        "      exporters: [elasticsaerch]\n",
        "elasticsaerch",
    ),
    (
        "pipeline names an exporter that is not defined",
        "exporters:\n  debug: {}\nservice:\n  pipelines:\n    logs:\n      receivers: [otlp]\n"
        "      exporters: [gelf]\n",
        'references exporter "gelf" which is not configured',
    ),
    (
        "no exporter at all",
        "service:\n  pipelines:\n    logs:\n      receivers: [otlp]\n      exporters: []\n",
        "no exporter configuration specified in config",
    ),
    ("broken YAML", "receivers: [otlp\n", "yaml"),
]


@pytest.mark.parametrize(
    ("content", "words"), [row[1:] for row in COLLECTOR_CONFIGS], ids=[row[0] for row in COLLECTOR_CONFIGS]
)
def test_invalid_collector_config_is_refused_naming_the_key(content, words, tmp_path: Path):
    try:
        binary = build_collector()
    except CollectorError as error:
        unavailable("otelcol-ml", str(error))
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    base = REPO_ROOT / "collector" / "config.yaml"
    completed = subprocess.run(
        [str(binary), "validate", "--config", str(base), "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode != 0, completed.stdout
    assert words in completed.stderr + completed.stdout, completed.stderr


REST_CONFIGS = [
    # content of the rest-model-service YAML, and what `otel-ml-logging check` says (exit status 1)
    ("broken YAML", b"models:\n  - class_path: [unclosed\n", "is not valid YAML: while parsing a flow sequence"),
    ("not UTF-8", b"\xff\xfemodels: []\n", "is not UTF-8: byte 0: invalid start byte"),
    ("a list, not a mapping", b"- just\n- a list\n", "has no 'models' list"),
    (
        "unknown input field",
        b"models:\n  - class_path: tests.plugin.models.ScoringModel\n    decorators:\n"
        b"      - class_path: otel_ml_logging.OTelLoggingDecorator\n        configuration: {input_fields: [ctiy]}\n",
        "input_fields names unknown field(s) 'ctiy' for model 'scoring_model'; valid names: temperature, city",
    ),
]


@pytest.mark.parametrize(
    ("content", "message"), [row[1:] for row in REST_CONFIGS], ids=[row[0] for row in REST_CONFIGS]
)
def test_bad_rest_config_is_named_by_check(content, message, tmp_path: Path):
    config = tmp_path / "rest_config.yaml"
    config.write_bytes(content)
    completed = subprocess.run(
        [sys.executable, "-m", "otel_ml_logging.cli", "check", str(config)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 1, completed.stdout
    assert message in completed.stderr + completed.stdout, completed.stderr
    assert "Traceback" not in completed.stderr
