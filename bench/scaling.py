"""Sizing: log records per second per CPU core of each tier, measured on this machine.

``python -m bench.scaling`` (run once; writes bench/results/scaling.json and prints the table).

Each scenario runs the repository's collector files as separate processes on loopback: a load
generator (the real plugin, OTLP/HTTP JSON, 2 log records + 1 span per prediction, plus one
container log line per prediction written to a kubelet-style CRI file) → agent
(config.yaml + config.agent.yaml [+ config.kafka.agent.yaml]) → [Kafka] → one gateway
(config.yaml + config.elasticsearch.yaml [+ config.kafka.gateway.yaml], or config.gelf.yaml) →
one Elasticsearch node (1 GiB heap). The CPU seconds each process used while the run's items went
through it (utime + stime from /proc) divide the items it handled: items per CPU-second, i.e. per
core at 100 % use. The load generator's own CPU is not counted.

Scenarios: ``elasticsearch`` (direct), ``gelf`` (gateway to a GELF UDP socket), ``kafka`` (agent →
Kafka broker → gateway → Elasticsearch). The Kafka hop's cost is the extra agent and gateway CPU
per item over the direct path plus the broker's CPU per item.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from harness import load_generator  # noqa: E402
from harness.collector_process import CollectorProcess  # noqa: E402
from harness.elasticsearch import apply_templates, run_elasticsearch  # noqa: E402
from harness.kafka import run_kafka  # noqa: E402

COLLECTOR = REPO_ROOT / "collector"
RESULTS = REPO_ROOT / "bench" / "results" / "scaling.json"
ITEMS = ("log_records", "spans")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def handled(collector: CollectorProcess, kind: str) -> float:
    """Items the collector's exporters sent (``kind``: log_records or spans)."""
    return collector.metric(f"otelcol_exporter_sent_{kind}")


