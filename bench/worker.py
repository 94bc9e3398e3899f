"""Run one scenario in this process and print its measurements as JSON (used by bench.__main__)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PACKAGE_ROOT_ENV = "OTEL_ML_BENCH_PACKAGE_ROOT"  # import otel_ml_logging from this directory instead
if os.environ.get(PACKAGE_ROOT_ENV):
    sys.path.insert(0, os.environ[PACKAGE_ROOT_ENV])

from bench.model import SAMPLE  # noqa: E402
from bench.scenarios import SCENARIOS  # noqa: E402

WARMUP = 500


def measure_latency(predict: Callable[[Any], Any], count: int, rate: float) -> tuple[list[int], list[int]]:
    """Per-call request-thread time (ns) of ``count`` predictions, and when each started.

    Paced at ``rate`` per second by sleeping between calls, as a server's request thread idles
    between requests (and so lets background threads run); back to back when ``rate`` is 0.
    Start times are nanoseconds since the first call (``time.perf_counter_ns``).
    """
    samples, starts = [], []
    interval = 1.0 / rate if rate else 0.0
    next_start = time.perf_counter()
    first = time.perf_counter_ns()
    for _ in range(count):
        if interval:
            delay = next_start - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            next_start += interval
        started = time.perf_counter_ns()
        predict(SAMPLE)
        samples.append(time.perf_counter_ns() - started)
        starts.append(started - first)
    return samples, starts


def thread_cpu_ns() -> dict[str, int]:
    """CPU time (ns) used so far by each live Python thread of this process, by ``name#ident``."""
    used = {}
    for thread in threading.enumerate():
        if thread.ident is None:
            continue
        with contextlib.suppress(OSError):  # the thread ended meanwhile
            used[f"{thread.name}#{thread.ident}"] = time.clock_gettime_ns(time.pthread_getcpuclockid(thread.ident))
    return used


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--mode", choices=["latency", "throughput"], required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--setting", action="append", default=[], help="key=value for the scenario")
    args = parser.parse_args()
    settings = dict(item.split("=", 1) for item in args.setting)
    scenario = SCENARIOS[args.scenario](settings)
    for _ in range(WARMUP):  # warm-up: imports, connections, caches
        scenario.predict(SAMPLE)
    if args.mode == "latency":
        scenario.flush()  # the warm-up's telemetry is sent before the CPU measurement starts
    result: dict[str, Any] = {"scenario": args.scenario, "mode": args.mode, "count": args.count}
    package = sys.modules.get("otel_ml_logging")
    result["package"] = str(Path(package.__file__ or "").parent) if package is not None else None
    threads_before = thread_cpu_ns()
    process_before, request_before = time.process_time_ns(), time.thread_time_ns()
    result["started_wall"] = time.time()
    started = time.perf_counter()
    samples, starts = measure_latency(scenario.predict, args.count, args.rate if args.mode == "latency" else 0)
    result["submit_seconds"] = time.perf_counter() - started
    request_cpu = time.thread_time_ns() - request_before
    threads_after = thread_cpu_ns()
    result["finish"] = scenario.finish()
    process_cpu = time.process_time_ns() - process_before
    result["finished_seconds"] = time.perf_counter()
    # CPU of the whole process from the first measured prediction until everything was flushed
    # (user + system, every thread, also threads that ended during the flush), and of the request
    # thread while it made the predictions (the pacing loop's own cost is in bare's figures)
    result["cpu_ns"] = {
        "process": process_cpu,
        "request_thread": request_cpu,
        "background": process_cpu - request_cpu,
        "threads": {
            name: used - threads_before.get(name, 0)
            for name, used in threads_after.items()
            if name.split("#")[0] != "MainThread"
        },
    }
    result["start_offsets_ns"] = starts
    samples.sort()
    result["median_ns"] = samples[len(samples) // 2]
    result["p99_ns"] = samples[int(len(samples) * 0.99)]
    result["peak_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(result), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
