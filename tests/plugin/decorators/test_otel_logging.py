from __future__ import annotations

import contextlib
import logging
import math

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from otel_ml_logging import OTelLoggingDecorator
from otel_ml_logging.prediction.config import TRUNCATION_MARKER
from tests.plugin.conftest import on_path
from tests.plugin.models import ScoringInput, ScoringModel

FIELDS = {"input_fields": ["temperature", "city"], "output_fields": ["score", "label"]}


def decorated(path: str, **options) -> OTelLoggingDecorator:
    return on_path(OTelLoggingDecorator(**{**FIELDS, **options}).set_model(ScoringModel()), path)


def test_span_and_records_of_a_successful_prediction(path, telemetry):
    model = decorated(path)
    result = model.predict(ScoringInput(temperature=21.5, city="oslo"))

    assert result.score == 43.0
    (span,) = telemetry.spans()
    assert span.name == "predict scoring_model"
    assert span.kind is SpanKind.INTERNAL
    assert span.status.status_code is StatusCode.UNSET
    attrs = span.attributes
    assert attrs["ml.model.name"] == "scoring_model"
    assert attrs["ml.model.version"] == "2.1.0"
    assert attrs["ml.prediction.input.temperature"] == 21.5
    assert attrs["ml.prediction.input.city"] == "oslo"
    assert attrs["ml.prediction.output.score"] == 43.0
    assert attrs["ml.prediction.output.label"] == "OSLO"
    assert attrs["ml.prediction.status"] == "success"
    assert attrs["ml.prediction.latency_ms"] >= 0
    assert attrs["code.function.name"] == "tests.plugin.models.ScoringModel.predict"

    requested = telemetry.records_by_event("ml.prediction.requested")
    created = telemetry.records_by_event("ml.prediction.created")
    assert [r.log_record.body for r in requested + created] == ["Prediction requested.", "Prediction created."]
    for record in requested + created:
        assert record.log_record.trace_id == span.context.trace_id
        assert record.log_record.span_id == span.context.span_id
        assert record.log_record.severity_text == "INFO"
        assert record.log_record.attributes["ml.prediction.id"] == attrs["ml.prediction.id"]
    assert requested[0].log_record.attributes["ml.prediction.input.city"] == "oslo"
    assert "ml.prediction.output.score" not in requested[0].log_record.attributes
    assert created[0].log_record.attributes["ml.prediction.output.score"] == 43.0
    assert created[0].log_record.attributes["ml.prediction.latency_ms"] == attrs["ml.prediction.latency_ms"]
    assert span.start_time <= requested[0].log_record.timestamp <= created[0].log_record.timestamp <= span.end_time


def test_prediction_span_is_a_child_of_the_current_span(path, telemetry):
    model = decorated(path)
    with trace.get_tracer("test").start_as_current_span("POST /api/models/scoring_model/prediction") as request:
        model.predict(ScoringInput(temperature=1, city="rome"))
    prediction = next(s for s in telemetry.spans() if s.name == "predict scoring_model")
    assert prediction.parent is not None
    assert prediction.parent.span_id == request.get_span_context().span_id
    assert prediction.context.trace_id == request.get_span_context().trace_id


def test_exception_is_reraised_unchanged_and_recorded(path, telemetry):
    model = decorated(path)
    data = ScoringInput(temperature=3, city="nowhere")
    with pytest.raises(LookupError) as raised:
        model.predict(data)
    assert str(raised.value) == "no such city: nowhere"

    (span,) = telemetry.spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "LookupError: no such city: nowhere"
    assert span.attributes["ml.prediction.status"] == "error"
    assert span.attributes["error.type"] == "LookupError"
    (event,) = [e for e in span.events if e.name == "exception"]
    assert event.attributes["exception.type"] == "LookupError"

    (record,) = telemetry.records_by_event("ml.prediction.exception")
    log = record.log_record
    assert log.body == "Prediction exception."
    assert log.severity_text == "ERROR"
    assert log.severity_number.value == 17
    assert log.attributes["exception.type"] == "LookupError"
    assert log.attributes["exception.message"] == "no such city: nowhere"
    assert 'raise LookupError("no such city: nowhere")' in log.attributes["exception.stacktrace"]
    assert log.attributes["ml.prediction.input.city"] == "nowhere"
    assert (log.trace_id, log.span_id) == (span.context.trace_id, span.context.span_id)
    assert not telemetry.records_by_event("ml.prediction.created")


