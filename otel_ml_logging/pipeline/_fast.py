"""Every shortcut the request thread takes past the OpenTelemetry API, checked at start-up.

The request thread's share of a prediction's telemetry is a few microseconds, and three steps of it
would cost more through the public API than everything else together:

- the current :class:`~opentelemetry.context.Context` is read and replaced through the ContextVar of
  opentelemetry-api's default runtime context (``context._RUNTIME_CONTEXT``), the very state
  ``context.attach``/``context.detach`` change, without their two Python calls per step;
- the prediction's :class:`~opentelemetry.trace.SpanContext` is built with ``tuple.__new__`` (what
  ``SpanContext(...)`` builds, minus its Python-level checks: the ids are valid by construction);
- the :class:`PredictionSpan` the model sees as current is built with ``object.__new__`` and given
  its span context, minus ``NonRecordingSpan.__init__``.

At import, :func:`select_shortcuts` builds one value with each shortcut and with the public
constructor it replaces and compares them; if opentelemetry's internals changed shape, the public
API is used instead (one warning), so an SDK upgrade can slow the request thread, never break it.
``tests/plugin/pipeline/test_fast.py`` holds each shortcut equal to the public API and simulates such
a change. Nothing else in the package reaches into opentelemetry's internals.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.trace import DEFAULT_TRACE_STATE, INVALID_SPAN, NonRecordingSpan, SpanContext, TraceFlags

_logger = logging.getLogger(__name__)

# The key under which opentelemetry-api stores the current span, learnt through its public API.
SPAN_KEY: str = next(iter(trace.set_span_in_context(INVALID_SPAN, Context())))

# The fields of a SpanContext, in the order its tuple holds them: what the shortcut builds from.
SpanContextFields = tuple[int, int, bool, TraceFlags, Any, bool]


class PredictionSpan(NonRecordingSpan):
    """The prediction's span as the request thread sees it: its ids, for child spans and log lines.

    The recorded span is built later, off the request thread, with the same ids.
    """

    __slots__ = ("_context",)


@dataclass(frozen=True, slots=True)
class Shortcuts:
    """The request thread's building blocks: the fast ones, or the public API's."""

    get_current: Callable[[], Context]
    attach: Callable[[Context], object]
    detach: Callable[[Any], None]
    span_context: Callable[[SpanContextFields], SpanContext]
    current_span: Callable[[SpanContext], PredictionSpan]
    fast: bool


def _public_span_context(fields: SpanContextFields) -> SpanContext:
    trace_id, span_id, is_remote, trace_flags, trace_state, _ = fields
    return SpanContext(trace_id, span_id, is_remote, trace_flags, trace_state)


def _public_current_span(span_context: SpanContext) -> PredictionSpan:
    return PredictionSpan(span_context)


PUBLIC = Shortcuts(
    context.get_current, context.attach, context.detach, _public_span_context, _public_current_span, fast=False
)


def runtime_context_var(runtime: object | None = None) -> ContextVar[Context] | None:
    """Return the ContextVar behind ``context.get_current()`` (None for a runtime context without one)."""
    runtime = getattr(context, "_RUNTIME_CONTEXT", None) if runtime is None else runtime
    if type(runtime) is not ContextVarsRuntimeContext:
        return None
    variable = getattr(runtime, "_current_context", None)
    return variable if isinstance(variable, ContextVar) else None


def _fast_current_span(span_context: SpanContext, _new: Callable[[type], Any] = object.__new__) -> PredictionSpan:
    span: PredictionSpan = _new(PredictionSpan)
    span._context = span_context
    return span


def select_shortcuts(
    runtime: object | None = None,
    span_context_type: type[SpanContext] = SpanContext,
) -> Shortcuts:
    """Return the fast building blocks if each one builds what the public API builds, else :data:`PUBLIC`.

    ``runtime`` and ``span_context_type`` default to opentelemetry's own; tests pass changed ones.
    """
    variable = runtime_context_var(runtime)
    new_span_context = functools.partial(tuple.__new__, span_context_type)
    problem = None
    if variable is None:
        problem = f"runtime context {type(runtime or getattr(context, '_RUNTIME_CONTEXT', None)).__name__}"
    elif not _span_context_matches(new_span_context, span_context_type):
        problem = f"{span_context_type.__qualname__} layout"
    elif not _current_span_matches():
        problem = "NonRecordingSpan layout"
    if problem is not None:
        _logger.warning("otel_ml_logging: opentelemetry internals changed (%s); using the public API", problem)
        return PUBLIC
    assert variable is not None
    return Shortcuts(variable.get, variable.set, variable.reset, new_span_context, _fast_current_span, fast=True)


def _span_context_matches(
    new_span_context: Callable[[SpanContextFields], SpanContext], span_context_type: type[SpanContext]
) -> bool:
    trace_flags = TraceFlags(TraceFlags.SAMPLED)
    fields: SpanContextFields = (
        0x0AF7651916CD43DD8448EB211C80319C,
        0xB7AD6B7169203331,
        False,
        trace_flags,
        DEFAULT_TRACE_STATE,
        True,
    )
    try:
        shortcut = new_span_context(fields)
        public = span_context_type(*fields[:5])
        return bool(
            shortcut == public
            and (shortcut.trace_id, shortcut.span_id, shortcut.is_remote) == fields[:3]
            and shortcut.trace_flags == trace_flags
            and shortcut.trace_state is DEFAULT_TRACE_STATE
            and shortcut.is_valid
        )
    except Exception:
        return False


def _current_span_matches() -> bool:
    span_context = SpanContext(1, 2, False, TraceFlags(TraceFlags.SAMPLED))
    try:
        shortcut, public = _fast_current_span(span_context), PredictionSpan(span_context)
        return (
            shortcut.get_span_context() is span_context
            and public.get_span_context() is span_context
            and getattr(shortcut, "__dict__", {}) == getattr(public, "__dict__", {})
            and not shortcut.is_recording()
        )
    except Exception:
        return False


SHORTCUTS = select_shortcuts()
get_current = SHORTCUTS.get_current
