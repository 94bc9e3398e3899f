"""OTLP from the plugin into the collector over TLS, mutual TLS and a bearer token, on every protocol.

The collector runs the shipped ``config.yaml`` + ``config.tls.yaml`` + ``config.auth.yaml`` (server
certificate, client CA = mTLS, token file) and relays what it accepted to a plain test receiver.
A model service process is configured only through ``OTEL_*`` variables, as a user would:
``OTEL_EXPORTER_OTLP_CERTIFICATE``, ``OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE``,
``OTEL_EXPORTER_OTLP_CLIENT_KEY`` and ``OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>``
(percent-encoded, as the OpenTelemetry specification has it).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness import REPO_ROOT
from harness.collector import RunningCollector, run_collector
from harness.otlp_receiver import OTLPReceiver, Received, grpc_receiver
from harness.tls import TLSFiles

pytestmark = pytest.mark.integration

COLLECTOR = REPO_ROOT / "collector"
RELAY = REPO_ROOT / "tests" / "integration" / "collector.relay.yaml"
CONFIGS = [COLLECTOR / "config.yaml", COLLECTOR / "config.tls.yaml", COLLECTOR / "config.auth.yaml", RELAY]
TOKEN = "tok-" + secrets.token_urlsafe(24)
PREDICTIONS = 5
PROTOCOLS = ["grpc", "http/protobuf", "http/json"]

# A model service in miniature: the plugin configured from the environment only, a few predictions,
# then a normal exit. The counters are printed as JSON by an exit handler registered before
# configure(), so it runs after the plugin's own (which flush and shut the exporters down).
APP = """
import atexit, json, sys
import otel_ml_logging
from tests.plugin.models import ScoringInput, ScoringModel

def counters():
    snapshot = otel_ml_logging.delivery_stats().snapshot()
    counts = {signal: [d.accepted, d.exported, d.lost] for signal, d in snapshot.items()}
    print("DELIVERY " + json.dumps(counts), flush=True)

atexit.register(counters)
otel_ml_logging.configure()
model = otel_ml_logging.OTelLoggingDecorator(input_fields=["city"]).set_model(ScoringModel())
for i in range(int(sys.argv[1])):
    model.predict(ScoringInput(temperature=i, city="riga"))
"""


@dataclass
class Stack:
    """The TLS + auth collector and the receiver it relays to."""

    collector: RunningCollector
    receiver: OTLPReceiver
    pki: TLSFiles

    def endpoint(self, protocol: str) -> str:
        plain = self.collector.otlp_grpc_endpoint if protocol == "grpc" else self.collector.otlp_http_endpoint
        return plain.replace("http://", "https://", 1)


@pytest.fixture(scope="module")
def stack(pki: TLSFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("otlp-tls")
    token_file = base / "tokens"
    token_file.write_text(f"{TOKEN}\n", encoding="utf-8")
    token_file.chmod(0o600)
    with grpc_receiver() as receiver:
        env = {
            "OTLP_TLS_CERT_FILE": str(pki.server_cert),
            "OTLP_TLS_KEY_FILE": str(pki.server_key),
            "OTLP_TLS_CLIENT_CA_FILE": str(pki.ca_cert),
            "OTLP_BEARER_TOKEN_FILE": str(token_file),
            "RELAY_OTLP_ENDPOINT": receiver.endpoint.removeprefix("http://"),
            "COLLECTOR_BATCH_TIMEOUT": "200ms",
        }
        with run_collector(CONFIGS, env, base / "storage") as collector:
            yield Stack(collector, receiver, pki)


def client_env(stack: Stack, protocol: str, service: str, **overrides: str | None) -> dict[str, str]:
    # requests (under the SDK's http/protobuf exporter) lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE win
    # over OTEL_EXPORTER_OTLP_CERTIFICATE (psf/requests#3829); this machine sets both. README: Security.
    ignored = ("OTEL_", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ignored)}
    wanted: dict[str, str | None] = {
        "OTEL_SERVICE_NAME": service,
        "OTEL_EXPORTER_OTLP_ENDPOINT": stack.endpoint(protocol),
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_CERTIFICATE": str(stack.pki.ca_cert),
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": str(stack.pki.client_cert),
        "OTEL_EXPORTER_OTLP_CLIENT_KEY": str(stack.pki.client_key),
        "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization=Bearer%20{TOKEN}",
        "OTEL_METRICS_EXPORTER": "none",  # the relay pipeline carries traces and logs
        "OTEL_EXPORTER_OTLP_TIMEOUT": "5",
        "OTEL_PYTHON_LOG_HANDLER_LEVEL": "info",
        **overrides,
    }
    env.update({k: v for k, v in wanted.items() if v is not None})
    return env


def run_app(env: dict[str, str]) -> tuple[dict[str, list[int]], subprocess.CompletedProcess[str]]:
    """Run the service; return its delivery counters ``{signal: [accepted, exported, lost]}`` and the process."""
    completed = subprocess.run(
        [sys.executable, "-c", APP, str(PREDICTIONS)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert completed.returncode == 0, completed.stderr
    line = next(line for line in completed.stdout.splitlines() if line.startswith("DELIVERY "))
    return json.loads(line.removeprefix("DELIVERY ")), completed


def of_service(received: Received, service: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The spans and records of ``service`` (the caller holds ``received.lock``)."""
    spans = [s for s in received.spans if s["resource"].get("service.name") == service]
    logs = [r for r in received.logs if r["resource"].get("service.name") == service]
    return spans, logs


