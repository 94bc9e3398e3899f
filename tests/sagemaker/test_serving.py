"""``opentelemetry-instrument uvicorn otel_ml_logging.sagemaker:app`` as a real process, to a real OTLP receiver."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.model_service import BIN_DIR, REPO_ROOT, scoring_rest_config, write_rest_config
from harness.otlp_receiver import OTLPReceiver, grpc_receiver
from harness.ports import free_port
from harness.processes import stop_process

HEADER = "X-Amzn-SageMaker-Custom-Attributes"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN_ID = "00f067aa0ba902b7"
REST_CONFIG = scoring_rest_config(
    custom_attributes={"attributes": {"tenant": "tenant.id"}},
    logging={"version": 1, "disable_existing_loggers": False, "root": {"level": "INFO"}},
)


@contextmanager
def sagemaker_server(
    tmp_path: Path,
    receiver: OTLPReceiver,
    app: str = "otel_ml_logging.sagemaker:app",
    rest_config: dict | None = None,
    ready_path: str = "/ping",
) -> Iterator[str]:
    config = write_rest_config(tmp_path, rest_config or REST_CONFIG)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        {
            "PYTHONPATH": str(REPO_ROOT),
            "REST_CONFIG": str(config),
            "OTEL_SERVICE_NAME": "sagemaker-test",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "OTEL_BLRP_SCHEDULE_DELAY": "200",
        }
    )
    log = tmp_path / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                str(BIN_DIR / "opentelemetry-instrument"),
                str(BIN_DIR / "uvicorn"),
                app,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + ready_path, timeout=2) as response:
                    if b"REFUSING_TRAFFIC" not in response.read():
                        break
            except OSError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        yield url
    finally:
        stop_process(process, 30)


def post(url: str, body: bytes, content_type: str = "application/json", header: str | None = None):
    request = urllib.request.Request(url + "/invocations", data=body, method="POST")
    request.add_header("Content-Type", content_type)
    if header is not None:
        request.add_header(HEADER, header)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.mark.integration
def test_invocations_join_the_callers_trace_and_carry_the_chosen_attributes(tmp_path: Path):
    import orjson

    with grpc_receiver() as receiver, sagemaker_server(tmp_path, receiver) as url:
        trace = f" traceparent=00-{TRACE_ID}-{PARENT_SPAN_ID}-01 ; tracestate=rojo=1,congo=2"
        header = f"{trace}; tenant = acme; ignored=1; bad pair"
        status, headers, body = post(url, b'{"temperature": 2, "city": "riga"}', header=header)
        assert status == 200, body
        answer = orjson.loads(body)
        assert answer["score"] == 4.0
        prediction_id = answer["prediction_id"]
        assert headers[HEADER] == f"prediction_id={prediction_id}"

        status, headers, body = post(url, b'{"temperature": 1, "city": "oslo"}')
        assert status == 200
        other_id = orjson.loads(body)["prediction_id"]
        assert headers[HEADER] == f"prediction_id={other_id}"

        status, _, body = post(url, b'{"temperature": 1, "city": "oslo"}', header="traceparent=00-zz-yy-01;tenant=b")
        assert status == 200, body

        status, _, body = post(url, b"city=riga", content_type="text/plain")
        assert (status, orjson.loads(body)) == (
            415,
            {"error": "Content-Type must be application/json, got 'text/plain'"},
        )
        status, _, body = post(url, b'{"temperature": ')
        assert status == 400
        assert orjson.loads(body)["error"].startswith("body is not valid JSON")
        status, _, body = post(url, b'{"city": "riga"}')
        assert status == 400
        assert orjson.loads(body)["error"] == (
            "body does not match the input schema of scoring_model: temperature: Field required"
        )
        status, _, body = post(url, b'{"temperature": 1, "city": "nowhere"}')
        assert status == 500
        assert "LookupError" in orjson.loads(body)["error"]

        received = receiver.wait_for(
            lambda r: (
                sum(s["name"] == "predict scoring_model" for s in r.spans) >= 4
                and any("not a valid W3C traceparent" in str(rec["body"]) for rec in r.logs)
            ),
            timeout=30,
        )
        spans = received.spans
        prediction = next(s for s in spans if s["attributes"].get("ml.prediction.id") == prediction_id)
        assert prediction["trace_id"] == TRACE_ID
        assert prediction["attributes"]["tenant.id"] == "acme"
        server = next(s for s in spans if s["span_id"] == prediction["parent_span_id"])
        assert server["kind"] == 2  # SERVER, from the FastAPI instrumentation
        assert server["parent_span_id"] == PARENT_SPAN_ID
        assert server["attributes"]["tenant.id"] == "acme"
        assert "ignored" not in server["attributes"]
        other = next(s for s in spans if s["attributes"].get("ml.prediction.id") == other_id)
        assert other["trace_id"] != TRACE_ID

        records = [r for r in received.logs if r["trace_id"] == TRACE_ID]
        created = next(r for r in records if r["body"] == "Prediction created.")
        assert created["attributes"]["ml.prediction.id"] == prediction_id
        assert created["attributes"]["tenant.id"] == "acme"
        assert all(r["attributes"].get("tenant.id") == "acme" for r in records if r["span_id"] == prediction["span_id"])
        assert "tenant.id" not in other["attributes"]
        model_line = next(r for r in records if r["body"] == "scoring riga")
        assert model_line["attributes"]["tenant.id"] == "acme"
        assert model_line["attributes"]["ml.prediction.id"] == prediction_id
        warnings = [str(r["body"]) for r in received.logs if r["severity_number"] == 13]
        assert any("'bad pair' is not key=value" in w for w in warnings), warnings
        assert any("'00-zz-yy-01' is not a valid W3C traceparent" in w for w in warnings), warnings


@pytest.mark.integration
def test_rest_model_service_endpoints_get_the_same_header_handling_with_configured_names(tmp_path: Path):
    import orjson

    config = {
        **REST_CONFIG,
        "custom_attributes": {
            "header": "X-Caller-Attributes",
            "response_header": "X-Prediction",
            "attributes": {"tenant": "tenant.id"},
        },
    }
    with (
        grpc_receiver() as receiver,
        sagemaker_server(
            tmp_path, receiver, "otel_ml_logging.serving.rest_service:app", config, "/api/health/ready"
        ) as url,
    ):
        request = urllib.request.Request(
            url + "/api/models/scoring_model/prediction", data=b'{"temperature": 2, "city": "riga"}', method="POST"
        )
        request.add_header("Content-Type", "application/json")
        request.add_header("X-Caller-Attributes", f"traceparent=00-{TRACE_ID}-{PARENT_SPAN_ID}-01;tenant=acme")
        with urllib.request.urlopen(request, timeout=10) as response:
            prediction_id = orjson.loads(response.read())["prediction_id"]
            assert response.headers["X-Prediction"] == f"prediction_id={prediction_id}"
            assert HEADER not in response.headers
        received = receiver.wait_for(
            lambda r: any(s["attributes"].get("ml.prediction.id") == prediction_id for s in r.spans), timeout=30
        )
        prediction = next(s for s in received.spans if s["attributes"].get("ml.prediction.id") == prediction_id)
        assert prediction["trace_id"] == TRACE_ID
        assert prediction["attributes"]["tenant.id"] == "acme"
