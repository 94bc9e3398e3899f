"""Which handlers a stdlib log line reaches: tells whether only OpenTelemetry's logging bridge would see it."""

from __future__ import annotations

import logging


def opentelemetry_handlers_only(logger: logging.Logger) -> bool:
    """Tell whether every handler reachable from ``logger`` is an OpenTelemetry one (true when there is none)."""
    handlers: list[logging.Handler] = []
    current: logging.Logger | None = logger
    while current is not None:
        handlers += current.handlers
        current = current.parent if current.propagate else None
    return all(type(h).__module__.startswith("opentelemetry") for h in handlers)
