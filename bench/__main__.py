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

from bench.arrivals import ArrivalRecorder, delivery_latencies  # noqa: E402
from bench.elasticsearch_rate import measure as measure_elasticsearch  # noqa: E402
from bench.gelf_udp import measure as measure_gelf_udp  # noqa: E402
from bench.report import write_report  # noqa: E402
from bench.worker import PACKAGE_ROOT_ENV, WARMUP  # noqa: E402
from harness.collector import RunningCollector, run_collector  # noqa: E402

TELEMETRY = ["json-logger", "otel-sdk", "otel-ml-logging"]
OTLP = ("otel-sdk", "otel-ml-logging")  # scenarios whose records the collector receives
SPANS = "otelcol_receiver_accepted_spans"
LOG_RECORDS = "otelcol_receiver_accepted_log_records"


def pin(pid: int, cpu: int) -> None:
    """Pin every thread of process ``pid`` to ``cpu`` (threads created later inherit it)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.sched_setaffinity(int(task.name), {cpu})


BASELINE = "otel-ml-logging@baseline"  # our scenario run with another copy of the package (--baseline)


def run_worker(scenario: str, mode: str, count: int, settings: dict[str, str], rate: float) -> dict[str, Any]:
    """Run one scenario in a fresh interpreter and return its JSON result."""
    name, _, variant = scenario.partition("@")
    command = [sys.executable, "-m", "bench.worker", name, "--mode", mode, "--count", str(count)]
    if "cpu" in settings:
        command = ["taskset", "-c", settings["cpu"], *command]
    command += ["--rate", str(rate)] + [f"--setting={k}={v}" for k, v in settings.items() if k != "baseline"]
    env = dict(os.environ)
    if variant:
        env[PACKAGE_ROOT_ENV] = settings[variant]
    completed = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )
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
    result.pop("start_offsets_ns")
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


def paced(
    collector: RunningCollector,
    scenario: str,
    rate: float,
    seconds: float,
    settings: dict[str, str],
    poll_cpu: int | None,
) -> dict[str, Any]:
    """Predictions paced at ``rate``/s for ``seconds``: request-thread latency, CPU, delivery latency, drops."""
    count = max(100, round(rate * seconds))
    Path(settings["json_log_path"]).unlink(missing_ok=True)
    recorder = ArrivalRecorder(collector, poll_cpu) if scenario.partition("@")[0] in OTLP else None
    try:
        result = run_worker(scenario, "latency", count, settings, rate)
    finally:
        arrived = recorder.stop(2 * (count + WARMUP)) if recorder is not None else 0
    offsets = result.pop("start_offsets_ns")
    expected = count + WARMUP
    if recorder is not None:
        delivery = delivery_latencies(recorder, result["started_wall"], offsets, 2 * WARMUP, 2)
        result |= {f"delivery_{k}": v for k, v in delivery.items()}
        delivered = arrived // 2
    elif scenario == "json-logger":
        delivered = result["finish"]["delivered_records"] // 2
    else:
        delivered = expected
    cpu = result["cpu_ns"]
    result |= {
        "rate": rate,
        "achieved_rate": count / result["submit_seconds"],
        "delivered_predictions": delivered,
        "expected_predictions": expected,
        "dropped_predictions": expected - delivered,
        "cpu_process_ns": cpu["process"] / count,
        "cpu_request_ns": cpu["request_thread"] / count,
        "cpu_background_ns": cpu["background"] / count,
    }
    return result


MEDIAN_KEYS = (
    "median_ns",
    "p99_ns",
    "delivered_per_second",
    "submitted_per_second",
    "achieved_rate",
    "cpu_process_ns",
    "cpu_request_ns",
    "cpu_background_ns",
    "delivery_median_s",
    "delivery_p99_s",
)
MAX_KEYS = ("delivery_max_s",)
SUMMED_KEYS = ("delivered_predictions", "expected_predictions", "dropped_predictions", "delivery_undelivered")


def median_of_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One scenario's rounds summarised: medians of the per-round figures, drops summed, peak memory."""
    summary: dict[str, Any] = {"rounds": rounds}
    for key in MEDIAN_KEYS:
        if key in rounds[0]:
            summary[key] = statistics.median(r[key] for r in rounds)
    for key in MAX_KEYS:
        if key in rounds[0]:
            summary[key] = max(r[key] for r in rounds)
    for key in SUMMED_KEYS:
        if key in rounds[0]:
            summary[key] = sum(r[key] for r in rounds)
    summary["peak_rss_kib"] = max(r["peak_rss_kib"] for r in rounds)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", type=_rates, default=[100.0, 1000.0, 5000.0], help="paced runs, predictions/s")
    parser.add_argument("--paced-seconds", type=float, default=10.0, help="duration of each paced run")
    parser.add_argument("--rate", type=float, default=1000.0, help="the paced rate of the latency table (in --rates)")
    parser.add_argument("--throughput-count", type=int, default=30000, help="predictions per throughput run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each scenario; medians are reported")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results")
    parser.add_argument("--es-rate", type=float, default=3000.0, help="predictions/s (2 records each) into ES")
    parser.add_argument("--es-seconds", type=float, default=20.0, help="duration of the Elasticsearch run")
    parser.add_argument("--skip-elasticsearch", action="store_true", help="skip the Elasticsearch run")
    parser.add_argument("--skip-gelf", action="store_true", help="skip the Go GELF exporter benchmark")
    parser.add_argument(
        "--baseline",
        type=Path,
        help=f"a directory holding another otel_ml_logging package (e.g. from git archive): run as {BASELINE}",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin the collector and workers to separate cores")
    parser.add_argument(
        "--quick", action="store_true", help="development run: 1 round, 3 s per rate, 5,000 back to back, no ES/GELF"
    )
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.paced_seconds, args.throughput_count = 1, 3.0, 5000
        args.skip_elasticsearch = args.skip_gelf = True
    if args.rate not in args.rates:
        parser.error(f"--rate {args.rate:g} is not one of --rates")
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": _cpus()},
        "settings": vars(args) | {"out": str(args.out), "baseline": str(args.baseline), "warmup": WARMUP},
        "paced": {},
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
            poll_cpu = cpus[-1] if pinned else None
            scenarios = ["bare", *TELEMETRY]
            if args.baseline:
                settings["baseline"] = str(args.baseline.resolve())
                scenarios.append(BASELINE)
            paced_rounds: dict[float, dict[str, list[dict[str, Any]]]] = {
                rate: {s: [] for s in scenarios} for rate in args.rates
            }
            throughput_rounds: dict[str, list[dict[str, Any]]] = {s: [] for s in scenarios}
            for round_number in range(1, args.rounds + 1):  # interleaved: drifts of a noisy machine hit all alike
                for rate in args.rates:
                    for scenario in scenarios:
                        print(f"round {round_number}/{args.rounds} paced {rate:g}/s: {scenario}", flush=True)
                        measured = paced(collector, scenario, rate, args.paced_seconds, settings, poll_cpu)
                        paced_rounds[rate][scenario].append(measured)
                for scenario in scenarios:
                    print(f"round {round_number}/{args.rounds} throughput: {scenario}", flush=True)
                    Path(settings["json_log_path"]).unlink(missing_ok=True)
                    measured = throughput(collector, scenario, args.throughput_count, settings)
                    throughput_rounds[scenario].append(measured)
            results["paced"] = {
                f"{rate:g}": {s: median_of_rounds(r) for s, r in by_scenario.items()}
                for rate, by_scenario in paced_rounds.items()
            }
            results["latency"] = results["paced"][f"{args.rate:g}"]
            results["throughput"] = {s: median_of_rounds(r) for s, r in throughput_rounds.items()}
        if not args.skip_elasticsearch:
            print("elasticsearch: sustained records/s through the collector", flush=True)
            results["elasticsearch"] = [
                measure_elasticsearch(Path(scratch) / f"es-{spans}", args.es_rate, args.es_seconds, spans)
                for spans in (False, True)
            ]
    if not args.skip_gelf:
        print("gelf: Go exporter over UDP, one core", flush=True)
        results["gelf_udp_records_per_second"] = measure_gelf_udp()
    write_report(results, args.out)
    print((args.out / "results.md").read_text())


def _rates(text: str) -> list[float]:
    return [float(rate) for rate in text.split(",")]


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
