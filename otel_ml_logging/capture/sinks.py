"""Where captured entries go: OTLP/HTTP JSON straight from the entries, or any SDK log exporter.

:class:`JsonSink` encodes entries with orjson (a few microseconds each), which is what keeps up
with a child printing as fast as it can. :class:`ExporterSink` builds SDK log records for any
``opentelemetry_logs_exporter`` (grpc, http/protobuf, console), at tens of microseconds each.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

import orjson
from opentelemetry._logs import LogRecord
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import TraceFlags

from otel_ml_logging.capture.lines import ParsedEntry, stream_attributes
from otel_ml_logging.export.http_client import OTLPHttpClient
from otel_ml_logging.export.json_encoding import key_values, log_record_json
from otel_ml_logging.export.otlp_json import client_from_env

SCOPE_NAME = "otel_ml_logging.capture"


class Entry(NamedTuple):
    """A parsed entry and when it was read (ns since the epoch)."""

    parsed: ParsedEntry
    time_ns: int


class Sink(Protocol):
    """Sends entries; never raises."""

    def send(self, entries: Sequence[Entry]) -> bool:
        """Deliver ``entries``; True when the receiver accepted them."""

    def shutdown(self) -> None:
        """Stop retrying and release connections."""


class JsonSink:
    """OTLP/HTTP JSON requests built directly from the entries."""

    def __init__(self, resource: Resource, version: str, client: OTLPHttpClient | None = None) -> None:
        """Post to ``client`` (default: from ``OTEL_EXPORTER_OTLP_LOGS_*`` / ``OTEL_EXPORTER_OTLP_*``)."""
        self._client = client or client_from_env("LOGS", "/v1/logs", os.environ)
        self._resource = {"attributes": key_values(resource.attributes)}
        self._scope = {"name": SCOPE_NAME, "version": version}

    def send(self, entries: Sequence[Entry]) -> bool:
        """Encode and post one request."""
        records = [_json_record(entry) for entry in entries]
        body = {
            "resourceLogs": [{"resource": self._resource, "scopeLogs": [{"scope": self._scope, "logRecords": records}]}]
        }
        return self._client.post(orjson.dumps(body))

    def shutdown(self) -> None:
        """Stop retrying."""
        self._client.shutdown()


_ENCODED_STREAM_ATTRIBUTES = {id(shared): key_values(shared) for shared in map(stream_attributes, ("stdout", "stderr"))}


def _json_record(entry: Entry) -> dict[str, Any]:
    parsed = entry.parsed
    attributes = parsed.attributes
    return log_record_json(
        entry.time_ns,
        entry.time_ns,
        _ENCODED_STREAM_ATTRIBUTES.get(id(attributes)) or key_values(attributes),
        severity_number=parsed.severity_number.value,
        severity_text=parsed.severity_text,
        body={"stringValue": parsed.body},
        trace_id=parsed.trace_id or 0,
        span_id=(parsed.span_id or 0) if parsed.trace_id else 0,
    )


class ExporterSink:
    """SDK log records handed to an SDK ``LogRecordExporter``."""

    def __init__(self, exporter: LogRecordExporter, resource: Resource, version: str) -> None:
        """Export through ``exporter``."""
        self._exporter = exporter
        self._resource = resource
        self._scope = InstrumentationScope(SCOPE_NAME, version)

    def send(self, entries: Sequence[Entry]) -> bool:
        """Build the records and export them."""
        records = [ReadableLogRecord(_sdk_record(entry), self._resource, self._scope) for entry in entries]
        try:
            return self._exporter.export(records) is LogRecordExportResult.SUCCESS
        except Exception:  # an exporter must not raise; if one does, the batch counts as failed
            return False

    def shutdown(self) -> None:
        """Shut the exporter down."""
        self._exporter.shutdown()  # type: ignore[no-untyped-call]


def _sdk_record(entry: Entry) -> LogRecord:
    parsed = entry.parsed
    ids: Mapping[str, Any] = (
        {"trace_id": parsed.trace_id, "span_id": parsed.span_id, "trace_flags": TraceFlags(TraceFlags.SAMPLED)}
        if parsed.trace_id
        else {}
    )
    return LogRecord(
        timestamp=entry.time_ns,
        observed_timestamp=entry.time_ns,
        severity_number=parsed.severity_number,
        severity_text=parsed.severity_text,
        body=parsed.body,
        attributes=parsed.attributes,
        **ids,
    )
