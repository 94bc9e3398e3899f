"""Bounded shutdown at exit: the engine, then every provider at once, within one flush budget, then one report.

The SDK's own exit handlers would shut the providers down one after another, each processor
waiting up to 30 s and each exporter retrying a dead collector on its own schedule: 34 s after
SIGTERM were measured, longer than a pod's default grace period. Here the providers are built
without their exit handlers and :func:`register_bounded_shutdown` installs one instead: the engine
hands over what it holds, then traces, logs and metrics flush in parallel, each waiting only for
what is left of the :class:`~otel_ml_logging.pipeline.budget.FlushBudget` before its exporter's
retries are cut. The delivery report follows, counting as dropped whatever was left unsent.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from otel_ml_logging.pipeline.budget import FlushBudget
from otel_ml_logging.pipeline.delivery import DeliveryStats
from otel_ml_logging.pipeline.engine import Engine

GRACE = 0.5
"""Seconds past the budget for exporters whose retries were just cut to return and be counted."""


@dataclass(frozen=True)
class Pipeline:
    """What flushes at exit, in order: the engine first, then the providers."""

    engine: Engine
    tracer_provider: TracerProvider
    logger_provider: LoggerProvider
    meter_provider: MeterProvider
    stats: DeliveryStats
    budget: FlushBudget


def shutdown_within_budget(pipeline: Pipeline) -> None:
    """Flush and stop ``pipeline`` within its budget (plus :data:`GRACE`), then report delivery once."""
    budget = pipeline.budget
    budget.start()
    _within(budget, [lambda: pipeline.engine.shutdown(budget.remaining())], grace=0.0)
    _within(
        budget,
        [
            pipeline.tracer_provider.shutdown,
            pipeline.logger_provider.shutdown,
            lambda: pipeline.meter_provider.shutdown(timeout_millis=budget.remaining_millis()),
        ],
        grace=GRACE,
    )
    pipeline.stats.log_report(final=True)


def register_bounded_shutdown(pipeline: Pipeline) -> None:
    """Run :func:`shutdown_within_budget` at interpreter exit (providers built with ``shutdown_on_exit=False``)."""
    atexit.register(shutdown_within_budget, pipeline)


def _within(budget: FlushBudget, steps: list[Callable[[], object]], grace: float) -> None:
    """Run ``steps`` in parallel daemon threads; wait for them until the budget (plus ``grace``) is spent."""
    end = time.monotonic() + budget.remaining() + grace
    threads = [threading.Thread(target=step, name="otel-ml-logging-shutdown", daemon=True) for step in steps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
