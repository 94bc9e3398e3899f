"""Run one scenario in this process and print its measurements as JSON (used by bench.__main__)."""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.model import SAMPLE
from bench.scenarios import SCENARIOS


def measure_latency(predict: Callable[[Any], Any], count: int, rate: float) -> list[int]:
    """Per-call request-thread time (ns) of ``count`` predictions.

    Paced at ``rate`` per second by sleeping between calls, as a server's request thread idles
    between requests (and so lets background threads run); back to back when ``rate`` is 0.
    """
    samples = []
    interval = 1.0 / rate if rate else 0.0
    next_start = time.perf_counter()
    for _ in range(count):
        if interval:
            delay = next_start - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            next_start += interval
        started = time.perf_counter_ns()
        predict(SAMPLE)
        samples.append(time.perf_counter_ns() - started)
    return samples


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
    for _ in range(500):  # warm-up: imports, connections, caches
        scenario.predict(SAMPLE)
    result: dict[str, object] = {"scenario": args.scenario, "mode": args.mode, "count": args.count}
    result["started_wall"] = time.time()
    started = time.perf_counter()
    samples = sorted(measure_latency(scenario.predict, args.count, args.rate if args.mode == "latency" else 0))
    result["submit_seconds"] = time.perf_counter() - started
    result["median_ns"] = samples[len(samples) // 2]
    result["p99_ns"] = samples[int(len(samples) * 0.99)]
    result["finish"] = scenario.finish()
    result["finished_seconds"] = time.perf_counter()
    result["peak_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(result), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
