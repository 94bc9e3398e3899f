"""The background engine: a bounded queue of finished predictions, drained in batches by one thread.

The request thread appends a prediction's facts (one tuple) and returns: a few microseconds. The
``otel-ml-logging-engine`` thread takes everything queued at each wake-up (every
:attr:`EngineSettings.drain_interval`, or early once :attr:`EngineSettings.wake_at` are waiting),
hands each prediction to its path (which builds the telemetry and gives it to a sink), then runs the
drain hooks once for the batch (the JSON batches post, metric counts are added). A full queue drops
the newest prediction and counts it; it never blocks a prediction. The engine restarts in forked
children and is flushed at interpreter exit.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from otel_ml_logging.environment_variables import OTEL_ML_LOGGING_QUEUE_SIZE
from otel_ml_logging.pipeline.delivery import DeliveryStats, delivery_stats
from otel_ml_logging.pipeline.fork import after_fork_in_child

_logger = logging.getLogger(__name__)

Handler = Callable[[Any], None]


@dataclass(frozen=True)
class EngineSettings:
    """How much the engine holds and how often it wakes."""

    queue_size: int = 32768
    # Each wake-up costs the same (the thread switch, one HTTP request per signal, the metric
    # counts) however few predictions it drains: rarely, in large batches, is what is cheap
    # (bench/README.md, "Where the CPU goes"). Records still reach the collector within about
    # drain_interval plus one request.
    wake_at: int = 2048  # queued predictions that wake the worker before its next periodic drain
    drain_interval: float = 0.5  # seconds
    shutdown_timeout: float = 30.0  # seconds the exit handler waits for the queue to drain

    @classmethod
    def resolve(cls, queue_size: int | None = None, environ: Mapping[str, str] | None = None) -> EngineSettings:
        """Explicit ``queue_size`` → ``OTEL_ML_LOGGING_QUEUE_SIZE`` → default (an invalid value warns once)."""
        if queue_size is not None:
            return cls(queue_size=queue_size)
        raw = (os.environ if environ is None else environ).get(OTEL_ML_LOGGING_QUEUE_SIZE)
        if raw is None:
            return cls()
        try:
            size = int(raw)
            if size <= 0:
                raise ValueError(raw)
        except ValueError:
            _logger.warning(
                "%s=%r is not a positive integer; using %d", OTEL_ML_LOGGING_QUEUE_SIZE, raw, cls.queue_size
            )
            return cls()
        return cls(queue_size=size)


class Engine:
    """A bounded queue of (handler, facts) drained by one daemon thread."""

    def __init__(self, settings: EngineSettings | None = None, stats: DeliveryStats | None = None) -> None:
        """Start the worker thread; it is flushed at interpreter exit and restarted in forked children."""
        self.settings = settings or EngineSettings.resolve()
        self.max_queue_size = self.settings.queue_size
        self._stats = stats
        self._queue: collections.deque[tuple[Handler, Any]] = collections.deque()
        self._stopping = False
        self._drain_hooks: list[Callable[[], None]] = []
        self._shutdown_hooks: list[Callable[[], None]] = []
        self._reset()
        atexit.register(_shutdown_at_exit, weakref.ref(self))
        after_fork_in_child(self)

    def _reset(self) -> None:
        self._queue.clear()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._handled = self.dropped = self.failed = 0
        self._capacity = 0 if self._stopping else self.max_queue_size
        self._thread = threading.Thread(target=self._run, name="otel-ml-logging-engine", daemon=True)
        self._thread.start()

    def after_fork_in_child(self) -> None:
        """Start afresh in a forked child: the parent's queued predictions are the parent's to deliver."""
        self._reset()

    def add_drain_hook(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` on the worker thread after each batch (e.g. to post it, to add metric counts)."""
        if hook not in self._drain_hooks:
            self._drain_hooks.append(hook)

    def add_shutdown_hook(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` once the worker has handled everything and stopped (e.g. to post the last batch)."""
        self._shutdown_hooks.append(hook)

    def submit(self, handler: Handler, facts: Any) -> bool:
        """Queue facts for ``handler``; False (and counted) when the queue is full or shut down."""
        queue = self._queue
        if len(queue) < self._capacity:  # 0 once shut down
            queue.append((handler, facts))
            if len(queue) >= self.settings.wake_at and not self._wake.is_set():
                self._wake.set()  # otherwise the periodic wake-up picks them up: no syscall per prediction
            return True
        return self._drop()

    @property
    def accepted(self) -> int:
        """Predictions queued since start (or since a fork, in a child), handled or not yet."""
        return self._handled + len(self._queue)

    @property
    def pending(self) -> int:
        """Predictions queued whose telemetry is not built yet."""
        return len(self._queue)

    def _drop(self) -> bool:
        self.dropped += 1
        if self.dropped == 1:
            _logger.warning(
                "otel_ml_logging: prediction telemetry queue full (%d); dropping and counting", self.max_queue_size
            )
        return False

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued so far has been handled and the drain hooks have run."""
        if not self._queue and self._idle.is_set():
            return True
        self._idle.clear()
        self._wake.set()
        return self._idle.wait(timeout)

    def shutdown(self, timeout: float | None = None) -> None:
        """Handle what is queued, then stop the worker and run the shutdown hooks."""
        if self._stopping:
            return
        timeout = self.settings.shutdown_timeout if timeout is None else timeout
        self.flush(timeout)
        self._stopping = True
        self._capacity = 0
        self._wake.set()
        self._thread.join(timeout)
        for hook in self._shutdown_hooks:
            self._call(hook)

    def _run(self) -> None:
        queue, wake, interval = self._queue, self._wake, self.settings.drain_interval
        while True:
            wake.wait(interval)
            wake.clear()
            while queue:
                handler, facts = queue.popleft()
                self._handled += 1  # first: accepted = handled + queued holds while the handler runs
                try:  # _call's work, inline: once per prediction
                    handler(facts)
                except Exception:
                    self._failed()
            for hook in self._drain_hooks:
                self._call(hook)
            self._idle.set()
            if self._stopping:
                return

    def _call(self, function: Callable[..., None], *args: Any) -> None:
        try:
            function(*args)
        except Exception:
            self._failed()

    def _failed(self) -> None:
        """Count a handler or hook that raised (called from its ``except`` block; the first is logged)."""
        self.failed += 1
        if self._stats is not None:
            self._stats.telemetry_failed()
        if self.failed == 1:
            _logger.warning("otel_ml_logging: building prediction telemetry failed", exc_info=True)


def _shutdown_at_exit(engine_ref: weakref.ref[Engine]) -> None:
    engine = engine_ref()
    if engine is not None:
        engine.shutdown()


_engine: Engine | None = None
_engine_lock = threading.Lock()


def shared_engine(settings: EngineSettings | None = None) -> Engine:
    """Return the process-wide engine, starting it on first use (``settings`` only count then)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = Engine(settings, delivery_stats())
                delivery_stats().track_queue(_engine)
    return _engine
