"""Sending encoded GELF messages: UDP (chunked, compressed), TCP and TLS (NUL-framed), HTTP(S).

Each transport takes a batch of encoded messages (one JSON object each) and reports what it did as a
:class:`SendResult`, like the collector's GELF exporter: the leading messages that are finished (sent,
or dropped for good) and, on a failure worth retrying, the error. Retrying is the caller's job (the
exporter's sender thread). Transports are used by one thread at a time.
"""

from __future__ import annotations

import gzip
import http.client
import math
import os
import select
import socket
import ssl
import time
import urllib.parse
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from otel_ml_logging.export.gelf.config import Compression, GelfExporterConfig

__all__ = ["SendResult", "Transport", "make_transport"]

MAX_CHUNKS = 128
CHUNK_MAGIC = b"\x1e\x0f"
CHUNK_HEADER_SIZE = 12  # magic (2) + message id (8) + sequence number (1) + sequence count (1)
UDP_RESOLVE_INTERVAL_S = 60.0
UDP_SEND_BUFFER = 4 << 20
TCP_WRITE_CHUNK = 64 << 10

# Drop reasons (the keys of the exporter's ``dropped`` counts), as the collector names them.
TOO_MANY_CHUNKS = "too_many_chunks"
ENCODING = "encoding"
REJECTED = "rejected"


@dataclass
class SendResult:
    """What a transport did with a batch.

    Attributes:
        done: the leading messages that are finished: handed to the network, or dropped.
        dropped: ``(index, reason, detail)`` of messages (all below ``done``) that will never be sent.
        error: a failure worth retrying; messages ``[done:]`` were not (reliably) sent.
        retry_after: seconds the peer asked to wait (HTTP ``Retry-After``), if any.

    """

    done: int = 0
    dropped: list[tuple[int, str, str]] = field(default_factory=list)
    error: str | None = None
    retry_after: float | None = None


class Transport(Protocol):
    """Sends encoded GELF messages to one endpoint."""

    def send(self, messages: Sequence[bytes]) -> SendResult:
        """Send ``messages`` in order; never raises."""
        ...

    def close(self) -> None:
        """Close connections; the transport may be used again (it reconnects)."""
        ...


def compress(compression: Compression, message: bytes) -> bytes:
    """Compress one message for UDP (GELF inputs detect gzip and zlib by their first bytes)."""
    if compression == "gzip":
        return gzip.compress(message, compresslevel=1, mtime=0)
    if compression == "zlib":
        return zlib.compress(message, 1)
    return message


def chunks(payload: bytes, chunk_size: int, message_id: bytes) -> list[bytes]:
    """Split ``payload`` into GELF chunks of at most ``chunk_size`` bytes; ValueError beyond 128 chunks."""
    per_chunk = chunk_size - CHUNK_HEADER_SIZE
    count = math.ceil(len(payload) / per_chunk)
    if count > MAX_CHUNKS:
        raise ValueError(f"needs {count} chunks")
    header = CHUNK_MAGIC + message_id
    return [header + bytes((seq, count)) + payload[seq * per_chunk : (seq + 1) * per_chunk] for seq in range(count)]


