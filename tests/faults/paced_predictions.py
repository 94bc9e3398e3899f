"""A model process for the dead-collector test: decorated predictions at a fixed rate, latency per phase.

Run under ``opentelemetry-instrument python tests/faults/paced_predictions.py RATE`` (configured by
``OTEL_*`` only, as users run services). Each line read on stdin names the phase that starts now
(``live``, ``dead``); after the first 500 predictions (warm-up) it prints ``{"ready": true}`` and keeps
warming up until told ``live``, so that every process starts measuring at the same moment. Once a
second it prints a JSON line with the process's RSS and the engine's queue length.

Each tick also calls the same model undecorated, before or after the decorated call at random, both
after an untimed call that wakes the CPU and caches up from the sleep: the control. It feels what the
plugin does not control (the machine's load, the CPU's state, the collector starting or stopping) at
the same moment in the same process, so the decorated call's time over the control's (``added``) is
what telemetry adds to a prediction.

On SIGTERM it prints, per phase, the predictions made, those that raised, the median and p99
``predict()`` latency in microseconds, and per whole second the median latency of the decorated and
of the control calls and the median of their differences (``window_medians_us``, ``window_controls_us``,
``window_added_us``: a slow spell of the machine moves a few windows, not the median over them), then
exits through the package's bounded shutdown.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import threading
import time

from otel_ml_logging import OTelLoggingDecorator
from otel_ml_logging.pipeline.engine import shared_engine
from tests.plugin.models import ScoringInput, ScoringModel, ScoringOutput

PAGE = os.sysconf("SC_PAGE_SIZE")
WARM_UP = 500
WINDOW_MIN = 50  # fewer predictions in a window (one cut short by a phase change) give no median


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


class ControlModel(ScoringModel):
    """The same model without its log line (which the plugin's logging bridge would export)."""

    def predict(self, data: ScoringInput) -> ScoringOutput:
        self.seen.append(data)
        return ScoringOutput(score=data.temperature * 2, label=data.city.upper())


def timed(model: ScoringModel, data: ScoringInput) -> tuple[int, bool]:
    """``model.predict(data)``'s latency in nanoseconds, and whether it raised."""
    started = time.perf_counter_ns()
    try:
        model.predict(data)
    except Exception:
        return time.perf_counter_ns() - started, True
    return time.perf_counter_ns() - started, False


def main(rate: float) -> None:
    model = OTelLoggingDecorator(input_fields=["temperature", "city"], output_fields=["score"]).set_model(
        ScoringModel()
    )
    control = ControlModel()
    phase = ["warm-up"]
    latencies: dict[str, list[int]] = {"warm-up": [], "live": [], "dead": []}
    windows: dict[str, list[float]] = {"warm-up": [], "live": [], "dead": []}
    window_controls: dict[str, list[float]] = {"warm-up": [], "live": [], "dead": []}
    window_added: dict[str, list[float]] = {"warm-up": [], "live": [], "dead": []}
    window: list[int] = []
    window_control: list[int] = []
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
            timed(control, data)  # wakes the CPU and caches up after the sleep, for both timed calls alike
            if random.random() < 0.5:
                control_ns, _ = timed(control, data)
                latency, failed = timed(model, data)
            else:
                latency, failed = timed(model, data)
                control_ns, _ = timed(control, data)
            failures[current] += failed
            latencies[current].append(latency)
            if current != window_phase:  # a window belongs to one phase only
                window, window_control, window_phase = [], [], current
            window.append(latency)
            window_control.append(control_ns)
            if current == "warm-up" and len(latencies[current]) == WARM_UP:
                print(json.dumps({"ready": True}), flush=True)
            now = time.monotonic()
            if now >= next_report:
                if len(window) >= WINDOW_MIN:
                    windows[current].append(statistics.median(window) / 1000)
                    window_controls[current].append(statistics.median(window_control) / 1000)
                    added = [a - b for a, b in zip(window, window_control, strict=True)]
                    window_added[current].append(statistics.median(added) / 1000)
                window, window_control = [], []
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
                "window_controls_us": window_controls[name],
                "window_added_us": window_added[name],
            }
            for name, values in latencies.items()
        }
        print(json.dumps({"summary": summary}), flush=True)
        raise


if __name__ == "__main__":
    main(float(sys.argv[1]))
