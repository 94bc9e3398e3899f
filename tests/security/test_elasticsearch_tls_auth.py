"""The collector's Elasticsearch hop over TLS with basic auth and with an API key.

The test node has no security module, so a real nginx (Debian's) terminates TLS with a certificate
from the session's generated CA and checks the exact ``Authorization`` header before proxying to it
(``harness/nginx.py``). The collector runs with the shipped ``config.yaml`` +
``config.elasticsearch.yaml``, configured only through their variables (``ELASTICSEARCH_ENDPOINT``,
``ELASTICSEARCH_CA_FILE``, ``ELASTICSEARCH_USERNAME``/``_PASSWORD``, ``ELASTICSEARCH_API_KEY``).
"""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs.export import LogRecordExportResult

from harness import REPO_ROOT
from harness.collector import RunningCollector, run_collector
from harness.elasticsearch import RunningElasticsearch
from harness.nginx import RunningNginx, basic_authorization, elasticsearch_auth_proxy, run_nginx
from harness.tls import TLSFiles
from tests.security.sender import send_records

pytestmark = pytest.mark.integration

CONFIGS = [REPO_ROOT / "collector" / "config.yaml", REPO_ROOT / "collector" / "config.elasticsearch.yaml"]
LOGS = "logs-otel_ml-default"
RECORDS = 25
USER = "otel-writer"
PASSWORD = "pw-" + secrets.token_urlsafe(18)
API_KEY = base64.b64encode(f"{secrets.token_hex(10)}:{secrets.token_urlsafe(22)}".encode()).decode()
CREDENTIALS = {
    "basic": {"ELASTICSEARCH_USERNAME": USER, "ELASTICSEARCH_PASSWORD": PASSWORD},
    "api_key": {"ELASTICSEARCH_API_KEY": API_KEY},
}
SECRETS = (PASSWORD, API_KEY, basic_authorization(USER, PASSWORD).split()[1])


@pytest.fixture(scope="module")
def es_proxy(
    elasticsearch: RunningElasticsearch, pki: TLSFiles, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningNginx]:
    """HTTPS + credential check in front of the session's Elasticsearch node."""
    config = elasticsearch_auth_proxy(elasticsearch.port, pki, users={USER: PASSWORD}, api_keys={"collector": API_KEY})
    with run_nginx(tmp_path_factory.mktemp("es-proxy"), config) as proxy:
        yield proxy


def es_env(proxy: RunningNginx, pki: TLSFiles, credentials: dict[str, str]) -> dict[str, str]:
    return {
        "ELASTICSEARCH_ENDPOINT": proxy.url,
        "ELASTICSEARCH_CA_FILE": str(pki.ca_cert),
        "ELASTICSEARCH_FLUSH_INTERVAL": "1s",
        **credentials,
    }


def send(collector: RunningCollector, run_id: str, count: int = RECORDS) -> None:
    exporter = OTLPLogExporter(endpoint=collector.otlp_grpc_endpoint.removeprefix("http://"), insecure=True, timeout=10)
    assert send_records(exporter, run_id, count) is LogRecordExportResult.SUCCESS


def count_run(es: RunningElasticsearch, run_id: str, expected: int, timeout: float = 30.0) -> int:
    return es.wait_for_count(LOGS, expected, {"term": {"service.node.name": run_id}}, timeout=timeout)


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a credential appears in {where}"


def bulk_entries(proxy: RunningNginx, since: int) -> list[dict[str, object]]:
    return [entry for entry in proxy.access_log()[since:] if entry["uri"] == "/_bulk"]


@pytest.mark.parametrize("auth", ["basic", "api_key"])
def test_records_reach_elasticsearch_through_tls_and_auth(
    auth: str, elasticsearch: RunningElasticsearch, es_proxy: RunningNginx, pki: TLSFiles, tmp_path: Path
) -> None:
    run_id = f"{auth}-{uuid.uuid4().hex[:10]}"
    seen = len(es_proxy.access_log())
    with run_collector(CONFIGS, es_env(es_proxy, pki, CREDENTIALS[auth]), tmp_path / "storage") as collector:
        send(collector, run_id)
        indexed = count_run(elasticsearch, run_id, RECORDS)
        log = collector.log_text() + collector.metrics_text()
    print(f"\n{auth}: {indexed}/{RECORDS} records indexed through nginx (TLS + {auth})")
    assert indexed == RECORDS
    bulk = bulk_entries(es_proxy, seen)
    principal = f"user:{USER}" if auth == "basic" else "api_key:collector"
    assert bulk, "no _bulk request went through the proxy"
    assert {(e["status"], e["principal"]) for e in bulk} == {(200, principal)}
    assert all(str(e["ssl_protocol"]).startswith("TLSv1.") for e in bulk)
    assert_no_secret(log, "the collector's log")


