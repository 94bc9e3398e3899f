"""Capture bench: a child writing N lines as fast as it can, bare and under ``otel-ml-logging run``.

    .venv/bin/python -m bench.capture_rate [--lines 200000] [--rounds 3]

Each round runs, interleaved so that the machine's load hits all alike: the writer bare (stdout a
pipe drained by ``cat``, as a container runtime or terminal gives it), the writer under
``otel-ml-logging run`` sending OTLP/HTTP JSON to the real collector (``collector/config.yaml`` +
``bench/collector.bench.yaml``), and the writer under ``otel-ml-logging run`` with a dead endpoint.
The writer times itself (first write to final flush); arrivals are the collector receiver's accepted
log records. Writes bench/results/capture.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from harness import capture_writer  # noqa: E402
from harness.collector import RunningCollector, run_collector  # noqa: E402
from harness.ports import free_port  # noqa: E402

ACCEPTED = "otelcol_receiver_accepted_log_records"
RESULTS = REPO_ROOT / "bench" / "results"
TARGET_RATIO = 1.2
TARGET_ARRIVED = 0.95


def run_writer(lines: int, wrapped: list[str], env: dict[str, str], workdir: Path) -> dict[str, Any]:
    """Run the writer once; return its own write time, the wall time and the capture's report line."""
    run = capture_writer.run_writer(lines, wrapped, env, workdir, timeout=600)
    report = next((line for line in run.stderr.splitlines() if line.startswith("otel-ml-logging run:")), "")
    return {"write_s": run.write_s, "wall_s": run.wall_s, "report": report}


def wait_arrivals(collector: RunningCollector, before: float, expected: int, quiet: float = 3.0) -> int:
    """Accepted log records since ``before``, once all arrived or nothing arrived for ``quiet`` seconds."""
    last, last_change = -1.0, time.monotonic()
    while True:
        now = collector.metric(ACCEPTED) - before
        if now >= expected:
            return int(now)
        if now != last:
            last, last_change = now, time.monotonic()
        elif time.monotonic() - last_change > quiet:
            return int(now)
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--shutdown-timeout", type=float, default=30.0)
    args = parser.parse_args()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    base_env["OTEL_SERVICE_NAME"] = "capture-bench"
    base_env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/json"
    capture = [sys.executable, "-m", "otel_ml_logging.cli", "run", "--shutdown-timeout", str(args.shutdown_timeout)]
    rounds: list[dict[str, Any]] = []
    configs = [REPO_ROOT / "collector" / "config.yaml", REPO_ROOT / "bench" / "collector.bench.yaml"]
    with tempfile.TemporaryDirectory() as tmp, run_collector(configs, {}, Path(tmp) / "storage") as collector:
        workdir = Path(tmp)
        live_env = {**base_env, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.otlp_http_endpoint}
        dead_env = {**base_env, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}"}
        for index in range(args.rounds):
            bare = run_writer(args.lines, [], base_env, workdir)
            before = collector.metric(ACCEPTED)
            live = run_writer(args.lines, [*capture, "--"], live_env, workdir)
            live["arrived"] = wait_arrivals(collector, before, args.lines)
            dead = run_writer(args.lines, [*capture, "--shutdown-timeout", "2", "--"], dead_env, workdir)
            rounds.append({"bare": bare, "live": live, "dead": dead})
            print(
                f"round {index + 1}: bare {bare['write_s']:.3f}s, live {live['write_s']:.3f}s "
                f"({live['arrived']}/{args.lines} arrived, wall {live['wall_s']:.1f}s), dead {dead['write_s']:.3f}s "
                f"(wall {dead['wall_s']:.1f}s)",
                flush=True,
            )
    write_results(args, rounds)


def write_results(args: argparse.Namespace, rounds: list[dict[str, Any]]) -> None:
    def median(kind: str, key: str) -> float:
        return statistics.median(r[kind][key] for r in rounds)

    bare = median("bare", "write_s")
    live_ratio, dead_ratio = median("live", "write_s") / bare, median("dead", "write_s") / bare
    arrived = min(r["live"]["arrived"] for r in rounds) / args.lines
    dropped = [int(m.group(1)) for r in rounds if (m := re.search(r"(\d+) lines dropped", r["live"]["report"]))]
    lines = [
        f"Measured on {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs; "
        f"{args.lines:,} lines per run, {args.rounds} interleaved rounds, medians.",
        "",
        "| run | writer's own time (median) | × bare | wall time (median) | arrived at the collector (worst round) |",
        "|---|---:|---:|---:|---:|",
        f"| bare (stdout → pipe → cat) | {bare:.3f} s | 1.00 | {median('bare', 'wall_s'):.2f} s | - |",
        f"| `otel-ml-logging run`, live collector (OTLP/HTTP JSON) | {median('live', 'write_s'):.3f} s | "
        f"{live_ratio:.2f} | {median('live', 'wall_s'):.2f} s | {arrived:.1%} |",
        f"| `otel-ml-logging run`, dead endpoint | {median('dead', 'write_s'):.3f} s | {dead_ratio:.2f} | "
        f"{median('dead', 'wall_s'):.2f} s | - |",
        "",
        f"Targets: writer ≤ {TARGET_RATIO}× bare with a live endpoint: {live_ratio:.2f}× "
        f"({'met' if live_ratio <= TARGET_RATIO else 'NOT met'}); ≥ {TARGET_ARRIVED:.0%} of lines arrive: "
        f"{arrived:.1%} ({'met' if arrived >= TARGET_ARRIVED else 'NOT met'}); lines dropped by the buffer "
        f"per live round: {dropped}.",
        "",
        "Capture report lines (live): " + "; ".join(f"`{r['live']['report']}`" for r in rounds),
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "capture.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "capture.json").write_text(json.dumps({"lines": args.lines, "rounds": rounds}, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
