"""P3: sustained log records per second through the bundled collector into the real Elasticsearch.

A worker process makes predictions with our decorator (fast path, OTLP/HTTP JSON) at a fixed rate
for a fixed time; the collector (config.yaml + config.elasticsearch.yaml, persistent queue) writes
them to a real Elasticsearch node. Measured: records offered per second, records indexed, lost, and
the CPU each process used (what limits the rate).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness.collector import run_collector
from harness.elasticsearch import apply_templates, run_elasticsearch

REPO_ROOT = Path(__file__).resolve().parents[1]
LOGS = "logs-otel_ml-*"

WORKER = """
import json, sys, time
import otel_ml_logging as oml
from bench.model import INPUT_FIELDS, OUTPUT_FIELDS, SAMPLE, TrivialModel
oml.configure(service_name="bench-es", endpoint=sys.argv[1], protocol="http/json", instrument_logging=False)
model = oml.OTelLoggingDecorator(
    input_fields=list(INPUT_FIELDS), output_fields=list(OUTPUT_FIELDS), span=sys.argv[4] == "spans"
).set_model(TrivialModel())
rate, seconds = float(sys.argv[2]), float(sys.argv[3])
interval, count = 1.0 / rate, 0
start = time.perf_counter()
next_at = start
while time.perf_counter() - start < seconds:
    model.predict(SAMPLE)
    count += 1
    next_at += interval
    delay = next_at - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
model.flush(60)
print(json.dumps({"predictions": count, "seconds": time.perf_counter() - start}))
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def offer(endpoint: str, predictions_per_second: float, seconds: float, spans: bool) -> dict[str, Any]:
    """Make predictions at a fixed rate in a worker process; return how many and how long it took."""
    worker = subprocess.run(
        [
            sys.executable,
            "-c",
            WORKER,
            endpoint,
            str(predictions_per_second),
            str(seconds),
            "spans" if spans else "no-spans",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    made: dict[str, Any] = json.loads(worker.stdout.strip().splitlines()[-1])
    return made


def measure(
    scratch: Path, predictions_per_second: float, seconds: float, spans: bool = True, warmup_seconds: float = 10.0
) -> dict[str, Any]:
    """Run the worker against collector → Elasticsearch and return what arrived and what it cost.

    A warm-up phase at the same rate runs first and is indexed completely before the measured
    phase starts: a freshly started node spends its first seconds compiling (JIT) and creating the
    data streams, which is not the sustained rate.
    """
    prediction_records = {"exists": {"field": "ml.prediction.id"}}
    with run_elasticsearch(scratch / "es") as es:
        apply_templates(es)
        configs = [REPO_ROOT / "collector" / "config.yaml", REPO_ROOT / "collector" / "config.elasticsearch.yaml"]
        env = {"ELASTICSEARCH_ENDPOINT": es.url, "ELASTICSEARCH_FLUSH_INTERVAL": "1s", "COLLECTOR_LOG_LEVEL": "warn"}
        with run_collector(configs, env, scratch / "storage") as collector:
            warm = offer(collector.otlp_http_endpoint, predictions_per_second, warmup_seconds, spans)
            base = es.wait_for_count(LOGS, warm["predictions"] * 2, query=prediction_records, timeout=300)
            es_pid = es.process.pid if es.process is not None else None
            assert collector.process is not None  # run_collector yields a started collector
            cpu_before = {"collector": cpu_seconds(collector.process.pid)}
            if es_pid:
                cpu_before["elasticsearch"] = cpu_seconds(es_pid)
            started = time.time()
            made = offer(collector.otlp_http_endpoint, predictions_per_second, seconds, spans)
            expected = made["predictions"] * 2
            indexed = es.wait_for_count(LOGS, base + expected, query=prediction_records, timeout=300) - base
            finished = time.time()
            cpu = {"collector": cpu_seconds(collector.process.pid) - cpu_before["collector"]}
            if es_pid:
                cpu["elasticsearch"] = cpu_seconds(es_pid) - cpu_before["elasticsearch"]
    return {
        "with_spans": spans,
        "warmup_records_indexed": base,
        "offered_records_per_second": expected / made["seconds"],
        "records_expected": expected,
        "records_indexed": indexed,
        "records_lost": expected - indexed,
        "indexed_records_per_second": indexed / (finished - started),
        "seconds_until_all_indexed": finished - started,
        "cpu_seconds": cpu,
    }
