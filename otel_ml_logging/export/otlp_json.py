"""Span and log record exporters for OTLP/HTTP with the JSON encoding, configured like the SDK's.

Selected with ``OTEL_EXPORTER_OTLP_PROTOCOL=http/json`` (the distro maps it to the exporter
names ``otlp_json`` of the ``opentelemetry_traces_exporter`` / ``opentelemetry_logs_exporter``
entry points). Encoding with orjson costs a few microseconds per item where the protobuf path
costs tens, which is what lets one process deliver every prediction's telemetry at high rates.
"""

from __future__ import annotations

import logging
import os
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_ml_logging.export.http_client import OTLPHttpClient
from otel_ml_logging.export.json_encoding import encode_logs, encode_spans

_logger = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "http://localhost:4318"
DEFAULT_TIMEOUT_SECONDS = 10.0


def _setting(signal: str, name: str, environ: Mapping[str, str]) -> str | None:
    return environ.get(f"OTEL_EXPORTER_OTLP_{signal}_{name}") or environ.get(f"OTEL_EXPORTER_OTLP_{name}")


def parse_headers(raw: str | None, variable: str = "OTEL_EXPORTER_OTLP_HEADERS") -> dict[str, str]:
    """Parse ``name=value,name=value`` as the SDK's exporters do: names lower-cased, both percent-decoded.

    ``Authorization=Bearer%20abc`` gives ``{"authorization": "Bearer abc"}``; values may contain ``=``.
    An entry without ``=`` is ignored with one warning that names its position, never its text
    (it may hold a credential).
    """
    headers: dict[str, str] = {}
    for position, entry in enumerate((raw or "").split(","), start=1):
        if not entry.strip():
            continue
        name, sep, value = entry.partition("=")
        name = urllib.parse.unquote(name).strip().lower()
        if not sep or not name:
            _logger.warning("%s: entry %d is not name=value; ignored (its text is not logged)", variable, position)
            continue
        headers[name] = urllib.parse.unquote(value).strip()
    return headers


def client_from_env(
    signal: str, path: str, environ: Mapping[str, str] = os.environ, **overrides: Any
) -> OTLPHttpClient:
    """Build a client from ``OTEL_EXPORTER_OTLP_{SIGNAL}_*`` / ``OTEL_EXPORTER_OTLP_*`` (explicit overrides win)."""
    signal_endpoint = environ.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")
    url = overrides.pop("endpoint", None) or signal_endpoint
    if url is None:
        url = (environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/") + path
    timeout = overrides.pop("timeout", None) or float(_setting(signal, "TIMEOUT", environ) or DEFAULT_TIMEOUT_SECONDS)
    headers_variable = f"OTEL_EXPORTER_OTLP_{signal}_HEADERS"
    if headers_variable not in environ:
        headers_variable = "OTEL_EXPORTER_OTLP_HEADERS"
    return OTLPHttpClient(
        url,
        headers=overrides.pop("headers", None) or parse_headers(environ.get(headers_variable), headers_variable),
        timeout=timeout,
        compression=overrides.pop("compression", None) or _setting(signal, "COMPRESSION", environ),
        certificate_file=overrides.pop("certificate_file", None) or _setting(signal, "CERTIFICATE", environ),
        client_certificate_file=(
            overrides.pop("client_certificate_file", None) or _setting(signal, "CLIENT_CERTIFICATE", environ)
        ),
        client_key_file=overrides.pop("client_key_file", None) or _setting(signal, "CLIENT_KEY", environ),
        **overrides,
    )


class _OTLPJsonExporter:
    """What both exporters share: the client, the shutdown flag, encode-then-post, nothing buffered."""

    signal = ""  # TRACES | LOGS: which OTEL_EXPORTER_OTLP_<SIGNAL>_* settings apply
    path = ""  # the URL path appended to OTEL_EXPORTER_OTLP_ENDPOINT

    def __init__(self, **overrides: Any) -> None:
        """Configure from the environment; keyword arguments (endpoint, headers, timeout, compression) win."""
        self._client = client_from_env(self.signal, self.path, **overrides)
        self._shutdown = False

    def _send(self, body: Callable[[], Any]) -> bool:
        """Encode with orjson and post; False (never an exception) when encoding or delivery fails."""
        if self._shutdown:
            return False
        try:
            encoded = orjson.dumps(body())
        except (TypeError, ValueError):
            return False
        return self._client.post(encoded)

    def shutdown(self) -> None:
        """Stop; idempotent."""
        self._shutdown = True
        self._client.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered here."""
        return True


class OTLPJsonSpanExporter(_OTLPJsonExporter, SpanExporter):
    """Export spans to ``/v1/traces`` as OTLP JSON."""

    signal, path = "TRACES", "/v1/traces"

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Encode and send; FAILURE (never an exception) when encoding or delivery fails."""
        return SpanExportResult.SUCCESS if self._send(lambda: encode_spans(spans)) else SpanExportResult.FAILURE


class OTLPJsonLogRecordExporter(_OTLPJsonExporter, LogRecordExporter):
    """Export log records to ``/v1/logs`` as OTLP JSON."""

    signal, path = "LOGS", "/v1/logs"

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        """Encode and send; FAILURE (never an exception) when encoding or delivery fails."""
        ok = self._send(lambda: encode_logs(batch))
        return LogRecordExportResult.SUCCESS if ok else LogRecordExportResult.FAILURE