def test_model_log_lines_are_correlated_with_the_prediction(path, telemetry):
    model = decorated(path)
    model.predict(ScoringInput(temperature=1, city="lima"))
    (span,) = telemetry.spans()
    (line,) = [r for r in telemetry.records() if r.log_record.body == "scoring lima"]
    assert (line.log_record.trace_id, line.log_record.span_id) == (span.context.trace_id, span.context.span_id)
    assert line.log_record.attributes["ml.prediction.id"] == span.attributes["ml.prediction.id"]
    assert line.log_record.attributes["ml.model.name"] == "scoring_model"


def test_log_lines_outside_predictions_carry_no_prediction_id(path, telemetry):
    logging.getLogger("tests.plugin.models").info("between predictions")
    (line,) = telemetry.records()
    assert "ml.prediction.id" not in line.log_record.attributes


def _metric_sum(telemetry, name, **labels):
    return sum(
        point.value if hasattr(point, "value") else point.count
        for attributes, point in telemetry.metric_points(name)
        if all(attributes.get(k) == v for k, v in labels.items())
    )


def test_metrics_count_predictions_errors_and_latency(path, telemetry):
    model = decorated(path)
    before = {
        "ok": _metric_sum(telemetry, "ml.predictions", **{"ml.prediction.status": "success"}),
        "err": _metric_sum(telemetry, "ml.prediction.errors", **{"error.type": "LookupError"}),
        "hist": _metric_sum(telemetry, "ml.prediction.duration", **{"ml.model.name": "scoring_model"}),
    }
    for city in ["a", "b", "nowhere"]:
        with pytest.raises(LookupError) if city == "nowhere" else contextlib.nullcontext():
            model.predict(ScoringInput(temperature=1, city=city))
    assert _metric_sum(telemetry, "ml.predictions", **{"ml.prediction.status": "success"}) - before["ok"] == 2
    assert _metric_sum(telemetry, "ml.prediction.errors", **{"error.type": "LookupError"}) - before["err"] == 1
    assert _metric_sum(telemetry, "ml.prediction.duration", **{"ml.model.name": "scoring_model"}) - before["hist"] == 3
    ((attributes, _), *_) = telemetry.metric_points("ml.predictions")
    assert set(attributes) == {"ml.model.name", "ml.model.version", "ml.prediction.status"}


def test_redacted_hashed_and_truncated_fields(path, telemetry):
    model = decorated(path, redact_fields=["city"], hash_fields=["label"], max_value_length=16)
    model.predict(ScoringInput(temperature=2, city="a-very-long-city-name-indeed"))
    attrs = telemetry.spans()[0].attributes
    assert attrs["ml.prediction.input.city"] == "[REDACTED]"
    assert attrs["ml.prediction.output.label"].startswith("sha256:")
    assert len(attrs["ml.prediction.output.label"]) == len("sha256:") + 64
    model2 = decorated(path, max_value_length=16)
    telemetry.spans_exporter.clear()
    model2.predict(ScoringInput(temperature=2, city="a-very-long-city-name-indeed"))
    city = telemetry.spans()[0].attributes["ml.prediction.input.city"]
    assert len(city) == 16
    assert city.endswith(TRUNCATION_MARKER)


def test_unsampled_payload_is_left_out_but_errors_keep_it(path, telemetry):
    model = decorated(path, payload_sample_rate=0.0)
    model.predict(ScoringInput(temperature=2, city="paris"))
    assert not any(k.startswith("ml.prediction.input.") for k in telemetry.spans()[0].attributes)
    telemetry.spans_exporter.clear()
    with pytest.raises(LookupError):
        model.predict(ScoringInput(temperature=2, city="nowhere"))
    (record,) = telemetry.records_by_event("ml.prediction.exception")
    assert record.log_record.attributes["ml.prediction.input.city"] == "nowhere"
    assert telemetry.spans()[0].attributes["ml.prediction.input.city"] == "nowhere"


