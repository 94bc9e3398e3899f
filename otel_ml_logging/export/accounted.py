"""SDK batch processors whose intake and export outcomes are counted in :class:`DeliveryStats`.

The SDK path (grpc, http/protobuf, console exporters) keeps the SDK's batch processors; these
subclasses count every span and log record they accept and every export's outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk._logs import ReadableLogRecord, ReadWriteLogRecord
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from otel_ml_logging.pipeline.delivery import DeliveryStats, ReportsDelivery

_logger = logging.getLogger(__name__)


def _counted(
    stats: DeliveryStats, signal: str, name: str, export: Callable[[], object], success: object, batch: Sequence[object]
) -> bool:
    """Run one export, count its outcome; an exporter that raises counts as a failure."""
    try:
        ok = export() is success
    except Exception:
        _logger.debug("%s exporter raised", signal, exc_info=True)
        ok = False
    stats.outcome(signal, len(batch), ok, name)
    return ok


class _AccountingSpanExporter(SpanExporter):
    def __init__(self, inner: SpanExporter, stats: DeliveryStats) -> None:
        self._inner, self._stats, self._name = inner, stats, type(inner).__name__

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        ok = _counted(
            self._stats, "spans", self._name, lambda: self._inner.export(spans), SpanExportResult.SUCCESS, spans
        )
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


class _AccountingLogRecordExporter(LogRecordExporter):
    def __init__(self, inner: LogRecordExporter, stats: DeliveryStats) -> None:
        self._inner, self._stats, self._name = inner, stats, type(inner).__name__

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        success = LogRecordExportResult.SUCCESS
        ok = _counted(self._stats, "log records", self._name, lambda: self._inner.export(batch), success, batch)
        return success if ok else LogRecordExportResult.FAILURE

    def shutdown(self) -> None:
        self._inner.shutdown()  # type: ignore[no-untyped-call]

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


class AccountedBatchSpanProcessor(BatchSpanProcessor):
    """A BatchSpanProcessor whose intake and export outcomes are counted in ``stats``."""

    def __init__(self, exporter: SpanExporter, stats: DeliveryStats, **options: Any) -> None:
        """Wrap ``exporter`` for accounting; ``options`` go to BatchSpanProcessor."""
        super().__init__(_AccountingSpanExporter(exporter, stats), **options)
        self._stats = stats
        self._stopping = False

    def on_end(self, span: ReadableSpan) -> None:
        """Count a sampled span, then queue it (or drop it when the queue is full)."""
        if span.context is not None and span.context.trace_flags.sampled and not self._stopping:
            self._stats.accepted("spans")
        super().on_end(span)

    def shutdown(self) -> None:
        """Flush, stop, and report what was delivered and lost."""
        self._stopping = True
        super().shutdown()  # type: ignore[no-untyped-call]
        self._stats.log_report()


class AccountedBatchLogRecordProcessor(BatchLogRecordProcessor):
    """A BatchLogRecordProcessor whose intake and export outcomes are counted in ``stats``."""

    def __init__(self, exporter: LogRecordExporter, stats: DeliveryStats, **options: Any) -> None:
        """Wrap ``exporter`` for accounting; ``options`` go to BatchLogRecordProcessor.

        An exporter with its own queue (``delivery()``, like the GELF exporter) also reports what became of
        the records it queued: its ``export()`` success means queued, not sent.
        """
        super().__init__(_AccountingLogRecordExporter(exporter, stats), **options)
        self._stats = stats
        self._stopping = False
        if isinstance(exporter, ReportsDelivery):
            stats.track_exporter(exporter)

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        """Count a record, then queue it (or drop it when the queue is full)."""
        if not self._stopping:
            self._stats.accepted("log records")
        super().on_emit(log_record)

    def shutdown(self) -> None:
        """Flush, stop, and report what was delivered and lost.

        Records emitted once shutdown has begun (such as the report itself) are not counted.
        """
        self._stopping = True
        super().shutdown()  # type: ignore[no-untyped-call]
        self._stats.log_report()