class UdpTransport:
    """One datagram per message, or GELF chunks; never waits for the peer (unconnected socket)."""

    def __init__(self, config: GelfExporterConfig) -> None:
        """Take the endpoint, chunk size and compression from ``config``; resolve lazily."""
        self._host, self._port = config.endpoint.host, config.endpoint.port
        self._chunk_size = config.chunk_size
        self._compression = config.compression
        self._threshold = config.compression_threshold
        self._address: tuple[int, tuple[str, int]] | None = None
        self._resolved_at = 0.0
        self._socket: socket.socket | None = None

    def _resolve(self) -> tuple[int, tuple[str, int]]:
        now = time.monotonic()
        if self._address is None or now - self._resolved_at > UDP_RESOLVE_INTERVAL_S:
            try:
                infos = socket.getaddrinfo(self._host, self._port, type=socket.SOCK_DGRAM)
            except OSError:
                if self._address is None:
                    raise
                return self._address  # keep the last address while DNS is down
            infos.sort(key=lambda info: info[0] != socket.AF_INET)  # prefer IPv4, as most GELF inputs listen
            family, _, _, _, address = infos[0]
            self._address = (family, (str(address[0]), int(address[1])))
            self._resolved_at = now
        return self._address

    def _socket_for(self, family: int) -> socket.socket:
        if self._socket is None or self._socket.family != family:
            self.close()
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, UDP_SEND_BUFFER)
            self._socket = sock
        return self._socket

    def send(self, messages: Sequence[bytes]) -> SendResult:
        """Send each message; a message needing more than 128 chunks is dropped, the others still go."""
        result = SendResult()
        try:
            family, address = self._resolve()
            sock = self._socket_for(family)
        except OSError as error:
            result.error = f"udp {self._host}:{self._port}: {error}"
            return result
        for index, message in enumerate(messages):
            compression = self._compression if len(message) >= self._threshold else "none"
            try:
                payload = compress(compression, message)
            except (OSError, ValueError, zlib.error) as error:
                result.dropped.append((index, ENCODING, str(error)))
                result.done = index + 1
                continue
            try:
                if len(payload) <= self._chunk_size:
                    sock.sendto(payload, address)
                else:
                    try:
                        datagrams = chunks(payload, self._chunk_size, os.urandom(8))
                    except ValueError as error:
                        detail = (
                            f"a {len(message)}-byte message ({len(payload)} bytes after {compression}) {error} "
                            f"of {self._chunk_size} bytes; GELF allows {MAX_CHUNKS}"
                        )
                        result.dropped.append((index, TOO_MANY_CHUNKS, detail))
                        result.done = index + 1
                        continue
                    for datagram in datagrams:
                        sock.sendto(datagram, address)
            except OSError as error:
                result.error = f"udp send to {address[0]}:{address[1]}: {error}"
                return result
            result.done = index + 1
        return result

    def close(self) -> None:
        """Close the socket."""
        self._socket = _closed(self._socket)


def ssl_context(config: GelfExporterConfig) -> ssl.SSLContext:
    """Build a verifying client context with the configured CA and client certificate."""
    context = ssl.create_default_context(cafile=config.certificate_file)
    if config.client_certificate_file:
        context.load_cert_chain(config.client_certificate_file, config.client_key_file)
    return context


class TcpTransport:
    """NUL-terminated, uncompressed frames over one reused TCP or TLS connection.

    Before each batch a connection the peer closed (a restarted Graylog) is detected and replaced, so
    the batch is not written into a dead socket. A batch whose write failed is resent from the first
    message not fully written (at least once).
    """

    def __init__(self, config: GelfExporterConfig) -> None:
        """Take the endpoint, timeout and (tls://) certificates from ``config``; connect lazily."""
        self._host, self._port = config.endpoint.host, config.endpoint.port
        self._timeout = config.timeout
        self._tls = ssl_context(config) if config.endpoint.transport == "tls" else None
        self._socket: socket.socket | None = None

    def _connect(self) -> socket.socket:
        if self._socket is not None:
            if not self._peer_closed(self._socket):
                return self._socket
            self.close()
        sock = socket.create_connection((self._host, self._port), timeout=self._timeout)
        try:
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self._host)
                if sock.version() == "TLSv1.3":
                    self._await_verdict(sock)
        except BaseException:
            sock.close()
            raise
        self._socket = sock
        return sock

    def _await_verdict(self, sock: socket.socket) -> None:
        """Wait (at most 1 s) for the server's first TLS 1.3 records after the handshake.

        In TLS 1.3 the client's handshake ends before the server checks the client certificate: a
        refusal arrives as an alert afterwards, and anything written before it would be lost while
        counted as sent. Servers send session tickets (or that alert) right away, so this wait is
        one round trip; an alert raises here and the batch is retried instead.
        """
        readable, _, _ = select.select([sock], [], [], min(self._timeout, 1.0))
        if not readable:
            return
        sock.settimeout(0)
        try:
            if sock.recv(4096) == b"":  # an alert raises SSLError here
                raise ConnectionError("the server closed the TLS connection right after the handshake")
        except ssl.SSLWantReadError:
            pass  # session tickets only: accepted
        finally:
            sock.settimeout(self._timeout)

    def _peer_closed(self, sock: socket.socket) -> bool:
        """Tell whether the peer closed the connection (a GELF input never writes application data)."""
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        sock.settimeout(0)
        try:
            return sock.recv(4096) == b""  # TLS: also consumes session tickets, which make the socket readable
        except (ssl.SSLWantReadError, BlockingIOError):
            return False
        except OSError:
            return True
        finally:
            sock.settimeout(self._timeout)

    def send(self, messages: Sequence[bytes]) -> SendResult:
        """Write every message followed by a NUL byte, 64 KiB per write."""
        result = SendResult()
        try:
            sock = self._connect()
        except (OSError, ssl.SSLError) as error:
            result.error = f"{'tls' if self._tls else 'tcp'} connect to {self._host}:{self._port}: {error}"
            return result
        buffer = bytearray()
        first = 0
        for index, message in enumerate(messages):
            if buffer and len(buffer) + len(message) + 1 > TCP_WRITE_CHUNK:
                if not self._write(sock, buffer, result, first):
                    return result
                buffer.clear()
                first = result.done = index
            buffer += message
            buffer.append(0)
        if buffer and not self._write(sock, buffer, result, first):
            return result
        result.done = len(messages)
        return result

    def _write(self, sock: socket.socket, buffer: bytearray, result: SendResult, first: int) -> bool:
        try:
            sock.sendall(buffer)
        except (OSError, ssl.SSLError) as error:
            self.close()
            result.done = first
            result.error = f"{'tls' if self._tls else 'tcp'} write to {self._host}:{self._port}: {error}"
            return False
        return True

    def close(self) -> None:
        """Close the connection."""
        self._socket = _closed(self._socket)


