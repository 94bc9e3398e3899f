"""The main job: the whole pipeline on this machine, end to end, and what arrived.

1. starts a real Elasticsearch node and installs our index templates;
2. starts our collector (``collector/_build/otelcol-ml``) with config.yaml + config.elasticsearch.yaml;
3. starts the example insurance-charges service under ``opentelemetry-instrument``, configured
   only with OTEL_* variables;
4. sends predictions with the example's traffic generator (some fail on purpose);
5. shows what arrived in Elasticsearch: records per event, a prediction joined to its span, errors.

``--console`` skips 1 and 2 and prints the telemetry of a few predictions to the console.
Run it with ``make demo`` (which installs and builds everything first).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from harness.collector import run_collector  # noqa: E402 (after the path set-up above)
from harness.elasticsearch import ES_VERSION, apply_templates, flatten_document, run_elasticsearch  # noqa: E402
from harness.model_service import run_model_service, stop  # noqa: E402

REST_CONFIG = REPO_ROOT / "examples" / "insurance_charges_model" / "rest_config.yaml"
LOGS = "logs-otel_ml-*"
TRACES = "traces-otel_ml-*"


def banner(text: str) -> None:
    """Print a step heading."""
    print(f"\n=== {text}", flush=True)


def send_traffic(url: str, count: int) -> None:
    """Run the example's traffic generator against ``url``."""
    command = ["-m", "insurance_charges_model.traffic", "--url", url, "--count", str(count), "--error-every", "8"]
    subprocess.run([sys.executable, *command], check=True)


def show_elasticsearch(es: Any, count: int) -> None:
    """Print what the pipeline delivered."""
    expected_records = count * 2  # requested + created/exception per prediction
    es.wait_for_count(LOGS, expected_records, query={"exists": {"field": "ml.prediction.id"}}, timeout=90)
    es.wait_for_count(TRACES, count, query={"exists": {"field": "ml.prediction.id"}}, timeout=90)
    es.refresh()
    by_event = es.request(
        "POST",
        f"/{LOGS}/_search",
        {"size": 0, "aggs": {"events": {"terms": {"field": "event.action", "size": 10}}}},
    )["aggregations"]["events"]["buckets"]
    print("log records per event:")
    for bucket in by_event:
        print(f"  {bucket['key']:<28} {bucket['doc_count']}")
    print(f"prediction spans: {es.count(TRACES, {'exists': {'field': 'ml.prediction.id'}})}")
    errors = es.request(
        "POST",
        f"/{LOGS}/_search",
        {
            "size": 0,
            "query": {"term": {"event.action": "ml.prediction.exception"}},
            "aggs": {"types": {"terms": {"field": "error.type"}}},
        },
    )["aggregations"]["types"]["buckets"]
    print("errors by type: " + ", ".join(f"{b['key']} x{b['doc_count']}" for b in errors))
    (created,) = es.search(LOGS, {"size": 1, "query": {"term": {"event.action": "ml.prediction.created"}}})
    created = flatten_document(created)
    prediction_id, trace_id = created["ml.prediction.id"], created["trace.id"]
    print(f"\none prediction, {prediction_id}, joined on trace.id {trace_id}:")
    for hit in es.search(LOGS, {"size": 10, "query": {"term": {"trace.id": trace_id}}, "sort": ["@timestamp"]}):
        doc = flatten_document(hit)
        print(f"  log   {doc['@timestamp']}  {doc.get('log.level', ''):<5}  {doc.get('message')}")
    for hit in es.search(TRACES, {"size": 10, "query": {"term": {"trace.id": trace_id}}}):
        doc = flatten_document(hit)
        print(f"  span  {doc.get('span.name')}  span.id={doc.get('span.id')}  parent.id={doc.get('parent.id')}")


def run_full(count: int) -> None:
    """Elasticsearch + collector + model service + traffic."""
    with tempfile.TemporaryDirectory(prefix="otel-ml-demo-") as scratch:
        work = Path(scratch)
        banner(f"starting Elasticsearch {ES_VERSION} (real node, heap capped)")
        with run_elasticsearch(work / "es") as es:
            apply_templates(es)
            print(f"Elasticsearch at {es.url}, templates installed")
            banner("starting the otelcol-ml collector (OTLP in, Elasticsearch out)")
            configs = [REPO_ROOT / "collector" / "config.yaml", REPO_ROOT / "collector" / "config.elasticsearch.yaml"]
            with run_collector(configs, {"ELASTICSEARCH_ENDPOINT": es.url}, work / "storage") as collector:
                print(f"collector OTLP/gRPC at {collector.otlp_grpc_endpoint}")
                banner("starting the example model service under opentelemetry-instrument")
                env = {
                    "OTEL_SERVICE_NAME": "insurance-charges-model",
                    "OTEL_EXPORTER_OTLP_ENDPOINT": collector.otlp_grpc_endpoint,
                    "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                    "OTEL_RESOURCE_ATTRIBUTES": "service.version=0.1.0,deployment.environment.name=demo",
                    "OTEL_METRIC_EXPORT_INTERVAL": "5000",
                }
                with run_model_service(REST_CONFIG, env, work) as service:
                    banner(f"sending {count} predictions (every 8th fails on purpose)")
                    send_traffic(service.url, count)
                    stop(service)
                banner("what arrived in Elasticsearch")
                show_elasticsearch(es, count)


def run_console(count: int) -> None:
    """No collector: the service prints its telemetry to the console."""
    env = {
        "OTEL_SERVICE_NAME": "insurance-charges-model",
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_LOGS_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "none",
    }
    with tempfile.TemporaryDirectory(prefix="otel-ml-demo-") as scratch:
        with run_model_service(REST_CONFIG, env, Path(scratch)) as service:
            send_traffic(service.url, count)
            time.sleep(1)
            stop(service)
        print(service.output())


def main() -> None:
    """Parse arguments and run the demo."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=40, help="predictions to send (default 40)")
    parser.add_argument("--console", action="store_true", help="no collector: telemetry to the console")
    args = parser.parse_args()
    (run_console if args.console else run_full)(args.count)


if __name__ == "__main__":
    main()
