"""SDK batch processors whose intake and export outcomes are counted in :class:`DeliveryStats`.

Whatever the SDK's exporters deliver (grpc, http/protobuf, console; the service's own spans and log
lines on every protocol) keeps the SDK's batch processors, so their record handling, recursion
guards and self-metrics stay the SDK's; these subclasses count every span and log record they
accept and every export's outcome, and, at shutdown, first let the prediction engine hand over
what it still holds (``upstream``), then report what was delivered and lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from opentelemetry.sdk._logs import ReadWriteLogRecord
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExportResult
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

from otel_ml_logging.pipeline.budget import FlushBudget
from otel_ml_logging.pipeline.delivery import DeliveryStats, ReportsDelivery

_logger = logging.getLogger(__name__)

Result = TypeVar("Result", SpanExportResult, LogRecordExportResult)
Upstream = Callable[[], object]


class _AccountingExporter(Generic[Result]):
    """Wraps an exporter: counts each export's items as exported or failed; one that raises has failed."""

    def __init__(self, inner: Any, stats: DeliveryStats, signal: str, success: Result, failure: Result) -> None:
        self._inner, self._stats, self._signal = inner, stats, signal
        self._success: Result = success
        self._failure: Result = failure
        self._name = type(inner).__name__

    def export(self, batch: Sequence[Any]) -> Result:
        try:
            ok = self._inner.export(batch) is self._success
        except Exception:
            _logger.debug("%s exporter raised", self._signal, exc_info=True)
            ok = False
        self._stats.outcome(self._signal, len(batch), ok, self._name)
        return self._success if ok else self._failure

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return bool(self._inner.force_flush(timeout_millis))


class _Accounted:
    """What both processors share: the accounting exporter, intake counting and the shutdown order.

    Mixed in before the SDK's processor, whose ``__init__``, ``shutdown`` and hooks it extends.
    """

    signal = ""  # "spans" | "log records"
    _batch_processor: Any  # the SDK's BatchProcessor, set by the SDK processor's __init__

    def __init__(
        self,
        exporter: Any,
        stats: DeliveryStats,
        upstream: Upstream | None = None,
        budget: FlushBudget | None = None,
        **options: Any,
    ) -> None:
        """Count for ``exporter`` (batching: ``OTEL_BSP_*``/``OTEL_BLRP_*``, ``options``).

        At shutdown ``upstream`` goes first, and the flush takes no longer than what is left of ``budget``.
        """
        results: tuple[Any, Any] = (SpanExportResult.SUCCESS, SpanExportResult.FAILURE)
        if self.signal != "spans":
            results = (LogRecordExportResult.SUCCESS, LogRecordExportResult.FAILURE)
        super().__init__(_AccountingExporter(exporter, stats, self.signal, *results), **options)  # type: ignore[call-arg]
        self._stats, self._stopping, self._upstream, self._budget = stats, False, upstream, budget
        self._closed = False  # the SDK processor is shutting down: what comes now is dropped without its log line
        if isinstance(exporter, ReportsDelivery):  # its export() only queues: it reports what it really sent
            stats.track_exporter(exporter)

    def _queue_full(self) -> bool:
        """Tell whether the SDK's queue is full: the item is then dropped here, counted, without a warning per item.

        Under a dead collector that warning (one log record per dropped item, through the logging bridge
        into a log queue that is full too) cost more than building the item.
        """
        processor = self._batch_processor
        queue = getattr(processor, "_queue", None)
        return queue is not None and len(queue) >= getattr(processor, "_max_queue_size", len(queue) + 1)

    def _refused(self) -> bool:
        """Count an item, and tell whether it is dropped here: queue full, or the processor closed.

        The SDK's processor logs a line for each item it refuses; through the logging bridge that line
        comes back as another item (under a dead collector, into a full queue; after shutdown, as a
        recursion warning on stderr).
        """
        self._count()
        return self._closed or self._queue_full()

    def _count(self) -> None:
        if not self._stopping:  # what is emitted once shutdown has begun (the report itself) is not counted
            self._stats.accepted(self.signal)

    def shutdown(self) -> None:
        """Let the engine hand over what it holds, flush and stop, then report what was delivered and lost.

        With a flush budget, the flush waits only for what is left of it, then cuts the exporter's
        retries (what is still queued counts as dropped); whoever owns the budget reports, once.
        """
        if self._upstream is not None:
            self._upstream()
        self._stopping = True
        self._closed = True  # the SDK's processor refuses items from here on (its own flag is set first thing)
        if self._budget is None:
            super().shutdown()  # type: ignore[misc]
            self._stats.log_report()
            return
        self._batch_processor.shutdown(timeout_millis=self._budget.remaining_millis())


class AccountedBatchSpanProcessor(_Accounted, BatchSpanProcessor):
    """A BatchSpanProcessor whose intake and export outcomes are counted in ``stats``."""

    signal = "spans"

    def on_end(self, span: ReadableSpan) -> None:
        """Count a sampled span, then queue it (or drop it when the queue is full)."""
        if span.context is not None and span.context.trace_flags.sampled and self._refused():
            return
        super().on_end(span)


class AccountedBatchLogRecordProcessor(_Accounted, BatchLogRecordProcessor):
    """A BatchLogRecordProcessor whose intake and export outcomes are counted in ``stats``."""

    signal = "log records"

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        """Count a record, then queue it (or drop it when the queue is full)."""
        if self._refused():
            return
        super().on_emit(log_record)
