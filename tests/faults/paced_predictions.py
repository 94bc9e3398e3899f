"""A model process for the dead-collector test: decorated predictions at a fixed rate, latency per phase.

Run under ``opentelemetry-instrument python tests/faults/paced_predictions.py RATE`` (configured by
``OTEL_*`` only, as users run services). Each line read on stdin names the phase that starts now
(``live``, ``dead``); after the first 500 predictions (warm-up) it prints ``{"ready": true}`` and keeps
warming up until told ``live``, so that every process starts measuring at the same moment. Once a
second it prints a JSON line with the process's RSS and the engine's queue length. On SIGTERM it prints,
per phase, the predictions made, those that raised, the median and p99 ``predict()`` latency in
microseconds, and the median of each whole second (``window_medians_us``: a slow spell of the machine
moves a few windows, not the median over them), then exits through the package's bounded shutdown.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time

from otel_ml_logging import OTelLoggingDecorator
from otel_ml_logging.pipeline.engine import shared_engine
from tests.plugin.models import ScoringInput, ScoringModel

PAGE = os.sysconf("SC_PAGE_SIZE")
WARM_UP = 500
WINDOW_MIN = 50  # fewer predictions in a window (one cut short by a phase change) give no median


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


def main(rate: float) -> None:
    model = OTelLoggingDecorator(input_fields=["temperature", "city"], output_fields=["score"]).set_model(
        ScoringModel()
    )
    phase = ["warm-up"]
    latencies: dict[str, list[int]] = {"warm-up": [], "live": [], "dead": []}
    windows: dict[str, list[float]] = {"warm-up": [], "live": [], "dead": []}
    window: list[int] = []
    window_phase = phase[0]
    failures: dict[str, int] = {"warm-up": 0, "live": 0, "dead": 0}

    def read_phases() -> None:
        for line in sys.stdin:
            phase[0] = line.strip()

    threading.Thread(target=read_phases, daemon=True).start()
    engine = shared_engine()
    interval = 1.0 / rate
    data = ScoringInput(temperature=21.5, city="oslo")
    next_tick = next_report = time.monotonic()
    try:
        while True:
            current = phase[0]
            started = time.perf_counter_ns()
            try:
                model.predict(data)
            except Exception:
                failures[current] += 1
            latencies[current].append(time.perf_counter_ns() - started)
            if current != window_phase:  # a window belongs to one phase only
                window, window_phase = [], current
            window.append(latencies[current][-1])
            if current == "warm-up" and len(latencies[current]) == WARM_UP:
                print(json.dumps({"ready": True}), flush=True)
            now = time.monotonic()
            if now >= next_report:
                if len(window) >= WINDOW_MIN:
                    windows[current].append(statistics.median(window) / 1000)
                window = []
                print(
                    json.dumps({"phase": current, "rss_mib": rss_mib(), "engine_queue": len(engine._queue)}), flush=True
                )
                next_report = now + 1.0
            next_tick += interval
            delay = next_tick - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    except SystemExit:  # SIGTERM, turned into SystemExit by the package
        summary = {
            name: {
                "predictions": len(values),
                "failed": failures[name],
                "median_us": statistics.median(values) / 1000 if values else None,
                "p99_us": statistics.quantiles(values, n=100)[98] / 1000 if len(values) > 100 else None,
                "window_medians_us": windows[name],
            }
            for name, values in latencies.items()
        }
        print(json.dumps({"summary": summary}), flush=True)
        raise


if __name__ == "__main__":
    main(float(sys.argv[1]))
