"""The request thread's share of a prediction's telemetry: one step per path.

:func:`queued_step` (the engine path): give the prediction its ids and make its span and scope
current in one context switch, call the model, hand the facts to the engine as one tuple. Nothing is
built here: when requests are not back to back every step is paid with cold caches
(bench/README.md). The shortcuts it takes are in :mod:`otel_ml_logging.pipeline._fast`.

:func:`inline_step` (a tracer provider set up by someone else, whose span ids we cannot choose):
start the span through the provider before calling the model, build the telemetry right after.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.trace import DEFAULT_TRACE_STATE, Span, TraceFlags

from otel_ml_logging.pipeline._fast import SHORTCUTS, SPAN_KEY, Shortcuts
from otel_ml_logging.pipeline.ids import new_span_id, new_trace_id
from otel_ml_logging.prediction.facts import PredictionFacts, RequestFacts, payload_sampled
from otel_ml_logging.prediction.request_attributes import REQUEST_ATTRIBUTES
from otel_ml_logging.prediction.scope import PREDICTION_KEY, enter_prediction, exit_prediction, scope_from_parts

Predict = Callable[[Any], Any]
# a root prediction's flags, as the SDK sets them: sampled, and its trace id is random (W3C level 2)
_ROOT_FLAGS = TraceFlags(TraceFlags.SAMPLED | getattr(TraceFlags, "RANDOM_TRACE_ID", 0))
_SPAN_ID_MASK = (1 << 64) - 1
_UUID_MASK = (1 << 128) - 1


def queued_step(
    model: Any,
    submit: Callable[[Callable[[RequestFacts], None], RequestFacts], bool],
    handler: Callable[[RequestFacts], None],
    shortcuts: Shortcuts = SHORTCUTS,
) -> Predict:
    """Return ``predict(data)`` for ``model`` that queues each prediction's facts for ``handler``."""
    get_current, attach, detach = shortcuts.get_current, shortcuts.attach, shortcuts.detach
    new_span_context, new_current_span = shortcuts.span_context, shortcuts.current_span
    getrandbits, time_ns = random.getrandbits, time.time_ns
    model_predict = model.predict
    get_request_attributes = REQUEST_ATTRIBUTES.get

    def predict(data: Any) -> Any:
        current = get_current()
        bits = getrandbits(320)  # span id, prediction id, and the trace id of a root span
        span_id = bits & _SPAN_ID_MASK or new_span_id()
        scope: Any = current.get(PREDICTION_KEY)
        if scope is None:
            scope = scope_from_parts((None, data, (bits >> 64) & _UUID_MASK, model))
        parent_span: Span | None = current.get(SPAN_KEY)  # type: ignore[assignment]
        parent = parent_span.get_span_context() if parent_span is not None else None
        if parent is not None and parent.is_valid:
            ids = (parent.trace_id, span_id, False, parent.trace_flags, parent.trace_state, True)
        else:
            parent, ids = None, (bits >> 192 or new_trace_id(), span_id, False, _ROOT_FLAGS, DEFAULT_TRACE_STATE, True)
        span_context = new_span_context(ids)
        token = attach(Context({**current, SPAN_KEY: new_current_span(span_context), PREDICTION_KEY: scope}))
        result = error = None
        start_ns = time_ns()  # one clock, as the SDK's spans: the span's duration is the latency
        try:
            result = model_predict(data=data)
            return result
        except Exception as raised:
            error = raised
            raise
        finally:
            end_ns = time_ns()
            detach(token)
            submit(
                handler, (scope, parent, span_context, start_ns, end_ns, data, result, error, get_request_attributes())
            )

    return predict


def inline_step(
    model: Any,
    start_span: Callable[[int], Span | None] | None,
    finish: Callable[[PredictionFacts, Span | None], None],
    payload_sample_rate: float,
) -> Predict:
    """Return ``predict(data)`` for ``model`` that starts the span first and has it finished after.

    ``start_span(start_ns)`` is None when the span option is off; ``finish`` builds and emits the
    telemetry and must end the span whatever happens.
    """
    perf_ns, time_ns = time.perf_counter_ns, time.time_ns

    def predict(data: Any) -> Any:
        scope, scope_token = enter_prediction(data, model)
        try:
            sampled = payload_sampled(payload_sample_rate)
            start_ns, started = time_ns(), perf_ns()
            span = start_span(start_ns) if start_span is not None else None
            token = context.attach(trace.set_span_in_context(span)) if span is not None else None
            current = trace.get_current_span().get_span_context()
            result = error = None
            try:
                result = model.predict(data=data)
                return result
            except Exception as raised:
                error = raised
                raise
            finally:
                end_ns = start_ns + (perf_ns() - started)
                if token is not None:
                    context.detach(token)
                parent = getattr(span, "parent", None)
                facts = PredictionFacts(
                    scope,
                    parent,
                    current.trace_id,
                    current.span_id,
                    int(current.trace_flags),
                    sampled,
                    start_ns,
                    end_ns,
                    data,
                    result,
                    error,
                    REQUEST_ATTRIBUTES.get(),
                )
                finish(facts, span)
        finally:
            exit_prediction(scope_token)

    return predict
