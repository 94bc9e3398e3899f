"""When the collector received each prediction's log records: delivery latency of a paced run.

A :class:`ArrivalRecorder` thread polls the collector's ``otelcol_receiver_accepted_log_records``
every :data:`POLL_SECONDS` while a worker makes predictions; :func:`delivery_latencies` matches the
k-th prediction (its wall-clock start, from the worker) with the first poll that saw its two records
(records arrive in the order the predictions were made: one queue, one sender per signal).
The latency is therefore measured to within one poll interval.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from typing import Any

from harness.collector import RunningCollector

LOG_RECORDS = "otelcol_receiver_accepted_log_records"
POLL_SECONDS = 0.02


class ArrivalRecorder:
    """Polls the collector's accepted log records in a thread: (wall time, count) samples."""

    def __init__(self, collector: RunningCollector, cpu: int | None = None) -> None:
        """``cpu``: the core to poll from (the collector's), so that polling does not disturb the worker."""
        self._collector, self._cpu = collector, cpu
        self.baseline = collector.metric(LOG_RECORDS)
        self.times: list[float] = []
        self.counts: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="arrivals", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        if self._cpu is not None:
            os.sched_setaffinity(threading.get_native_id(), {self._cpu})
        while not self._stop.is_set():
            count = self._collector.metric(LOG_RECORDS)
            self.times.append(time.time())
            self.counts.append(count)
            self._stop.wait(POLL_SECONDS)

    def stop(self, expected_records: int, settle: float = 5.0) -> int:
        """Wait until ``expected_records`` arrived (or none for ``settle`` s), stop; return how many arrived."""
        last_change, last = time.monotonic(), -1.0
        while True:
            arrived = (self.counts[-1] if self.counts else self.baseline) - self.baseline
            if arrived != last:
                last, last_change = arrived, time.monotonic()
            if arrived >= expected_records or time.monotonic() - last_change > settle:
                break
            time.sleep(POLL_SECONDS)
        self._stop.set()
        self._thread.join()
        return int(arrived)


def delivery_latencies(
    recorder: ArrivalRecorder, started_wall: float, offsets_ns: list[int], records_before: int, per_prediction: int
) -> dict[str, Any]:
    """Seconds from each prediction's start until the collector had its records (summary)."""
    latencies = []
    undelivered = 0
    for k, offset in enumerate(offsets_ns):
        needed = recorder.baseline + records_before + per_prediction * (k + 1)
        index = bisect.bisect_left(recorder.counts, needed)
        if index == len(recorder.counts):
            undelivered += 1
            continue
        latencies.append(recorder.times[index] - (started_wall + offset / 1e9))
    latencies.sort()
    summary: dict[str, Any] = {"undelivered": undelivered, "resolution_s": POLL_SECONDS}
    if latencies:
        summary |= {
            "median_s": latencies[len(latencies) // 2],
            "p99_s": latencies[int(len(latencies) * 0.99)],
            "max_s": latencies[-1],
        }
    return summary
