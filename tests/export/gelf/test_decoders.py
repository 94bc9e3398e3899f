"""The Python GELF exporter's output, decoded by Graylog's own codec and by tshark's GELF dissector.

The same decoders check the collector's GELF exporter (tests/collector/test_gelf_exporter.py) and are
proven on their own with independent senders (tests/collector/test_gelf_decoders.py). Every message is
compared three ways: what Graylog's codec parsed, what tshark reassembled and inflated, and what
``to_gelf`` says the record maps to.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry._logs import SeverityNumber

from harness.gelf import GraylogHarness, GraylogMessage, TsharkCapture
from otel_ml_logging.export.gelf import GelfEncoder, GelfLogRecordExporter
from tests.export.gelf.records import TRACE_ID, record
from tests.export.gelf.tls_peer import TlsFront, make_pki

pytestmark = pytest.mark.integration

VENV_BIN = Path(sys.executable).parent
STACKTRACE = 'Traceback (most recent call last):\n  File "/srv/model.py", line 42\nValueError: "bad" — ünïcödé ✓\n'


@pytest.fixture(scope="module")
def graylog() -> Iterator[GraylogHarness]:
    with GraylogHarness(udp=True, tcp=True, http=True) as harness:
        yield harness


def of_case(graylog: GraylogHarness, case: str, count: int, timeout: float = 15.0) -> list[GraylogMessage]:
    """Wait for ``count`` messages whose ``_case`` field is ``case``."""
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in graylog.messages(timeout=0, count=0) if m["gelf"].get("_case") == case]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def expected(exporter: GelfLogRecordExporter, rec: Any) -> dict[str, Any]:
    """The message ``rec`` maps to, parsed like the decoders parse it."""
    encoder = GelfEncoder(exporter.config.mapping, socket.gethostname())
    parsed: dict[str, Any] = json.loads(encoder.encode(rec))
    return parsed


def by_message(messages: list[Any]) -> dict[str, Any]:
    return {m["gelf"]["short_message"]: m for m in messages}


def test_udp_uncompressed_and_chunked_gzip_zlib(graylog: GraylogHarness) -> None:
    case = uuid.uuid4().hex
    big = os.urandom(15_000).hex()  # 30 KB that compress to ~half: chunked whatever the compression
    endpoint = f"udp://127.0.0.1:{graylog.udp_port}"
    sent: dict[str, tuple[GelfLogRecordExporter, Any]] = {}
    with TsharkCapture("udp", graylog.udp_port, sink=False) as capture:
        for compression in ("none", "gzip", "zlib"):
            exporter = GelfLogRecordExporter(endpoint, compression=compression, environ={})
            small = record(f"small {compression}", case=case, ml__prediction__id=f"p-{compression}")
            large = record(
                f"large {compression}",
                severity=SeverityNumber.ERROR,
                case=case,
                blob=big,
                exception__stacktrace=STACKTRACE,
            )
            exporter.export([small, large])
            exporter.shutdown()
            assert exporter.delivery().sent == 2
            sent |= {f"small {compression}": (exporter, small), f"large {compression}": (exporter, large)}
        received = by_message(of_case(graylog, case, 6))
        captured = by_message([m for m in capture.decode() if m["gelf"].get("_case") == case])

    assert sorted(received) == sorted(sent), graylog.stderr_tail()
    assert sorted(captured) == sorted(sent)
    for name, (exporter, rec) in sent.items():
        want = expected(exporter, rec)
        assert received[name]["gelf"] == want, name
        assert captured[name]["gelf"] == want, name
        compression = name.split()[1]
        if name.startswith("large"):
            assert received[name]["chunked"], name
            assert captured[name]["chunk_count"] == received[name]["chunk_count"] > 1
            assert received[name]["compression"] == {"none": "uncompressed"}.get(compression, compression)
        else:
            assert not received[name]["chunked"]
            assert received[name]["compression"] == "uncompressed"  # below the threshold
    fields = received["large gzip"]["graylog"]["fields"]
    assert fields["level"] == 3
    assert fields["blob"] == big
    assert fields["trace_id"] == f"{TRACE_ID:032x}"
    assert fields["full_message"] == STACKTRACE.strip()  # Graylog trims string values
    assert received["large gzip"]["graylog"]["source"] == "ml-host-1"
    print(
        f"\nUDP: {received['large gzip']['chunk_count']} chunks (gzip), {received['large none']['chunk_count']} (none)"
    )


def test_tcp_nul_framed(graylog: GraylogHarness) -> None:
    case = uuid.uuid4().hex
    exporter = GelfLogRecordExporter(f"tcp://127.0.0.1:{graylog.tcp_port}", environ={})
    records = [
        record("first", case=case),
        record("second", case=case, severity=SeverityNumber.WARN, detail="y" * 40_000),
        record("third", case=case, exception__stacktrace=STACKTRACE, nested={"a": {"b": [1, 2.5, "x"]}}),
    ]
    with TsharkCapture("tcp", graylog.tcp_port, sink=False) as capture:
        exporter.export(records)
        received = by_message(of_case(graylog, case, 3))
        exporter.shutdown()
        captured = by_message([m for m in capture.decode() if m["gelf"].get("_case") == case])
    assert sorted(received) == ["first", "second", "third"], graylog.stderr_tail()
    for rec in records:
        name = rec.log_record.body
        assert received[name]["gelf"] == expected(exporter, rec)
        assert captured[name]["gelf"] == expected(exporter, rec)
        assert received[name]["transport"] == "tcp"
    assert received["third"]["graylog"]["fields"]["nested.a.b"] == '[1,2.5,"x"]'


def test_tcp_reconnects_after_graylog_restarts() -> None:
    case = uuid.uuid4().hex
    with GraylogHarness(udp=False, tcp=True) as first:
        port = first.tcp_port
        exporter = GelfLogRecordExporter(f"tcp://127.0.0.1:{port}", environ={})
        exporter.export([record("before restart", case=case)])
        assert len(of_case(first, case, 1)) == 1
    # Graylog is down: records wait in the queue (retried with backoff), nothing blocks
    start = time.perf_counter()
    exporter.export([record(f"during outage {i}", case=case) for i in range(5)])
    assert time.perf_counter() - start < 0.05
    time.sleep(1.0)
    with GraylogHarness(udp=False, tcp=True, tcp_port=port) as second:
        assert exporter.force_flush(20_000)
        received = of_case(second, case, 5)
        exporter.shutdown()
    assert sorted(m["gelf"]["short_message"] for m in received) == [f"during outage {i}" for i in range(5)]
    d = exporter.delivery()
    assert (d.sent, d.failed, d.dropped) == (6, 0, {}), d


def assert_arrived_over_http(
    graylog: GraylogHarness, exporter: GelfLogRecordExporter, records: list[Any], case: str
) -> None:
    """Every record of ``case`` reached Graylog's HTTP input once, mapped as the exporter maps it, and counted sent."""
    received = by_message(of_case(graylog, case, len(records)))
    assert sorted(received) == sorted(rec.log_record.body for rec in records), graylog.stderr_tail()
    for rec in records:
        assert received[rec.log_record.body]["gelf"] == expected(exporter, rec)
        assert received[rec.log_record.body]["transport"] == "http"
    assert exporter.delivery().sent == len(records)


