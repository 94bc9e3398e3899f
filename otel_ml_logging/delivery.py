"""Accounting of what the export pipeline delivered, failed to deliver or dropped.

Logging must never block a prediction, so under a slow or dead collector records are dropped
(queue full) or fail to export. Nothing is lost silently: every span and log record handed to
a batch processor is counted, and so is each export outcome. ``dropped`` is what entered a
queue and never reached the exporter; it is exact once the pipeline is flushed or shut down.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk._logs import ReadableLogRecord, ReadWriteLogRecord
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

_logger = logging.getLogger(__name__)


def _say(level: int, message: str) -> None:
    """Log ``message``, or write it to stderr when a dictConfig disabled or silenced our logger."""
    if not _logger.disabled and _logger.isEnabledFor(level) and _logger.hasHandlers():
        _logger.log(level, "%s", message)
    else:
        print(f"{logging.getLevelName(level)} {_logger.name}: {message}", file=sys.stderr)


@dataclass(frozen=True)
class SignalDelivery:
    """Counts for one signal (spans or log records)."""

    accepted: int
    exported: int
    failed: int

    @property
    def dropped(self) -> int:
        """Accepted but neither exported nor failed: dropped from a full queue, or still queued."""
        return self.accepted - self.exported - self.failed

    @property
    def lost(self) -> int:
        """Everything that did not reach the collector."""
        return self.failed + self.dropped


class DeliveryStats:
    """Thread-safe counters per signal; one instance per configured pipeline."""

    def __init__(self) -> None:
        """Start from zero."""
        self._lock = threading.Lock()
        self._counts: dict[str, list[int]] = {}
        self._warned: set[str] = set()

    def accepted(self, signal: str, count: int = 1) -> None:
        """Count items handed to a batch processor."""
        with self._lock:
            self._counts.setdefault(signal, [0, 0, 0])[0] += count

    def outcome(self, signal: str, count: int, success: bool, destination: str) -> None:
        """Count an export attempt's items; warn once per signal on the first failure."""
        with self._lock:
            counts = self._counts.setdefault(signal, [0, 0, 0])
            counts[1 if success else 2] += count
            first_failure = not success and signal not in self._warned
            if first_failure:
                self._warned.add(signal)
        if first_failure:
            _say(
                logging.WARNING,
                f"otel_ml_logging: could not export {count} {signal} to {destination}; telemetry is being "
                "dropped and counted, predictions are unaffected",
            )

    def snapshot(self) -> dict[str, SignalDelivery]:
        """Return the current counts per signal."""
        with self._lock:
            return {signal: SignalDelivery(*counts) for signal, counts in self._counts.items()}

    def report(self) -> str:
        """One human-readable line summarising delivery for every signal."""
        parts = [
            f"{signal}: {d.exported}/{d.accepted} delivered, {d.failed} failed, {d.dropped} dropped"
            for signal, d in sorted(self.snapshot().items())
        ]
        return "otel_ml_logging delivery: " + ("; ".join(parts) if parts else "nothing sent")

    def log_report(self) -> None:
        """Log :meth:`report`: a warning when anything was lost, else at info level."""
        lost = any(delivery.lost for delivery in self.snapshot().values())
        _say(logging.WARNING if lost else logging.INFO, self.report())


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
        """Wrap ``exporter`` for accounting; ``options`` go to BatchLogRecordProcessor."""
        super().__init__(_AccountingLogRecordExporter(exporter, stats), **options)
        self._stats = stats
        self._stopping = False

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
