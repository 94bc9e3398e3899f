"""Each request-thread shortcut builds what the public API builds; a changed SDK falls back to the API."""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry import context, trace
from opentelemetry.context.context import _RuntimeContext
from opentelemetry.trace import DEFAULT_TRACE_STATE, SpanContext, TraceFlags, TraceState

from otel_ml_logging.pipeline._fast import PUBLIC, SHORTCUTS, SPAN_KEY, PredictionSpan, Shortcuts, select_shortcuts
from otel_ml_logging.pipeline.request import queued_step
from otel_ml_logging.prediction.scope import current_prediction
from tests.plugin.models import ScoringInput, ScoringModel

FIELDS = (0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331, False, TraceFlags(3), TraceState([("k", "v")]), True)


def test_the_fast_shortcuts_are_in_use_with_this_sdk():
    assert SHORTCUTS.fast
    assert SHORTCUTS is not PUBLIC


def test_span_context_shortcut_equals_the_public_constructor():
    fast, public = SHORTCUTS.span_context(FIELDS), PUBLIC.span_context(FIELDS)
    assert type(fast) is type(public) is SpanContext
    assert fast == public == SpanContext(*FIELDS[:5])
    for name in ("trace_id", "span_id", "is_remote", "trace_flags", "trace_state", "is_valid"):
        assert getattr(fast, name) == getattr(public, name), name


def test_current_span_shortcut_equals_the_public_constructor():
    span_context = SHORTCUTS.span_context(FIELDS)
    fast, public = SHORTCUTS.current_span(span_context), PUBLIC.current_span(span_context)
    assert type(fast) is type(public) is PredictionSpan
    assert fast.get_span_context() is public.get_span_context() is span_context
    assert not fast.is_recording()
    token = context.attach(trace.set_span_in_context(fast))
    try:
        assert trace.get_current_span() is fast
    finally:
        context.detach(token)


def test_context_shortcuts_are_the_api_context():
    assert SHORTCUTS.get_current() is context.get_current()
    key = context.create_key("test-fast")
    token = SHORTCUTS.attach(context.set_value(key, 1))
    assert context.get_value(key) == 1
    SHORTCUTS.detach(token)
    assert context.get_value(key) is None
    token = context.attach(context.set_value(key, 2))  # the API's own changes are seen by the shortcut
    assert SHORTCUTS.get_current().get(key) == 2
    context.detach(token)
    assert SPAN_KEY in trace.set_span_in_context(trace.INVALID_SPAN)


class _OtherRuntimeContext(_RuntimeContext):  # e.g. a custom OTEL_PYTHON_CONTEXT
    def attach(self, context: Any) -> object:
        raise NotImplementedError

    def get_current(self) -> Any:
        raise NotImplementedError

    def detach(self, token: object) -> None:
        raise NotImplementedError


class _ReorderedSpanContext(SpanContext):
    """A SpanContext whose tuple layout changed (a version field first), as a future SDK might."""

    def __new__(cls, trace_id: int, span_id: int, is_remote: bool, trace_flags: Any = None, trace_state: Any = None):
        flags = trace_flags or TraceFlags(0)
        state = trace_state or DEFAULT_TRACE_STATE
        return tuple.__new__(cls, (2, trace_id, span_id, is_remote, flags, state, True))

    trace_id = property(lambda self: self[1])  # type: ignore[assignment]
    span_id = property(lambda self: self[2])  # type: ignore[assignment]
    is_remote = property(lambda self: self[3])  # type: ignore[assignment]
    trace_flags = property(lambda self: self[4])  # type: ignore[assignment]
    trace_state = property(lambda self: self[5])  # type: ignore[assignment]
    is_valid = property(lambda self: self[6])  # type: ignore[assignment]


def test_another_runtime_context_falls_back_to_the_public_api(caplog):
    with caplog.at_level(logging.WARNING):
        assert select_shortcuts(runtime=_OtherRuntimeContext()) is PUBLIC
    assert "opentelemetry internals changed (runtime context _OtherRuntimeContext)" in caplog.text


def test_a_changed_span_context_layout_falls_back_to_the_public_api(caplog):
    with caplog.at_level(logging.WARNING):
        assert select_shortcuts(span_context_type=_ReorderedSpanContext) is PUBLIC
    assert "_ReorderedSpanContext layout" in caplog.text


def test_an_unchanged_sdk_selects_the_shortcuts():
    assert select_shortcuts().fast


def _run_step(shortcuts: Shortcuts) -> tuple[Any, Any, Any]:
    seen: dict[str, Any] = {}

    class Peeking(ScoringModel):
        def predict(self, data):
            seen["span"] = trace.get_current_span().get_span_context()
            seen["scope"] = current_prediction()
            return super().predict(data)

    queued: list[Any] = []
    step = queued_step(Peeking(), lambda handler, facts: queued.append(facts) or True, print, shortcuts)
    result = step(ScoringInput(temperature=1, city="oslo"))
    return result, seen, queued[0]


def test_the_request_step_behaves_the_same_on_the_public_api():
    before = context.get_current()
    for shortcuts in (SHORTCUTS, PUBLIC):
        result, seen, facts = _run_step(shortcuts)
        scope, parent, span_context, start_ns, end_ns, data, output, error, request = facts
        assert request is None  # no request attributes in effect
        assert result.score == 2.0
        assert output is result
        assert error is None
        assert parent is None
        assert start_ns <= end_ns
        assert seen["span"] is span_context
        assert type(span_context) is SpanContext
        assert span_context.is_valid
        assert span_context.trace_flags.sampled
        assert seen["scope"] is scope
        assert data.city == "oslo"
        assert context.get_current() is before
