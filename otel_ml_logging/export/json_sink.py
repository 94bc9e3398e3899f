"""Telemetry values → OTLP JSON spans and log records (the fast path), handed to the JSON batches.

When traces and logs go by OTLP/HTTP JSON, prediction spans and records never become SDK objects:
this sink writes the protocol's JSON mapping straight from
:class:`~otel_ml_logging.prediction.telemetry.PredictionTelemetry` (ids in hex, 64-bit integers and
times as strings) and decides nothing about their content. The SDK's sampler is applied here, since
no SDK span is started. ``tests/plugin/export/test_sinks.py`` holds it to what the SDK sink produces.

It writes bytes, not objects: each attribute group is serialized once per prediction (a model's
and the code's groups once for all) and spliced into the span and every record that carries it,
inside envelopes whose constant parts are serialized once (bench/README.md, "Where the CPU goes").
"""

from __future__ import annotations

import time

import orjson
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, DEFAULT_ON, Sampler
from opentelemetry.trace import SpanKind

from otel_ml_logging.export.json_batches import JsonBatches
from otel_ml_logging.export.json_encoding import JsonObject, encode_event
from otel_ml_logging.export.key_values import GroupEncoder
from otel_ml_logging.export.metrics import MetricRecorder
from otel_ml_logging.prediction.telemetry import (
    PredictionTelemetry,
    RecordValues,
    SpanValues,
)

_SPAN_KIND_INTERNAL = 1
_STATUS_ERROR = 2
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200
_MAX_REMEMBERED = 256
_dumps = orjson.dumps


class JsonSink:
    """Encodes predictions' spans and records and adds them to the JSON batches; records metrics."""

    def __init__(self, batches: JsonBatches, metrics: MetricRecorder | None, sampler: Sampler | None = None) -> None:
        """``sampler``: the tracer provider's; root predictions' spans are sampled by it."""
        self._batches = batches
        self._metrics = metrics
        self._sampler = None if sampler is None or sampler is DEFAULT_ON or sampler is ALWAYS_ON else sampler
        self._groups = GroupEncoder(_MAX_REMEMBERED)
        self._record_heads: dict[tuple[int, str, str, str], bytes] = {}
        self._names: dict[str, bytes] = {}

    def emit(self, telemetry: PredictionTelemetry) -> None:
        """Encode the prediction's span (when sampled) and records; add them to the next batch."""
        span, records = self.encode_json(telemetry)
        self._batches.add_json(span, records, len(telemetry.records))
        if self._metrics is not None and telemetry.metric is not None:
            self._metrics.add(telemetry.metric)

    def flush_metrics(self) -> None:
        """Add the counts gathered since the last call (called once per batch by the engine)."""
        if self._metrics is not None:
            self._metrics.flush()

    def encode(self, telemetry: PredictionTelemetry) -> tuple[JsonObject | None, list[JsonObject]]:
        """Return the OTLP JSON span (None when disabled or not sampled) and log records, as objects.

        The objects are :meth:`encode_json`'s bytes read back: what is sent, for tests and tools.
        """
        span, records = self.encode_json(telemetry)
        return (orjson.loads(span) if span is not None else None), orjson.loads(b"[" + records + b"]")

    def encode_json(self, telemetry: PredictionTelemetry) -> tuple[bytes | None, bytes]:
        """Return the span's JSON (None when disabled or not sampled) and the records' JSON, comma-separated."""
        converted = self._groups.prediction_table()  # + this prediction's groups, shared by the span and records
        attributes = self._groups.encode
        ids = b'"traceId":"%032x","spanId":"%016x"' % (telemetry.trace_id, telemetry.span_id)
        tail = b'%s,"flags":%d}' % (ids, telemetry.trace_flags)
        observed = time.time_ns()
        records = b",".join(
            [
                b'{"timeUnixNano":"%d","observedTimeUnixNano":"%d",%s"attributes":[%s],%s'
                % (
                    record.timestamp_ns,
                    observed,
                    self._record_head(record),
                    attributes(record.attributes, converted),
                    tail,
                )
                for record in telemetry.records
            ]
        )
        values = telemetry.span
        if values is None or not self._sampled(telemetry, values):
            return None, records
        return self._span(values, attributes(values.attributes, converted), ids, telemetry), records

    def _sampled(self, telemetry: PredictionTelemetry, values: SpanValues) -> bool:
        if telemetry.parent is not None:
            return bool(telemetry.parent.trace_flags.sampled)
        if self._sampler is None:
            return True
        decision = self._sampler.should_sample(None, telemetry.trace_id, values.name, SpanKind.INTERNAL)
        return bool(decision.decision.is_sampled())  # type: ignore[no-untyped-call]

    def _record_head(self, record: RecordValues) -> bytes:
        """Return the record's constant members (severity, body, event name), serialized once per kind."""
        key = (record.severity_number, record.severity_text, record.body, record.event_name)
        head = self._record_heads.get(key)
        if head is None:
            head = (
                _dumps(
                    {
                        "severityNumber": record.severity_number,
                        "severityText": record.severity_text,
                        "body": {"stringValue": record.body},
                        "eventName": record.event_name,
                    }
                )[1:-1]
                + b","
            )
            if len(self._record_heads) < _MAX_REMEMBERED:
                self._record_heads[key] = head
        return head

    def _span(self, values: SpanValues, attributes: bytes, ids: bytes, telemetry: PredictionTelemetry) -> bytes:
        parent = telemetry.parent
        flags = telemetry.trace_flags | _HAS_IS_REMOTE | (_IS_REMOTE if parent is not None and parent.is_remote else 0)
        status = (
            b"{}"
            if values.error_description is None
            else _dumps({"code": _STATUS_ERROR, "message": values.error_description})
        )
        optional = b""
        if parent is not None:
            optional += b',"parentSpanId":"%016x"' % parent.span_id
            if parent.trace_state:
                optional += b',"traceState":' + _dumps(parent.trace_state.to_header())
        if values.events:
            optional += b',"events":' + _dumps(
                [encode_event(e.name, e.timestamp_ns, e.attributes) for e in values.events]
            )
        name = self._names.get(values.name)
        if name is None:
            name = _dumps(values.name)
            if len(self._names) < _MAX_REMEMBERED:
                self._names[values.name] = name
        return (
            b'{%s,"name":%s,"kind":%d,"startTimeUnixNano":"%d","endTimeUnixNano":"%d","attributes":[%s],"flags":%d,"status":%s%s}'
            % (
                ids,
                name,
                _SPAN_KIND_INTERNAL,
                values.start_ns,
                values.end_ns,
                attributes,
                flags,
                status,
                optional,
            )
        )
