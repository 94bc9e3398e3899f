"""The GELF exporter's settings, resolved once: explicit argument → ``OTEL_EXPORTER_GELF_*`` → default.

An invalid explicit argument raises :class:`ValueError` naming it. An invalid environment variable logs
one warning naming the variable and the value, and the default applies: a typo in a deployment must not
stop the service it observes.
"""

from __future__ import annotations

import logging
import os
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypedDict, TypeVar

from otel_ml_logging.export.gelf import environment_variables as env
from otel_ml_logging.export.gelf.encode import DEFAULT_HOST_ATTRIBUTES, DEFAULT_MAX_ATTRIBUTE_VALUE_LENGTH, GelfMapping

__all__ = ["Compression", "GelfEndpoint", "GelfExporterConfig", "Transport"]

_logger = logging.getLogger("otel_ml_logging.export.gelf")

Transport = Literal["udp", "tcp", "tls", "http", "https"]
Compression = Literal["gzip", "zlib", "none"]

DEFAULT_ENDPOINT = "udp://localhost:12201"
MIN_CHUNK_SIZE, MAX_CHUNK_SIZE, DEFAULT_CHUNK_SIZE = 128, 8192, 1420
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_QUEUE_SIZE = 2048
_TRANSPORTS: tuple[Transport, ...] = ("udp", "tcp", "tls", "http", "https")
_COMPRESSIONS: tuple[Compression, ...] = ("gzip", "zlib", "none")

T = TypeVar("T")


class GelfOptions(TypedDict, total=False):
    """Keyword arguments of :meth:`GelfExporterConfig.resolve` besides the endpoint; None: not given."""

    compression: str | None
    compression_threshold: int | None
    chunk_size: int | None
    timeout: float | None
    certificate_file: str | None
    client_certificate_file: str | None
    client_key_file: str | None
    headers: Mapping[str, str] | None
    queue_size: int | None
    mapping: GelfMapping | None


@dataclass(frozen=True)
class GelfEndpoint:
    """A parsed endpoint URL: transport, host, port and (HTTP) the full URL."""

    transport: Transport
    host: str
    port: int
    url: str

    @classmethod
    def parse(cls, raw: str) -> GelfEndpoint:
        """Parse ``udp|tcp|tls://host:port`` or ``http(s)://host[:port][/path]`` (path default ``/gelf``)."""
        parsed = urllib.parse.urlsplit(raw.strip())
        scheme = parsed.scheme.lower()
        if scheme not in _TRANSPORTS:
            raise ValueError(f"{raw!r}: unsupported scheme {parsed.scheme!r} (want udp, tcp, tls, http or https)")
        try:
            port = parsed.port
        except ValueError:
            raise ValueError(f"{raw!r} has an invalid port") from None
        if not parsed.hostname:
            raise ValueError(f"{raw!r} has no host")
        transport: Transport = scheme  # checked against _TRANSPORTS above
        if transport in ("http", "https"):
            path = parsed.path if parsed.path not in ("", "/") else "/gelf"
            port = port or (443 if transport == "https" else 80)
            url = urllib.parse.urlunsplit((transport, parsed.netloc, path, parsed.query, ""))
            return cls(transport, parsed.hostname, port, url)
        if port is None or port == 0:
            raise ValueError(f"{raw!r} must be {transport}://host:port")
        if parsed.path not in ("", "/") or parsed.query or parsed.username:
            raise ValueError(f"{raw!r}: {transport} endpoints take no path, query or user info")
        return cls(transport, parsed.hostname, port, f"{transport}://{parsed.netloc}")


def _int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw)
        if value < low or (high is not None and value > high):
            bound = f"[{low}, {high}]" if high is not None else f">= {low}"
            raise ValueError(f"{value} is out of range {bound}")
        return value

    return parse


def _compression(raw: str) -> Compression:
    value = raw.strip().lower()
    if value not in _COMPRESSIONS:
        raise ValueError(f"{raw!r} is not one of gzip, zlib, none")
    return value  # checked above


