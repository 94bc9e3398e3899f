"""The current OpenTelemetry context, read and replaced with the fewest steps.

opentelemetry-api keeps the current :class:`~opentelemetry.context.Context` in a ContextVar (its
default runtime context, ``contextvars_context``). The decorator's request-thread path reads and
sets that ContextVar directly: it is the very state ``context.attach`` and ``context.detach``
change, so every reader (``trace.get_current_span``, the logging handler, child spans) sees the
same thing, without two Python calls per step. With another runtime context configured through
``OTEL_PYTHON_CONTEXT``, the public functions are used instead.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any

from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.trace import INVALID_SPAN

# The key under which opentelemetry-api stores the current span, learnt through its public API.
SPAN_KEY: str = next(iter(trace.set_span_in_context(INVALID_SPAN, Context())))


def runtime_context_var() -> ContextVar[Context] | None:
    """Return the ContextVar behind ``context.get_current()`` (None for a runtime context without one)."""
    runtime = getattr(context, "_RUNTIME_CONTEXT", None)
    if type(runtime) is not ContextVarsRuntimeContext:
        return None
    variable = getattr(runtime, "_current_context", None)
    return variable if isinstance(variable, ContextVar) else None


_variable = runtime_context_var()
get_current: Callable[[], Context]
attach: Callable[[Context], Token[Any] | object]
detach: Callable[[Any], None]
if _variable is not None:
    get_current, attach, detach = _variable.get, _variable.set, _variable.reset
else:  # pragma: no cover - only with a custom OTEL_PYTHON_CONTEXT
    get_current, attach, detach = context.get_current, context.attach, context.detach
