"""Elasticsearch and the collector fail under load: every prediction arrives exactly once.

The shipped configuration (``collector/config.yaml`` + ``collector/config.elasticsearch.yaml``,
persistent queue) between a process predicting at 200/s for 60 s through the plugin's public API
(OTLP/gRPC, the default protocol) and a real Elasticsearch node:

- 10 s: Elasticsearch SIGKILLed;  20 s: the collector SIGKILLed;  24 s: the collector restarted
  (same storage directory);  40 s: Elasticsearch restarted (same data).

The plugin is configured by the README's sizing rule for that outage: each batch is retried for up
to ``OTEL_EXPORTER_OTLP_TIMEOUT`` (the SDK's exporter tries 6 times, 1, 2, 4, 8 and 16 s apart, ±20 %,
as long as the next try still falls within the timeout; 10 s by default, when the collector's 4 s
outage plus its restart can outlast the tries), and the batch queues hold everything made while one
batch is being retried (``OTEL_BLRP_MAX_QUEUE_SIZE``/``OTEL_BSP_MAX_QUEUE_SIZE >= items/s x timeout``;
2048 by default, about 5 s at this rate). Then every prediction's records (each event) and span are
in Elasticsearch exactly once (exact counts per ``ml.prediction.id`` and event), 0 lost, 0 duplicated,
and the plugin's delivery report says all of them were delivered.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness import REPO_ROOT
from harness.collector_process import CollectorProcess
from harness.elasticsearch import apply_templates, run_elasticsearch
from harness.faults import Schedule, kill_elasticsearch, prediction_counts, wait_for_records
from harness.prediction_load import finish_load, start_load

pytestmark = [pytest.mark.integration, pytest.mark.faults]

RATE = 200.0
SECONDS = 60.0
EVENTS = ("ml.prediction.requested", "ml.prediction.created")
LOGS = "logs-otel_ml-*"
TRACES = "traces-otel_ml-*"
CONFIGS = [REPO_ROOT / "collector" / "config.yaml", REPO_ROOT / "collector" / "config.elasticsearch.yaml"]
SPANS_PER_PREDICTION = 1
# The sizing rule: the exporter's timeout covers all its tries (the 6th comes 31 s ±20 % after the
# first), which rides out the collector's outage with room for its restart; the queues hold what is
# made meanwhile, with a margin.
EXPORT_TIMEOUT = 40
QUEUE_MARGIN = 1.25
PLUGIN_ENV = {
    "OTEL_EXPORTER_OTLP_TIMEOUT": str(EXPORT_TIMEOUT),  # seconds in the Python SDK
    "OTEL_BLRP_MAX_QUEUE_SIZE": str(int(RATE * len(EVENTS) * EXPORT_TIMEOUT * QUEUE_MARGIN)),
    "OTEL_BSP_MAX_QUEUE_SIZE": str(int(RATE * SPANS_PER_PREDICTION * EXPORT_TIMEOUT * QUEUE_MARGIN)),
}


def test_elasticsearch_and_collector_killed_under_load_every_prediction_once(tmp_path: Path) -> None:
    with run_elasticsearch(tmp_path / "es") as es:
        apply_templates(es)
        env = {"ELASTICSEARCH_ENDPOINT": es.url, "ELASTICSEARCH_FLUSH_INTERVAL": "1s"}
        collector = CollectorProcess(CONFIGS, env, tmp_path / "storage")
        try:
            collector.start()
            load = start_load(
                collector.otlp_grpc_endpoint, RATE, SECONDS, "grpc", "fault-r2", tmp_path / "load.log", PLUGIN_ENV
            )
            schedule = (
                Schedule()
                .at(10, "Elasticsearch SIGKILL", lambda: kill_elasticsearch(es))
                .at(20, "collector SIGKILL", collector.kill)
                .at(24, "collector restart", collector.start)
                .at(40, "Elasticsearch restart", es.start)
            )
            schedule.run()
            result = finish_load(load, timeout=SECONDS + 180)
            started = time.monotonic()
            expected = len(EVENTS) * result.predictions
            counts = wait_for_records(lambda: prediction_counts(es, LOGS), expected, timeout=180)
            drained = time.monotonic() - started
            spans = es.count(TRACES)
            # Copies rejected by their document id (409), counted by the exporter since the restart.
            conflicts = collector.metric(
                "otelcol_elasticsearch_docs_processed", error_type="version_conflict_engine_exception"
            )
            collector_log = collector.log_text()
        finally:
            collector.close()

    records = result.records("log records")
    span_counts = result.records("spans")
    arrived = sum(counts.records.get(event, 0) for event in EVENTS)
    missing = {event: result.predictions - counts.distinct.get(event, 0) for event in EVENTS}
    print(
        f"\nR2 Elasticsearch + collector killed under load: {result.predictions} predictions in "
        f"{result.seconds:.1f}s; "
        + ", ".join(schedule.log)
        + "\n  plugin ("
        + ", ".join(f"{name}={value}" for name, value in PLUGIN_ENV.items())
        + f"): {result.report_line}"
        f"\n  Elasticsearch: {counts.summary()}; {arrived} records; spans {spans}; all indexed {drained:.0f}s "
        f"after the load ended; {conflicts:.0f} re-sent documents rejected as duplicates (409) since the "
        f"collector's restart\n  lost: {sum(missing.values())} records (missing per event: {missing}); "
        f"duplicated: {counts.duplicated or 0}; plugin delivered {records['exported']} records, "
        f"{span_counts['exported']} spans; failed {records['failed']}, dropped {records['dropped']}"
    )
    # Every prediction's records, each event, exactly once.
    assert counts.duplicated == {}, f"records indexed more than once: {counts.duplicated}"
    assert missing == dict.fromkeys(EVENTS, 0), f"predictions whose records never arrived: {missing}"
    assert counts.records == dict.fromkeys(EVENTS, result.predictions), counts.summary()
    assert spans == SPANS_PER_PREDICTION * result.predictions
    # The plugin's report matches what arrived: everything delivered, nothing failed or dropped.
    assert records == {
        "accepted": arrived,
        "exported": arrived,
        "failed": 0,
        "dropped": 0,
    }, result.report_line
    assert span_counts == {"accepted": spans, "exported": spans, "failed": 0, "dropped": 0}, result.report_line
    assert "Exporting failed. Rejecting data" not in collector_log
