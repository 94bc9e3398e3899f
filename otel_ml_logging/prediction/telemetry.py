"""The telemetry of one prediction, decided once: its span, log records and metric point as plain values.

This is the only place that knows which attributes go where, which records are emitted, what an
exception becomes, and how payload sampling applies (docs/telemetry.md is its contract). The sinks
in :mod:`otel_ml_logging.export` only translate these values: into SDK spans, log records and
metric points (:mod:`~otel_ml_logging.export.sdk_sink`), or into OTLP JSON
(:mod:`~otel_ml_logging.export.json_sink`). No OpenTelemetry SDK object and no I/O here.

Attributes come in groups (model, prediction id, inputs, outputs, outcome, ...) whose keys never
overlap, so a sink can convert a group once and reuse it for the span and the records that share it.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass

from opentelemetry.trace import SpanContext

from otel_ml_logging.prediction import attributes as attr
from otel_ml_logging.prediction.config import LoggingDecoratorConfig
from otel_ml_logging.prediction.facts import PredictionFacts
from otel_ml_logging.prediction.fields import Attributes, AttributeValue, FieldRecorder, truncate

AttributeGroups = tuple[Attributes, ...]


class SharedAttributes(dict[str, AttributeValue]):
    """An attribute group shared by many predictions (a model's name and version, the code function).

    Never changed once built, so a sink may convert it once and reuse the result.
    """


SEVERITY_INFO = 9  # SeverityNumber.INFO
SEVERITY_ERROR = 17  # SeverityNumber.ERROR
_NO_ATTRIBUTES: Attributes = {}


@dataclass(slots=True)
class EventValues:
    """A span event."""

    name: str
    timestamp_ns: int
    attributes: Attributes


@dataclass(slots=True)
class SpanValues:
    """The prediction's span (kind INTERNAL); its ids are those of :class:`PredictionTelemetry`."""

    name: str
    start_ns: int
    end_ns: int
    attributes: AttributeGroups
    events: tuple[EventValues, ...] = ()
    error_description: str | None = None  # status ERROR with this description; None: status UNSET


@dataclass(slots=True)
class RecordValues:
    """One log record of the prediction; it belongs to the prediction's span."""

    event_name: str
    body: str
    severity_number: int
    severity_text: str
    timestamp_ns: int
    attributes: AttributeGroups


@dataclass(slots=True)
class MetricPoint:
    """What one prediction adds to the metrics: a count, a duration, maybe an error."""

    model_name: str
    model_version: str
    status: str
    duration_s: float
    error_type: str | None


@dataclass(slots=True)
class PredictionTelemetry:
    """Everything one prediction emits, as plain values."""

    trace_id: int
    span_id: int
    trace_flags: int
    parent: SpanContext | None
    span: SpanValues | None  # None when the span option is off
    records: list[RecordValues]
    metric: MetricPoint | None  # None when the metrics option is off


def qualified_type_name(error: BaseException) -> str:
    """``module.QualName`` of an exception's type, as the SDK records it (builtins unqualified)."""
    cls = type(error)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


class TelemetryModel:
    """Decides the telemetry of every prediction of one decorated model."""

    def __init__(
        self,
        config: LoggingDecoratorConfig,
        fields: FieldRecorder,
        span_name: str,
        code_function: str,
        on_failure: Callable[[], None],
    ) -> None:
        """Keep what every prediction of this model shares; ``on_failure`` counts a payload that cannot be recorded."""
        self.config = config
        self.span_name = span_name
        self._fields = fields
        self._on_failure = on_failure
        self._code = SharedAttributes({attr.CODE_FUNCTION_NAME: code_function})
        self._requested = "requested" in config.records
        self._created = "created" in config.records
        self._exception = "exception" in config.records
        self._models: dict[tuple[str, str], SharedAttributes] = {}

    def build(self, facts: PredictionFacts) -> PredictionTelemetry:
        """Return the span, records and metric point of one finished prediction."""
        config = self.config
        model_name, model_version = facts.model_name, facts.model_version  # each read once: properties of the scope
        model = self._model_group(model_name, model_version)
        identity: Attributes = {attr.ML_PREDICTION_ID: truncate(facts.prediction_id, config.max_value_length)}
        error = facts.error
        keep_inputs = facts.sampled_payload or error is not None  # a failed prediction always keeps its input
        inputs = self._record_fields(self._fields.inputs, facts.data) if keep_inputs else _NO_ATTRIBUTES
        request: AttributeGroups = (facts.request,) if facts.request else ()
        latency_ms = facts.latency_ms
        records: list[RecordValues] = []
        if self._requested:
            records.append(
                RecordValues(
                    attr.EVENT_REQUESTED,
                    attr.BODY_REQUESTED,
                    SEVERITY_INFO,
                    "INFO",
                    facts.start_ns,
                    (model, identity, inputs, *request),
                )
            )
        events: tuple[EventValues, ...] = ()
        error_description = error_type = None
        if error is None:
            status = attr.STATUS_SUCCESS
            outputs = self._record_fields(self._fields.outputs, facts.result) if facts.sampled_payload else {}
            outcome: Attributes = {attr.ML_PREDICTION_STATUS: status, attr.ML_PREDICTION_LATENCY_MS: latency_ms}
            span_groups: AttributeGroups = (model, identity, inputs, self._code, outputs, outcome, *request)
            if self._created:
                records.append(
                    RecordValues(
                        attr.EVENT_CREATED,
                        attr.BODY_CREATED,
                        SEVERITY_INFO,
                        "INFO",
                        facts.end_ns,
                        (model, identity, outputs, outcome, *request),
                    )
                )
        else:
            status = attr.STATUS_ERROR
            error_type = qualified_type_name(error)
            message = str(error)
            stacktrace = "".join(traceback.format_exception(error))
            outcome = {
                attr.ML_PREDICTION_STATUS: status,
                attr.ML_PREDICTION_LATENCY_MS: latency_ms,
                attr.ERROR_TYPE: error_type,
            }
            span_groups = (model, identity, inputs, self._code, outcome, *request)
            events = (
                EventValues(
                    attr.SPAN_EVENT_EXCEPTION,
                    facts.end_ns,
                    {
                        attr.EXCEPTION_TYPE: error_type,
                        attr.EXCEPTION_MESSAGE: message,
                        attr.EXCEPTION_STACKTRACE: stacktrace,
                        attr.EXCEPTION_ESCAPED: "True",
                    },
                ),
            )
            error_description = f"{error_type}: {message}"
            if self._exception:
                exception: Attributes = {
                    attr.EXCEPTION_TYPE: error_type,
                    attr.EXCEPTION_MESSAGE: truncate(message, config.max_value_length),
                    attr.EXCEPTION_STACKTRACE: stacktrace,
                }
                records.append(
                    RecordValues(
                        attr.EVENT_EXCEPTION,
                        attr.BODY_EXCEPTION,
                        SEVERITY_ERROR,
                        "ERROR",
                        facts.end_ns,
                        (model, identity, inputs, outcome, exception, *request),
                    )
                )
        span = (
            SpanValues(self.span_name, facts.start_ns, facts.end_ns, span_groups, events, error_description)
            if config.span
            else None
        )
        metric = (
            MetricPoint(model_name, model_version, status, latency_ms / 1e3, error_type) if config.metrics else None
        )
        return PredictionTelemetry(
            facts.trace_id, facts.span_id, facts.trace_flags, facts.parent, span, records, metric
        )

    def _model_group(self, name: str, version: str) -> SharedAttributes:
        """Model name and version: one dict per model version, shared by all its predictions."""
        group = self._models.get((name, version))
        if group is None:
            group = SharedAttributes({attr.ML_MODEL_NAME: name, attr.ML_MODEL_VERSION: version})
            if len(self._models) < 64:  # versions are few; a model reporting a new one per call must not grow it
                self._models[(name, version)] = group
        return group

    def _record_fields(self, record: Callable[[object], Attributes], payload: object) -> Attributes:
        """Convert payload fields; a payload that cannot be converted is counted and left out, the rest goes on."""
        try:
            return record(payload)
        except Exception:
            self._on_failure()
            return _NO_ATTRIBUTES


def merged(groups: AttributeGroups) -> Attributes:
    """One attribute dict from disjoint groups (the form SDK spans and log records take)."""
    attributes: Attributes = {}
    for group in groups:
        attributes.update(group)
    return attributes
