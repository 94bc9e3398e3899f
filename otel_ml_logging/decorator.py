"""``OTelLoggingDecorator``: one span, log records and metrics for every ``predict()``."""

from __future__ import annotations

import logging
import os
import random
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ml_base.decorator import MLModelDecorator
from opentelemetry import _logs, context, trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, DEFAULT_ON, Sampler
from opentelemetry.trace import (
    DEFAULT_TRACE_STATE,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)

from otel_ml_logging import attributes as attr
from otel_ml_logging.config import ConfigurationError, LoggingDecoratorConfig
from otel_ml_logging.current_context import SPAN_KEY, attach, detach, get_current
from otel_ml_logging.deferred import DeferredEmitter, PredictionFacts, RequestFacts, shared_emitter
from otel_ml_logging.direct_export import DirectPredictionExporter
from otel_ml_logging.environment_variables import OTEL_ML_LOGGING_HASH_SALT
from otel_ml_logging.fields import AttributeValue, FieldRecorder, schema_field_names, truncate
from otel_ml_logging.ids import PresetIdGenerator, new_span_id, new_trace_id
from otel_ml_logging.instruments import PredictionInstruments
from otel_ml_logging.log_context import install_log_record_factory
from otel_ml_logging.prediction_context import (
    PREDICTION_ID_FIELD,
    PREDICTION_KEY,
    PredictionScope,
    enter_prediction,
    exit_prediction,
)
from otel_ml_logging.prediction_encoding import PredictionEncoder, qualified_type_name
from otel_ml_logging.sdk_setup import direct_exporter
from otel_ml_logging.version import __version__

_logger = logging.getLogger(__name__)
Attributes = dict[str, AttributeValue]
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_METRIC_LABEL_KEYS = (attr.ML_MODEL_NAME, attr.ML_MODEL_VERSION, attr.ML_PREDICTION_STATUS)
_SPAN_ID_MASK = (1 << 64) - 1
_UUID_MASK = (1 << 128) - 1
_time_ns = time.time_ns
_perf_ns = time.perf_counter_ns
_getrandbits = random.getrandbits
_new_tuple = tuple.__new__
_new_object = object.__new__


