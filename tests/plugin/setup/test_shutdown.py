"""The bounded shutdown: real SDK providers whose exporter hangs are stopped within the flush budget, and counted."""

from __future__ import annotations

import threading
import time

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_ml_logging.export.accounted import AccountedBatchSpanProcessor
from otel_ml_logging.pipeline.budget import FlushBudget
from otel_ml_logging.pipeline.delivery import DeliveryStats
from otel_ml_logging.pipeline.engine import Engine, EngineSettings
from otel_ml_logging.setup.settings import Settings
from otel_ml_logging.setup.shutdown import GRACE, Pipeline, shutdown_within_budget


class HangingExporter(SpanExporter):
    """Like an OTLP exporter retrying a dead collector: export() waits until shutdown() cuts it."""

    def __init__(self) -> None:
        self.cut = threading.Event()

    def export(self, spans):
        self.cut.wait(60)
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        self.cut.set()


def test_a_hanging_exporter_is_cut_at_the_budget_and_its_spans_counted(capsys):
    stats, exporter, budget = DeliveryStats(), HangingExporter(), FlushBudget(0.5)
    engine = Engine(EngineSettings(), stats)
    stats.track_queue(engine)
    tracer_provider = TracerProvider(shutdown_on_exit=False)
    tracer_provider.add_span_processor(AccountedBatchSpanProcessor(exporter, stats, engine.shutdown, budget))
    tracer = tracer_provider.get_tracer("test")
    for index in range(10):
        tracer.start_span(f"span {index}").end()
    pipeline = Pipeline(
        engine,
        tracer_provider,
        LoggerProvider(shutdown_on_exit=False),
        MeterProvider(shutdown_on_exit=False),
        stats,
        budget,
    )
    started = time.monotonic()
    shutdown_within_budget(pipeline)
    elapsed = time.monotonic() - started
    assert elapsed <= 0.5 + GRACE + 0.5, elapsed  # without the budget: the SDK's 30 s
    spans = stats.snapshot()["spans"]
    assert (spans.accepted, spans.exported) == (10, 0)
    assert spans.failed + spans.dropped == 10
    assert "otel_ml_logging delivery: spans: 0/10 delivered" in capsys.readouterr().err  # stderr, whatever logging does


@pytest.mark.parametrize(
    ("explicit", "environ", "seconds"),
    [
        (None, {}, 3.0),
        (None, {"OTEL_ML_LOGGING_SHUTDOWN_TIMEOUT": "2500"}, 2.5),
        (None, {"OTEL_ML_LOGGING_SHUTDOWN_TIMEOUT": "0"}, 0.0),
        (1.5, {"OTEL_ML_LOGGING_SHUTDOWN_TIMEOUT": "2500"}, 1.5),
    ],
)
def test_shutdown_timeout_precedence(explicit, environ, seconds):
    assert Settings.resolve(environ=environ, shutdown_timeout=explicit).shutdown_timeout == seconds
