"""The GELF exporter over real loopback sockets: the SDK exporter model, counting, never blocking.

The wire formats are checked by real decoders (Graylog's codec, tshark) in test_decoders.py; here plain
sockets and the standard library's HTTP server are the peers, so these tests need no JVM.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import entry_points

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExportResult

from harness.ports import free_port
from otel_ml_logging.export.accounted import AccountedBatchLogRecordProcessor
from otel_ml_logging.export.gelf import GelfLogRecordExporter, GelfMapping, to_gelf
from otel_ml_logging.pipeline.delivery import DeliveryStats
from tests.export.gelf.records import record

SUCCESS, FAILURE = LogRecordExportResult.SUCCESS, LogRecordExportResult.FAILURE


@pytest.fixture
def udp_socket() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


def receive(sock: socket.socket, count: int) -> list[bytes]:
    return [sock.recv(65535) for _ in range(count)]


def udp_exporter(sock: socket.socket, **options: object) -> GelfLogRecordExporter:
    return GelfLogRecordExporter(f"udp://127.0.0.1:{sock.getsockname()[1]}", environ={}, **options)  # type: ignore[arg-type]


def assert_accounted(exporter: GelfLogRecordExporter) -> None:
    d = exporter.delivery()
    assert d.pending == 0
    assert d.accepted == d.sent + d.failed + sum(d.dropped.values()), d


def test_entry_point_names_the_exporter() -> None:
    (found,) = entry_points(group="opentelemetry_logs_exporter", name="gelf")
    assert found.load() is GelfLogRecordExporter


def test_udp_small_messages_uncompressed_below_threshold(udp_socket: socket.socket) -> None:
    exporter = udp_exporter(udp_socket)
    records = [record(f"message {i}", ml__prediction__id=f"p-{i}") for i in range(3)]
    assert exporter.export(records) is SUCCESS
    datagrams = receive(udp_socket, 3)
    exporter.shutdown()
    for datagram, rec in zip(datagrams, records, strict=True):
        assert datagram.startswith(b"{")  # shorter than the threshold (1420): sent as is
        assert json.loads(datagram) == json.loads(
            json.dumps(to_gelf(rec, fallback_host=socket.gethostname()), default=float)
        )
    assert exporter.delivery().sent == 3
    assert_accounted(exporter)


def test_udp_gzip_every_message_with_threshold_zero(udp_socket: socket.socket) -> None:
    exporter = udp_exporter(udp_socket, compression_threshold=0)
    exporter.export([record("compressed")])
    (datagram,) = receive(udp_socket, 1)
    exporter.shutdown()
    assert datagram[:2] == b"\x1f\x8b"
    assert json.loads(gzip.decompress(datagram))["short_message"] == "compressed"


def test_udp_chunks(udp_socket: socket.socket) -> None:
    exporter = udp_exporter(udp_socket, compression="none")
    big = os.urandom(15_000).hex()
    exporter.export([record("big", blob=big)])
    first = udp_socket.recv(65535)
    count = first[11]
    datagrams = [first, *receive(udp_socket, count - 1)]
    exporter.shutdown()
    assert 20 <= count <= 128
    assert all(len(d) <= 1420 and d[:2] == b"\x1e\x0f" and d[2:10] == first[2:10] for d in datagrams)
    assert sorted(d[10] for d in datagrams) == list(range(count))
    payload = b"".join(d[12:] for d in sorted(datagrams, key=lambda d: d[10]))
    assert json.loads(payload)["_blob"] == big


def test_more_than_128_chunks_is_dropped_counted_and_warned(
    udp_socket: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    exporter = udp_exporter(udp_socket, compression="none", mapping=GelfMapping(max_attribute_value_length=0))
    # 200 KB in datagrams of 1420 bytes (1408 of payload) need 143 chunks
    with caplog.at_level(logging.WARNING, logger="otel_ml_logging.export.gelf"):
        exporter.export([record("too big", blob="x" * 200_000), record("after")])
        (datagram,) = receive(udp_socket, 1)
        exporter.force_flush(5000)
    assert json.loads(datagram)["short_message"] == "after"  # nothing of the big one was sent
    assert exporter.delivery().dropped == {"too_many_chunks": 1}
    assert exporter.delivery().sent == 1
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "too_many_chunks" in warning
    assert "needs 143 chunks of 1420 bytes; GELF allows 128" in warning
    exporter.shutdown()
    assert_accounted(exporter)


def test_after_shutdown_export_fails_and_shutdown_is_idempotent(udp_socket: socket.socket) -> None:
    exporter = udp_exporter(udp_socket)
    assert exporter.export([record("before")]) is SUCCESS
    exporter.shutdown()
    exporter.shutdown()
    assert exporter.export([record("after")]) is FAILURE
    assert exporter.delivery().dropped == {"shutdown": 1}
    assert exporter.delivery().sent == 1
    assert_accounted(exporter)


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text for you")


def test_a_record_that_cannot_be_encoded_fails_the_export_without_raising(udp_socket: socket.socket) -> None:
    exporter = udp_exporter(udp_socket)
    assert exporter.export([record("bad", thing=Unprintable()), record("good")]) is FAILURE
    (datagram,) = receive(udp_socket, 1)
    exporter.shutdown()
    assert json.loads(datagram)["short_message"] == "good"
    assert exporter.delivery().dropped == {"encoding": 1}


def test_dead_tcp_endpoint_never_blocks_the_caller_and_every_record_is_counted() -> None:
    port = free_port()  # nothing listens: every connect is refused
    exporter = GelfLogRecordExporter(f"tcp://127.0.0.1:{port}", queue_size=50, timeout=0.5, environ={})
    durations = []
    results = []
    for i in range(20):
        start = time.perf_counter()
        results.append(exporter.export([record(f"r{i}-{j}") for j in range(10)]))
        durations.append(time.perf_counter() - start)
    start = time.perf_counter()
    exporter.shutdown()
    shutdown_s = time.perf_counter() - start
    d = exporter.delivery()
    print(f"\nexport max {max(durations) * 1e3:.2f} ms; shutdown {shutdown_s:.2f} s; {d.report()}")
    assert max(durations) < 0.05
    assert results[:5] == [SUCCESS] * 5
    assert FAILURE in results  # the queue (50) filled up
    assert shutdown_s < 2.0  # bounded by the 0.5 s timeout (+ join slack)
    assert d.sent == 0
    assert d.dropped["queue_full"] == 150
    assert d.failed + d.dropped.get("shutdown", 0) == 50
    assert_accounted(exporter)


class _Handler(BaseHTTPRequestHandler):
    statuses: list[int]
    bodies: list[bytes]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = self.statuses.pop(0) if self.statuses else 202
        if status == 202:
            self.bodies.append(body)
        self.send_response(status)
        if status == 503:
            self.send_header("Retry-After", "0")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[tuple[ThreadingHTTPServer, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {"statuses": [], "bodies": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, handler
    server.shutdown()
    server.server_close()


def test_http_rejected_is_dropped_and_server_errors_are_retried(
    http_server: tuple[ThreadingHTTPServer, type[_Handler]],
) -> None:
    server, handler = http_server
    handler.statuses += [400, 503, 503]  # first message rejected; the second answered 503 twice, then 202
    exporter = GelfLogRecordExporter(f"http://127.0.0.1:{server.server_address[1]}", environ={})
    exporter.export([record("rejected"), record("retried"), record("third")])
    assert exporter.force_flush(10_000)
    exporter.shutdown()
    assert [json.loads(b)["short_message"] for b in handler.bodies] == ["retried", "third"]
    d = exporter.delivery()
    assert (d.sent, d.dropped) == (2, {"rejected": 1})
    assert_accounted(exporter)


def test_through_the_sdk_batch_processor(udp_socket: socket.socket) -> None:
    exporter = udp_exporter(udp_socket)
    provider = LoggerProvider()
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter, schedule_delay_millis=50))
    logger = provider.get_logger("test")
    for i in range(100):
        logger.emit(record(f"sdk {i}").log_record)
    provider.shutdown()
    got = sorted(json.loads(d)["short_message"] for d in receive(udp_socket, 100))
    assert got == sorted(f"sdk {i}" for i in range(100))
    assert exporter.delivery().sent == 100


def test_process_delivery_report_includes_what_the_exporter_really_sent(caplog: pytest.LogCaptureFixture) -> None:
    """Under the SDK set-up, export() success means queued: the process report adds the exporter's own counts."""
    stats = DeliveryStats()
    exporter = GelfLogRecordExporter(f"tcp://127.0.0.1:{free_port()}", timeout=0.3, environ={})  # refused
    provider = LoggerProvider()
    provider.add_log_record_processor(AccountedBatchLogRecordProcessor(exporter, stats, schedule_delay_millis=50))
    for i in range(5):
        provider.get_logger("test").emit(record(f"r{i}").log_record)
    with caplog.at_level(logging.INFO, logger="otel_ml_logging"):
        provider.shutdown()
    report = stats.report()
    assert "log records: 5/5 delivered" in report  # queued into the exporter
    assert "GELF: 0/5 sent, 5 failed, dropped: none" in report  # what became of them
    assert any(r.levelno == logging.WARNING and "GELF: 0/5 sent" in r.getMessage() for r in caplog.records)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_sends_with_its_own_thread_and_socket(udp_socket: socket.socket) -> None:
    exporter = udp_exporter(udp_socket)
    exporter.export([record("parent before fork")])
    assert exporter.force_flush(5000)
    pid = os.fork()
    if pid == 0:  # the child: the parent's sender thread does not exist here
        code = 0 if exporter.export([record("child")]) is SUCCESS and exporter.force_flush(5000) else 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    exporter.export([record("parent after fork")])
    got = sorted(json.loads(d)["short_message"] for d in receive(udp_socket, 3))
    exporter.shutdown()
    assert os.waitstatus_to_exitcode(status) == 0
    assert got == ["child", "parent after fork", "parent before fork"]