def assert_token_absent(stack: Stack, completed: subprocess.CompletedProcess[str]) -> None:
    with stack.receiver.received.lock:
        telemetry = json.dumps([stack.receiver.received.spans, stack.receiver.received.logs], default=str)
    for where, text in {
        "the service's stdout": completed.stdout,
        "the service's stderr": completed.stderr,
        "the collector's log": stack.collector.log_text(),
        "the collector's own metrics": stack.collector.metrics_text(),
        "the relayed telemetry": telemetry,
    }.items():
        assert TOKEN not in text, f"the bearer token appears in {where}"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_mtls_and_token_deliver_everything(stack: Stack, protocol: str) -> None:
    service = f"tls-{protocol.replace('/', '-')}-{uuid.uuid4().hex[:8]}"
    delivery, completed = run_app(client_env(stack, protocol, service))

    def arrived(received: Received) -> bool:
        spans, logs = of_service(received, service)
        predict = [s for s in spans if str(s["name"]).startswith("predict ")]
        created = [r for r in logs if r["event_name"] == "ml.prediction.created"]
        return len(predict) == PREDICTIONS and len(created) == PREDICTIONS

    received = stack.receiver.wait_for(arrived, timeout=20)
    with received.lock:
        spans, logs = of_service(received, service)
    print(f"\n{protocol} over mTLS + bearer token: {len(spans)} spans, {len(logs)} log records relayed; {delivery}")
    assert set(delivery) == {"spans", "log records"}, delivery
    assert all(lost == 0 and exported == accepted > 0 for accepted, exported, lost in delivery.values()), delivery
    assert_token_absent(stack, completed)


REFUSALS = {
    "no client certificate": {"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": None, "OTEL_EXPORTER_OTLP_CLIENT_KEY": None},
    "client certificate of another CA": {"rogue": "1"},
    "wrong token": {"OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20not-the-token"},
    "no token": {"OTEL_EXPORTER_OTLP_HEADERS": None},
    "server certificate not trusted": {"untrusted": "1"},
}


EVERY_PROTOCOL = ("no client certificate", "wrong token", "server certificate not trusted")
REFUSAL_CASES = [
    (p, c) for c in REFUSALS for p in (["grpc", "http/protobuf", "http/json"] if c in EVERY_PROTOCOL else ["grpc"])
]


@pytest.mark.parametrize(("protocol", "case"), REFUSAL_CASES)
def test_refused_without_valid_certificate_or_token(stack: Stack, protocol: str, case: str) -> None:
    service = f"refused-{uuid.uuid4().hex[:8]}"
    overrides = dict(REFUSALS[case])
    if overrides.pop("rogue", None):
        overrides["OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"] = str(stack.pki.rogue_client_cert)
        overrides["OTEL_EXPORTER_OTLP_CLIENT_KEY"] = str(stack.pki.rogue_client_key)
    if overrides.pop("untrusted", None):
        overrides["OTEL_EXPORTER_OTLP_CERTIFICATE"] = str(stack.pki.rogue_ca_cert)
    before = stack.collector.metric("otelcol_receiver_accepted_log_records")
    delivery, completed = run_app(client_env(stack, protocol, service, **overrides))
    with stack.receiver.received.lock:
        spans, logs = of_service(stack.receiver.received, service)
    assert (spans, logs) == ([], [])
    assert stack.collector.metric("otelcol_receiver_accepted_log_records") == before
    # the plugin counts what the collector refused as lost (failed, or still queued when it gave up)
    assert set(delivery) == {"spans", "log records"}, delivery
    assert all(exported == 0 and lost == accepted > 0 for accepted, exported, lost in delivery.values()), delivery
    assert_token_absent(stack, completed)


def test_auth_overlay_keeps_the_base_extensions() -> None:
    """config.auth.yaml replaces service.extensions (a list), so it must repeat the base file's."""
    import yaml

    base = yaml.safe_load((COLLECTOR / "config.yaml").read_text(encoding="utf-8"))["service"]["extensions"]
    auth = yaml.safe_load((COLLECTOR / "config.auth.yaml").read_text(encoding="utf-8"))["service"]["extensions"]
    assert auth[: len(base)] == base
    assert "bearertokenauth/otlp" in auth


@pytest.mark.parametrize(
    ("overlay", "env", "message"),
    [
        (
            "config.tls.yaml",
            {"OTLP_TLS_CERT_FILE": "/nonexistent/server.crt", "OTLP_TLS_KEY_FILE": "/nonexistent/server.key"},
            'failed to start "otlp" receiver: failed to load TLS config: failed to load TLS cert and key: '
            "open /nonexistent/server.crt",
        ),
        (
            "config.auth.yaml",
            {"OTLP_BEARER_TOKEN_FILE": "/nonexistent/tokens"},
            'failed to start extensions: failed to read credentials file "/nonexistent/tokens"',
        ),
    ],
)
def test_a_missing_tls_or_token_file_stops_start_up_naming_it(
    collector_binary: Path, tmp_path: Path, overlay: str, env: dict[str, str], message: str
) -> None:
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OTLP_", "HEALTH_CHECK", "COLLECTOR_"))},
        "OTLP_GRPC_ENDPOINT": "127.0.0.1:0",
        "OTLP_HTTP_ENDPOINT": "127.0.0.1:0",
        "HEALTH_CHECK_ENDPOINT": "127.0.0.1:0",
        "COLLECTOR_METRICS_PORT": "0",
        "COLLECTOR_STORAGE_DIR": str(tmp_path),
        **env,
    }
    configs = [COLLECTOR / "config.yaml", COLLECTOR / overlay, COLLECTOR / "config.debug.yaml"]
    args = [str(collector_binary)] + [f"--config={path}" for path in configs]
    completed = subprocess.run(args, env=full_env, capture_output=True, text=True, timeout=30)
    assert completed.returncode != 0
    assert message in completed.stderr
