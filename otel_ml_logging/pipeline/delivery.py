"""Accounting of what the pipeline delivered, failed to deliver or dropped: :func:`delivery_stats`.

Logging must never block a prediction, so under a slow or dead collector telemetry is dropped
(queue full) or fails to export. Nothing is lost silently: every prediction queued for telemetry,
every span and log record handed to a batch, and each export outcome is counted, and so is every
failure of our own telemetry code. ``dropped`` is what entered a queue and never reached the
exporter; it is exact once the pipeline is flushed or shut down.
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

_logger = logging.getLogger(__name__)


def _say(level: int, message: str, stderr_too: bool = False) -> None:
    """Log ``message``; write it to stderr as well with ``stderr_too``, or when a dictConfig silenced our logger."""
    logged = not _logger.disabled and _logger.isEnabledFor(level) and _logger.hasHandlers()
    if logged:
        _logger.log(level, "%s", message)
    if stderr_too or not logged:
        print(f"{logging.getLevelName(level)} {_logger.name}: {message}", file=sys.stderr, flush=True)


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


@dataclass(frozen=True)
class PredictionDelivery:
    """Predictions handed to the background engine, and failures of the decorator's own telemetry code."""

    accepted: int  # queued for their telemetry to be built
    dropped: int  # refused by a full (or shut down) queue: no telemetry at all
    telemetry_failures: int  # a telemetry step that failed (payload not convertible, a sink that raised)
    pending: int = 0  # queued, telemetry not built yet (at exit: left unsent when the flush budget ran out)


class ExporterCounts(Protocol):
    """What an exporter with its own queue reports (e.g. :class:`~otel_ml_logging.export.gelf.GelfDelivery`)."""

    @property
    def lost(self) -> int:
        """Records that did not and will not reach the endpoint."""
        ...

    def summary(self) -> str:
        """One short human-readable part, e.g. ``GELF: 2/2 sent, 0 failed, dropped: none``."""
        ...


@runtime_checkable
class ReportsDelivery(Protocol):
    """An exporter whose ``export()`` only queues: its real outcome comes from ``delivery()``."""

    def delivery(self) -> ExporterCounts:
        """Return the exporter's counts so far."""
        ...


class _Queue(Protocol):
    @property
    def accepted(self) -> int: ...

    @property
    def pending(self) -> int: ...

    dropped: int


class AcceptedCounts(Protocol):
    """A hot path that counts what it accepts itself, under its own lock (e.g. the JSON batches)."""

    def accepted_counts(self) -> dict[str, int]:
        """Items accepted so far, per signal."""
        ...


class DeliveryStats:
    """Thread-safe counters per signal; one instance per configured pipeline."""

    def __init__(self) -> None:
        """Start from zero."""
        self._lock = threading.Lock()
        self._counts: dict[str, list[int]] = {}
        self._warned: set[str] = set()
        self._queues: list[_Queue] = []
        self._exporters: list[ReportsDelivery] = []
        self._accepting: list[AcceptedCounts] = []
        self._telemetry_failures = 0

    def track_queue(self, queue: _Queue) -> None:
        """Report ``queue``'s accepted and dropped predictions in :meth:`predictions`."""
        self._queues.append(queue)

    def track_accepted(self, source: AcceptedCounts) -> None:
        """Add what ``source`` counted as accepted to :meth:`snapshot` (it counts without this lock)."""
        self._accepting.append(source)

    def track_exporter(self, exporter: ReportsDelivery) -> None:
        """Add ``exporter``'s own outcome (sent, failed, dropped after queueing) to :meth:`report`."""
        self._exporters.append(exporter)

    def telemetry_failed(self) -> None:
        """Count one failure of our own telemetry code (the prediction itself went on)."""
        with self._lock:
            self._telemetry_failures += 1

    def predictions(self) -> PredictionDelivery:
        """Predictions queued and dropped by the engine, and telemetry failures."""
        return PredictionDelivery(
            sum(queue.accepted for queue in self._queues),
            sum(queue.dropped for queue in self._queues),
            self._telemetry_failures,
            sum(queue.pending for queue in self._queues),
        )

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
            counts = {signal: list(values) for signal, values in self._counts.items()}
        # read after the outcomes: an item is accepted before its export is counted, so none looks exported unaccepted
        for source in self._accepting:
            for signal, accepted in source.accepted_counts().items():
                counts.setdefault(signal, [0, 0, 0])[0] += accepted
        return {signal: SignalDelivery(*values) for signal, values in counts.items()}

    def report(self) -> str:
        """One human-readable line summarising delivery for every signal."""
        parts = [
            f"{signal}: {d.exported}/{d.accepted} delivered, {d.failed} failed, {d.dropped} dropped"
            for signal, d in sorted(self.snapshot().items())
        ]
        predictions = self.predictions()
        if predictions.accepted or predictions.dropped or predictions.telemetry_failures:
            parts.append(
                f"predictions: {predictions.accepted} queued, {predictions.dropped} refused by a full queue, "
                + (f"{predictions.pending} still queued (no telemetry built), " if predictions.pending else "")
                + f"{predictions.telemetry_failures} telemetry failures"
            )
        parts += [exporter.delivery().summary() for exporter in self._exporters]
        return "otel_ml_logging delivery: " + ("; ".join(parts) if parts else "nothing sent")

    def log_report(self, final: bool = False) -> None:
        """Log :meth:`report`: a warning when anything was lost, else at info level.

        ``final`` (the report at exit) goes to stderr as well: by then the log pipeline that would carry
        the log line is shut down, or its collector is the one that is unreachable.
        """
        predictions = self.predictions()
        lost = (
            predictions.dropped
            or predictions.pending
            or any(delivery.lost for delivery in self.snapshot().values())
            or any(exporter.delivery().lost for exporter in self._exporters)
        )
        _say(logging.WARNING if lost else logging.INFO, self.report(), stderr_too=final)


_process_stats = DeliveryStats()


class TelemetryFailures:
    """Failures of one decorator's own telemetry code: counted, logged once, never raised into ``predict()``."""

    def __init__(self) -> None:
        """Start from zero."""
        self.count = 0

    def __call__(self) -> None:
        """Count one failure (call it from an ``except`` block: the first one is logged with its traceback)."""
        self.count += 1
        _process_stats.telemetry_failed()
        if self.count == 1:
            _logger.warning("otel_ml_logging: telemetry step failed; predictions go on", exc_info=True)


def delivery_stats() -> DeliveryStats:
    """Delivery counters of this process's prediction telemetry (every path, every signal)."""
    return _process_stats