def test_http(graylog: GraylogHarness) -> None:
    case = uuid.uuid4().hex
    exporter = GelfLogRecordExporter(graylog.http_endpoint, environ={})
    records = [record(f"over http {i}", case=case) for i in range(3)]
    exporter.export(records)
    assert exporter.force_flush(10_000)
    exporter.shutdown()
    assert_arrived_over_http(graylog, exporter, records, case)


def test_zero_code_otel_logs_exporter_gelf(graylog: GraylogHarness) -> None:
    """``opentelemetry-instrument`` with OTEL_LOGS_EXPORTER=gelf: stdlib logging lands in Graylog."""
    case = uuid.uuid4().hex
    script = (
        "import logging\n"
        "from opentelemetry import trace\n"
        "with trace.get_tracer('app').start_as_current_span('predict'):\n"
        f"    logging.getLogger('app').warning('zero-code %s', 'gelf', extra={{'case': '{case}'}})\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
        "OTEL_SERVICE_NAME": "zero-code-gelf",
        "OTEL_LOGS_EXPORTER": "gelf",
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_EXPORTER_GELF_ENDPOINT": f"udp://127.0.0.1:{graylog.udp_port}",
    }
    result = subprocess.run(
        [str(VENV_BIN / "opentelemetry-instrument"), sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (got,) = of_case(graylog, case, 1)
    assert got["gelf"]["short_message"] == "zero-code gelf"
    assert got["gelf"]["level"] == 4
    assert got["gelf"]["_service.name"] == "zero-code-gelf"
    assert len(got["gelf"]["_trace_id"]) == 32
    # the exporter's own line, and the process-wide report, which includes what the exporter really sent
    assert "otel_ml_logging delivery: GELF: 1/1 sent, 0 failed, dropped: none\n" in result.stderr, result.stderr
    assert "log records: 1/1 delivered, 0 failed, 0 dropped; GELF: 1/1 sent" in result.stderr, result.stderr


def test_tls_with_client_certificate(graylog: GraylogHarness, tmp_path: Path) -> None:
    """tls:// with a CA file and a client certificate, through a TLS front that requires one."""
    pki = make_pki(tmp_path)
    case = uuid.uuid4().hex
    with TlsFront(pki, graylog.tcp_port, require_client_cert=True) as front:
        endpoint = f"tls://127.0.0.1:{front.port}"
        exporter = GelfLogRecordExporter(
            endpoint,
            certificate_file=str(pki.ca),
            client_certificate_file=str(pki.client_cert),
            client_key_file=str(pki.client_key),
            environ={},
        )
        records = [record(f"over tls {i}", case=case) for i in range(3)]
        exporter.export(records)
        received = by_message(of_case(graylog, case, 3))
        exporter.shutdown()

        # the same endpoint without a client certificate, and with a CA that did not sign the server
        refused = [
            GelfLogRecordExporter(endpoint, certificate_file=str(pki.ca), timeout=0.5, environ={}),
            GelfLogRecordExporter(
                endpoint,
                certificate_file=str(pki.other_ca),
                client_certificate_file=str(pki.client_cert),
                client_key_file=str(pki.client_key),
                timeout=0.5,
                environ={},
            ),
        ]
        for bad in refused:
            bad.export([record("must not arrive", case=case)])
            bad.shutdown()
    assert sorted(received) == [f"over tls {i}" for i in range(3)], graylog.stderr_tail()
    for rec in records:
        assert received[rec.log_record.body]["gelf"] == expected(exporter, rec)
    assert exporter.delivery().sent == 3
    assert [bad.delivery().sent for bad in refused] == [0, 0]
    assert [bad.delivery().failed for bad in refused] == [1, 1]
    assert len(of_case(graylog, case, 4, timeout=1)) == 3


def test_otel_ml_logging_run_with_otel_logs_exporter_gelf(graylog: GraylogHarness) -> None:
    """``otel-ml-logging run`` loads the exporter by name too: a captured line arrives in Graylog."""
    case = uuid.uuid4().hex
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
        "OTEL_SERVICE_NAME": "captured-gelf",
        "OTEL_LOGS_EXPORTER": "gelf",
        "OTEL_EXPORTER_GELF_ENDPOINT": f"tcp://127.0.0.1:{graylog.tcp_port}",
    }
    child = f"import sys; print('ERROR captured {case}', file=sys.stderr)"
    result = subprocess.run(
        [str(VENV_BIN / "otel-ml-logging"), "run", "--", sys.executable, "-c", child],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    deadline = time.monotonic() + 15
    while not (found := [m for m in graylog.messages(timeout=0, count=0) if case in m["gelf"]["short_message"]]):
        assert time.monotonic() < deadline, result.stderr
        time.sleep(0.1)
    (got,) = found
    assert got["gelf"]["short_message"] == f"ERROR captured {case}"
    assert got["gelf"]["_service.name"] == "captured-gelf"
    assert got["gelf"]["level"] == 3
    assert "GELF: 1/1 sent" in result.stderr, result.stderr


def test_https(graylog: GraylogHarness, tmp_path: Path) -> None:
    """https:// with a CA file, through a TLS front to Graylog's HTTP input (answers relayed back)."""
    pki = make_pki(tmp_path)
    case = uuid.uuid4().hex
    with TlsFront(pki, graylog.ports["http"], require_client_cert=False) as front:
        exporter = GelfLogRecordExporter(f"https://127.0.0.1:{front.port}", certificate_file=str(pki.ca), environ={})
        records = [record(f"over https {i}", case=case) for i in range(3)]
        exporter.export(records)
        assert exporter.force_flush(10_000)
        exporter.shutdown()
    assert_arrived_over_http(graylog, exporter, records, case)
