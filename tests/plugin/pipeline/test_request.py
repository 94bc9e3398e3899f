"""What code running inside ``predict()`` sees, whichever path built it: the request thread's share.

The queued path builds the current span's SpanContext and the Context without the API's
constructors (fewer steps on the request thread); these tests hold it to what the API would build.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import pytest
from opentelemetry import context, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pydantic import BaseModel, ConfigDict

from otel_ml_logging import OTelLoggingDecorator, PredictionIDDecorator, current_prediction
from otel_ml_logging.pipeline._fast import SHORTCUTS, runtime_context_var
from otel_ml_logging.prediction.fields import read_field
from otel_ml_logging.prediction.scope import PredictionScope
from tests.plugin.conftest import on_path
from tests.plugin.models import ScoringInput, ScoringModel, ScoringOutput


class PeekingModel(ScoringModel):
    """Records what the current context holds while it predicts; starts a child span."""

    def __init__(self) -> None:
        super().__init__()
        self.seen_span_context: SpanContext | None = None
        self.seen_scope: PredictionScope | None = None
        self.child: Any = None

    def predict(self, data: ScoringInput) -> ScoringOutput:
        self.seen_span_context = trace.get_current_span().get_span_context()
        self.seen_scope = current_prediction()
        with trace.get_tracer("tests.plugin").start_as_current_span("feature lookup") as child:
            self.child = child
        return super().predict(data)


def peeking(path: str) -> tuple[OTelLoggingDecorator, PeekingModel]:
    model = PeekingModel()
    decorator = OTelLoggingDecorator(input_fields=["city"]).set_model(model)
    return on_path(decorator, path), model


def test_span_context_seen_during_predict_is_what_the_api_builds(path, telemetry):
    decorator, model = peeking(path)
    decorator.predict(ScoringInput(temperature=1, city="oslo"))
    prediction = next(s for s in telemetry.spans() if s.name == "predict scoring_model")
    seen = model.seen_span_context
    assert type(seen) is SpanContext
    assert seen == SpanContext(seen.trace_id, seen.span_id, False, seen.trace_flags, seen.trace_state)
    assert seen.is_valid
    assert not seen.is_remote
    assert seen.trace_flags.sampled
    assert (seen.trace_id, seen.span_id) == (prediction.context.trace_id, prediction.context.span_id)
    assert prediction.parent is None  # a root: its trace id was drawn for it
    assert seen.trace_id != 0
    assert seen.trace_id.bit_length() <= 128


def test_remote_parent_trace_id_flags_and_state_carry_over(path, telemetry):
    decorator, model = peeking(path)
    carrier = {
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "tracestate": "vendor=opaque",
    }
    token = context.attach(TraceContextTextMapPropagator().extract(carrier))
    try:
        decorator.predict(ScoringInput(temperature=1, city="oslo"))
    finally:
        context.detach(token)
    seen = model.seen_span_context
    assert seen is not None
    assert seen.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
    assert seen.span_id != 0xB7AD6B7169203331
    assert seen.trace_flags == TraceFlags(TraceFlags.SAMPLED)
    assert seen.trace_state == TraceState([("vendor", "opaque")])
    prediction = next(s for s in telemetry.spans() if s.name == "predict scoring_model")
    assert prediction.parent is not None
    assert prediction.parent.is_remote
    assert prediction.parent.span_id == 0xB7AD6B7169203331


def test_a_span_started_by_the_model_is_a_child_of_the_prediction_span(path, telemetry):
    decorator, _model = peeking(path)
    decorator.predict(ScoringInput(temperature=1, city="oslo"))
    spans = {s.name: s for s in telemetry.spans()}
    child, prediction = spans["feature lookup"], spans["predict scoring_model"]
    assert child.parent is not None
    assert child.parent.span_id == prediction.context.span_id
    assert child.context.trace_id == prediction.context.trace_id


@pytest.mark.parametrize("outcome", ["success", "exception"])
def test_the_callers_context_is_restored(path, telemetry, outcome):
    decorator, _ = peeking(path)
    before = context.get_current()
    city = "oslo" if outcome == "success" else "nowhere"
    with pytest.raises(LookupError) if outcome == "exception" else contextlib.nullcontext():
        decorator.predict(ScoringInput(temperature=1, city=city))
    assert context.get_current() is before
    assert current_prediction() is None


def test_scope_seen_during_predict_names_the_prediction_and_model(path, telemetry):
    decorator, model = peeking(path)
    decorator.predict(ScoringInput(temperature=1, city="oslo"))
    scope = model.seen_scope
    assert scope is not None
    (record,) = telemetry.records_by_event("ml.prediction.requested")
    assert scope.prediction_id == record.log_record.attributes["ml.prediction.id"]
    assert uuid.UUID(scope.prediction_id).version == 4
    assert (scope.model_name, scope.model_version) == ("scoring_model", "2.1.0")


def test_scope_opened_by_an_outer_prediction_id_decorator_is_joined(path, telemetry):
    model = PeekingModel()
    inner = on_path(OTelLoggingDecorator(input_fields=["city"]).set_model(model), path)
    outer = PredictionIDDecorator().set_model(inner)
    data = outer.input_schema.model_validate({"temperature": 1, "city": "oslo", "prediction_id": "client-7"})
    result = outer.predict(data)
    assert result.prediction_id == "client-7"
    assert model.seen_scope is not None
    assert model.seen_scope.prediction_id == "client-7"
    (record,) = telemetry.records_by_event("ml.prediction.created")
    assert record.log_record.attributes["ml.prediction.id"] == "client-7"


def test_fast_context_access_is_the_api_context():
    assert runtime_context_var() is not None  # the default runtime context: the fast path is in use
    assert SHORTCUTS.fast
    marker = context.create_key("test-marker")
    token = SHORTCUTS.attach(context.set_value(marker, "on", SHORTCUTS.get_current()))
    try:
        assert context.get_value(marker) == "on"
        assert context.get_current() is SHORTCUTS.get_current()
    finally:
        SHORTCUTS.detach(token)
    assert context.get_value(marker) is None


def test_prediction_scope_reads_the_client_id_from_the_input_each_time_the_same():
    class Input(BaseModel):
        prediction_id: str | None = None

    given = PredictionScope(ScoringModel(), Input(prediction_id="abc"))
    assert given.prediction_id == "abc"
    generated = PredictionScope(ScoringModel(), Input())
    assert generated.prediction_id == generated.prediction_id
    assert uuid.UUID(generated.prediction_id).version == 4
    assert (
        PredictionScope(ScoringModel(), Input(prediction_id="x"), prediction_id="explicit").prediction_id == "explicit"
    )
    assert PredictionScope(ScoringModel()).prediction_id != PredictionScope(ScoringModel()).prediction_id


def test_read_field_handles_models_extras_mappings_and_objects():
    class Strict(BaseModel):
        a: int = 1

    class Open(BaseModel):
        model_config = ConfigDict(extra="allow")

    class Plain:
        def __init__(self) -> None:
            self.a = 3

        @property
        def b(self) -> int:
            return 4

    assert read_field(Strict(), "a") == 1
    assert read_field(Strict(), "missing") is None
    assert read_field(Open.model_validate({"prediction_id": "e"}), "prediction_id") == "e"
    assert read_field({"a": 2}, "a") == 2
    assert read_field(Plain(), "a") == 3
    assert read_field(Plain(), "b") == 4
    assert read_field(Plain(), "missing") is None


def test_nonrecording_parent_span_is_honoured(path, telemetry):
    decorator, model = peeking(path)
    parent = SpanContext(0x1234, 0x5678, False, TraceFlags(TraceFlags.SAMPLED))
    token = context.attach(trace.set_span_in_context(NonRecordingSpan(parent)))
    try:
        decorator.predict(ScoringInput(temperature=1, city="oslo"))
    finally:
        context.detach(token)
    assert model.seen_span_context is not None
    assert model.seen_span_context.trace_id == 0x1234
