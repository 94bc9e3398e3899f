"""The GELF test peers themselves, proven with senders that are not our exporter.

Before the exporter's end-to-end tests can mean anything, the decoders they rely on (Graylog's own
codec in tools/graylog-gelf-harness, and tshark's GELF dissector) must decode what independent
senders produce: pygelf (PyPI) and datagrams handcrafted from the GELF 1.1 spec. The negative cases
show the peers reject what Graylog rejects, so the end-to-end assertions can fail.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import socket
import time
import zlib
from collections.abc import Callable, Iterator

import pytest

from harness.gelf import GraylogHarness, TsharkCapture, both_decoders

pygelf = pytest.importorskip("pygelf", reason="pygelf (PyPI) is the independent GELF sender")

pytestmark = pytest.mark.integration

STACKTRACE = 'Traceback (most recent call last):\n  File "m.py", line 1\nValueError: bad "input" \\ ünïcödé ✓\n'


def spec_message(short: str, **extra: object) -> dict[str, object]:
    """A GELF 1.1 message shaped like the spec's example, with our kind of additional fields."""
    message: dict[str, object] = {
        "version": "1.1",
        "host": "example.org",
        "short_message": short,
        "full_message": STACKTRACE,
        "timestamp": 1385053862.3072,
        "level": 3,
        "_trace_id": "0af7651916cd43dd8448eb211c80319c",
        "_span_id": "b7ad6b7169203331",
        "_ml.prediction.id": "3f2b1c9e-5d7a-4e21-9a0b-1c2d3e4f5a6b",
        "_ml.prediction.latency_ms": 12.5,
    }
    message.update({f"_{k}": v for k, v in extra.items()})
    return message


def chunk(payload: bytes, size: int = 1420) -> list[bytes]:
    """Split ``payload`` into GELF chunks (magic, 8-byte id, seq, count, data) per the spec."""
    message_id = os.urandom(8)
    parts = [payload[i : i + size] for i in range(0, len(payload), size)]
    return [b"\x1e\x0f" + message_id + bytes([i, len(parts)]) + part for i, part in enumerate(parts)]


