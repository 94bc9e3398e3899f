"""A tiny authoritative DNS server on loopback: names with several A records, for client-side balancing.

gRPC clients spread requests over every address a ``dns:///`` target resolves to
(``round_robin``). In Kubernetes that name is a headless Service with one A record per pod; here
the records point at loopback addresses (127.0.0.1, 127.0.0.2, ... all reach this host), so
collectors listening on ``127.0.0.N:port`` stand in for the pods::

    with run_dns({"gateways.test": ["127.0.0.1", "127.0.0.2"]}) as dns:
        target = f"dns://{dns.address}/gateways.test:4317"   # the gRPC resolver asks this server

It answers A queries for its names (TTL 1 s), NOERROR with no answer for other types of a known
name (AAAA), NXDOMAIN for anything else, over UDP only (answers are small).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from harness.ports import LOOPBACK

_TYPE_A = 1
_CLASS_IN = 1
_NXDOMAIN = 3


def _question(packet: bytes) -> tuple[str, int, int, int]:
    """Return (name, qtype, qclass, end offset) of the first question of a query."""
    labels: list[str] = []
    offset = 12
    while packet[offset] != 0:
        length = packet[offset]
        labels.append(packet[offset + 1 : offset + 1 + length].decode("ascii").lower())
        offset += 1 + length
    qtype, qclass = struct.unpack("!HH", packet[offset + 1 : offset + 5])
    return ".".join(labels), qtype, qclass, offset + 5


def answer(query: bytes, records: Mapping[str, list[str]]) -> bytes:
    """Build the response to ``query`` from ``records`` (name → IPv4 addresses)."""
    (query_id, flags) = struct.unpack("!HH", query[:4])
    name, qtype, qclass, end = _question(query)
    addresses = records.get(name.rstrip("."))
    rcode = 0 if addresses is not None else _NXDOMAIN
    answers = addresses if (addresses and qtype == _TYPE_A and qclass == _CLASS_IN) else []
    # QR=1, AA=1, RD copied from the query, RA=0
    response_flags = 0x8000 | 0x0400 | (flags & 0x0100) | rcode
    header = struct.pack("!HHHHHH", query_id, response_flags, 1, len(answers), 0, 0)
    body = b"".join(
        struct.pack("!HHHIH", 0xC00C, _TYPE_A, _CLASS_IN, 1, 4) + socket.inet_aton(address) for address in answers
    )
    return header + query[12:end] + body


@dataclass
class RunningDNS:
    """The server's ``host:port`` and the number of queries it answered, by name."""

    address: str
    queries: dict[str, int] = field(default_factory=dict)


@contextlib.contextmanager
def run_dns(records: Mapping[str, list[str]]) -> Iterator[RunningDNS]:
    """Serve ``records`` on a free UDP port of 127.0.0.1 until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LOOPBACK, 0))
    sock.settimeout(0.2)
    server = RunningDNS(f"{LOOPBACK}:{sock.getsockname()[1]}")
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                query, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            with contextlib.suppress(IndexError, struct.error, UnicodeDecodeError):
                name = _question(query)[0]
                server.queries[name] = server.queries.get(name, 0) + 1
                sock.sendto(answer(query, records), peer)

    thread = threading.Thread(target=serve, name="dns", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(timeout=5)
        sock.close()
