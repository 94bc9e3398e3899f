"""In-memory OpenTelemetry pipeline shared by the plugin's unit tests."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest
from opentelemetry import _logs, metrics, trace
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_ml_logging.pipeline.engine import shared_engine
from otel_ml_logging.pipeline.ids import PresetIdGenerator
from otel_ml_logging.prediction.log_records import install_log_record_factory
from otel_ml_logging.testing import metric_points


@dataclass
class Telemetry:
    spans_exporter: InMemorySpanExporter
    logs_exporter: InMemoryLogRecordExporter
    metric_reader: InMemoryMetricReader

    def spans(self) -> list[ReadableSpan]:
        shared_engine().flush()
        return list(self.spans_exporter.get_finished_spans())

    def records(self) -> list[ReadableLogRecord]:
        shared_engine().flush()
        return list(self.logs_exporter.get_finished_logs())

    def records_by_event(self, event_name: str) -> list[ReadableLogRecord]:
        return [r for r in self.records() if r.log_record.event_name == event_name]

    def metric_points(self, name: str) -> list[tuple[dict[str, object], object]]:
        shared_engine().flush()
        return metric_points(self.metric_reader, name)


_SESSION: Telemetry | None = None


def _session_telemetry() -> Telemetry:
    global _SESSION
    if _SESSION is None:
        spans, logs, reader = InMemorySpanExporter(), InMemoryLogRecordExporter(), InMemoryMetricReader()
        tracer_provider = TracerProvider(id_generator=PresetIdGenerator())
        tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
        trace.set_tracer_provider(tracer_provider)
        logger_provider = LoggerProvider()
        logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
        _logs.set_logger_provider(logger_provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        handler = LoggingHandler(level=logging.DEBUG, logger_provider=logger_provider)
        logging.getLogger("tests.plugin").addHandler(handler)
        logging.getLogger("tests.plugin").setLevel(logging.DEBUG)
        install_log_record_factory()
        _SESSION = Telemetry(spans, logs, reader)
    return _SESSION


@pytest.fixture(params=["queued", "inline"])
def path(request: pytest.FixtureRequest) -> str:
    """Both ways the decorator builds telemetry: on the emitter thread, or inline (foreign provider)."""
    return str(request.param)


def on_path(decorator, path: str):
    """Force the decorator onto ``path`` (queued is chosen by default with our id generator)."""
    if path == "inline":
        decorator.use_providers(queued=False)
    return decorator


@pytest.fixture
def telemetry() -> Telemetry:
    session = _session_telemetry()
    shared_engine().flush()  # what earlier tests left queued must not land in this test's exporters
    session.spans_exporter.clear()
    session.logs_exporter.clear()
    session.metric_reader.get_metrics_data()  # cumulative: tests compare deltas via fresh decorators
    return session
