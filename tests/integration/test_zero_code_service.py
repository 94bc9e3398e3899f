"""Zero-code start: ``opentelemetry-instrument uvicorn rest_model_service.main:app`` with OTEL_* only."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import httpx
import pytest

from harness.model_service import run_model_service, scoring_rest_config, stop, write_rest_config
from harness.otlp_receiver import grpc_receiver, http_receiver
from harness.ports import free_port

pytestmark = pytest.mark.integration

REST_CONFIG = scoring_rest_config(
    {"input_fields": ["temperature", "city"], "output_fields": ["score"]},
    service_title="Scoring service",
    version="3.0.0",
    # dictConfig replaces the root handlers: the OTel bridge must survive it.
    logging={
        "version": 1,
        "formatters": {"plain": {"format": "%(levelname)s %(name)s %(message)s"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stdout"}},
        "loggers": {"rest_model_service": {"level": "INFO"}},
        "root": {"level": "INFO", "handlers": ["console"]},
    },
)

ENV = {
    "OTEL_SERVICE_NAME": "scoring-service",
    # as deploy/kubernetes/model-service.yaml composes it from the downward API
    "OTEL_RESOURCE_ATTRIBUTES": "service.version=3.0.0,deployment.environment.name=test,"
    "k8s.pod.name=scoring-7d9f-abcde,k8s.namespace.name=models,k8s.node.name=node-1",
    "NODE_IP": "10.1.2.3",
    "OTEL_BSP_SCHEDULE_DELAY": "200",
    "OTEL_BLRP_SCHEDULE_DELAY": "200",
    "OTEL_METRIC_EXPORT_INTERVAL": "500",
}


@pytest.fixture
def rest_config(tmp_path: Path) -> Path:
    return write_rest_config(tmp_path, REST_CONFIG)


def _predict(url: str, body: dict) -> httpx.Response:
    return httpx.post(f"{url}/api/models/scoring_model/prediction", json=body, timeout=10)


@pytest.mark.parametrize(
    ("protocol", "handler_level"),
    [("grpc", None), ("http/protobuf", "warning")],  # the bridge's level: OTEL_PYTHON_LOG_HANDLER_LEVEL
)
def test_service_exports_correlated_traces_logs_and_metrics(rest_config, tmp_path, protocol, handler_level):
    receiver_factory = grpc_receiver if protocol == "grpc" else http_receiver
    with receiver_factory() as receiver:
        env = {**ENV, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": protocol}
        if handler_level is not None:
            env["OTEL_PYTHON_LOG_HANDLER_LEVEL"] = handler_level
        with run_model_service(rest_config, env, tmp_path) as service:
            ok = _predict(service.url, {"temperature": 10, "city": "quito", "prediction_id": "client-1"})
            generated = _predict(service.url, {"temperature": 5, "city": "lima"})
            failed = _predict(service.url, {"temperature": 1, "city": "nowhere"})
            assert (ok.status_code, generated.status_code, failed.status_code) == (200, 200, 500)
            assert ok.json()["prediction_id"] == "client-1"
            generated_id = generated.json()["prediction_id"]

            received = receiver.wait_for(
                lambda r: (
                    len([s for s in r.spans if s["name"] == "predict scoring_model"]) == 3
                    and len([log for log in r.logs if log["event_name"].startswith("ml.prediction.")]) == 6
                    and any(m["name"] == "ml.predictions" for m in r.metrics)
                )
            )
            exit_code = stop(service)
        output = service.output()

    assert exit_code == 143, output  # SIGTERM re-raised by uvicorn after its graceful shutdown
    predictions = {
        s["attributes"]["ml.prediction.id"]: s for s in received.spans if s["name"] == "predict scoring_model"
    }
    assert set(predictions) >= {"client-1", generated_id}
    requests = {s["span_id"]: s for s in received.spans if s["scope"] == "opentelemetry.instrumentation.fastapi"}
    for span in predictions.values():
        parent = requests[span["parent_span_id"]]  # child of the FastAPI request span
        assert parent["trace_id"] == span["trace_id"]
        assert parent["name"].startswith("POST /api/models/scoring_model/prediction")

    resource = predictions["client-1"]["resource"]
    assert resource["service.name"] == "scoring-service"
    assert resource["service.version"] == "3.0.0"
    assert resource["k8s.pod.name"] == "scoring-7d9f-abcde"
    assert resource["k8s.namespace.name"] == "models"
    assert resource["k8s.node.name"] == "node-1"
    assert resource["host.ip"] == ["10.1.2.3"]  # string[] (semantic conventions)
    assert resource["host.name"]
    assert uuid.UUID(resource["service.instance.id"])  # the SDK's service_instance detector, enabled by the distro

    for prediction_id, span in predictions.items():
        records = [log for log in received.logs if log["attributes"].get("ml.prediction.id") == prediction_id]
        bodies = sorted(log["body"] for log in records)
        city = span["attributes"]["ml.prediction.input.city"]
        # the model's INFO line goes through the stdlib bridge, which drops it at level warning
        model_line = [] if handler_level == "warning" else [f"scoring {city}"]
        if span["attributes"]["ml.prediction.status"] == "success":
            assert bodies == ["Prediction created.", "Prediction requested.", *model_line]
        else:
            assert bodies == ["Prediction exception.", "Prediction requested.", *model_line]
            (exception,) = [log for log in records if log["event_name"] == "ml.prediction.exception"]
            assert exception["severity_text"] == "ERROR"
            assert exception["attributes"]["exception.type"] == "LookupError"
            assert "no such city: nowhere" in exception["attributes"]["exception.stacktrace"]
        for log in records:
            assert (log["trace_id"], log["span_id"]) == (span["trace_id"], span["span_id"])

    # the service's own log line about the failure, correlated with the request's trace
    (service_error,) = [log for log in received.logs if str(log["body"]).startswith("Error when making a prediction")]
    failed_span = next(s for s in predictions.values() if s["attributes"]["ml.prediction.status"] == "error")
    assert service_error["trace_id"] == failed_span["trace_id"]

    counts = [m for m in received.metrics if m["name"] == "ml.predictions"]
    assert {m["attributes"]["ml.prediction.status"] for m in counts} == {"success", "error"}
    assert "INFO tests.plugin.models scoring quito" in output  # the console handler of dictConfig still works
    report = next(line for line in output.splitlines() if "otel_ml_logging delivery:" in line)
    assert "spans:" in report
    assert report.count(", 0 failed, 0 dropped") == 2, report


def test_dead_collector_costs_predictions_nothing_and_losses_are_reported(rest_config, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = {**ENV, "OTEL_EXPORTER_OTLP_ENDPOINT": dead, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    env.update({f"OTEL_{p}_{n}": "8" for p in ("BSP", "BLRP") for n in ("MAX_QUEUE_SIZE", "MAX_EXPORT_BATCH_SIZE")})
    with run_model_service(rest_config, env, tmp_path) as service, httpx.Client(timeout=10) as client:
        url = f"{service.url}/api/models/scoring_model/prediction"
        started = time.monotonic()
        statuses = [client.post(url, json={"temperature": i, "city": "oslo"}).status_code for i in range(60)]
        elapsed = time.monotonic() - started
        time.sleep(1.0)
        exit_code = stop(service, timeout=60)
    output = service.output()
    assert statuses == [200] * 60
    # the OTLP exporter retries a dead endpoint for seconds per batch; none of that may reach requests
    assert elapsed < 6.0, f"60 predictions took {elapsed:.1f}s with a dead collector"
    assert exit_code == 143, output
    assert output.count("could not export") <= 2, output  # one warning per signal, not one per record
    report = next(line for line in output.splitlines() if "otel_ml_logging delivery:" in line)
    for signal in ("spans", "log records"):
        match = re.search(rf"{signal}: (\d+)/(\d+) delivered, (\d+) failed, (\d+) dropped", report)
        assert match, report
        delivered, accepted, failed, dropped = map(int, match.groups())
        assert delivered == 0, report
        assert accepted >= 60, report
        assert failed + dropped == accepted, report
        assert dropped > 0, report  # queues of 8 overflowed instead of blocking the requests
