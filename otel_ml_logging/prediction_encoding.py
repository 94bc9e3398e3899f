"""One prediction's facts → its OTLP JSON span and log records (the fast path's pure part).

Produces exactly what the SDK path produces for the same prediction: the same attributes in the
same places, the same ids, timestamps and exception event (tests compare the two through the
real collector). No I/O here.
"""

from __future__ import annotations

import time
import traceback

from otel_ml_logging import attributes as attr
from otel_ml_logging.config import LoggingDecoratorConfig
from otel_ml_logging.deferred import PredictionFacts
from otel_ml_logging.exporters.json_encoding import JsonObject, key_values
from otel_ml_logging.fields import FieldRecorder, truncate

_SEVERITY_INFO, _SEVERITY_ERROR = 9, 17
_SPAN_KIND_INTERNAL = 1
_STATUS_ERROR = 2
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200


def qualified_type_name(error: BaseException) -> str:
    """``module.QualName`` of an exception's type, as the SDK records it (builtins unqualified)."""
    cls = type(error)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


class PredictionEncoder:
    """Encodes the telemetry of predictions of one decorated model."""

    def __init__(
        self, config: LoggingDecoratorConfig, fields: FieldRecorder, span_name: str, code_function: str
    ) -> None:
        """Keep what every prediction of this model shares."""
        self._config = config
        self._fields = fields
        self._span_name = span_name
        self._code_function = {"key": "code.function.name", "value": {"stringValue": code_function}}
        self._records = frozenset(config.records)
        self._model_kvs: dict[tuple[str, str], list[JsonObject]] = {}

    def _base_key_values(self, facts: PredictionFacts) -> list[JsonObject]:
        """Model name and version (encoded once per model) and the prediction id."""
        model = (facts.model_name, facts.model_version)
        model_kvs = self._model_kvs.get(model)
        if model_kvs is None:
            model_kvs = self._model_kvs[model] = key_values(
                {attr.ML_MODEL_NAME: facts.model_name, attr.ML_MODEL_VERSION: facts.model_version}
            )
        prediction_id = truncate(facts.prediction_id, self._config.max_value_length)
        return [*model_kvs, {"key": attr.ML_PREDICTION_ID, "value": {"stringValue": prediction_id}}]

    def encode(self, facts: PredictionFacts, span_sampled: bool) -> tuple[JsonObject | None, list[JsonObject]]:
        """Return the span (None when not sampled or disabled) and the log records of a prediction."""
        prefix_in, prefix_out = attr.ML_PREDICTION_INPUT_PREFIX, attr.ML_PREDICTION_OUTPUT_PREFIX
        base = self._base_key_values(facts)
        observed = time.time_ns()
        keep_payload = facts.sampled_payload or facts.error is not None
        inputs = self._fields.input_key_values(facts.data, prefix_in) if keep_payload else []
        trace_id, span_id = f"{facts.trace_id:032x}", f"{facts.span_id:016x}"
        records: list[JsonObject] = []
        if "requested" in self._records:
            records.append(
                _record(
                    facts.requested_ns,
                    observed,
                    _SEVERITY_INFO,
                    "INFO",
                    attr.BODY_REQUESTED,
                    attr.EVENT_REQUESTED,
                    base + inputs,
                    trace_id,
                    span_id,
                )
            )
        events: list[JsonObject] = []
        status: JsonObject = {}
        if facts.error is None:
            outputs = self._fields.output_key_values(facts.result, prefix_out) if facts.sampled_payload else []
            outcome = key_values(
                {attr.ML_PREDICTION_STATUS: attr.STATUS_SUCCESS, attr.ML_PREDICTION_LATENCY_MS: facts.latency_ms}
            )
            span_tail = outputs + outcome
            if "created" in self._records:
                records.append(
                    _record(
                        facts.end_ns,
                        observed,
                        _SEVERITY_INFO,
                        "INFO",
                        attr.BODY_CREATED,
                        attr.EVENT_CREATED,
                        base + outputs + outcome,
                        trace_id,
                        span_id,
                    )
                )
        else:
            error = facts.error
            error_type = qualified_type_name(error)
            message = str(error)
            stacktrace = "".join(traceback.format_exception(error))
            outcome = key_values(
                {
                    attr.ML_PREDICTION_STATUS: attr.STATUS_ERROR,
                    attr.ML_PREDICTION_LATENCY_MS: facts.latency_ms,
                    "error.type": error_type,
                }
            )
            span_tail = inputs + outcome
            events.append(
                {
                    "name": "exception",
                    "timeUnixNano": str(facts.end_ns),
                    "attributes": key_values(
                        {
                            "exception.type": error_type,
                            "exception.message": message,
                            "exception.stacktrace": stacktrace,
                            "exception.escaped": "True",
                        }
                    ),
                }
            )
            status = {"code": _STATUS_ERROR, "message": f"{error_type}: {message}"}
            if "exception" in self._records:
                exception = key_values(
                    {
                        "exception.type": error_type,
                        "exception.message": truncate(message, self._config.max_value_length),
                        "exception.stacktrace": stacktrace,
                    }
                )
                records.append(
                    _record(
                        facts.end_ns,
                        observed,
                        _SEVERITY_ERROR,
                        "ERROR",
                        attr.BODY_EXCEPTION,
                        attr.EVENT_EXCEPTION,
                        base + inputs + outcome + exception,
                        trace_id,
                        span_id,
                    )
                )
        if not (span_sampled and self._config.span):
            return None, records
        span: JsonObject = {
            "traceId": trace_id,
            "spanId": span_id,
            "name": self._span_name,
            "kind": _SPAN_KIND_INTERNAL,
            "startTimeUnixNano": str(facts.start_ns),
            "endTimeUnixNano": str(facts.end_ns),
            "attributes": _merge(base + inputs + [self._code_function], span_tail),
            "flags": 1 | _HAS_IS_REMOTE | (_IS_REMOTE if facts.parent is not None and facts.parent.is_remote else 0),
            "status": status,
        }
        if facts.parent is not None:
            span["parentSpanId"] = f"{facts.parent.span_id:016x}"
        if events:
            span["events"] = events
        return span, records


def _merge(first: list[JsonObject], later: list[JsonObject]) -> list[JsonObject]:
    """Attributes set later replace earlier ones with the same key, as span.set_attributes does."""
    if not later:
        return first
    replaced = {kv["key"] for kv in later}
    return [kv for kv in first if kv["key"] not in replaced] + later


def _record(
    timestamp: int,
    observed: int,
    severity_number: int,
    severity_text: str,
    body: str,
    event_name: str,
    attributes: list[JsonObject],
    trace_id: str,
    span_id: str,
) -> JsonObject:
    return {
        "timeUnixNano": str(timestamp),
        "observedTimeUnixNano": str(observed),
        "severityNumber": severity_number,
        "severityText": severity_text,
        "body": {"stringValue": body},
        "eventName": event_name,
        "attributes": attributes,
        "traceId": trace_id,
        "spanId": span_id,
        "flags": 1,
    }
