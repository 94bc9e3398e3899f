"""Hand a prediction's facts to a background thread that turns them into telemetry.

The request thread only records what happened (ids, clocks, references to input and output,
the exception) and appends it to a bounded queue: a few microseconds. Building SDK spans, log
records and metric points, converting payload fields and formatting stack traces happen on the
``otel-ml-logging-emitter`` thread. A full queue drops the newest facts and counts them; it
never blocks a prediction.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import random
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from otel_ml_logging.environment_variables import OTEL_ML_LOGGING_QUEUE_SIZE
from otel_ml_logging.prediction_context import PredictionScope

_logger = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 32768
WAKE_AT = 256  # queued predictions that wake the worker before its next periodic drain
DRAIN_INTERVAL_SECONDS = 0.05


# What the request thread hands over, as one tuple (no Python-level constructor runs there):
# (scope, parent SpanContext or None, the prediction's SpanContext, start and end time ns,
#  input, output, exception)
RequestFacts = tuple[PredictionScope, Any, Any, int, int, Any, Any, "BaseException | None"]


@dataclass(slots=True)
class PredictionFacts:
    """What the request thread observed about one prediction; telemetry is built from it later."""

    scope: PredictionScope
    parent: Any  # SpanContext of the enclosing span, or None for a root prediction
    trace_id: int
    span_id: int
    sampled_payload: bool
    start_ns: int
    requested_ns: int
    end_ns: int
    latency_ms: float
    data: Any
    result: Any = None
    error: BaseException | None = None

    @classmethod
    def from_request(cls, facts: RequestFacts, payload_sample_rate: float) -> PredictionFacts:
        """Unpack the tuple the request thread handed over; decide here whether to keep the payload."""
        scope, parent, span_context, start_ns, end_ns, data, result, error = facts
        end_ns = max(end_ns, start_ns)  # the wall clock may step back mid-prediction
        sampled = payload_sample_rate >= 1.0 or random.random() < payload_sample_rate
        return cls(
            scope,
            parent,
            span_context.trace_id,
            span_context.span_id,
            sampled,
            start_ns,
            start_ns,
            end_ns,
            (end_ns - start_ns) / 1e6,
            data,
            result,
            error,
        )

    @property
    def model_name(self) -> str:
        """The model's qualified name."""
        return self.scope.model_name

    @property
    def model_version(self) -> str:
        """The model's version."""
        return self.scope.model_version

    @property
    def prediction_id(self) -> str:
        """The prediction id (formatted here, off the request thread, when it was generated)."""
        return self.scope.prediction_id


Emit = Callable[[Any], None]


def _queue_size() -> int:
    raw = os.environ.get(OTEL_ML_LOGGING_QUEUE_SIZE)
    if raw is None:
        return DEFAULT_QUEUE_SIZE
    try:
        size = int(raw)
        if size <= 0:
            raise ValueError(raw)
    except ValueError:
        _logger.warning(
            "%s=%r is not a positive integer; using %d", OTEL_ML_LOGGING_QUEUE_SIZE, raw, DEFAULT_QUEUE_SIZE
        )
        return DEFAULT_QUEUE_SIZE
    return size


class DeferredEmitter:
    """A bounded queue of (emit, facts) drained by one daemon thread."""

    def __init__(self, max_queue_size: int | None = None) -> None:
        """Start the worker thread; it is flushed at interpreter exit."""
        self.max_queue_size = max_queue_size or _queue_size()
        self._queue: collections.deque[tuple[Emit, Any]] = collections.deque()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = False
        self._capacity = self.max_queue_size
        self._emitted = 0
        self.dropped = 0
        self.failed = 0
        self._drain_hooks: list[Callable[[], None]] = []
        self._shutdown_hooks: list[Callable[[], None]] = []
        self._thread = self._start_worker()
        atexit.register(_shutdown_at_exit, weakref.ref(self))
        # a pre-forking server (gunicorn --preload) forks after start-up: threads do not survive a fork
        call_in_child_after_fork(self._after_fork_in_child)

    def _start_worker(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="otel-ml-logging-emitter", daemon=True)
        thread.start()
        return thread

    def _after_fork_in_child(self) -> None:
        """Start afresh in a forked child: the parent's queued predictions are the parent's to emit."""
        self._queue.clear()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._emitted = self.dropped = self.failed = 0
        self._capacity = 0 if self._stopping else self.max_queue_size
        self._thread = self._start_worker()

    def add_drain_hook(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` on the worker thread each time the queue has been drained (e.g. to post a batch)."""
        if hook not in self._drain_hooks:
            self._drain_hooks.append(hook)

    def add_shutdown_hook(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` once the worker has emitted everything and stopped (e.g. to post the last batch)."""
        self._shutdown_hooks.append(hook)

    def submit(self, emit: Emit, facts: Any) -> bool:
        """Queue facts for emission; False (and counted) when the queue is full or shut down."""
        queue = self._queue
        if len(queue) < self._capacity:  # 0 once shut down
            queue.append((emit, facts))
            if len(queue) >= WAKE_AT:
                self._wake_early()
            return True
        return self._drop()

    @property
    def accepted(self) -> int:
        """Facts queued since start (or since a fork, in a child), emitted or not yet."""
        return self._emitted + len(self._queue)

    def _wake_early(self) -> None:
        # otherwise the worker's periodic wake-up picks the facts up: no syscall per prediction
        if not self._wake.is_set():
            self._wake.set()

    def _drop(self) -> bool:
        self.dropped += 1
        if self.dropped == 1:
            _logger.warning(
                "otel_ml_logging: prediction telemetry queue full (%d); dropping and counting", self.max_queue_size
            )
        return False

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued so far has been emitted."""
        if not self._queue and self._idle.is_set():
            return True
        self._idle.clear()
        self._wake.set()
        return self._idle.wait(timeout)

    def shutdown(self, timeout: float = 30.0) -> None:
        """Emit what is queued, then stop the worker."""
        if self._stopping:
            return
        self.flush(timeout)
        self._stopping = True
        self._capacity = 0
        self._wake.set()
        self._thread.join(timeout)
        for hook in self._shutdown_hooks:
            self._call(hook)

    def _run(self) -> None:
        queue = self._queue
        while True:
            self._wake.wait(DRAIN_INTERVAL_SECONDS)
            self._wake.clear()
            while queue:
                emit, facts = queue.popleft()
                self._call(emit, facts)
                self._emitted += 1
            for hook in self._drain_hooks:
                self._call(hook)
            self._idle.set()
            if self._stopping:
                return

    def _call(self, function: Callable[..., None], *args: Any) -> None:
        try:
            function(*args)
        except Exception:
            self.failed += 1
            if self.failed == 1:
                _logger.warning("otel_ml_logging: building prediction telemetry failed", exc_info=True)


def call_in_child_after_fork(method: Callable[[], None]) -> None:
    """Run a bound ``method`` in every forked child, for as long as its object lives."""
    weak_method = weakref.WeakMethod(method)

    def after_in_child() -> None:
        alive = weak_method()
        if alive is not None:
            alive()

    os.register_at_fork(after_in_child=after_in_child)


def _shutdown_at_exit(emitter_ref: weakref.ref[DeferredEmitter]) -> None:
    emitter = emitter_ref()
    if emitter is not None:
        emitter.shutdown()


_emitter: DeferredEmitter | None = None
_emitter_lock = threading.Lock()


def shared_emitter() -> DeferredEmitter:
    """Return the process-wide emitter, starting it on first use."""
    global _emitter
    if _emitter is None:
        with _emitter_lock:
            if _emitter is None:
                _emitter = DeferredEmitter()
    return _emitter
