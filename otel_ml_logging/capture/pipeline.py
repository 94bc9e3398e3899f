"""The exporter thread: buffered lines → entries → batches for the sink, every line counted."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass

from otel_ml_logging.capture.buffer import LineBuffer
from otel_ml_logging.capture.lines import LineGrouper, parse_entry
from otel_ml_logging.capture.sinks import Entry, Sink

EXPORT_THREAD_NICENESS = 10
"""How much lower than the child's the export thread's CPU priority is (Linux threads are tasks)."""
IDLE_FLUSH_SECONDS = 0.1
"""A held-back entry (it might have continued with a traceback) is released after this idle time."""


def lower_priority() -> None:
    """Give the calling thread a lower CPU priority, so that the child wins when cores are scarce."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not permitted: keep the default
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), EXPORT_THREAD_NICENESS)


@dataclass
class CaptureCounts:
    """What became of the captured lines."""

    lines_read: int = 0
    lines_processed: int = 0
    lines_dropped: int = 0
    records_sent: int = 0
    records_failed: int = 0
    records_unsent: int = 0

    def report(self) -> str:
        """One line for stderr at exit."""
        return (
            f"otel-ml-logging run: {self.lines_read} lines read, {self.records_sent} records delivered, "
            f"{self.records_failed} failed, {self.lines_dropped} lines dropped (buffer full), "
            f"{self.records_unsent} left unsent at the shutdown deadline"
        )


class CapturePipeline(threading.Thread):
    """Take lines from the buffer, group and parse them, send them in batches."""

    def __init__(self, buffer: LineBuffer, sink: Sink | None, batch_size: int) -> None:
        """Send through ``sink`` (None: count only)."""
        super().__init__(name="otel-ml-logging capture export", daemon=True)
        self.buffer = buffer
        self.sink = sink
        self.batch_size = batch_size
        self.counts = CaptureCounts()
        self._groupers: dict[str, LineGrouper] = {}
        self._aborted = threading.Event()
        self._streams_done = threading.Event()
        self._stream_count = 0

    def finish(self, streams: int) -> None:
        """Drain what is buffered, then stop (call once the readers are done or given up on)."""
        self._stream_count = streams
        self._streams_done.set()
        self.buffer.wake()

    def abort(self) -> None:
        """Stop now: the shutdown deadline passed."""
        self._aborted.set()
        self.buffer.wake()
        if self.sink is not None:
            self.sink.shutdown()

    def run(self) -> None:
        """Loop until finished and drained, or aborted."""
        lower_priority()
        pending: list[Entry] = []
        while not self._aborted.is_set():
            batches = self.buffer.take(IDLE_FLUSH_SECONDS)
            for stream, time_ns, lines in batches:
                self.counts.lines_processed += len(lines)
                grouper = self._groupers.setdefault(stream, LineGrouper())
                for raw in lines:
                    text = raw.decode("utf-8", "replace")
                    if text.endswith("\r"):
                        text = text[:-1]
                    for entry in grouper.feed(text):
                        pending.append(Entry(parse_entry(entry, stream), time_ns))
                    if len(pending) >= self.batch_size:
                        self._send(pending)
                        pending = []
            finished = self._streams_done.is_set() and not batches
            if not batches or finished:
                for stream, grouper in self._groupers.items():
                    pending.extend(Entry(parse_entry(e, stream), time.time_ns()) for e in grouper.flush())
            if pending:
                self._send(pending)
                pending = []
            if finished:
                break
        if self._aborted.is_set():
            self.counts.records_unsent += sum(grouper.pending_lines for grouper in self._groupers.values())
        self.counts.lines_dropped = self.buffer.dropped

    def _send(self, entries: list[Entry]) -> None:
        for start in range(0, len(entries), self.batch_size):
            batch = entries[start : start + self.batch_size]
            if self._aborted.is_set():
                self.counts.records_unsent += len(batch)
            elif self.sink is None:
                continue
            elif self.sink.send(batch):
                self.counts.records_sent += len(batch)
            else:
                self.counts.records_failed += len(batch)
