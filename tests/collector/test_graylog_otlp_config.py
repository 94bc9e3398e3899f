"""collector/config.graylog-otlp.yaml: the OTLP route to Graylog's "OpenTelemetry (gRPC)" input.

No Graylog server runs here (it needs MongoDB and OpenSearch). The real collector validates the
configuration and exports to a real OTLP/gRPC receiver (harness/otlp_receiver.py, built on
opentelemetry-proto) that stands in for Graylog's input: same protocol and service, so what is
checked is what the collector sends (records, ids, attributes, the bearer token header) and that its
persistent queue holds records while the input is down. How Graylog itself maps them
(``otel_attributes_*``) is Graylog's documented behaviour, not tested here.
"""

from __future__ import annotations

import subprocess
import time

import httpx
import pytest

from harness.collector import REPO_ROOT, build_collector, run_collector
from harness.otlp_receiver import grpc_receiver
from harness.ports import free_port

pytestmark = pytest.mark.integration

BASE = REPO_ROOT / "collector" / "config.yaml"
GRAYLOG_OTLP = REPO_ROOT / "collector" / "config.graylog-otlp.yaml"
TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"


def prediction_records(prediction_ids: list[str]) -> dict[str, object]:
    """OTLP/JSON logs as the plugin sends them: a "requested" and a "created" record per prediction."""
    now = str(time.time_ns())
    records = [
        {
            "timeUnixNano": now,
            "severityNumber": 9,
            "severityText": "INFO",
            "eventName": event,
            "body": {"stringValue": body},
            "traceId": TRACE_ID,
            "spanId": SPAN_ID,
            "attributes": [
                {"key": "ml.prediction.id", "value": {"stringValue": prediction_id}},
                {"key": "ml.model.name", "value": {"stringValue": "insurance_charges_model"}},
            ],
        }
        for prediction_id in prediction_ids
        for event, body in (
            ("ml.prediction.requested", "Prediction requested."),
            ("ml.prediction.created", "Prediction created."),
        )
    ]
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "insurance-charges"}}]}
    return {"resourceLogs": [{"resource": resource, "scopeLogs": [{"logRecords": records}]}]}


def post(endpoint: str, prediction_ids: list[str]) -> None:
    response = httpx.post(f"{endpoint}/v1/logs", json=prediction_records(prediction_ids), timeout=10)
    assert response.status_code == 200, response.text


def collector_env(port: int) -> dict[str, str]:
    return {
        "GRAYLOG_OTLP_ENDPOINT": f"127.0.0.1:{port}",
        "GRAYLOG_OTLP_TLS_INSECURE": "true",
        "GRAYLOG_OTLP_AUTHORIZATION": "Bearer graylog-input-token",
        "GRAYLOG_OTLP_FLUSH_INTERVAL": "100ms",
    }


def test_config_validates_with_the_real_collector(tmp_path):
    binary = build_collector()
    env = {"PATH": "/usr/bin:/bin", **collector_env(4317), "COLLECTOR_STORAGE_DIR": str(tmp_path)}
    result = subprocess.run(
        [str(binary), "validate", "--config", str(BASE), "--config", str(GRAYLOG_OTLP)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    missing = subprocess.run(  # without the endpoint the exporter's config is rejected at start-up
        [str(binary), "validate", "--config", str(BASE), "--config", str(GRAYLOG_OTLP)],
        env={"PATH": "/usr/bin:/bin", "COLLECTOR_STORAGE_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode != 0
    assert "otlp_grpc/graylog" in missing.stderr


def test_records_reach_the_otlp_input_intact_with_the_token(tmp_path):
    with grpc_receiver() as graylog_input:
        port = int(graylog_input.endpoint.rsplit(":", 1)[1])
        with run_collector([BASE, GRAYLOG_OTLP], collector_env(port), tmp_path / "storage") as collector:
            post(collector.otlp_http_endpoint, ["p-1", "p-2"])
            received = graylog_input.wait_for(lambda r: len(r.logs) == 4)

    by_event = sorted((log["attributes"]["ml.prediction.id"], log["event_name"], log["body"]) for log in received.logs)
    assert by_event == [
        ("p-1", "ml.prediction.created", "Prediction created."),
        ("p-1", "ml.prediction.requested", "Prediction requested."),
        ("p-2", "ml.prediction.created", "Prediction created."),
        ("p-2", "ml.prediction.requested", "Prediction requested."),
    ]
    for log in received.logs:
        assert (log["trace_id"], log["span_id"]) == (TRACE_ID, SPAN_ID)
        assert log["severity_text"] == "INFO"
        assert log["resource"]["service.name"] == "insurance-charges"
        assert log["resource"]["deployment.environment.name"] == "local"  # the base file's resource processor
    assert received.log_metadata
    assert {meta.get("authorization") for meta in received.log_metadata} == {"Bearer graylog-input-token"}


def test_records_wait_in_the_persistent_queue_across_a_restart_while_the_input_is_down(tmp_path):
    port = free_port()  # nothing listens there yet: Graylog's input is down
    storage = tmp_path / "storage"
    with run_collector([BASE, GRAYLOG_OTLP], collector_env(port), storage) as collector:
        post(collector.otlp_http_endpoint, [f"down-{i}" for i in range(10)])
        assert collector.wait_metric("otelcol_receiver_accepted_log_records", 20, timeout=20) == 20
        time.sleep(1.5)  # at least one failed attempt against the closed port
        assert collector.metric("otelcol_exporter_sent_log_records", exporter="otlp_grpc/graylog") == 0
    started = time.monotonic()
    # the same queue directory, and now the input is up
    with run_collector([BASE, GRAYLOG_OTLP], collector_env(port), storage) as collector, grpc_receiver(port) as up:
        received = up.wait_for(lambda r: len(r.logs) >= 20, timeout=30)
        assert collector.wait_metric("otelcol_exporter_sent_log_records", 20, exporter="otlp_grpc/graylog") == 20
        time.sleep(0.5)
    ids = sorted({log["attributes"]["ml.prediction.id"] for log in received.logs})
    assert ids == sorted(f"down-{i}" for i in range(10))
    assert len(received.logs) == 20  # nothing doubled by the retries or the restart
    print(f"delivered 20/20 queued records {time.monotonic() - started:.1f}s after the restart")