class OTelLoggingDecorator(MLModelDecorator):  # type: ignore[misc]
    """Emit an OpenTelemetry span, log records and metrics for each prediction of the wrapped model.

    Configure it in the rest-model-service YAML::

        decorators:
          - class_path: otel_ml_logging.PredictionIDDecorator
          - class_path: otel_ml_logging.OTelLoggingDecorator
            configuration:
              input_fields: [age, sex]
              output_fields: [charges]

    When the SDK was set up by this package (distro or :func:`otel_ml_logging.configure`), the
    request thread only records the facts of a prediction and a background thread builds the
    telemetry (the *deferred* path); with any other tracer provider the span and records are
    built inline. Both produce the same telemetry. Telemetry never changes what ``predict()``
    returns or raises: a failure of the decorator's own telemetry code is counted and logged once.
    """

    def __init__(self, model: Any = None, **configuration: Any) -> None:
        """Validate the options; with a model, check the fields against its schemas too."""
        config = LoggingDecoratorConfig.from_options(configuration)
        super().__init__(None, **configuration)
        state = self.__dict__
        state["_config"] = config
        state["_fields"] = FieldRecorder(config, os.environ.get(OTEL_ML_LOGGING_HASH_SALT, ""))
        state["_tracer"] = trace.get_tracer(attr.INSTRUMENTATION_SCOPE, __version__)
        state["_otel_logger"] = _logs.get_logger(attr.INSTRUMENTATION_SCOPE, __version__)
        state["_instruments"] = PredictionInstruments() if config.metrics else None
        state["_telemetry_failures"] = 0
        state["_deferred"] = None  # decided on the first prediction, once providers are set up
        state["_metric_counts"] = {}
        state["_metric_label_cache"] = {}
        install_log_record_factory()
        if model is not None:
            self.set_model(model)

    @property
    def config(self) -> LoggingDecoratorConfig:
        """The validated options."""
        config: LoggingDecoratorConfig = self.__dict__["_config"]
        return config

    @property
    def telemetry_failures(self) -> int:
        """How many times the decorator's own telemetry code failed (and was skipped)."""
        failures: int = self.__dict__["_telemetry_failures"]
        return failures

    def set_model(self, model: Any) -> OTelLoggingDecorator:
        """Wrap ``model``; fails with a ConfigurationError when a configured field is not in its schemas."""
        self._check_fields(model)
        super().set_model(model)
        state = self.__dict__
        state["_span_name"] = f"predict {model.qualified_name}"
        innermost = model
        while isinstance(innermost, MLModelDecorator) and innermost.__dict__.get("_model") is not None:
            innermost = innermost.__dict__["_model"]  # other decorators in between: name the model's own code
        predict = type(innermost).predict
        state["_code_function"] = f"{predict.__module__}.{predict.__qualname__}"
        return self

    def _check_fields(self, model: Any) -> None:
        config = self.config
        for option, schema_property, configured in (
            ("input_fields", "input_schema", config.input_fields),
            ("output_fields", "output_schema", config.output_fields),
        ):
            valid = schema_field_names(getattr(model, schema_property))
            if PREDICTION_ID_FIELD not in valid:
                valid.append(PREDICTION_ID_FIELD)  # PredictionIDDecorator may add it on either side
            unknown = [name for name in configured if name not in valid]
            if unknown:
                raise ConfigurationError(
                    f"OTelLoggingDecorator configuration: {option} names unknown field(s) "
                    f"{', '.join(repr(n) for n in unknown)} for model '{model.qualified_name}'; "
                    f"valid names: {', '.join(valid)}"
                )

    def predict(self, data: Any) -> Any:
        """Predict with the wrapped model, emitting its span, records and metrics."""
        # The deferred path is written out here, in the fewest steps: it is the request thread's
        # whole share of the telemetry, and when requests are not back to back every step is paid
        # with cold caches (bench/README.md). One context switch makes the prediction's span and
        # scope current; the facts are handed over as one tuple.
        state = self.__dict__
        model, route = state["_model"], state["_deferred"]
        if route is None:
            if model is None:
                raise ValueError("OTelLoggingDecorator.predict() called before a model was set")
            route = state["_deferred"] = self._choose_path()
        if route is False:
            return self._predict_inline(model, data)
        current = get_current()
        bits = _getrandbits(320)  # span id, prediction id, and the trace id of a root span
        span_id = bits & _SPAN_ID_MASK or new_span_id()
        scope = current.get(PREDICTION_KEY)
        if scope is None:
            scope = _new_tuple(PredictionScope, (None, data, (bits >> 64) & _UUID_MASK, model))
        parent_span: Span | None = current.get(SPAN_KEY)  # type: ignore[assignment]
        parent = parent_span.get_span_context() if parent_span is not None else None
        if parent is not None and parent.is_valid:
            ids = (parent.trace_id, span_id, False, parent.trace_flags, parent.trace_state, True)
        else:
            parent, ids = None, (bits >> 192 or new_trace_id(), span_id, False, _SAMPLED, DEFAULT_TRACE_STATE, True)
        span_context = _new_tuple(SpanContext, ids)  # what SpanContext(*ids[:5]) builds, minus its checks
        span = _new_object(PredictionSpan)  # PredictionSpan(span_context), minus a Python-level __init__
        span._context = span_context
        token = attach(Context({**current, SPAN_KEY: span, PREDICTION_KEY: scope}))
        result = error = None
        start_ns = _time_ns()  # one clock, as the SDK's spans: the span's duration is the latency
        try:
            result = model.predict(data=data)
            return result
        except Exception as raised:
            error = raised
            raise
        finally:
            end_ns = _time_ns()
            detach(token)
            route.submit(route.emit, (scope, parent, span_context, start_ns, end_ns, data, result, error))

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until the telemetry of every prediction made so far has been handed to the SDK."""
        route = self.__dict__["_deferred"]
        if not route:
            return True
        flushed = bool(route.emitter.flush(timeout))
        return flushed and (route.exporter is None or route.exporter.wait_sent(timeout))

    def _choose_path(self) -> _Route | bool:
        """Direct (http/json set up by us), deferred (our id generator), or inline (anything else)."""
        provider = trace.get_tracer_provider()
        exporter = direct_exporter()
        rate = self.config.payload_sample_rate
        if exporter is not None:
            state = self.__dict__
            encoder = PredictionEncoder(self.config, state["_fields"], state["_span_name"], state["_code_function"])
            emitter = shared_emitter()
            emitter.add_drain_hook(self._flush_metric_counts)
            sampler = getattr(provider, "sampler", None)
            return _Route(emitter, self._emit_direct, rate, None, encoder, exporter, sampler)
        id_generator = getattr(provider, "id_generator", None)
        if isinstance(id_generator, PresetIdGenerator):
            return _Route(shared_emitter(), self._emit_deferred, rate, id_generator, None, None, None)
        return False

    # --- deferred path: facts now (in predict), telemetry on the emitter thread --------------------

    def _emit_deferred(self, facts: RequestFacts) -> None:
        """Build the span, records and metrics of a finished prediction (runs on the emitter thread)."""
        route: _Route = self.__dict__["_deferred"]
        self._guard(None, self._build_deferred, PredictionFacts.from_request(facts, route.payload_sample_rate))

    def _emit_direct(self, facts: RequestFacts) -> None:
        """Encode a finished prediction straight to OTLP JSON (runs on the emitter thread)."""
        route: _Route = self.__dict__["_deferred"]
        self._guard(None, self._build_direct, PredictionFacts.from_request(facts, route.payload_sample_rate))

    def _build_direct(self, facts: PredictionFacts) -> None:
        route: _Route = self.__dict__["_deferred"]
        assert route.encoder is not None
        assert route.exporter is not None
        if facts.parent is not None:
            sampled = facts.parent.trace_flags.sampled
        elif route.sampler is None or route.sampler is DEFAULT_ON or route.sampler is ALWAYS_ON:
            sampled = True
        else:
            decision = route.sampler.should_sample(None, facts.trace_id, self.__dict__["_span_name"], SpanKind.INTERNAL)
            sampled = decision.decision.is_sampled()  # type: ignore[no-untyped-call]
        span, records = route.encoder.encode(facts, sampled)
        route.exporter.add(span, records)
        self._count_prediction(facts)

    def _build_deferred(self, facts: PredictionFacts) -> None:
        route: _Route = self.__dict__["_deferred"]
        id_generator = route.id_generator
        assert id_generator is not None
        config = self.config
        base = self._base_attributes(facts.model_name, facts.model_version, facts.prediction_id)
        inputs = self._inputs(facts.data) if facts.sampled_payload or facts.error is not None else {}
        parent_context = (
            trace.set_span_in_context(NonRecordingSpan(facts.parent)) if facts.parent is not None else context.Context()
        )
        span: Span | None = None
        if config.span:
            id_generator.preset(facts.trace_id, facts.span_id)
            try:
                span = self._start_span(base, inputs, facts.start_ns, parent_context)
            finally:
                id_generator.clear()
        span_context = trace.set_span_in_context(
            span
            if span is not None and span.get_span_context().span_id == facts.span_id
            else NonRecordingSpan(SpanContext(facts.trace_id, facts.span_id, False, _SAMPLED))
        )
        try:
            if "requested" in config.records:
                self._emit(
                    attr.EVENT_REQUESTED, attr.BODY_REQUESTED, {**base, **inputs}, facts.requested_ns, span_context
                )
            if facts.error is None:
                self._finish_success(
                    span, base, facts.result, facts.sampled_payload, facts.latency_ms, span_context, facts.end_ns
                )
            else:
                self._finish_error(span, base, inputs, facts.error, facts.latency_ms, span_context, facts.end_ns)
        finally:
            if span is not None:
                span.end(facts.end_ns)

    # --- inline path: a foreign tracer provider, whose span ids we cannot choose ------------------------

    def _predict_inline(self, model: Any, data: Any) -> Any:
        scope, token = enter_prediction(data, model)
        try:
            return self._predict_inline_scoped(model, data, scope)
        finally:
            exit_prediction(token)

    def _predict_inline_scoped(self, model: Any, data: Any, scope: PredictionScope) -> Any:
        config = self.config
        base = self._base_attributes(scope.model_name, scope.model_version, scope.prediction_id)
        sampled = config.payload_sample_rate >= 1.0 or random.random() < config.payload_sample_rate
        inputs: Attributes = self._guard({}, self._inputs, data) if sampled else {}
        start_ns = _time_ns()
        started = _perf_ns()
        span = self._guard(None, self._start_span, base, inputs, start_ns, None) if config.span else None
        token = context.attach(trace.set_span_in_context(span)) if span is not None else None
        try:
            if "requested" in config.records:
                self._guard(None, self._emit, attr.EVENT_REQUESTED, attr.BODY_REQUESTED, {**base, **inputs}, None, None)
            try:
                result = model.predict(data=data)
            except Exception as error:
                latency_ms = (_perf_ns() - started) / 1e6
                if not sampled:  # errors always keep their payload
                    inputs = self._guard({}, self._inputs, data)
                self._guard(None, self._finish_error, span, base, inputs, error, latency_ms, None)
                raise
            latency_ms = (_perf_ns() - started) / 1e6
            self._guard(None, self._finish_success, span, base, result, sampled, latency_ms, None)
            return result
        finally:
            if token is not None:
                context.detach(token)
            if span is not None:
                span.end(start_ns + (_perf_ns() - started))

    # --- the telemetry itself, shared by both paths -----------------------------------------------

    def _base_attributes(self, model_name: str, model_version: str, prediction_id: str) -> Attributes:
        return {
            attr.ML_MODEL_NAME: model_name,
            attr.ML_MODEL_VERSION: model_version,
            attr.ML_PREDICTION_ID: truncate(prediction_id, self.config.max_value_length),
        }

    def _inputs(self, data: Any) -> Attributes:
        fields: FieldRecorder = self.__dict__["_fields"]
        return fields.input_attributes(data, attr.ML_PREDICTION_INPUT_PREFIX)

    def _start_span(
        self, base: Attributes, inputs: Attributes, start_ns: int, parent: context.Context | None
    ) -> Span | None:
        tracer: trace.Tracer = self.__dict__["_tracer"]
        return tracer.start_span(
            self.__dict__["_span_name"],
            context=parent,
            kind=SpanKind.INTERNAL,
            attributes={**base, **inputs, "code.function.name": self.__dict__["_code_function"]},
            start_time=start_ns,
        )

    def _finish_success(
        self,
        span: Span | None,
        base: Attributes,
        result: Any,
        sampled: bool,
        latency_ms: float,
        span_context: context.Context | None,
        timestamp: int | None = None,
    ) -> None:
        fields: FieldRecorder = self.__dict__["_fields"]
        outputs = fields.output_attributes(result, attr.ML_PREDICTION_OUTPUT_PREFIX) if sampled else {}
        outcome: Attributes = {
            attr.ML_PREDICTION_STATUS: attr.STATUS_SUCCESS,
            attr.ML_PREDICTION_LATENCY_MS: latency_ms,
        }
        if span is not None:
            span.set_attributes({**outputs, **outcome})
        if "created" in self.config.records:
            self._emit(attr.EVENT_CREATED, attr.BODY_CREATED, {**base, **outputs, **outcome}, timestamp, span_context)
        self._record_metrics(base, attr.STATUS_SUCCESS, latency_ms, None)

    def _finish_error(
        self,
        span: Span | None,
        base: Attributes,
        inputs: Attributes,
        error: BaseException,
        latency_ms: float,
        span_context: context.Context | None,
        timestamp: int | None = None,
    ) -> None:
        error_type = qualified_type_name(error)
        outcome: Attributes = {
            attr.ML_PREDICTION_STATUS: attr.STATUS_ERROR,
            attr.ML_PREDICTION_LATENCY_MS: latency_ms,
            "error.type": error_type,
        }
        if span is not None:
            span.set_attributes({**inputs, **outcome})
            span.record_exception(error, timestamp=timestamp, escaped=True)
            span.set_status(Status(StatusCode.ERROR, f"{error_type}: {error}"))
        if "exception" in self.config.records:
            exception_attributes: Attributes = {
                "exception.type": error_type,
                "exception.message": truncate(str(error), self.config.max_value_length),
                "exception.stacktrace": "".join(traceback.format_exception(error)),
            }
            self._emit(
                attr.EVENT_EXCEPTION,
                attr.BODY_EXCEPTION,
                {**base, **inputs, **outcome, **exception_attributes},
                timestamp,
                span_context,
                SeverityNumber.ERROR,
            )
        self._record_metrics(base, attr.STATUS_ERROR, latency_ms, error_type)

    def _emit(
        self,
        event_name: str,
        body: str,
        attributes: Attributes,
        timestamp: int | None,
        span_context: context.Context | None,
        severity: SeverityNumber = SeverityNumber.INFO,
    ) -> None:
        otel_logger: _logs.Logger = self.__dict__["_otel_logger"]
        otel_logger.emit(
            timestamp=timestamp or _time_ns(),
            context=span_context,
            severity_number=severity,
            severity_text="ERROR" if severity is SeverityNumber.ERROR else "INFO",
            body=body,
            attributes=attributes,
            event_name=event_name,
        )

    def _record_metrics(self, base: Attributes, status: str, latency_ms: float, error_type: str | None) -> None:
        instruments: PredictionInstruments | None = self.__dict__["_instruments"]
        if instruments is None:
            return
        labels = self._metric_labels(str(base[attr.ML_MODEL_NAME]), str(base[attr.ML_MODEL_VERSION]), status)
        instruments.duration.record(latency_ms / 1e3, labels)
        instruments.predictions.add(1, labels)
        if error_type is not None:
            instruments.errors.add(1, _error_labels(labels, error_type))

    def _count_prediction(self, facts: PredictionFacts) -> None:
        """Record the latency now; add the counts once per drained batch (see _flush_metric_counts)."""
        instruments: PredictionInstruments | None = self.__dict__["_instruments"]
        if instruments is None:
            return
        error_type = qualified_type_name(facts.error) if facts.error is not None else None
        status = attr.STATUS_SUCCESS if error_type is None else attr.STATUS_ERROR
        instruments.duration.record(
            facts.latency_ms / 1e3, self._metric_labels(facts.model_name, facts.model_version, status)
        )
        counts: dict[tuple[Any, ...], int] = self.__dict__["_metric_counts"]
        count_key = (facts.model_name, facts.model_version, status, error_type)
        counts[count_key] = counts.get(count_key, 0) + 1

    def _metric_labels(self, model_name: str, model_version: str, status: str) -> dict[str, AttributeValue]:
        """Return the metric attributes of a model version and status (built once, then reused)."""
        cache: dict[tuple[str, str, str], dict[str, AttributeValue]] = self.__dict__["_metric_label_cache"]
        key = (model_name, model_version, status)
        labels = cache.get(key)
        if labels is None:
            labels = cache[key] = dict(zip(_METRIC_LABEL_KEYS, key, strict=True))
        return labels

    def _flush_metric_counts(self) -> None:
        """Add the counts accumulated by the direct path to the counters (emitter thread)."""
        instruments: PredictionInstruments | None = self.__dict__["_instruments"]
        counts: dict[tuple[Any, ...], int] = self.__dict__["_metric_counts"]
        if instruments is None or not counts:
            return
        self.__dict__["_metric_counts"] = {}
        for (model_name, model_version, status, error_type), count in counts.items():
            labels = self._metric_labels(model_name, model_version, status)
            instruments.predictions.add(count, labels)
            if error_type is not None:
                instruments.errors.add(count, _error_labels(labels, error_type))

    def _guard(self, fallback: Any, step: Callable[..., Any], *args: Any) -> Any:
        """Run a telemetry step; a failure is counted and logged once, never raised into predict()."""
        try:
            return step(*args)
        except Exception:
            state = self.__dict__
            state["_telemetry_failures"] += 1
            if state["_telemetry_failures"] == 1:
                _logger.warning("otel_ml_logging: telemetry step failed; predictions go on", exc_info=True)
            return fallback


def _error_labels(labels: dict[str, AttributeValue], error_type: str) -> dict[str, AttributeValue]:
    error_labels = {**labels, "error.type": error_type}
    del error_labels[attr.ML_PREDICTION_STATUS]
    return error_labels


class PredictionSpan(NonRecordingSpan):
    """The prediction's span as the request thread sees it: its ids, for child spans and log lines.

    The recorded span is built later, off the request thread, with the same ids.
    """

    __slots__ = ("_context",)


@dataclass
class _Route:
    """How predictions of a decorator reach the exporters off the request thread."""

    emitter: DeferredEmitter
    emit: Callable[[RequestFacts], None]
    payload_sample_rate: float
    id_generator: PresetIdGenerator | None
    encoder: PredictionEncoder | None
    exporter: DirectPredictionExporter | None
    sampler: Sampler | None
    submit: Callable[[Callable[[RequestFacts], None], RequestFacts], bool] = field(init=False)

    def __post_init__(self) -> None:
        """Bind the emitter's submit once: the request thread calls it for every prediction."""
        self.submit = self.emitter.submit
