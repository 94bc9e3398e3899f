"""Telemetry values → OTLP JSON spans and log records (the fast path), handed to the JSON batches.

When traces and logs go by OTLP/HTTP JSON, prediction spans and records never become SDK objects:
this sink writes the protocol's JSON mapping straight from
:class:`~otel_ml_logging.prediction.telemetry.PredictionTelemetry` (ids in hex, 64-bit integers and
times as strings) and decides nothing about their content. The SDK's sampler is applied here, since
no SDK span is started. ``tests/plugin/export/test_sinks.py`` holds it to what the SDK sink produces.
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry.sdk.trace.sampling import ALWAYS_ON, DEFAULT_ON, Sampler
from opentelemetry.trace import SpanKind

from otel_ml_logging.export.json_batches import JsonBatches
from otel_ml_logging.export.json_encoding import JsonObject, any_value, encode_event
from otel_ml_logging.export.metrics import MetricRecorder
from otel_ml_logging.prediction.fields import Attributes
from otel_ml_logging.prediction.telemetry import (
    AttributeGroups,
    PredictionTelemetry,
    RecordValues,
    SharedAttributes,
    SpanValues,
)

_SPAN_KIND_INTERNAL = 1
_STATUS_ERROR = 2
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200


def plain_key_values(attributes: Attributes) -> list[JsonObject]:
    """Attributes (str, bool, int, float values) as OTLP JSON ``KeyValue`` objects, by the value's exact type."""
    encoded: list[JsonObject] = []
    for key, value in attributes.items():
        kind = type(value)
        if kind is str:
            encoded.append({"key": key, "value": {"stringValue": value}})
        elif kind is float:
            encoded.append({"key": key, "value": {"doubleValue": value}})
        elif kind is int:
            encoded.append({"key": key, "value": {"intValue": str(value)}})
        else:  # bool, or a subclass of the above
            encoded.append({"key": key, "value": any_value(value)})
    return encoded


class JsonSink:
    """Encodes predictions' spans and records and adds them to the JSON batches; records metrics."""

    def __init__(self, batches: JsonBatches, metrics: MetricRecorder | None, sampler: Sampler | None = None) -> None:
        """``sampler``: the tracer provider's; root predictions' spans are sampled by it."""
        self._batches = batches
        self._metrics = metrics
        self._sampler = None if sampler is None or sampler is DEFAULT_ON or sampler is ALWAYS_ON else sampler
        self._shared: dict[int, list[JsonObject]] = {}  # converted SharedAttributes, by id
        self._alive: list[SharedAttributes] = []

    def emit(self, telemetry: PredictionTelemetry) -> None:
        """Encode the prediction's span (when sampled) and records; add them to the next batch."""
        span, records = self.encode(telemetry)
        self._batches.add(span, records)
        if self._metrics is not None and telemetry.metric is not None:
            self._metrics.add(telemetry.metric)

    def flush_metrics(self) -> None:
        """Add the counts gathered since the last call (called once per batch by the engine)."""
        if self._metrics is not None:
            self._metrics.flush()

    def encode(self, telemetry: PredictionTelemetry) -> tuple[JsonObject | None, list[JsonObject]]:
        """Return the OTLP JSON span (None when disabled or not sampled) and log records of one prediction."""
        converted = self._shared.copy()  # and the groups the span and the records share: converted once
        trace_id, span_id = f"{telemetry.trace_id:032x}", f"{telemetry.span_id:016x}"
        observed = time.time_ns()
        records = [
            self._record(record, self._key_values(record.attributes, converted), observed, trace_id, span_id, telemetry)
            for record in telemetry.records
        ]
        values = telemetry.span
        if values is None or not self._sampled(telemetry, values):
            return None, records
        return self._span(values, self._key_values(values.attributes, converted), trace_id, span_id, telemetry), records

    def _sampled(self, telemetry: PredictionTelemetry, values: SpanValues) -> bool:
        if telemetry.parent is not None:
            return bool(telemetry.parent.trace_flags.sampled)
        if self._sampler is None:
            return True
        decision = self._sampler.should_sample(None, telemetry.trace_id, values.name, SpanKind.INTERNAL)
        return bool(decision.decision.is_sampled())  # type: ignore[no-untyped-call]

    def _key_values(self, groups: AttributeGroups, converted: dict[int, list[JsonObject]]) -> list[JsonObject]:
        result: list[JsonObject] = []
        for group in groups:
            if group:
                kvs = converted.get(id(group))
                if kvs is None:
                    kvs = converted[id(group)] = plain_key_values(group)
                    if type(group) is SharedAttributes and len(self._shared) < 256:
                        self._shared[id(group)] = kvs  # a model's or the code's group: converted once for all
                        self._alive.append(group)  # its id stays its own while it is remembered
                result += kvs
        return result

    @staticmethod
    def _span(
        values: SpanValues, attributes: list[JsonObject], trace_id: str, span_id: str, telemetry: PredictionTelemetry
    ) -> JsonObject:
        parent = telemetry.parent
        span: JsonObject = {
            "traceId": trace_id,
            "spanId": span_id,
            "name": values.name,
            "kind": _SPAN_KIND_INTERNAL,
            "startTimeUnixNano": str(values.start_ns),
            "endTimeUnixNano": str(values.end_ns),
            "attributes": attributes,
            "flags": telemetry.trace_flags
            | _HAS_IS_REMOTE
            | (_IS_REMOTE if parent is not None and parent.is_remote else 0),
            "status": {}
            if values.error_description is None
            else {"code": _STATUS_ERROR, "message": values.error_description},
        }
        if parent is not None:
            span["parentSpanId"] = f"{parent.span_id:016x}"
            if parent.trace_state:
                span["traceState"] = parent.trace_state.to_header()
        if values.events:
            span["events"] = [encode_event(e.name, e.timestamp_ns, e.attributes) for e in values.events]
        return span

    @staticmethod
    def _record(
        record: RecordValues,
        attributes: list[JsonObject],
        observed: int,
        trace_id: str,
        span_id: str,
        telemetry: PredictionTelemetry,
    ) -> JsonObject:
        encoded: dict[str, Any] = {
            "timeUnixNano": str(record.timestamp_ns),
            "observedTimeUnixNano": str(observed),
            "severityNumber": record.severity_number,
            "severityText": record.severity_text,
            "body": {"stringValue": record.body},
            "eventName": record.event_name,
            "attributes": attributes,
            "traceId": trace_id,
            "spanId": span_id,
            "flags": telemetry.trace_flags,
        }
        return encoded
