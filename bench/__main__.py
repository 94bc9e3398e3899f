"""Side-by-side prediction logging benchmark: ``python -m bench`` (or ``make bench``).

Runs every scenario of bench/scenarios.py in its own process against the real ocb-built collector,
in one run, and writes bench/results/results.{json,md} and bench/results/results.png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench.elasticsearch_rate import measure as measure_elasticsearch  # noqa: E402
from bench.gelf_udp import measure as measure_gelf_udp  # noqa: E402
from bench.report import write_report  # noqa: E402
from harness.collector import RunningCollector, run_collector  # noqa: E402

WARMUP = 500
TELEMETRY = ["json-logger", "otel-sdk", "otel-ml-logging"]
SPANS = "otelcol_receiver_accepted_spans"
LOG_RECORDS = "otelcol_receiver_accepted_log_records"


def pin(pid: int, cpu: int) -> None:
    """Pin every thread of process ``pid`` to ``cpu`` (threads created later inherit it)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.sched_setaffinity(int(task.name), {cpu})


def run_worker(scenario: str, mode: str, count: int, settings: dict[str, str], rate: float) -> dict[str, Any]:
    """Run one scenario in a fresh interpreter and return its JSON result."""
    command = [sys.executable, "-m", "bench.worker", scenario, "--mode", mode, "--count", str(count)]
    if "cpu" in settings:
        command = ["taskset", "-c", settings["cpu"], *command]
    command += ["--rate", str(rate)] + [f"--setting={k}={v}" for k, v in settings.items()]
    completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{scenario} {mode} failed:\n{completed.stdout}\n{completed.stderr}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def received(collector: RunningCollector) -> tuple[float, float]:
    """Spans and log records the collector's OTLP receiver has accepted so far."""
    return collector.metric(SPANS), collector.metric(LOG_RECORDS)


def wait_delivered(collector: RunningCollector, before: tuple[float, float], expected: int) -> tuple[int, float]:
    """Wait until ``expected`` predictions (1 span + 2 records each) arrived or arrivals stopped for 5 s.

    Returns the count and the wall-clock time the last of them was seen.
    """
    last_change, last = time.time(), (-1.0, -1.0)
    while True:
        spans, records = received(collector)
        delivered = int(min(spans - before[0], (records - before[1]) / 2))
        now = time.time()
        if (spans, records) != last:
            last, last_change = (spans, records), now
        if delivered >= expected:
            return delivered, now
        if now - last_change > 5.0:
            return delivered, last_change
        time.sleep(0.02)


def throughput(collector: RunningCollector, scenario: str, count: int, settings: dict[str, str]) -> dict[str, Any]:
    """Fully delivered predictions per second, from the first prediction to the last record received."""
    before = received(collector)
    result = run_worker(scenario, "throughput", count, settings, 0)
    if scenario == "bare":
        delivered, arrived = count + WARMUP, time.time()
    elif scenario == "json-logger":
        delivered, arrived = result["finish"]["delivered_records"] // 2, time.time()
    else:
        delivered, arrived = wait_delivered(collector, before, count + WARMUP)
    result["delivered_predictions"] = delivered
    result["expected_predictions"] = count + WARMUP
    result["dropped_predictions"] = count + WARMUP - delivered
    # from the first timed prediction (the worker's wall clock) to the last item received; the
    # warm-up predictions were made, and counted as delivered, before that
    result["delivered_per_second"] = max(0, delivered - WARMUP) / (arrived - result["started_wall"])
    result["submitted_per_second"] = count / result["submit_seconds"]
    return result


MEDIAN_KEYS = ("median_ns", "p99_ns", "delivered_per_second", "submitted_per_second")
SUMMED_KEYS = ("delivered_predictions", "expected_predictions", "dropped_predictions")


def median_of_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One scenario's rounds summarised: medians of the per-round figures, drops summed, peak memory."""
    summary: dict[str, Any] = {"rounds": rounds}
    for key in MEDIAN_KEYS:
        if key in rounds[0]:
            summary[key] = statistics.median(r[key] for r in rounds)
    for key in SUMMED_KEYS:
        if key in rounds[0]:
            summary[key] = sum(r[key] for r in rounds)
    summary["peak_rss_kib"] = max(r["peak_rss_kib"] for r in rounds)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-count", type=int, default=5000, help="paced predictions per latency run")
    parser.add_argument("--rate", type=float, default=1000.0, help="pace of latency runs, predictions/s")
    parser.add_argument("--throughput-count", type=int, default=30000, help="predictions per throughput run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each scenario; medians are reported")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results")
    parser.add_argument("--es-rate", type=float, default=3000.0, help="predictions/s (2 records each) into ES")
    parser.add_argument("--es-seconds", type=float, default=20.0, help="duration of the Elasticsearch run")
    parser.add_argument("--skip-elasticsearch", action="store_true", help="skip the Elasticsearch run")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the collector and workers to separate cores")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": _cpus()},
        "settings": vars(args) | {"out": str(args.out), "warmup": WARMUP},
        "latency": {},
        "throughput": {},
    }
    with tempfile.TemporaryDirectory(prefix="otel-ml-bench-") as scratch:
        configs = [REPO_ROOT / "collector" / "config.yaml", REPO_ROOT / "bench" / "collector.bench.yaml"]
        with run_collector(configs, {"COLLECTOR_LOG_LEVEL": "warn"}, Path(scratch) / "storage") as collector:
            cpus = sorted(os.sched_getaffinity(0))
            pinned = not args.no_pin and len(cpus) >= 2 and shutil.which("taskset") is not None
            results["machine"]["pinned"] = pinned
            settings = {
                "grpc_endpoint": collector.otlp_grpc_endpoint,
                "http_endpoint": collector.otlp_http_endpoint,
                "json_log_path": str(Path(scratch) / "predictions.log"),
            }
            if pinned:
                pin(collector.process.pid, cpus[-1])
                settings["cpu"] = str(cpus[0])
            latency_rounds: dict[str, list[dict[str, Any]]] = {s: [] for s in ["bare", *TELEMETRY]}
            throughput_rounds: dict[str, list[dict[str, Any]]] = {s: [] for s in ["bare", *TELEMETRY]}
            for round_number in range(1, args.rounds + 1):  # interleaved: drifts of a noisy machine hit all alike
                for scenario in ["bare", *TELEMETRY]:
                    print(f"round {round_number}/{args.rounds} latency: {scenario}", flush=True)
                    measured = run_worker(scenario, "latency", args.latency_count, settings, args.rate)
                    latency_rounds[scenario].append(measured)
                for scenario in ["bare", *TELEMETRY]:
                    print(f"round {round_number}/{args.rounds} throughput: {scenario}", flush=True)
                    Path(settings["json_log_path"]).unlink(missing_ok=True)
                    measured = throughput(collector, scenario, args.throughput_count, settings)
                    throughput_rounds[scenario].append(measured)
            results["latency"] = {s: median_of_rounds(r) for s, r in latency_rounds.items()}
            results["throughput"] = {s: median_of_rounds(r) for s, r in throughput_rounds.items()}
        if not args.skip_elasticsearch:
            print("elasticsearch: sustained records/s through the collector", flush=True)
            results["elasticsearch"] = [
                measure_elasticsearch(Path(scratch) / f"es-{spans}", args.es_rate, args.es_seconds, spans)
                for spans in (False, True)
            ]
    print("gelf: Go exporter over UDP, one core", flush=True)
    results["gelf_udp_records_per_second"] = measure_gelf_udp()
    write_report(results, args.out)
    print((args.out / "results.md").read_text())


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
