"""SIGTERM with Elasticsearch and the GELF endpoint unreachable: the collector stops in time and
loses nothing.

The shipped configuration with both outputs (``config.yaml`` + ``config.elasticsearch.yaml`` +
``config.gelf.yaml``, as in compose and the Kubernetes gateway) takes 1,000 predictions while
neither Elasticsearch nor the GELF TCP endpoint is reachable; the batches are in flight, retrying.
SIGTERM must end the process within 20 s (a pod's budget; ``shutdown_guard`` defaults to 15 s).
Then Elasticsearch and Graylog's GELF codec start on the addresses the collector was given, the
collector starts again on the same storage directory, and every record arrives: exactly once in
Elasticsearch; in GELF at least once (a re-sent batch can arrive twice; printed).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness import REPO_ROOT
from harness.collector_process import CollectorProcess
from harness.elasticsearch import RunningElasticsearch, apply_templates, ensure_elasticsearch
from harness.faults import gelf_prediction_counts, prediction_counts, wait_for_records
from harness.gelf import GraylogHarness
from harness.ports import free_port
from harness.prediction_load import finish_load, start_load

pytestmark = [pytest.mark.integration, pytest.mark.faults]

CONFIGS = [
    REPO_ROOT / "collector" / "config.yaml",
    REPO_ROOT / "collector" / "config.elasticsearch.yaml",
    REPO_ROOT / "collector" / "config.gelf.yaml",
]
EVENTS = ("ml.prediction.requested", "ml.prediction.created")
POD_BUDGET = 20.0


def test_sigterm_with_unreachable_outputs_exits_in_time_and_the_next_start_delivers_everything(
    tmp_path: Path,
) -> None:
    es_port, gelf_port = free_port("tcp"), free_port("tcp")
    env = {
        "ELASTICSEARCH_ENDPOINT": f"http://127.0.0.1:{es_port}",
        "ELASTICSEARCH_FLUSH_INTERVAL": "1s",
        "GELF_ENDPOINT": f"tcp://127.0.0.1:{gelf_port}",
    }
    collector = CollectorProcess(CONFIGS, env, tmp_path / "storage")
    es = RunningElasticsearch(tmp_path / "es", ensure_elasticsearch(), port=es_port)
    gelf = GraylogHarness(udp=False, tcp_port=gelf_port)
    try:
        collector.start()
        load = start_load(collector.otlp_grpc_endpoint, 200, 5, "grpc", "fault-shutdown", tmp_path / "load.log")
        result = finish_load(load, timeout=120)
        time.sleep(3)  # batches formed (flush 1 s) and in flight, retrying against closed ports
        exit_seconds = collector.terminate(timeout=120)
        first_run_log = collector.log_text()

        es.start()
        apply_templates(es)
        gelf.__enter__()
        collector.start()
        restarted = time.monotonic()
        exported = result.records("log records")["exported"]
        counts = wait_for_records(lambda: prediction_counts(es, "logs-otel_ml-*"), exported, timeout=120)
        deadline = time.monotonic() + 60
        while True:
            gelf_counts = gelf_prediction_counts(gelf.messages(timeout=0))
            if sum(gelf_counts.records.values()) >= exported or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        delivered_seconds = time.monotonic() - restarted
        spans = es.count("traces-otel_ml-*")
        graceful_seconds = collector.terminate(timeout=60)
    finally:
        collector.close()
        gelf.__exit__(None, None, None)
        es.close()

    print(
        f"\nCollector SIGTERM with Elasticsearch and GELF unreachable: exited after {exit_seconds:.1f}s "
        f"(budget {POD_BUDGET:.0f}s) holding {result.predictions} predictions' telemetry;"
        f"\n  after the restart, in {delivered_seconds:.0f}s: Elasticsearch {counts.summary()}, spans {spans}; "
        f"GELF {gelf_counts.summary()}; SIGTERM with both outputs up: exited after {graceful_seconds:.2f}s"
    )
    assert exit_seconds <= POD_BUDGET
    assert "Shutdown budget exceeded" in first_run_log
    assert result.records("log records")["exported"] == 2 * result.predictions
    assert counts.distinct == dict.fromkeys(EVENTS, result.predictions)
    assert counts.duplicated == {}
    assert spans == result.predictions
    assert gelf_counts.distinct == dict.fromkeys(EVENTS, result.predictions)
    assert graceful_seconds < 10
