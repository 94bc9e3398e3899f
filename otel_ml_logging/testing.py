"""Capture what a decorated model emits, in memory, in your own tests (like ``structlog.testing``).

::

    from otel_ml_logging import OTelLoggingDecorator
    from otel_ml_logging.testing import capture_telemetry

    def test_predictions_are_logged_with_their_input():
        model = OTelLoggingDecorator(input_fields=["age"]).set_model(MyModel())
        with capture_telemetry(model) as captured:
            model.predict(MyInput(age=42))
        (span,) = captured.spans
        assert span.attributes["ml.prediction.input.age"] == 42
        assert captured.event_names() == ["ml.prediction.requested", "ml.prediction.created"]
        assert captured.metric_sum("ml.predictions", **{"ml.prediction.status": "success"}) == 1

Inside the block the decorators emit through private in-memory SDK providers, on the request
thread (nothing to flush), whatever the process has set up; stdlib log lines written meanwhile are
captured too (those your loggers' levels let through), with the prediction's ids. On exit the
decorators go back to their usual path.
Needs nothing beyond this package's dependencies: no collector, no network.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_ml_logging.decorators.otel_logging import OTelLoggingDecorator
from otel_ml_logging.pipeline.ids import PresetIdGenerator
from otel_ml_logging.prediction.log_records import install_log_record_factory

__all__ = ["CapturedTelemetry", "capture_telemetry", "metric_points"]


def metric_points(reader: InMemoryMetricReader, name: str) -> list[tuple[dict[str, Any], Any]]:
    """``(attributes, data point)`` of every point of the metric ``name`` that ``reader`` holds."""
    data = reader.get_metrics_data()
    points: list[tuple[dict[str, Any], Any]] = []
    for resource_metrics in data.resource_metrics if data else []:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name == name:
                    points.extend((dict(p.attributes or {}), p) for p in metric.data.data_points)
    return points


@dataclass
class CapturedTelemetry:
    """Spans, log records and metrics emitted inside a :func:`capture_telemetry` block."""

    span_exporter: InMemorySpanExporter
    log_exporter: InMemoryLogRecordExporter
    metric_reader: InMemoryMetricReader

    @property
    def spans(self) -> list[ReadableSpan]:
        """Finished spans, in the order they ended."""
        return list(self.span_exporter.get_finished_spans())

    @property
    def records(self) -> list[ReadableLogRecord]:
        """Log records: the prediction records and the stdlib log lines written during the block."""
        return list(self.log_exporter.get_finished_logs())

    def event_names(self) -> list[str]:
        """``event_name`` of each prediction record (``ml.prediction.requested``, ...), in order."""
        return [r.log_record.event_name for r in self.records if r.log_record.event_name]

    def records_of(self, event_name: str) -> list[ReadableLogRecord]:
        """Return the records with this ``event_name``."""
        return [r for r in self.records if r.log_record.event_name == event_name]

    def metric_points(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        """``(attributes, data point)`` of every point of the metric ``name`` recorded so far."""
        return metric_points(self.metric_reader, name)

    def metric_sum(self, name: str, **attributes: Any) -> float:
        """Total of a counter (or count of a histogram) over the points whose attributes match."""
        total: float = sum(
            point.count if hasattr(point, "count") else point.value
            for point_attributes, point in self.metric_points(name)
            if all(point_attributes.get(key) == value for key, value in attributes.items())
        )
        return total


@contextmanager
def capture_telemetry(*decorators: OTelLoggingDecorator, stdlib_logging: bool = True) -> Iterator[CapturedTelemetry]:
    """Route ``decorators`` (models wrapped with ``set_model``) into in-memory providers for the block."""
    spans, logs, reader = InMemorySpanExporter(), InMemoryLogRecordExporter(), InMemoryMetricReader()  # type: ignore[no-untyped-call]
    tracer_provider = TracerProvider(id_generator=PresetIdGenerator(), shutdown_on_exit=False)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    logger_provider = LoggerProvider(shutdown_on_exit=False)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    meter_provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    previous = [decorator._swap_path(None) for decorator in decorators]
    for decorator in decorators:
        decorator.use_providers(tracer_provider, logger_provider, meter_provider, queued=False)
    handler = LoggingHandler(level=logging.NOTSET, logger_provider=logger_provider) if stdlib_logging else None
    if handler is not None:
        install_log_record_factory()
        logging.getLogger().addHandler(handler)
    try:
        yield CapturedTelemetry(spans, logs, reader)
    finally:
        if handler is not None:
            logging.getLogger().removeHandler(handler)
        for decorator, path in zip(decorators, previous, strict=True):
            decorator._swap_path(path)
        for provider in (tracer_provider, logger_provider, meter_provider):
            provider.shutdown()
