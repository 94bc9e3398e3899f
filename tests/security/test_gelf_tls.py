"""GELF over TLS: the collector's ``gelf`` exporter (``tls://``) to a real TLS peer.

The peer is nginx's ``stream`` module terminating TLS (and requiring a client certificate from the
session's CA) in front of Graylog's own GELF TCP codec (``harness/gelf.py``): what Graylog decodes
proves the NUL-framed messages survived the TLS hop whole.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs.export import LogRecordExportResult

from harness import REPO_ROOT
from harness.collector import run_collector
from harness.gelf import GraylogHarness
from harness.nginx import RunningNginx, run_nginx, tls_stream_proxy
from harness.tls import TLSFiles
from tests.security.sender import send_records

pytestmark = pytest.mark.integration

CONFIGS = [REPO_ROOT / "collector" / "config.yaml", REPO_ROOT / "collector" / "config.gelf.yaml"]
RECORDS = 20


@pytest.fixture(scope="module")
def graylog() -> Iterator[GraylogHarness]:
    with GraylogHarness(udp=False, tcp=True) as harness:
        yield harness


@pytest.fixture(scope="module")
def tls_peer(
    graylog: GraylogHarness, pki: TLSFiles, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningNginx]:
    config = tls_stream_proxy(graylog.tcp_port, pki, require_client_cert=True)
    with run_nginx(tmp_path_factory.mktemp("gelf-tls"), config) as proxy:
        yield proxy


def gelf_env(proxy: RunningNginx, pki: TLSFiles, **overrides: str) -> dict[str, str]:
    return {
        "GELF_ENDPOINT": f"tls://127.0.0.1:{proxy.port}",
        "GELF_TLS_CA_FILE": str(pki.ca_cert),
        "GELF_TLS_CERT_FILE": str(pki.client_cert),
        "GELF_TLS_KEY_FILE": str(pki.client_key),
        "COLLECTOR_BATCH_TIMEOUT": "200ms",
        **overrides,
    }


def send(endpoint: str, run_id: str) -> None:
    exporter = OTLPLogExporter(endpoint=endpoint.removeprefix("http://"), insecure=True, timeout=10)
    assert send_records(exporter, run_id, RECORDS) is LogRecordExportResult.SUCCESS


def test_gelf_over_mutual_tls_reaches_graylogs_codec(
    graylog: GraylogHarness, tls_peer: RunningNginx, pki: TLSFiles, tmp_path: Path
) -> None:
    run_id = f"gelf-tls-{uuid.uuid4().hex[:8]}"
    before = len(graylog.messages(timeout=0.1, count=0))
    with run_collector(CONFIGS, gelf_env(tls_peer, pki), tmp_path / "storage") as collector:
        send(collector.otlp_grpc_endpoint, run_id)
        messages = graylog.messages(timeout=20, count=before + RECORDS)[before:]
        sent = collector.wait_metric("otelcol_exporter_sent_log_records", RECORDS, exporter="gelf")
    # nginx logs a stream session when it ends, i.e. now that the collector has stopped
    ours = [m for m in messages if str(m["gelf"].get("_ml.prediction.id", "")).startswith(run_id)]
    print(
        f"\nGELF over mTLS: {len(ours)}/{RECORDS} decoded by Graylog's codec behind nginx (collector sent {sent:.0f})"
    )
    assert sorted(m["gelf"]["_ml.prediction.id"] for m in ours) == sorted(f"{run_id}-{i}" for i in range(RECORDS))
    assert all(m["transport"] == "tcp" and m["gelf"]["short_message"] == "Prediction created." for m in ours)
    sessions = [e for e in tls_peer.access_log() if e["client_verify"] == "SUCCESS"]
    assert sessions, f"no verified TLS session in nginx's log: {tls_peer.access_log()}"
    assert all(str(e["ssl_protocol"]).startswith("TLSv1.") for e in sessions)
    assert "otel-ml-client" in str(sessions[0]["client_subject"])


@pytest.mark.parametrize("case", ["no client certificate", "server certificate not trusted"])
def test_gelf_tls_handshake_failure_keeps_records_queued(
    case: str, graylog: GraylogHarness, tls_peer: RunningNginx, pki: TLSFiles, tmp_path: Path
) -> None:
    """A refused handshake delivers nothing, is logged with its reason and keeps the records for a retry."""
    run_id = f"gelf-refused-{uuid.uuid4().hex[:8]}"
    overrides = (
        {"GELF_TLS_CERT_FILE": "", "GELF_TLS_KEY_FILE": ""}
        if case == "no client certificate"
        else {"GELF_TLS_CA_FILE": str(pki.rogue_ca_cert)}
    )
    # what the collector logs, and what nginx logs about the same refused session
    reason, peer_reason = (
        ("TLS session refused by the GELF peer", "client sent no required SSL certificate")
        if case == "no client certificate"
        else ("certificate signed by unknown authority", "alert bad certificate")
    )
    before = len(graylog.messages(timeout=0.1, count=0))
    with run_collector(CONFIGS, gelf_env(tls_peer, pki, **overrides), tmp_path / "storage", stop_timeout=5) as c:
        send(c.otlp_grpc_endpoint, run_id)
        c.wait_metric("otelcol_exporter_queue_size", 1, timeout=10, exporter="gelf")
        # The queue forms batches (GELF_FLUSH_INTERVAL, 1 s): wait for the first attempt's log line.
        deadline = time.monotonic() + 15
        while reason not in (log := c.log_text()) and time.monotonic() < deadline:
            time.sleep(0.2)
        deadline_messages = graylog.messages(timeout=2, count=before + 1)
        assert c.metric("otelcol_exporter_sent_log_records", exporter="gelf") == 0
        assert c.metric("otelcol_exporter_send_failed_log_records", exporter="gelf") == 0
    print(f"\nGELF TLS, {case}: 0 sent, records kept queued; log: {reason!r}")
    assert reason in log
    assert peer_reason in tls_peer.error_log()
    assert not [m for m in deadline_messages[before:] if str(m["gelf"].get("_ml.prediction.id", "")).startswith(run_id)]