def send_udp(port: int, datagrams: list[bytes]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for datagram in datagrams:
            sock.sendto(datagram, ("127.0.0.1", port))


LoggerFactory = Callable[[logging.Handler], logging.Logger]


@pytest.fixture
def gelf_logger() -> Iterator[LoggerFactory]:
    """A fresh, non-propagating logger wired to one pygelf handler."""
    created: list[tuple[logging.Logger, logging.Handler]] = []

    def make(handler: logging.Handler) -> logging.Logger:
        logger = logging.getLogger(f"gelf-peer-{len(created)}-{time.monotonic_ns()}")
        logger.propagate = False
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
        created.append((logger, handler))
        return logger

    yield make
    for logger, handler in created:
        logger.removeHandler(handler)
        handler.close()


def assert_decoded_alike(graylog_gelf: dict[str, object], tshark_gelf: dict[str, object]) -> None:
    assert graylog_gelf == tshark_gelf, "Graylog and tshark decoded different GELF fields"


@pytest.mark.parametrize("compress", [False, True], ids=["uncompressed", "zlib"])
def test_small_udp_message_from_pygelf(compress: bool, gelf_logger: LoggerFactory) -> None:
    with both_decoders("udp") as (graylog, capture):
        handler = pygelf.GelfUdpHandler(
            host="127.0.0.1", port=graylog.udp_port, compress=compress, _ml_prediction_id="p-small"
        )
        before = time.time()
        gelf_logger(handler).info("small message")
        received = graylog.messages(timeout=15, count=1)
        captured = capture.decode()

    assert len(received) == 1, graylog.stderr_tail()
    (got,) = received
    assert got["compression"] == ("zlib" if compress else "uncompressed")
    assert not got["chunked"]
    assert got["graylog"]["message"] == "small message"
    assert got["graylog"]["source"] == socket.gethostname()
    assert got["graylog"]["fields"]["level"] == 6
    assert got["graylog"]["fields"]["ml_prediction_id"] == "p-small"
    assert abs(got["graylog"]["timestamp_ms"] / 1000 - before) < 5

    assert len(captured) == 1
    assert captured[0]["compression"] == got["compression"]
    assert_decoded_alike(got["gelf"], captured[0]["gelf"])


@pytest.mark.parametrize("compression", ["none", "zlib", "gzip"])
def test_40kb_message_chunked_over_udp(compression: str) -> None:
    """A 40 KB message in ~30 chunks (handcrafted per spec) comes back whole from both decoders."""
    big = os.urandom(20_000).hex()  # 40,000 chars that barely compress
    message = spec_message("big one", blob=big)
    raw = json.dumps(message).encode()
    payload = {"none": raw, "zlib": zlib.compress(raw), "gzip": gzip.compress(raw)}[compression]
    datagrams = chunk(payload)
    assert 10 < len(datagrams) <= 128

    with both_decoders("udp") as (graylog, capture):
        send_udp(graylog.udp_port, datagrams)
        received = graylog.messages(timeout=15, count=1)
        captured = capture.decode()

    assert len(received) == 1, graylog.stderr_tail()
    (got,) = received
    assert got["chunked"]
    assert got["chunk_count"] == len(datagrams)
    assert got["compression"] == {"none": "uncompressed", "zlib": "zlib", "gzip": "gzip"}[compression]
    assert got["gelf"] == message
    fields = got["graylog"]["fields"]
    assert fields["blob"] == big
    assert fields["full_message"] == STACKTRACE.strip()  # Graylog trims string values; the payload keeps them
    assert fields["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert fields["ml.prediction.id"] == message["_ml.prediction.id"]
    assert got["graylog"]["timestamp_ms"] == 1385053862307

    assert len(captured) == 1
    assert captured[0]["chunked"]
    assert captured[0]["chunk_count"] == len(datagrams)
    assert captured[0]["payload_bytes"] == len(payload)
    assert_decoded_alike(got["gelf"], captured[0]["gelf"])


def test_40kb_message_chunked_by_pygelf(gelf_logger: LoggerFactory) -> None:
    big = "x" * 40_000
    with both_decoders("udp") as (graylog, capture):
        handler = pygelf.GelfUdpHandler(host="127.0.0.1", port=graylog.udp_port, compress=False, chunk_size=1300)
        gelf_logger(handler).error(big)
        received = graylog.messages(timeout=15, count=1)
        captured = capture.decode()
    assert len(received) == 1, graylog.stderr_tail()
    assert received[0]["chunk_count"] == 31
    assert received[0]["graylog"]["message"] == big
    assert received[0]["graylog"]["fields"]["level"] == 3
    assert len(captured) == 1
    assert_decoded_alike(received[0]["gelf"], captured[0]["gelf"])


def test_tcp_nul_framed_from_pygelf(gelf_logger: LoggerFactory) -> None:
    with both_decoders("tcp") as (graylog, capture):
        handler = pygelf.GelfTcpHandler(host="127.0.0.1", port=graylog.tcp_port, _ml_prediction_id="p-tcp")
        logger = gelf_logger(handler)
        logger.info("first")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("second")
        logger.warning("third " + "y" * 40_000)
        received = graylog.messages(timeout=15, count=3)
        handler.close()
        captured = capture.decode()

    assert [m["graylog"]["message"] for m in received] == ["first", "second", "third " + "y" * 40_000]
    assert [m["graylog"]["fields"]["level"] for m in received] == [6, 3, 4]
    assert all(m["transport"] == "tcp" and m["compression"] == "uncompressed" for m in received)
    assert "ValueError: boom" in received[1]["graylog"]["fields"]["full_message"]
    assert [m["gelf"] for m in captured] == [m["gelf"] for m in received]


def test_graylog_rejects_more_than_128_chunks() -> None:
    """Graylog drops a 129-chunk message; the decoders can therefore fail a test."""
    raw = json.dumps(spec_message("too big", blob="z" * 129 * 100)).encode()
    datagrams = chunk(raw, size=len(raw) // 129 + 1)
    assert len(datagrams) == 129
    with GraylogHarness(tcp=False) as graylog:
        send_udp(graylog.udp_port, datagrams)
        send_udp(graylog.udp_port, [json.dumps(spec_message("after")).encode()])
        received = graylog.messages(timeout=10, count=2)
        errors = graylog.errors()
    assert [m["graylog"]["message"] for m in received] == ["after"]
    assert any("rejected chunk" in e["error"] for e in errors), errors


def test_graylog_rejects_invalid_gelf() -> None:
    with GraylogHarness(tcp=False) as graylog:
        send_udp(graylog.udp_port, [b'{"version":"1.1","host":"h"}', b"not json", b'{"host":"h","short_message":""}'])
        time.sleep(2)
        received = graylog.messages(timeout=0, count=1)
        errors = graylog.errors()
    assert received == []
    assert len(errors) == 3, errors
    assert all("GelfCodec" in e["error"] for e in errors), errors


def test_tshark_does_not_reassemble_incomplete_chunks() -> None:
    raw = json.dumps(spec_message("incomplete", blob="q" * 10_000)).encode()
    datagrams = chunk(raw)
    with TsharkCapture("udp") as capture:
        send_udp(capture.port, datagrams[:-1])
        captured = capture.decode()
    assert captured == []
