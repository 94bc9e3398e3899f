"""The bounded hand-over between the pipe readers and the exporter thread.

Readers never wait: :meth:`LineBuffer.put` takes a batch of lines or, when the buffer is full,
drops them and counts them. The exporter thread takes everything queued at once.
"""

from __future__ import annotations

import threading
import time
from collections import deque

Batch = tuple[str, int, list[bytes]]
"""(stream name, arrival time in ns, raw lines without their newline)."""


class LineBuffer:
    """A bounded queue of line batches that drops (and counts) instead of blocking."""

    def __init__(self, max_lines: int, max_bytes: int) -> None:
        """Hold at most ``max_lines`` lines and ``max_bytes`` bytes of them."""
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self._batches: deque[Batch] = deque()
        self._lines = 0
        self._bytes = 0
        self._ready = threading.Condition(threading.Lock())
        self._closed_streams: set[str] = set()
        self.accepted = 0
        self.dropped = 0

    def put(self, stream: str, lines: list[bytes]) -> None:
        """Queue the lines of one read, or drop and count them when they do not fit."""
        size = sum(map(len, lines))
        with self._ready:
            if self._lines + len(lines) > self.max_lines or self._bytes + size > self.max_bytes:
                self.dropped += len(lines)
                return
            self._batches.append((stream, time.time_ns(), lines))
            self._lines += len(lines)
            self._bytes += size
            self.accepted += len(lines)
            self._ready.notify()

    def close_stream(self, stream: str) -> None:
        """Note that ``stream`` reached end of file."""
        with self._ready:
            self._closed_streams.add(stream)
            self._ready.notify()

    def closed(self, streams: int) -> bool:
        """Return True when ``streams`` streams have reached end of file."""
        with self._ready:
            return len(self._closed_streams) >= streams

    def take(self, timeout: float) -> list[Batch]:
        """Everything queued, waiting up to ``timeout`` seconds for something to arrive."""
        with self._ready:
            if not self._batches:
                self._ready.wait(timeout)
            batches = list(self._batches)
            self._batches.clear()
            self._lines = self._bytes = 0
            return batches

    def wake(self) -> None:
        """Wake a waiting :meth:`take` (shutdown)."""
        with self._ready:
            self._ready.notify_all()
