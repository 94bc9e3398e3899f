"""Environment variables of the GELF exporter (constants only; defaults in :mod:`.config`)."""

from typing import Final

OTEL_EXPORTER_GELF_ENDPOINT: Final = "OTEL_EXPORTER_GELF_ENDPOINT"
"""``udp://host:port`` (default ``udp://localhost:12201``), ``tcp://``, ``tls://``, ``http://host:port[/path]``, ``https://``."""

OTEL_EXPORTER_GELF_COMPRESSION: Final = "OTEL_EXPORTER_GELF_COMPRESSION"
"""UDP payload compression: ``gzip`` (default), ``zlib`` or ``none``. TCP/TLS frames are never compressed."""

OTEL_EXPORTER_GELF_COMPRESSION_THRESHOLD: Final = "OTEL_EXPORTER_GELF_COMPRESSION_THRESHOLD"
"""UDP messages shorter than this many bytes are sent uncompressed (default 1420; 0 compresses all)."""

OTEL_EXPORTER_GELF_CHUNK_SIZE: Final = "OTEL_EXPORTER_GELF_CHUNK_SIZE"
"""UDP datagram size in bytes, chunk header included: 128..8192 (default 1420). At most 128 chunks per message."""

OTEL_EXPORTER_GELF_TIMEOUT: Final = "OTEL_EXPORTER_GELF_TIMEOUT"
"""Milliseconds for one connect, write or HTTP request, and for the final flush at shutdown (default 10000)."""

OTEL_EXPORTER_GELF_CERTIFICATE: Final = "OTEL_EXPORTER_GELF_CERTIFICATE"
"""CA certificate file (PEM) trusted for ``tls://`` and ``https://`` (default: the system's)."""

OTEL_EXPORTER_GELF_CLIENT_CERTIFICATE: Final = "OTEL_EXPORTER_GELF_CLIENT_CERTIFICATE"
"""Client certificate file (PEM) for mutual TLS."""

OTEL_EXPORTER_GELF_CLIENT_KEY: Final = "OTEL_EXPORTER_GELF_CLIENT_KEY"
"""Private key file (PEM) of the client certificate."""

OTEL_EXPORTER_GELF_HEADERS: Final = "OTEL_EXPORTER_GELF_HEADERS"
"""HTTP(S) request headers as ``key=value`` pairs separated by commas."""

OTEL_EXPORTER_GELF_QUEUE_SIZE: Final = "OTEL_EXPORTER_GELF_QUEUE_SIZE"
"""Encoded messages waiting for the sender thread (default 2048); beyond it records are dropped and counted."""

OTEL_EXPORTER_GELF_HOST_ATTRIBUTES: Final = "OTEL_EXPORTER_GELF_HOST_ATTRIBUTES"
"""Comma-separated resource attributes tried for ``host`` (default ``host.name,service.instance.id,service.name``)."""

OTEL_EXPORTER_GELF_INCLUDE_ATTRIBUTES: Final = "OTEL_EXPORTER_GELF_INCLUDE_ATTRIBUTES"
"""Comma-separated attribute names (or ``prefix*``) to keep; empty keeps all."""

OTEL_EXPORTER_GELF_EXCLUDE_ATTRIBUTES: Final = "OTEL_EXPORTER_GELF_EXCLUDE_ATTRIBUTES"
"""Comma-separated attribute names (or ``prefix*``) to drop."""

OTEL_EXPORTER_GELF_INCLUDE_RESOURCE_ATTRIBUTES: Final = "OTEL_EXPORTER_GELF_INCLUDE_RESOURCE_ATTRIBUTES"
"""``true`` (default) or ``false``: resource attributes as additional fields."""

OTEL_EXPORTER_GELF_MAX_ATTRIBUTE_VALUE_LENGTH: Final = "OTEL_EXPORTER_GELF_MAX_ATTRIBUTE_VALUE_LENGTH"
"""String field values are cut to this many UTF-8 bytes (default 32766; 0 = no limit)."""
