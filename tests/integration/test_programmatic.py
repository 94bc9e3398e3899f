"""The programmatic path: configure() and instrument_app() in an app built by hand."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.collector import run_collector
from harness.model_service import REPO_ROOT
from harness.otlp_receiver import OTLPReceiver, grpc_receiver, http_receiver

pytestmark = pytest.mark.integration

APP = """
import sys
from fastapi.testclient import TestClient
from rest_model_service.configuration import ServiceConfiguration
from rest_model_service.helpers import create_app
import otel_ml_logging

stats = otel_ml_logging.configure(service_name="hand-built", endpoint=sys.argv[1], protocol=sys.argv[2])
configuration = ServiceConfiguration(models=[{
    "class_path": "tests.plugin.models.ScoringModel", "create_endpoint": True,
    "decorators": [{"class_path": "otel_ml_logging.OTelLoggingDecorator",
                    "configuration": {"input_fields": ["city"]}}]}])
app = otel_ml_logging.instrument_app(create_app(configuration, wait_for_model_creation=True))
with TestClient(app) as client:
    response = client.post("/api/models/scoring_model/prediction", json={"temperature": 1, "city": "riga"})
    assert response.status_code == 200
assert otel_ml_logging.configure() is stats  # a second call changes nothing
"""


def run_app(endpoint: str, protocol: str) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [sys.executable, "-c", APP, endpoint, protocol], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    return completed


@contextlib.contextmanager
def endpoint_for(protocol: str, tmp_path: Path) -> Iterator[tuple[str, OTLPReceiver]]:
    """OTLP/HTTP protobuf straight to a test receiver; OTLP/HTTP JSON through the real collector."""
    if protocol == "http/protobuf":
        with http_receiver() as receiver:
            yield receiver.endpoint, receiver
        return
    with grpc_receiver() as receiver:
        relay = {"RELAY_OTLP_ENDPOINT": receiver.endpoint.removeprefix("http://")}
        configs = [REPO_ROOT / "collector" / "config.yaml", Path(__file__).with_name("collector.relay.yaml")]
        with run_collector(configs, relay, tmp_path / "storage") as collector:
            yield collector.otlp_http_endpoint, receiver


@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json"])
def test_configure_and_instrument_app_export_correlated_telemetry(protocol, tmp_path):
    with endpoint_for(protocol, tmp_path) as (endpoint, receiver):
        completed = run_app(endpoint, protocol)
        received = receiver.wait_for(
            lambda r: (
                any(s["name"] == "predict scoring_model" for s in r.spans)
                and len([log for log in r.logs if log["event_name"].startswith("ml.prediction.")]) == 2
            )
        )
    (prediction,) = [s for s in received.spans if s["name"] == "predict scoring_model"]
    request = next(s for s in received.spans if s["span_id"] == prediction["parent_span_id"])
    assert request["name"].startswith("POST /api/models/scoring_model/prediction")
    assert prediction["resource"]["service.name"] == "hand-built"
    for log in received.logs:
        if log["event_name"].startswith("ml.prediction."):
            assert (log["trace_id"], log["span_id"]) == (prediction["trace_id"], prediction["span_id"])
    assert "otel_ml_logging delivery:" in completed.stderr
