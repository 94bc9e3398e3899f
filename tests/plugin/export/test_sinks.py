"""The two sinks turn the same telemetry values into the same spans and records, field by field.

The SDK sink's output goes through real SDK providers into in-memory exporters and is then written
as OTLP JSON by the SDK-object encoder (``export/json_encoding.py``, the same one the ``otlp_json``
exporters use); the JSON sink writes OTLP JSON straight from the values. No collector involved.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext, TraceFlags, TraceState

from otel_ml_logging.export.json_encoding import encode_log, encode_span
from otel_ml_logging.export.json_sink import JsonSink
from otel_ml_logging.export.metrics import MetricRecorder
from otel_ml_logging.export.sdk_sink import SdkSink
from otel_ml_logging.pipeline.ids import PresetIdGenerator
from otel_ml_logging.prediction.config import LoggingDecoratorConfig
from otel_ml_logging.prediction.facts import PredictionFacts
from otel_ml_logging.prediction.fields import FieldRecorder
from otel_ml_logging.prediction.scope import PredictionScope
from otel_ml_logging.prediction.telemetry import PredictionTelemetry, TelemetryModel, merged
from tests.plugin.models import ScoringInput, ScoringModel, ScoringOutput

CONFIG = LoggingDecoratorConfig(
    input_fields=["temperature", "city", "payload"], output_fields=["score", "label"], hash_fields=["label"]
)
REMOTE_PARENT = SpanContext(
    0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, True, TraceFlags(1), TraceState([("vendor", "opaque")])
)


def _raise(error: Exception) -> Exception:
    try:
        raise error
    except Exception as raised:
        return raised


def _facts(case: str) -> PredictionFacts:
    start = time.time_ns()
    data = ScoringInput(temperature=21.5, city="oslo", payload=b"\xff")
    result: Any = ScoringOutput(score=43.0, label="OSLO")
    error = None
    parent = None
    sampled_payload = True
    if case == "error under a remote parent":
        parent, result, error = REMOTE_PARENT, None, _raise(LookupError("no such city"))
    elif case == "payload not sampled":
        sampled_payload = False
    trace_id = parent.trace_id if parent is not None else 0x1234567890ABCDEF1234567890ABCDEF
    scope = PredictionScope(ScoringModel(), data, prediction_id="client-id-7")
    flags = int(parent.trace_flags) if parent is not None else 3  # sampled, random trace id: as predict() sets them
    request = {"tenant.id": "acme", "request.priority": 2} if case == "with request attributes" else None
    return PredictionFacts(
        scope,
        parent,
        trace_id,
        0xFEDCBA9876543210,
        flags,
        sampled_payload,
        start,
        start + 1234567,
        data,
        result,
        error,
        request,
    )


def _model(failures: list[int]) -> TelemetryModel:
    return TelemetryModel(
        CONFIG, FieldRecorder(CONFIG, "salt"), "predict scoring_model", "m.Model.predict", lambda: failures.append(1)
    )


def _through_sdk(telemetry: PredictionTelemetry) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    spans, logs, reader = InMemorySpanExporter(), InMemoryLogRecordExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider(id_generator=PresetIdGenerator())
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    sink = SdkSink(
        tracer_provider.get_tracer("otel_ml_logging"),
        logger_provider.get_logger("otel_ml_logging"),
        MetricRecorder(MeterProvider(metric_readers=[reader])),
        tracer_provider.id_generator,  # type: ignore[arg-type]
    )
    sink.emit(telemetry)
    return [encode_span(s) for s in spans.get_finished_spans()], [encode_log(r) for r in logs.get_finished_logs()]


def _normalized(item: dict[str, Any]) -> dict[str, Any]:
    """Proto3 JSON leaves defaults out; attributes are compared as a mapping; the observed time is the sink's own."""
    item = {k: v for k, v in item.items() if k != "observedTimeUnixNano"}
    item["attributes"] = {kv["key"]: kv["value"] for kv in item.get("attributes", [])}
    if "status" in item:
        item["status"] = {"code": item["status"].get("code", 0), "message": item["status"].get("message", "")}
    if "events" in item:
        item["events"] = [_normalized(event) for event in item["events"]]
    return item


CASES = ["success", "error under a remote parent", "payload not sampled", "with request attributes"]


@pytest.mark.parametrize("case", CASES)
def test_sdk_and_json_sinks_produce_the_same_span_and_records(case):
    failures: list[int] = []
    telemetry = _model(failures).build(_facts(case))
    sdk_spans, sdk_records = _through_sdk(telemetry)
    json_span, json_records = JsonSink(None, None).encode(telemetry)  # type: ignore[arg-type]

    assert json_span is not None
    (sdk_span,) = sdk_spans
    assert _normalized(json_span) == _normalized(sdk_span)
    assert [_normalized(r) for r in json_records] == [_normalized(r) for r in sdk_records]
    assert len(json_records) == 2  # requested, then created or exception
    assert failures == []


def test_the_compared_values_carry_what_docs_telemetry_md_promises():
    telemetry = _model([]).build(_facts("error under a remote parent"))
    json_span, (requested, exception) = JsonSink(None, None).encode(telemetry)  # type: ignore[arg-type]
    span = _normalized(json_span)  # type: ignore[arg-type]
    assert span["parentSpanId"] == "b7ad6b7169203331"
    assert span["traceState"] == "vendor=opaque"
    assert span["flags"] == 0x301  # sampled, parent is remote
    assert span["status"] == {"code": 2, "message": "LookupError: no such city"}
    assert span["attributes"]["error.type"] == {"stringValue": "LookupError"}
    assert span["attributes"]["ml.prediction.input.payload"] == {"stringValue": "\\xff"}
    assert span["attributes"]["code.function.name"] == {"stringValue": "m.Model.predict"}
    (event,) = span["events"]
    assert event["attributes"]["exception.escaped"] == {"stringValue": "True"}
    assert _normalized(exception)["severityNumber"] == 17
    assert _normalized(exception)["attributes"]["ml.prediction.id"] == {"stringValue": "client-id-7"}
    assert requested["eventName"] == "ml.prediction.requested"


@pytest.mark.parametrize("case", CASES)
def test_attribute_groups_never_overlap(case):
    telemetry = _model([]).build(_facts(case))
    items = [telemetry.span, *telemetry.records]
    for item in items:
        assert item is not None
        assert sum(len(group) for group in item.attributes) == len(merged(item.attributes))


def test_a_payload_that_cannot_be_recorded_is_counted_and_the_rest_goes_on():
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("cannot print me")

    failures: list[int] = []
    facts = _facts("success")
    facts.result = {"score": Unprintable(), "label": "ok"}
    telemetry = _model(failures).build(facts)
    assert failures == [1]
    assert telemetry.span is not None
    attributes = merged(telemetry.span.attributes)
    assert attributes["ml.prediction.status"] == "success"
    assert not any(key.startswith("ml.prediction.output.") for key in attributes)
    assert [r.event_name for r in telemetry.records] == ["ml.prediction.requested", "ml.prediction.created"]
    assert telemetry.metric is not None
