"""The flush budget: how long the whole pipeline may take to flush and stop at exit.

Kubernetes gives a pod 30 s between SIGTERM and SIGKILL by default, and the SDK exporters alone
may retry a dead collector for longer than that. One :class:`FlushBudget` is shared by everything
that flushes at exit (the engine, each batch processor, the metric reader): each waits only for the
time that is :meth:`~FlushBudget.remaining`, then cuts its exporter's retries; what was not sent by
then is counted as dropped in the delivery report.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from otel_ml_logging.environment_variables import OTEL_ML_LOGGING_SHUTDOWN_TIMEOUT

_logger = logging.getLogger(__name__)

DEFAULT_SHUTDOWN_TIMEOUT = 3.0
"""Seconds: with the grace for cut exports, the server's own stop and the interpreter's exit, under 5 s from SIGTERM."""


class FlushBudget:
    """A deadline that starts when shutdown begins (the first call to :meth:`start`)."""

    def __init__(self, seconds: float = DEFAULT_SHUTDOWN_TIMEOUT) -> None:
        """``seconds``: the whole budget, from :meth:`start` on."""
        self.seconds = seconds
        self._deadline: float | None = None

    def start(self) -> None:
        """Start counting down (later calls change nothing)."""
        if self._deadline is None:
            self._deadline = time.monotonic() + self.seconds

    def remaining(self) -> float:
        """Seconds left (the whole budget before :meth:`start`), never negative."""
        if self._deadline is None:
            return self.seconds
        return max(0.0, self._deadline - time.monotonic())

    def remaining_millis(self) -> float:
        """:meth:`remaining` in milliseconds, as the SDK's shutdown methods take it."""
        return self.remaining() * 1000.0


def resolve_shutdown_timeout(explicit: float | None, environ: Mapping[str, str]) -> float:
    """Explicit seconds → ``OTEL_ML_LOGGING_SHUTDOWN_TIMEOUT`` (milliseconds) → 3 s; an invalid value warns once."""
    if explicit is not None:
        return explicit
    raw = environ.get(OTEL_ML_LOGGING_SHUTDOWN_TIMEOUT)
    if raw is None or not raw.strip():
        return DEFAULT_SHUTDOWN_TIMEOUT
    try:
        millis = float(raw)
        if not 0 <= millis < float("inf"):
            raise ValueError(raw)
    except ValueError:
        _logger.warning(
            "otel_ml_logging: %s=%r is not a number of milliseconds >= 0; using %d",
            OTEL_ML_LOGGING_SHUTDOWN_TIMEOUT,
            raw,
            DEFAULT_SHUTDOWN_TIMEOUT * 1000,
        )
        return DEFAULT_SHUTDOWN_TIMEOUT
    return millis / 1000.0
