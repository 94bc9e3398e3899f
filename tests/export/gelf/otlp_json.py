"""OTLP JSON (``{"resourceLogs": [...]}``) → the SDK's ReadableLogRecords, through a real LoggerProvider.

The shared GELF vectors describe their input as OTLP JSON, which the Go test reads with pdata. Here
each record is emitted through the SDK (so attributes are cleaned exactly as in a service) and caught
by an in-memory exporter. Vector files may hold invalid UTF-8 bytes inside strings: they are read with
``surrogateescape``, so each such byte becomes the lone surrogate a Python program would hold for it.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource


def read_json(path: Path) -> Any:
    """Parse a JSON file whose strings may hold invalid UTF-8 (kept as surrogate escapes)."""
    return json.loads(path.read_bytes().decode("utf-8", "surrogateescape"))


def any_value(value: dict[str, Any]) -> Any:
    """One OTLP JSON ``AnyValue`` as the Python value the SDK takes."""
    if not value:
        return None
    ((kind, inner),) = value.items()
    if kind == "stringValue":
        return inner
    if kind == "boolValue":
        return bool(inner)
    if kind == "intValue":
        return int(inner)
    if kind == "doubleValue":
        return float(inner)  # also "NaN", "Infinity", "-Infinity"
    if kind == "bytesValue":
        return base64.b64decode(inner)
    if kind == "arrayValue":
        return [any_value(v) for v in inner.get("values", [])]
    if kind == "kvlistValue":
        return key_values(inner.get("values", []))
    raise ValueError(f"unknown AnyValue kind {kind!r}")


def key_values(items: list[dict[str, Any]]) -> dict[str, Any]:
    """OTLP JSON ``KeyValue`` list → dict (order kept)."""
    return {item["key"]: any_value(item.get("value", {})) for item in items}


def _record(raw: dict[str, Any]) -> LogRecord:
    trace_id = int(raw.get("traceId") or "0", 16)
    span_id = int(raw.get("spanId") or "0", 16)
    return LogRecord(
        timestamp=int(raw.get("timeUnixNano", 0)) or None,
        observed_timestamp=int(raw.get("observedTimeUnixNano", 0)) or None,
        trace_id=trace_id or None,
        span_id=span_id or None,
        severity_number=SeverityNumber(raw.get("severityNumber", 0)),
        severity_text=raw.get("severityText"),
        body=any_value(raw["body"]) if "body" in raw else None,
        attributes=key_values(raw.get("attributes", [])),
        event_name=raw.get("eventName"),
    )


def readable_records(request: dict[str, Any]) -> list[ReadableLogRecord]:
    """Every record of an OTLP JSON logs request, in order, as the SDK hands them to exporters."""
    out: list[ReadableLogRecord] = []
    for resource_logs in request.get("resourceLogs", []):
        resource = Resource(key_values(resource_logs.get("resource", {}).get("attributes", [])))
        exporter = InMemoryLogRecordExporter()
        provider = LoggerProvider(resource=resource)
        provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
        for scope_logs in resource_logs.get("scopeLogs", []):
            logger = provider.get_logger(scope_logs.get("scope", {}).get("name", "vectors"))
            for raw in scope_logs.get("logRecords", []):
                logger.emit(_record(raw))
        out += exporter.get_finished_logs()
        provider.shutdown()
    return out