RETRYABLE_HTTP = frozenset({408, 429})


class HttpTransport:
    """One ``POST`` per message (GELF HTTP inputs take one message per request) on a keep-alive connection."""

    def __init__(self, config: GelfExporterConfig) -> None:
        """Take the URL, timeout, headers and (https://) certificates from ``config``."""
        self._url = config.endpoint.url
        parsed = urllib.parse.urlsplit(self._url)
        self._target = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        self._host, self._port = config.endpoint.host, config.endpoint.port
        self._timeout = config.timeout
        self._tls = ssl_context(config) if config.endpoint.transport == "https" else None
        self._headers: Mapping[str, str] = {"Content-Type": "application/json", **config.headers}
        self._connection: http.client.HTTPConnection | None = None

    def _post(self, body: bytes) -> tuple[int, str, str | None]:
        if self._connection is None:
            self._connection = (
                http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout, context=self._tls)
                if self._tls is not None
                else http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            )
        self._connection.request("POST", self._target, body=body, headers=dict(self._headers))
        response = self._connection.getresponse()
        text = response.read(512).decode("utf-8", "replace")
        response.read()
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return response.status, text, response.getheader("Retry-After")

    def send(self, messages: Sequence[bytes]) -> SendResult:
        """POST each message; 4xx (except 408/429) drops it as rejected, anything else failing stops the batch."""
        result = SendResult()
        for index, message in enumerate(messages):
            try:
                status, text, retry_after = self._post(message)
            except (OSError, http.client.HTTPException) as error:
                self.close()
                result.error = f"POST {self._url}: {type(error).__name__}: {error}"
                return result
            if 400 <= status < 500 and status not in RETRYABLE_HTTP:
                result.dropped.append((index, REJECTED, f"HTTP {status}: {text.strip()}"))
            elif not 200 <= status < 300:
                result.error = f"POST {self._url}: HTTP {status}: {text.strip()}"
                result.retry_after = _seconds(retry_after)
                return result
            result.done = index + 1
        return result

    def close(self) -> None:
        """Close the connection."""
        self._connection = _closed(self._connection)


_Closable = TypeVar("_Closable", socket.socket, http.client.HTTPConnection)


def _closed(resource: _Closable | None) -> _Closable | None:
    """Close ``resource`` if there is one; return None, what the attribute holding it becomes."""
    if resource is not None:
        resource.close()
    return None


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, min(float(value), 30.0)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: use the exporter's own backoff


def make_transport(config: GelfExporterConfig) -> Transport:
    """Build the transport the endpoint's scheme names."""
    transport = config.endpoint.transport
    if transport == "udp":
        return UdpTransport(config)
    if transport in ("tcp", "tls"):
        return TcpTransport(config)
    return HttpTransport(config)
