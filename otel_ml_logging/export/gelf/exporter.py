"""``GelfLogRecordExporter``: encode on the caller's thread, send from one background thread.

``export()`` maps and encodes the records (pure, bounded work), appends them to a bounded queue and
returns at once: it never waits for the network, whatever processor calls it. A sender thread drains
the queue in batches through the transport, retrying transient failures with exponential backoff.
Nothing is lost silently: every record handed to ``export()`` ends up counted as sent, failed (given
up after retries) or dropped with a reason (``queue_full``, ``too_many_chunks``, ``rejected``,
``encoding``, ``shutdown``); :meth:`GelfLogRecordExporter.delivery` returns the counts and shutdown
logs them in one line.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import sys
import threading
import time
import weakref
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack for **kwargs needs Python 3.12

from otel_ml_logging.export.gelf.config import GelfExporterConfig, GelfOptions
from otel_ml_logging.export.gelf.encode import GelfEncoder
from otel_ml_logging.export.gelf.transport import Transport, make_transport
from otel_ml_logging.pipeline.log_handlers import opentelemetry_handlers_only

__all__ = ["GelfDelivery", "GelfLogRecordExporter"]

_logger = logging.getLogger("otel_ml_logging.export.gelf")

BATCH_SIZE = 512
BACKOFF_INITIAL_S = 0.1
BACKOFF_MAX_S = 5.0
DEFAULT_RETRY_TIMEOUT_S = 300.0  # like the collector's retry_on_failure.max_elapsed_time
QUEUE_FULL, SHUTDOWN = "queue_full", "shutdown"


def _say(level: int, message: str) -> None:
    """Log ``message``; print it to stderr when nothing would show it (no handler, or a level above it).

    At shutdown the OpenTelemetry logging handler may be the only handler left, and it feeds this very
    exporter: the report must not depend on it.
    """
    if _logger.isEnabledFor(level) and _logger.hasHandlers() and not opentelemetry_handlers_only(_logger):
        _logger.log(level, "%s", message)
    else:
        print(f"{logging.getLevelName(level)} {_logger.name}: {message}", file=sys.stderr)


@dataclass(frozen=True)
class GelfDelivery:
    """What became of the records handed to the exporter.

    Attributes:
        accepted: records handed to ``export()``.
        sent: messages handed to the network (UDP) or accepted by the peer (TCP write, HTTP 2xx).
        failed: messages given up after retrying (the endpoint stayed unreachable).
        dropped: messages never sent, by reason.
        pending: messages queued or being sent right now.

    """

    accepted: int = 0
    sent: int = 0
    failed: int = 0
    dropped: Mapping[str, int] = field(default_factory=dict)
    pending: int = 0

    @property
    def lost(self) -> int:
        """Everything that did not (and will not) reach the endpoint."""
        return self.failed + sum(self.dropped.values())

    def summary(self) -> str:
        """One short part for humans: ``GELF: 2/2 sent, 0 failed, dropped: none``."""
        drops = ", ".join(f"{n} {reason}" for reason, n in sorted(self.dropped.items())) or "none"
        pending = f", {self.pending} pending" if self.pending else ""
        return f"GELF: {self.sent}/{self.accepted} sent, {self.failed} failed, dropped: {drops}{pending}"

    def report(self) -> str:
        """Return the line logged at shutdown."""
        return "otel_ml_logging delivery: " + self.summary()


class GelfLogRecordExporter(LogRecordExporter):
    """Export log records as GELF 1.1 messages over UDP, TCP, TLS or HTTP(S).

    Select it with ``OTEL_LOGS_EXPORTER=gelf``; it reads ``OTEL_EXPORTER_GELF_*`` (see
    :mod:`otel_ml_logging.export.gelf.environment_variables`). Keyword arguments win over the
    environment; an invalid argument raises ValueError, an invalid variable warns and uses the default.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        fallback_host: str | None = None,
        retry_timeout: float = DEFAULT_RETRY_TIMEOUT_S,
        environ: Mapping[str, str] = os.environ,
        **options: Unpack[GelfOptions],
    ) -> None:
        """Resolve the configuration (``options``: those of :meth:`GelfExporterConfig.resolve`); no thread yet.

        The sender thread starts with the first export.
        """
        self.config = GelfExporterConfig.resolve(endpoint, environ=environ, **options)
        self._encoder = GelfEncoder(self.config.mapping, fallback_host or socket.gethostname())
        self._transport: Transport = make_transport(self.config)
        self._retry_timeout = retry_timeout
        self._cond = threading.Condition()
        self._queue: deque[bytes] = deque()
        self._in_flight = 0
        self._thread: threading.Thread | None = None
        self._closed = False
        self._give_up_at: float | None = None  # set by shutdown: stop retrying at this monotonic time
        self._stopping = threading.Event()
        self._accepted = self._sent = self._failed = 0
        self._dropped: Counter[str] = Counter()
        self._warned: set[str] = set()
        os.register_at_fork(after_in_child=_after_fork_hook(weakref.ref(self)))

    # -- the caller's side ---------------------------------------------------------------------

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        """Encode and queue ``batch`` without waiting; FAILURE when any record was dropped or after shutdown."""
        encoded: list[bytes] = []
        bad = 0
        for record in batch:
            try:
                encoded.append(self._encoder.encode(record))
            except Exception:  # a record the mapping cannot encode must not break the application
                bad += 1
                _logger.debug("GELF: cannot encode a log record", exc_info=True)
        with self._cond:
            self._accepted += len(batch)
            if self._closed:
                self._dropped[SHUTDOWN] += len(encoded)
                self._dropped["encoding"] += bad
                return LogRecordExportResult.FAILURE
            room = self.config.queue_size - len(self._queue) - self._in_flight
            queued = encoded[: max(room, 0)]
            overflow = len(encoded) - len(queued)
            self._queue.extend(queued)
            self._dropped[QUEUE_FULL] += overflow
            self._dropped["encoding"] += bad
            if queued:
                self._cond.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="otel-gelf-sender", daemon=True)
                self._thread.start()
        if overflow:
            self._warn_once(
                QUEUE_FULL,
                f"GELF exporter queue is full ({self.config.queue_size} messages, endpoint "
                f"{self.config.endpoint.url}): dropping records and counting them",
            )
        if bad:
            self._warn_once("encoding", f"GELF exporter could not encode {bad} log record(s); they are dropped")
        return LogRecordExportResult.FAILURE if overflow or bad else LogRecordExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Wait until every queued message was handled (sent, failed or dropped); False on timeout."""
        deadline = time.monotonic() + timeout_millis / 1000
        with self._cond:
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._thread is None:
                    return False
                self._cond.wait(remaining)
        return True

    def shutdown(self) -> None:
        """Flush for at most the configured timeout, stop the sender, close the connection; idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._give_up_at = time.monotonic() + self.config.timeout
            self._stopping.set()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(max(0.0, self._give_up_at - time.monotonic()) + 1.0)
        with self._cond:
            left = len(self._queue)
            self._queue.clear()
            self._dropped[SHUTDOWN] += left
        self._transport.close()
        delivery = self.delivery()
        _say(logging.WARNING if delivery.lost or delivery.pending else logging.INFO, delivery.report())

    def delivery(self) -> GelfDelivery:
        """Return the counts so far (exact once shut down)."""
        with self._cond:
            return GelfDelivery(
                accepted=self._accepted,
                sent=self._sent,
                failed=self._failed,
                dropped={reason: n for reason, n in self._dropped.items() if n},
                pending=len(self._queue) + self._in_flight,
            )

    # -- the sender thread ---------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                batch = [self._queue.popleft() for _ in range(min(BATCH_SIZE, len(self._queue)))]
                self._in_flight = len(batch)
            try:
                self._deliver(batch)
            except Exception:  # never let the thread die with messages counted as in flight
                _logger.debug("GELF sender failed", exc_info=True)
                with self._cond:
                    self._failed += self._in_flight
            finally:
                with self._cond:
                    self._in_flight = 0
                    self._cond.notify_all()

    def _deliver(self, batch: list[bytes]) -> None:
        started = time.monotonic()
        attempt = 0
        while batch:
            result = self._transport.send(batch)
            with self._cond:
                for _, reason, _ in result.dropped:
                    self._dropped[reason] += 1
                self._sent += result.done - len(result.dropped)
                self._in_flight -= result.done
            for _, reason, detail in result.dropped[:1]:
                self._warn_once(reason, f"GELF exporter dropped a message ({reason}): {detail}")
            batch = batch[result.done :]
            if result.error is None:
                return
            self._warn_once("error", f"GELF export failed, retrying: {result.error}")
            delay = result.retry_after if result.retry_after is not None else self._backoff(attempt)
            attempt += 1
            give_up_at = started + self._retry_timeout
            if self._give_up_at is not None:
                give_up_at = min(give_up_at, self._give_up_at)
            if time.monotonic() + delay > give_up_at:
                with self._cond:
                    self._failed += len(batch)
                    self._in_flight -= len(batch)
                self._warn_once("failed", f"GELF exporter gave up on {len(batch)} message(s): {result.error}")
                return
            if self._stopping.is_set():
                time.sleep(delay)  # bounded by the shutdown deadline (checked above)
            else:
                self._stopping.wait(delay)  # shutdown cuts the wait short

    @staticmethod
    def _backoff(attempt: int) -> float:
        return random.uniform(0.5, 1.0) * min(BACKOFF_MAX_S, BACKOFF_INITIAL_S * 2.0**attempt)

    def _warn_once(self, kind: str, message: str) -> None:
        with self._cond:
            if kind in self._warned:
                return
            self._warned.add(kind)
        _logger.warning("%s", message)

    def _after_fork(self) -> None:
        """In a forked child: fresh lock, queue and connection; the parent's queue stays the parent's."""
        self._cond = threading.Condition()
        self._queue = deque()
        self._in_flight = 0
        self._thread = None
        self._transport = make_transport(self.config)


def _after_fork_hook(reference: weakref.ref[GelfLogRecordExporter]) -> Callable[[], None]:
    """Build a fork hook that does not keep the exporter alive."""

    def hook() -> None:
        exporter = reference()
        if exporter is not None:
            exporter._after_fork()

    return hook