def test_records_option_selects_records_and_span_can_be_disabled(path, telemetry):
    model = decorated(path, records=["exception"], span=False)
    model.predict(ScoringInput(temperature=2, city="bern"))
    assert telemetry.spans() == []
    assert telemetry.records_by_event("ml.prediction.requested") == []
    assert telemetry.records_by_event("ml.prediction.created") == []


def test_awkward_values_are_converted_not_fatal(path, telemetry):
    model = on_path(
        OTelLoggingDecorator(input_fields=["temperature", "note", "payload"]).set_model(ScoringModel()), path
    )
    model.predict(ScoringInput(temperature=math.nan, city="x", note=None, payload=b"\xff\xfeok"))
    attrs = telemetry.spans()[0].attributes
    assert attrs["ml.prediction.input.temperature"] == "NaN"
    assert "ml.prediction.input.note" not in attrs
    assert attrs["ml.prediction.input.payload"] == "\\xff\\xfeok"
    telemetry.spans_exporter.clear()
    model.predict(ScoringInput(temperature=-math.inf, city="x"))
    assert telemetry.spans()[0].attributes["ml.prediction.input.temperature"] == "-Infinity"


def test_a_failing_telemetry_step_never_breaks_the_prediction(path, telemetry, caplog):
    class Unprintable:
        def __str__(self):
            raise RuntimeError("cannot print me")

    class Weird(ScoringModel):
        def predict(self, data):
            return {"score": Unprintable(), "label": "ok"}

    model = on_path(OTelLoggingDecorator(output_fields=["score"]).set_model(Weird()), path)
    with caplog.at_level(logging.WARNING, logger="otel_ml_logging.pipeline.delivery"):
        result = model.predict(ScoringInput(temperature=1, city="x"))
        model.predict(ScoringInput(temperature=1, city="y"))
    assert result["label"] == "ok"
    assert model.flush()
    assert model.telemetry_failures == 2
    assert len([r for r in caplog.records if "telemetry step failed" in r.getMessage()]) == 1
    assert len(telemetry.spans()) == 2  # the span still ends


def test_decorator_forwards_model_properties(path):
    model = decorated(path)
    assert (model.qualified_name, model.version, model.input_schema) == ("scoring_model", "2.1.0", ScoringInput)


def _shape(telemetry):
    """Everything about a prediction's telemetry except ids, clocks and latencies."""
    volatile = {"ml.prediction.id", "ml.prediction.latency_ms", "exception.stacktrace"}
    spans = [
        (s.name, s.kind, s.status.status_code, {k: v for k, v in s.attributes.items() if k not in volatile})
        for s in telemetry.spans()
        if s.name.startswith("predict ")
    ]
    records = sorted(
        (
            r.log_record.event_name or "",
            str(r.log_record.body),
            r.log_record.severity_number.value,
            tuple(sorted((k, str(v)) for k, v in r.log_record.attributes.items() if k not in volatile)),
        )
        for r in telemetry.records()
    )
    return spans, records


def test_queued_and_inline_paths_emit_the_same_telemetry(telemetry):
    shapes = {}
    for path in ("inline", "queued"):
        telemetry.spans_exporter.clear()
        telemetry.logs_exporter.clear()
        model = decorated(path)
        with trace.get_tracer("test").start_as_current_span("request") as request:
            model.predict(ScoringInput(temperature=4, city="kyiv"))
            with pytest.raises(LookupError):
                model.predict(ScoringInput(temperature=4, city="nowhere"))
        for span in telemetry.spans():
            if span.name.startswith("predict "):
                assert span.parent.span_id == request.get_span_context().span_id
                assert span.start_time <= span.end_time
        shapes[path] = _shape(telemetry)
    assert shapes["queued"] == shapes["inline"]
    assert len(shapes["inline"][0]) == 2
    assert len(shapes["inline"][1]) == 6  # requested x2, created, exception, 2 model log lines
