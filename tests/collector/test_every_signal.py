"""Every shipped collector configuration accepts traces, logs and metrics; a healthy stack logs no
export error, and metrics land in their Elasticsearch data stream.

A signal without a pipeline makes the OTLP receiver answer 404 (HTTP) / UNIMPLEMENTED (gRPC) on
every export, and the plugin exports all three by default. The combinations are the ones compose,
the Kubernetes gateway and agent, and the READMEs run (Kafka and ``k8sattributes`` need their
peers and are left to the scale tests).
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from harness import REPO_ROOT
from harness.collector import run_collector
from harness.elasticsearch import RunningElasticsearch
from harness.gelf import GraylogHarness
from harness.ports import free_port
from harness.prediction_load import finish_load, start_load

pytestmark = pytest.mark.integration

COLLECTOR = REPO_ROOT / "collector"
TRACE = {
    "resourceSpans": [
        {
            "scopeSpans": [
                {
                    "spans": [
                        {
                            "traceId": "5b8efff798038103d269b633813fc60c",
                            "spanId": "eee19b7ec3c1b174",
                            "name": "probe",
                            "kind": 1,
                            "startTimeUnixNano": "1700000000000000000",
                            "endTimeUnixNano": "1700000000100000000",
                        }
                    ]
                }
            ]
        }
    ]
}
LOG = {
    "resourceLogs": [
        {"scopeLogs": [{"logRecords": [{"timeUnixNano": "1700000000000000000", "body": {"stringValue": "probe"}}]}]}
    ]
}
METRIC = {
    "resourceMetrics": [
        {
            "scopeMetrics": [
                {
                    "metrics": [
                        {
                            "name": "probe",
                            "sum": {
                                "aggregationTemporality": 2,
                                "isMonotonic": True,
                                "dataPoints": [{"asInt": "1", "timeUnixNano": "1700000000000000000"}],
                            },
                        }
                    ]
                }
            ]
        }
    ]
}


def dead_endpoint() -> str:
    return f"127.0.0.1:{free_port('tcp')}"


COMBINATIONS: dict[str, tuple[list[str], dict[str, str]]] = {
    "elasticsearch": (["config.yaml", "config.elasticsearch.yaml"], {"ELASTICSEARCH_ENDPOINT": "http://{dead}"}),
    "gelf": (["config.yaml", "config.gelf.yaml"], {"GELF_ENDPOINT": "tcp://{dead}"}),
    "compose and gateway: elasticsearch + gelf": (
        ["config.yaml", "config.elasticsearch.yaml", "config.gelf.yaml"],
        {"ELASTICSEARCH_ENDPOINT": "http://{dead}", "GELF_ENDPOINT": "udp://{dead}"},
    ),
    "graylog otlp": (
        ["config.yaml", "config.graylog-otlp.yaml"],
        {"GRAYLOG_OTLP_ENDPOINT": "{dead}", "GRAYLOG_OTLP_TLS_INSECURE": "true"},
    ),
    "node agent": (
        ["config.yaml", "config.agent.yaml"],
        {"GATEWAY_OTLP_ENDPOINT": "{dead}", "FILELOG_PODS_DIR": "{tmp}/pods"},
    ),
}


def post(url: str, body: dict[str, Any]) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.mark.parametrize("name", list(COMBINATIONS))
def test_every_shipped_configuration_accepts_traces_logs_and_metrics(name: str, tmp_path: Path) -> None:
    files, env = COMBINATIONS[name]
    configs = [COLLECTOR / f for f in files]
    env = {key: value.format(dead=dead_endpoint(), tmp=tmp_path) for key, value in env.items()}
    env["COLLECTOR_SHUTDOWN_TIMEOUT"] = "1s"  # outputs are unreachable: do not wait for them on exit
    with run_collector(configs, env, tmp_path / "storage") as collector:
        statuses = {
            signal: post(f"{collector.otlp_http_endpoint}/v1/{signal}", body)
            for signal, body in (("traces", TRACE), ("logs", LOG), ("metrics", METRIC))
        }
    assert statuses == {"traces": 200, "logs": 200, "metrics": 200}


ERROR_LINE = re.compile(r"^\S+\t(warn|error|fatal|panic)\t", re.MULTILINE)


def test_healthy_stack_logs_no_export_error_and_metrics_land_in_elasticsearch(
    elasticsearch: RunningElasticsearch, tmp_path: Path
) -> None:
    service = f"signals-{int(time.time())}"
    configs = [COLLECTOR / "config.yaml", COLLECTOR / "config.elasticsearch.yaml", COLLECTOR / "config.gelf.yaml"]
    with GraylogHarness(udp=False) as gelf:
        env = {
            "ELASTICSEARCH_ENDPOINT": elasticsearch.url,
            "ELASTICSEARCH_FLUSH_INTERVAL": "1s",
            "GELF_ENDPOINT": gelf.tcp_endpoint,
        }
        with run_collector(configs, env, tmp_path / "storage") as collector:
            load = start_load(collector.otlp_grpc_endpoint, 100, 6, "grpc", service, tmp_path / "load.log")
            result = finish_load(load, timeout=120)
            query = {"term": {"service.name": service}}
            metric_docs = elasticsearch.wait_for_count("metrics-otel_ml-*", 2, query=query, timeout=60)
            logs = elasticsearch.wait_for_count("logs-otel_ml-*", 2 * result.predictions, query=query, timeout=60)
            messages = gelf.messages(timeout=30, count=2 * result.predictions)
            time.sleep(2)
            log_text = collector.log_text()
        documents = elasticsearch.search("metrics-otel_ml-*", {"query": query, "sort": [{"@timestamp": "desc"}]})
    problems = ERROR_LINE.findall(log_text)
    last = documents[0]
    print(
        f"\nHealthy stack: {result.predictions} predictions; {logs} log documents, {metric_docs} metric documents "
        f"(last: ml.predictions={last['ml']['predictions']}), {len(messages)} GELF messages; "
        f"{len(problems)} warn/error lines in the collector log"
    )
    assert result.report_line.count(" 0 failed, 0 dropped") == 2, result.report_line
    assert logs == 2 * result.predictions
    assert last["ml"]["predictions"] == result.predictions
    assert any("duration" in doc["ml"].get("prediction", {}) for doc in documents), "no histogram indexed"
    assert not problems, "\n".join(line for line in log_text.splitlines() if ERROR_LINE.match(line + "\n"))[:5000]
