"""SDK spans and log records → OTLP JSON request bodies (the protocol's JSON mapping).

Pure functions, no I/O: ids are lowercase hex, 64-bit integers and nanosecond times are strings,
enums are integers, attribute values are ``AnyValue`` objects.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanKind, StatusCode

_SPAN_KIND = {
    SpanKind.INTERNAL: 1,
    SpanKind.SERVER: 2,
    SpanKind.CLIENT: 3,
    SpanKind.PRODUCER: 4,
    SpanKind.CONSUMER: 5,
}
_STATUS_CODE = {StatusCode.UNSET: 0, StatusCode.OK: 1, StatusCode.ERROR: 2}
JsonObject = dict[str, Any]


def any_value(value: Any) -> JsonObject:
    """Encode a Python value as an OTLP ``AnyValue``."""
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode()}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": key_values(value)}}
    if isinstance(value, Sequence):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    if value is None:
        return {}
    return {"stringValue": str(value)}


def key_values(attributes: Mapping[str, Any] | None) -> list[JsonObject]:
    """Encode attributes as a list of ``KeyValue``."""
    if not attributes:
        return []
    return [{"key": key, "value": any_value(value)} for key, value in attributes.items()]


def _resource(resource: Resource) -> JsonObject:
    return {"attributes": key_values(resource.attributes)}


def _scope(scope: InstrumentationScope | None) -> JsonObject:
    if scope is None:
        return {}
    encoded: JsonObject = {"name": scope.name}
    if scope.version:
        encoded["version"] = scope.version
    return encoded


@dataclass(frozen=True)
class Signal:
    """The JSON member names of one signal's export request."""

    resource_list: str  # resourceSpans | resourceLogs
    scope_list: str  # scopeSpans | scopeLogs
    items: str  # spans | logRecords


SPANS = Signal("resourceSpans", "scopeSpans", "spans")
LOGS = Signal("resourceLogs", "scopeLogs", "logRecords")


def envelope(
    signal: Signal, resource: JsonObject, schema_url: str, scopes: list[tuple[JsonObject, list[Any]]]
) -> JsonObject:
    """Wrap encoded items of one resource, grouped by scope, into an export request."""
    return {
        signal.resource_list: [
            {
                "resource": resource,
                "schemaUrl": schema_url,
                signal.scope_list: [{"scope": scope, signal.items: items} for scope, items in scopes],
            }
        ]
    }


def _encode_request(signal: Signal, items: Sequence[Any], encode_item: Callable[[Any], JsonObject]) -> JsonObject:
    groups: dict[Resource, dict[Any, list[JsonObject]]] = {}
    for item in items:
        groups.setdefault(item.resource, {}).setdefault(item.instrumentation_scope, []).append(encode_item(item))
    requests = [
        envelope(
            signal, _resource(resource), resource.schema_url, [(_scope(s), encoded) for s, encoded in scopes.items()]
        )
        for resource, scopes in groups.items()
    ]
    return {signal.resource_list: [entry for request in requests for entry in request[signal.resource_list]]}


def encode_spans(spans: Sequence[ReadableSpan]) -> JsonObject:
    """Build an ``ExportTraceServiceRequest`` JSON object."""
    return _encode_request(SPANS, spans, encode_span)


def encode_span(span: ReadableSpan) -> JsonObject:
    """Encode one span."""
    context = span.get_span_context()
    assert context is not None  # a finished SDK span always has one
    encoded: JsonObject = {
        "traceId": f"{context.trace_id:032x}",
        "spanId": f"{context.span_id:016x}",
        "name": span.name,
        "kind": _SPAN_KIND[span.kind],
        "startTimeUnixNano": str(span.start_time),
        "endTimeUnixNano": str(span.end_time),
        "attributes": key_values(span.attributes),
        "flags": int(context.trace_flags) | 0x100 | (0x200 if span.parent is not None and span.parent.is_remote else 0),
    }
    if span.parent is not None:
        encoded["parentSpanId"] = f"{span.parent.span_id:016x}"
    if context.trace_state:
        encoded["traceState"] = context.trace_state.to_header()
    if span.events:
        encoded["events"] = [encode_event(e.name, e.timestamp, e.attributes) for e in span.events]
    if span.links:
        encoded["links"] = [
            {
                "traceId": f"{link.context.trace_id:032x}",
                "spanId": f"{link.context.span_id:016x}",
                "attributes": key_values(link.attributes),
            }
            for link in span.links
        ]
    status: JsonObject = {"code": _STATUS_CODE[span.status.status_code]}
    if span.status.description:
        status["message"] = span.status.description
    encoded["status"] = status
    return encoded


def encode_event(name: str, timestamp_ns: int, attributes: Mapping[str, Any] | None) -> JsonObject:
    """Encode one span event."""
    return {"name": name, "timeUnixNano": str(timestamp_ns), "attributes": key_values(attributes)}


def encode_logs(records: Sequence[ReadableLogRecord]) -> JsonObject:
    """Build an ``ExportLogsServiceRequest`` JSON object."""
    return _encode_request(LOGS, records, encode_log)


def encode_log(readable: ReadableLogRecord) -> JsonObject:
    """Encode one log record."""
    record = readable.log_record
    return log_record_json(
        record.timestamp or 0,
        record.observed_timestamp or 0,
        key_values(record.attributes),
        severity_number=record.severity_number.value if record.severity_number is not None else None,
        severity_text=record.severity_text,
        body=any_value(record.body) if record.body is not None else None,
        event_name=record.event_name,
        trace_id=record.trace_id or 0,
        span_id=record.span_id or 0,
        flags=int(record.trace_flags or 0),
    )


def log_record_json(
    timestamp_ns: int,
    observed_ns: int,
    attributes: list[JsonObject],
    *,
    severity_number: int | None = None,
    severity_text: str | None = None,
    body: JsonObject | None = None,
    event_name: str | None = None,
    trace_id: int = 0,
    span_id: int = 0,
    flags: int | None = None,
) -> JsonObject:
    """One OTLP JSON ``LogRecord`` from its fields (attributes already encoded); empty fields are left out."""
    encoded: JsonObject = {
        "timeUnixNano": str(timestamp_ns),
        "observedTimeUnixNano": str(observed_ns),
        "attributes": attributes,
    }
    if severity_number is not None:
        encoded["severityNumber"] = severity_number
    if severity_text:
        encoded["severityText"] = severity_text
    if body is not None:
        encoded["body"] = body
    if event_name:
        encoded["eventName"] = event_name
    if trace_id:
        encoded["traceId"] = f"{trace_id:032x}"
    if span_id:
        encoded["spanId"] = f"{span_id:016x}"
        if flags is not None:
            encoded["flags"] = flags
    return encoded