def generate(endpoint: str, rate: float, seconds: float, pod_log: Path) -> dict[str, Any]:
    """Run the load generator (harness/load_generator.py) to its end; return its report."""
    result = subprocess.run(
        load_generator.command(endpoint, "http/json", rate, seconds, f"bench-{uuid.uuid4().hex[:6]}", pod_log),
        cwd=REPO_ROOT,
        env=load_generator.pod_environment("bench-model", "ml"),
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 300,
    )
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def wait_sent(collector: CollectorProcess, expected: dict[str, float], timeout: float = 300.0) -> float:
    """Wait until the collector's exporters sent ``expected`` items per kind; return the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if all(handled(collector, kind) >= count for kind, count in expected.items()):
            return time.monotonic() - started
        time.sleep(0.5)
    got = {kind: handled(collector, kind) for kind in expected}
    raise RuntimeError(f"sent {got}, expected {expected}\n{collector.log_tail()}")


def run_scenario(name: str, work: Path, rate: float, seconds: float) -> dict[str, Any]:
    """Run one scenario twice (warm-up, then measured) and return items and CPU seconds per process."""
    pods = work / "pods"
    pod_log = pods / f"ml_bench-model_{uuid.uuid4()}" / "model" / "0.log"
    kafka = name == "kafka"
    gelf_sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    gelf_sink.bind(("127.0.0.1", 0))
    with run_elasticsearch(work / "es") as es:
        apply_templates(es)
        broker_cm = run_kafka(work / "kafka", partitions=4) if kafka else None
        broker = broker_cm.__enter__() if broker_cm is not None else None
        try:
            topic_env = {"KAFKA_BROKERS": broker.bootstrap, "KAFKA_TOPIC_PREFIX": "bench"} if broker else {}
            if name == "gelf":
                gateway_files = ["config.yaml", "config.gelf.yaml"]
                gateway_env = {"GELF_ENDPOINT": f"udp://127.0.0.1:{gelf_sink.getsockname()[1]}"}
            else:
                gateway_files = ["config.yaml", "config.elasticsearch.yaml"] + (
                    ["config.kafka.gateway.yaml"] if kafka else []
                )
                gateway_env = {"ELASTICSEARCH_ENDPOINT": es.url, "ELASTICSEARCH_FLUSH_INTERVAL": "1s"}
            gateway = CollectorProcess(
                [COLLECTOR / f for f in gateway_files],
                {**gateway_env, **topic_env, "COLLECTOR_LOG_LEVEL": "warn"},
                work / "gateway",
            )
            agent_files = ["config.yaml", "config.agent.yaml"] + (["config.kafka.agent.yaml"] if kafka else [])
            gateway.start()
            agent = CollectorProcess(
                [COLLECTOR / f for f in agent_files],
                {
                    "GATEWAY_OTLP_ENDPOINT": gateway.env["OTLP_GRPC_ENDPOINT"],
                    "FILELOG_PODS_DIR": str(pods),
                    "COLLECTOR_LOG_LEVEL": "warn",
                    **topic_env,
                },
                work / "agent",
            )
            agent.start()
            kinds = ("log_records",) if name == "gelf" else ITEMS
            try:
                result: dict[str, Any] = {}
                for _phase, phase_seconds in (("warmup", seconds / 2), ("measured", seconds)):
                    before = {kind: handled(gateway, kind) for kind in kinds}
                    pids = {"agent": agent, "gateway": gateway}
                    cpu0 = {k: cpu_seconds(p.process.pid) for k, p in pids.items() if p.process}
                    if es.process is not None:
                        cpu0["elasticsearch"] = cpu_seconds(es.process.pid)
                    if broker is not None and broker.process is not None:
                        cpu0["kafka"] = cpu_seconds(broker.process.pid)
                    started = time.monotonic()
                    made = generate(agent.otlp_http_endpoint, rate, phase_seconds, pod_log)
                    predictions = int(made["predictions"])
                    # per prediction: 2 records + 1 container log line; 1 span
                    expected = {"log_records": 3 * predictions, "spans": predictions}
                    wait_sent(gateway, {k: before[k] + expected[k] for k in kinds})
                    if name != "gelf":
                        es.wait_for_count("logs-otel_ml-*", 0)  # refresh
                    elapsed = time.monotonic() - started
                    cpu = {k: cpu_seconds(p.process.pid) - cpu0[k] for k, p in pids.items() if p.process}
                    if es.process is not None and name != "gelf":
                        cpu["elasticsearch"] = cpu_seconds(es.process.pid) - cpu0["elasticsearch"]
                    if broker is not None and broker.process is not None:
                        cpu["kafka"] = cpu_seconds(broker.process.pid) - cpu0["kafka"]
                    items = sum(expected[k] for k in kinds)
                    result = {
                        "scenario": name,
                        "predictions": predictions,
                        "items": items,
                        "items_by_kind": {k: expected[k] for k in kinds},
                        "seconds": elapsed,
                        "cpu_seconds": cpu,
                        "items_per_cpu_second": {k: items / v for k, v in cpu.items() if v > 0},
                    }
                return result
            finally:
                agent.close()
                gateway.close()
        finally:
            if broker_cm is not None:
                broker_cm.__exit__(None, None, None)
            gelf_sink.close()


def main(argv: list[str] | None = None) -> None:
    """Run the scenarios and write bench/results/scaling.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1500.0, help="predictions/s offered")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--scenario", action="append", choices=["elasticsearch", "gelf", "kafka"])
    args = parser.parse_args(argv)
    results = []
    for name in args.scenario or ["elasticsearch", "gelf", "kafka"]:
        with tempfile.TemporaryDirectory(prefix=f"scaling-{name}-") as work:
            result = run_scenario(name, Path(work), args.rate, args.seconds)
        print(json.dumps(result), flush=True)
        results.append(result)
    # a partial run (--scenario) replaces only its scenarios in the stored results
    stored = json.loads(RESULTS.read_text())["results"] if RESULTS.exists() else []
    ran = {r["scenario"] for r in results}
    merged = [r for r in stored if r["scenario"] not in ran] + results
    RESULTS.write_text(json.dumps({"rate": args.rate, "seconds": args.seconds, "results": merged}, indent=2) + "\n")


if __name__ == "__main__":
    main()