def wait_for_log(collector: RunningCollector, text: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while text not in collector.log_text() and time.monotonic() < deadline:
        collector.check_alive()
        time.sleep(0.3)
    return collector.log_text()


def assert_retrying_error_logged(log: str, error: str) -> None:
    """The status_log extension's warning: the component, that it keeps retrying, and the error, once."""
    lines = [line for line in log.splitlines() if "Component reports an error and keeps retrying" in line]
    assert len(lines) == 1, f"expected one warning, got {len(lines)}:\n{log[-3000:]}"
    assert "\twarn\t" in lines[0]
    assert '"component": "exporter elasticsearch"' in lines[0]
    assert error in lines[0]


def assert_held_not_dropped(collector: RunningCollector) -> None:
    """The batch is still being retried (in flight), nothing was counted as failed or sent."""
    assert collector.metric("otelcol_exporter_in_flight_requests", exporter="elasticsearch", data_type="logs") == 1
    assert collector.metric("otelcol_exporter_send_failed_log_records", exporter="elasticsearch") == 0
    assert collector.metric("otelcol_exporter_sent_log_records", exporter="elasticsearch") == 0


def test_untrusted_certificate_is_refused(
    elasticsearch: RunningElasticsearch, es_proxy: RunningNginx, pki: TLSFiles, tmp_path: Path
) -> None:
    """A CA file that did not sign the proxy's certificate: no request is sent, the reason is logged."""
    run_id = f"rogue-ca-{uuid.uuid4().hex[:10]}"
    seen = len(es_proxy.access_log())
    env = {
        **es_env(es_proxy, pki, CREDENTIALS["basic"]),
        "ELASTICSEARCH_CA_FILE": str(pki.rogue_ca_cert),
    }
    with run_collector(CONFIGS, env, tmp_path / "storage", stop_timeout=5) as collector:
        send(collector, run_id)
        log = wait_for_log(collector, "certificate signed by unknown authority")
        assert_held_not_dropped(collector)
    assert_retrying_error_logged(log, "x509: certificate signed by unknown authority")
    assert bulk_entries(es_proxy, seen) == []
    assert count_run(elasticsearch, run_id, 1, timeout=1) == 0
    assert_no_secret(log, "the collector's log")


def test_wrong_password_keeps_the_queue_until_fixed(
    elasticsearch: RunningElasticsearch, es_proxy: RunningNginx, pki: TLSFiles, tmp_path: Path
) -> None:
    """401 is retried like an outage: nothing is dropped, and a restart with the right password delivers all once.

    On SIGTERM the collector waits for the bulk request being retried until the shutdown guard ends
    it (COLLECTOR_SHUTDOWN_TIMEOUT, 3 s here): the in-flight batch stays in the persistent queue and
    is sent after the restart.
    """
    run_id = f"wrong-pw-{uuid.uuid4().hex[:10]}"
    seen = len(es_proxy.access_log())
    wrong = {"ELASTICSEARCH_USERNAME": USER, "ELASTICSEARCH_PASSWORD": "not-" + PASSWORD}
    wrong["COLLECTOR_SHUTDOWN_TIMEOUT"] = "3s"
    with run_collector(CONFIGS, es_env(es_proxy, pki, wrong), tmp_path / "storage", stop_timeout=20) as collector:
        send(collector, run_id)
        log = wait_for_log(collector, "401 Unauthorized")
        deadline = time.monotonic() + 10
        while len(bulk_entries(es_proxy, seen)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert_held_not_dropped(collector)
        stopping = time.monotonic()
    stopped_after = time.monotonic() - stopping
    assert stopped_after < 15, f"SIGTERM did not stop the collector (SIGKILL after 20 s): {stopped_after:.1f} s"
    refused = bulk_entries(es_proxy, seen)
    assert_retrying_error_logged(log, "Elasticsearch request failed: 401 Unauthorized")
    assert "Dropping data" not in log
    assert len(refused) >= 2, "the 401 was not retried"
    assert {(e["status"], e["principal"]) for e in refused} == {(401, "")}
    assert_no_secret(log, "the collector's log")
    assert "not-" + PASSWORD not in log

    seen = len(es_proxy.access_log())
    with run_collector(CONFIGS, es_env(es_proxy, pki, CREDENTIALS["basic"]), tmp_path / "storage") as collector:
        indexed = count_run(elasticsearch, run_id, RECORDS)
        time.sleep(2)  # anything sent twice would show up by now (refresh is forced by the count)
        indexed = count_run(elasticsearch, run_id, RECORDS)
        log = collector.log_text()
    print(
        f"\nwrong password: {len(refused)} refused (401), 0 dropped, stopped {stopped_after:.1f} s after SIGTERM; "
        f"fixed: {indexed}/{RECORDS} indexed"
    )
    assert indexed == RECORDS
    assert {e["status"] for e in bulk_entries(es_proxy, seen)} == {200}
    assert_no_secret(log, "the collector's log")
