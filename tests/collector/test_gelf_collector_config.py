"""otelcol-ml with collector/config*.yaml: merging, start-up validation, persistent GELF queue.

Runs the real collector binary (harness/collector.py) against plain sockets standing in for
a GELF input: a UDP socket (messages below the compression threshold arrive as plain JSON) and a
TCP server splitting NUL-terminated frames. The GELF codec itself is checked against Graylog's and
Wireshark's decoders in test_gelf_exporter.py.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.collector import REPO_ROOT, build_collector, run_collector
from harness.ports import free_port

pytestmark = pytest.mark.integration

BASE = REPO_ROOT / "collector" / "config.yaml"
GELF = REPO_ROOT / "collector" / "config.gelf.yaml"
ELASTICSEARCH = REPO_ROOT / "collector" / "config.elasticsearch.yaml"


def otlp_logs(bodies: list[str]) -> dict[str, object]:
    """An OTLP/JSON ExportLogsServiceRequest with one record per body."""
    now = str(time.time_ns())
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": [{"key": "host.name", "value": {"stringValue": "ml-host-1"}}]},
                "scopeLogs": [
                    {
                        "logRecords": [
                            {
                                "timeUnixNano": now,
                                "severityNumber": 9,
                                "body": {"stringValue": body},
                                "attributes": [{"key": "ml.prediction.id", "value": {"stringValue": body}}],
                            }
                            for body in bodies
                        ]
                    }
                ],
            }
        ]
    }


def post_logs(endpoint: str, bodies: list[str]) -> None:
    response = httpx.post(f"{endpoint}/v1/logs", json=otlp_logs(bodies), timeout=10)
    assert response.status_code == 200, response.text


class TCPGelfInput:
    """A minimal GELF TCP input: NUL-terminated JSON frames, collected in ``messages``."""

    def __init__(self, port: int) -> None:
        self.messages: list[dict[str, object]] = []
        self._server = socket.create_server(("127.0.0.1", port))
        self._server.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        buffer = b""
        with conn:
            while chunk := conn.recv(65536):
                buffer += chunk
                *frames, buffer = buffer.split(b"\0")
                self.messages.extend(json.loads(frame) for frame in frames)

    def wait_for(self, count: int, timeout: float) -> list[dict[str, object]]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return list(self.messages)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._server.close()


@pytest.fixture(scope="module")
def binary() -> Path:
    return build_collector()


@pytest.fixture
def udp_input() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(10)
        yield sock


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("ftp://graylog:12201", 'exporters::gelf: endpoint: unsupported scheme "ftp"'),
        ("udp://graylog", "exporters::gelf: endpoint:"),
    ],
)
def test_bad_gelf_endpoint_refuses_to_start_naming_the_key(
    binary: Path, tmp_path: Path, endpoint: str, expected: str
) -> None:
    env = {**os.environ, "GELF_ENDPOINT": endpoint, "COLLECTOR_STORAGE_DIR": str(tmp_path)}
    env.update(OTLP_GRPC_ENDPOINT=f"127.0.0.1:{free_port()}", OTLP_HTTP_ENDPOINT=f"127.0.0.1:{free_port()}")
    proc = subprocess.run(
        [str(binary), "--config", str(BASE), "--config", str(GELF)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert expected in proc.stderr, proc.stderr


def test_chunk_size_out_of_range_refuses_to_start(binary: Path, tmp_path: Path) -> None:
    env = {**os.environ, "GELF_ENDPOINT": "udp://127.0.0.1:12201", "GELF_CHUNK_SIZE": "64"}
    proc = subprocess.run(
        [str(binary), "validate", "--config", str(BASE), "--config", str(GELF)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert "udp.chunk_size: 64 is out of range" in proc.stderr, proc.stderr


def test_gelf_and_elasticsearch_configs_merge_and_run(tmp_path: Path, udp_input: socket.socket) -> None:
    if not ELASTICSEARCH.exists():
        pytest.skip("collector/config.elasticsearch.yaml not written yet")
    port = udp_input.getsockname()[1]
    env = {
        "GELF_ENDPOINT": f"udp://127.0.0.1:{port}",
        # Nothing listens there: the Elasticsearch pipeline queues, the GELF one must not care.
        "ELASTICSEARCH_ENDPOINT": f"http://127.0.0.1:{free_port()}",
    }
    with run_collector([BASE, ELASTICSEARCH, GELF], env, tmp_path / "storage") as collector:
        post_logs(collector.otlp_http_endpoint, ["merged configs"])
        data, _ = udp_input.recvfrom(65535)
        message = json.loads(data)
        assert collector.wait_metric("otelcol_exporter_sent_log_records", 1, exporter="gelf") == 1
        assert collector.metric("otelcol_exporter_queue_capacity", exporter="elasticsearch") > 0
    assert message["short_message"] == "merged configs"
    assert message["host"] == "ml-host-1"
    assert message["_ml.prediction.id"] == "merged configs"
    assert message["_deployment.environment.name"] == "local", "base resource processor ran"


def test_persistent_queue_delivers_after_collector_restart(tmp_path: Path) -> None:
    """Records accepted while the GELF peer is down survive a collector restart (file_storage)."""
    port = free_port()
    storage = tmp_path / "storage"
    env = {"GELF_ENDPOINT": f"tcp://127.0.0.1:{port}"}
    bodies = [f"queued {i}" for i in range(5)]

    with run_collector([BASE, GELF], env, storage) as collector:
        post_logs(collector.otlp_http_endpoint, bodies)
        # Wait until the batch reached the exporter and failed at least once (peer down).
        assert collector.wait_metric("otelcol_exporter_queue_size", 1, timeout=20, exporter="gelf") >= 1
        time.sleep(2)
        assert collector.metric("otelcol_exporter_sent_log_records", exporter="gelf") == 0

    peer = TCPGelfInput(port)
    try:
        with run_collector([BASE, GELF], env, storage) as restarted:
            received = peer.wait_for(len(bodies), timeout=60)
            sent = restarted.metric("otelcol_exporter_sent_log_records", exporter="gelf")
    finally:
        peer.close()
    assert sorted(m["short_message"] for m in received) == bodies, f"sent={sent}"