def _timeout_ms(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError(f"{raw!r} must be a positive number of milliseconds")
    return value / 1000.0


def _names(raw: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in raw.split(",") if name.strip())


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value not in ("true", "false"):
        raise ValueError(f"{raw!r} is not true or false")
    return value == "true"


def _headers(raw: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for pair in raw.split(","):
        if not pair.strip():
            continue
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{pair.strip()!r} is not key=value")
        headers[urllib.parse.unquote(key.strip())] = urllib.parse.unquote(value.strip())
    return headers


def _patterns(*, exclude: bool) -> Callable[[str], tuple[str, ...]]:
    def parse(raw: str) -> tuple[str, ...]:
        patterns = _names(raw)
        for pattern in patterns:
            if exclude and pattern == "*":
                raise ValueError("'*' would drop every attribute")
            if "*" in pattern[:-1]:
                raise ValueError(f"{pattern!r}: `*` is only allowed at the end (prefix match)")
        return patterns

    return parse


class _Resolver:
    """Explicit argument → environment variable → default, with the error policy of the module docstring."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def get(self, explicit: T | None, variable: str, parse: Callable[[str], T], default: T) -> T:
        """Return ``explicit``, else the parsed variable, else ``default`` (warning once on a bad value)."""
        if explicit is not None:
            return explicit
        raw = self._environ.get(variable, "").strip()
        if not raw:
            return default
        try:
            return parse(raw)
        except ValueError as error:
            _logger.warning("%s=%r is invalid (%s); using the default %r", variable, raw, error, default)
            return default


@dataclass(frozen=True)
class GelfExporterConfig:
    """Every setting of :class:`~otel_ml_logging.export.gelf.GelfLogRecordExporter`, resolved."""

    endpoint: GelfEndpoint = field(default_factory=lambda: GelfEndpoint.parse(DEFAULT_ENDPOINT))
    compression: Compression = "gzip"
    compression_threshold: int = DEFAULT_CHUNK_SIZE
    chunk_size: int = DEFAULT_CHUNK_SIZE
    timeout: float = DEFAULT_TIMEOUT_S
    certificate_file: str | None = None
    client_certificate_file: str | None = None
    client_key_file: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    queue_size: int = DEFAULT_QUEUE_SIZE
    mapping: GelfMapping = field(default_factory=GelfMapping)

    @classmethod
    def resolve(
        cls,
        endpoint: str | None = None,
        *,
        compression: str | None = None,
        compression_threshold: int | None = None,
        chunk_size: int | None = None,
        timeout: float | None = None,
        certificate_file: str | None = None,
        client_certificate_file: str | None = None,
        client_key_file: str | None = None,
        headers: Mapping[str, str] | None = None,
        queue_size: int | None = None,
        mapping: GelfMapping | None = None,
        environ: Mapping[str, str] = os.environ,
    ) -> GelfExporterConfig:
        """Resolve every setting (``timeout`` in seconds here, milliseconds in the environment)."""
        explicit = _check_explicit(endpoint, compression, compression_threshold, chunk_size, timeout, queue_size)
        r = _Resolver(environ)
        return cls(
            endpoint=r.get(
                explicit.endpoint,
                env.OTEL_EXPORTER_GELF_ENDPOINT,
                GelfEndpoint.parse,
                GelfEndpoint.parse(DEFAULT_ENDPOINT),
            ),
            compression=r.get(explicit.compression, env.OTEL_EXPORTER_GELF_COMPRESSION, _compression, "gzip"),
            compression_threshold=r.get(
                compression_threshold, env.OTEL_EXPORTER_GELF_COMPRESSION_THRESHOLD, _int_in(0), DEFAULT_CHUNK_SIZE
            ),
            chunk_size=r.get(
                chunk_size,
                env.OTEL_EXPORTER_GELF_CHUNK_SIZE,
                _int_in(MIN_CHUNK_SIZE, MAX_CHUNK_SIZE),
                DEFAULT_CHUNK_SIZE,
            ),
            timeout=r.get(timeout, env.OTEL_EXPORTER_GELF_TIMEOUT, _timeout_ms, DEFAULT_TIMEOUT_S),
            certificate_file=r.get(certificate_file, env.OTEL_EXPORTER_GELF_CERTIFICATE, str, None),
            client_certificate_file=r.get(
                client_certificate_file, env.OTEL_EXPORTER_GELF_CLIENT_CERTIFICATE, str, None
            ),
            client_key_file=r.get(client_key_file, env.OTEL_EXPORTER_GELF_CLIENT_KEY, str, None),
            headers=r.get(headers, env.OTEL_EXPORTER_GELF_HEADERS, _headers, {}),
            queue_size=r.get(queue_size, env.OTEL_EXPORTER_GELF_QUEUE_SIZE, _int_in(1), DEFAULT_QUEUE_SIZE),
            mapping=mapping if mapping is not None else _mapping_from_env(r),
        )


@dataclass(frozen=True)
class _Explicit:
    endpoint: GelfEndpoint | None
    compression: Compression | None


def _check_explicit(
    endpoint: str | None,
    compression: str | None,
    compression_threshold: int | None,
    chunk_size: int | None,
    timeout: float | None,
    queue_size: int | None,
) -> _Explicit:
    """Validate explicit arguments, raising ValueError naming the argument."""
    try:
        parsed_endpoint = GelfEndpoint.parse(endpoint) if endpoint is not None else None
    except ValueError as error:
        raise ValueError(f"endpoint: {error}") from None
    try:
        parsed_compression = _compression(compression) if compression is not None else None
    except ValueError as error:
        raise ValueError(f"compression: {error}") from None
    if chunk_size is not None and not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size: {chunk_size} is out of range [{MIN_CHUNK_SIZE}, {MAX_CHUNK_SIZE}]")
    if compression_threshold is not None and compression_threshold < 0:
        raise ValueError("compression_threshold: must not be negative (0 = compress every message)")
    if timeout is not None and not timeout > 0:
        raise ValueError("timeout: must be a positive number of seconds")
    if queue_size is not None and queue_size < 1:
        raise ValueError("queue_size: must be at least 1")
    return _Explicit(parsed_endpoint, parsed_compression)


def _mapping_from_env(r: _Resolver) -> GelfMapping:
    return GelfMapping(
        host_attributes=r.get(None, env.OTEL_EXPORTER_GELF_HOST_ATTRIBUTES, _names, DEFAULT_HOST_ATTRIBUTES)
        or DEFAULT_HOST_ATTRIBUTES,
        include_attributes=r.get(None, env.OTEL_EXPORTER_GELF_INCLUDE_ATTRIBUTES, _patterns(exclude=False), ()),
        exclude_attributes=r.get(None, env.OTEL_EXPORTER_GELF_EXCLUDE_ATTRIBUTES, _patterns(exclude=True), ()),
        include_resource_attributes=r.get(None, env.OTEL_EXPORTER_GELF_INCLUDE_RESOURCE_ATTRIBUTES, _bool, True),
        max_attribute_value_length=r.get(
            None, env.OTEL_EXPORTER_GELF_MAX_ATTRIBUTE_VALUE_LENGTH, _int_in(0), DEFAULT_MAX_ATTRIBUTE_VALUE_LENGTH
        ),
    )
