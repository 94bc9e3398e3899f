"""Telemetry values → OpenTelemetry SDK spans, log records and metric points.

Used whenever the SDK's own exporters deliver (grpc, http/protobuf, console, a tracer provider set
up by someone else). Translates :class:`~otel_ml_logging.prediction.telemetry.PredictionTelemetry`
and decides nothing: what a prediction emits is decided in :mod:`otel_ml_logging.prediction.telemetry`.
"""

from __future__ import annotations

from opentelemetry import _logs, context, trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from otel_ml_logging.export.metrics import MetricRecorder
from otel_ml_logging.pipeline.ids import PresetIdGenerator
from otel_ml_logging.prediction.telemetry import PredictionTelemetry, SpanValues, merged


class SdkSink:
    """Emits predictions' telemetry through a tracer, a logger and the metric instruments."""

    def __init__(
        self,
        tracer: trace.Tracer,
        otel_logger: _logs.Logger,
        metrics: MetricRecorder | None,
        id_generator: PresetIdGenerator | None = None,
    ) -> None:
        """``id_generator``: the tracer provider's, to give spans started later the ids chosen at ``predict()``."""
        self._tracer = tracer
        self._logger = otel_logger
        self._metrics = metrics
        self._id_generator = id_generator

    def emit(self, telemetry: PredictionTelemetry) -> None:
        """Start and end the span with the prediction's ids, emit its records and metric point."""
        values = telemetry.span
        span = None
        if values is not None:
            span = self._start_with_ids(telemetry, values)
            self._end(span, values)
        self._emit_records(telemetry, span)
        if self._metrics is not None and telemetry.metric is not None:
            self._metrics.add(telemetry.metric)

    def start_span(self, name: str, start_ns: int) -> Span:
        """Start a prediction's span now, as a child of the current one (when ids cannot be chosen)."""
        return self._tracer.start_span(name, kind=SpanKind.INTERNAL, start_time=start_ns)

    def finish_started(self, telemetry: PredictionTelemetry, span: Span | None) -> None:
        """Complete a span started by :meth:`start_span` (or none), emit the records and metric point."""
        values = telemetry.span
        if span is not None:
            try:
                if values is not None:
                    span.set_attributes(merged(values.attributes))
            finally:
                self._end(span, values)
        self._emit_records(telemetry, span)
        if self._metrics is not None and telemetry.metric is not None:
            self._metrics.record(telemetry.metric)  # request threads: straight to the instruments

    def flush_metrics(self) -> None:
        """Add the counts gathered since the last call (called once per batch by the engine)."""
        if self._metrics is not None:
            self._metrics.flush()

    def _start_with_ids(self, telemetry: PredictionTelemetry, values: SpanValues) -> Span:
        parent = telemetry.parent
        parent_context = (
            trace.set_span_in_context(NonRecordingSpan(parent)) if parent is not None else context.Context()
        )
        id_generator = self._id_generator
        if id_generator is not None:
            id_generator.preset(telemetry.trace_id, telemetry.span_id)
        try:
            return self._tracer.start_span(
                values.name,
                context=parent_context,
                kind=SpanKind.INTERNAL,
                attributes=merged(values.attributes),
                start_time=values.start_ns,
            )
        finally:
            if id_generator is not None:
                id_generator.clear()

    @staticmethod
    def _end(span: Span, values: SpanValues | None) -> None:
        if values is None:
            span.end()
            return
        try:
            if span.is_recording():
                for event in values.events:
                    span.add_event(event.name, event.attributes, event.timestamp_ns)
                if values.error_description is not None:
                    span.set_status(Status(StatusCode.ERROR, values.error_description))
        finally:
            span.end(values.end_ns)

    def _emit_records(self, telemetry: PredictionTelemetry, span: Span | None) -> None:
        if span is None or span.get_span_context().span_id != telemetry.span_id:
            span = NonRecordingSpan(
                SpanContext(telemetry.trace_id, telemetry.span_id, False, TraceFlags(telemetry.trace_flags))
            )
        record_context = trace.set_span_in_context(span)
        for record in telemetry.records:
            self._logger.emit(
                timestamp=record.timestamp_ns,
                context=record_context,
                severity_number=SeverityNumber(record.severity_number),
                severity_text=record.severity_text,
                body=record.body,
                attributes=merged(record.attributes),
                event_name=record.event_name,
            )
