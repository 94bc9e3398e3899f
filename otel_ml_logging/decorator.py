"""``OTelLoggingDecorator``: one span, log records and metrics for every ``predict()``."""

from __future__ import annotations

import logging
import os
import random
import time
import traceback
from collections.abc import Callable
from typing import Any

from ml_base.decorator import MLModelDecorator
from opentelemetry import _logs, context, trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from otel_ml_logging import attributes as attr
from otel_ml_logging.config import ConfigurationError, LoggingDecoratorConfig
from otel_ml_logging.environment_variables import OTEL_ML_LOGGING_HASH_SALT
from otel_ml_logging.fields import AttributeValue, FieldRecorder, schema_field_names, truncate
from otel_ml_logging.instruments import PredictionInstruments
from otel_ml_logging.log_context import install_log_record_factory
from otel_ml_logging.prediction_context import PREDICTION_ID_FIELD, PredictionScope, prediction_scope
from otel_ml_logging.version import __version__

_logger = logging.getLogger(__name__)
Attributes = dict[str, AttributeValue]


class OTelLoggingDecorator(MLModelDecorator):  # type: ignore[misc]
    """Emit an OpenTelemetry span, log records and metrics for each prediction of the wrapped model.

    Configure it in the rest-model-service YAML::

        decorators:
          - class_path: otel_ml_logging.PredictionIDDecorator
          - class_path: otel_ml_logging.OTelLoggingDecorator
            configuration:
              input_fields: [age, sex]
              output_fields: [charges]

    Telemetry never changes what ``predict()`` returns or raises: a failure inside the
    decorator's own telemetry code is logged once and counted, never propagated.
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
        predict = type(model).predict
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
        """Predict with the wrapped model inside a span, emitting records and metrics around it."""
        model = self.__dict__["_model"]
        if model is None:
            raise ValueError("OTelLoggingDecorator.predict() called before a model was set")
        with prediction_scope(data, model.qualified_name, model.version) as scope:
            return self._predict_in_scope(model, data, scope)

    def _predict_in_scope(self, model: Any, data: Any, scope: PredictionScope) -> Any:
        config = self.config
        fields: FieldRecorder = self.__dict__["_fields"]
        base: Attributes = {
            attr.ML_MODEL_NAME: scope.model_name,
            attr.ML_MODEL_VERSION: scope.model_version,
            attr.ML_PREDICTION_ID: truncate(scope.prediction_id, config.max_value_length),
        }
        sampled = config.payload_sample_rate >= 1.0 or random.random() < config.payload_sample_rate
        inputs: Attributes = (
            self._guard({}, fields.input_attributes, data, attr.ML_PREDICTION_INPUT_PREFIX) if sampled else {}
        )
        start_ns = time.time_ns()
        started = time.perf_counter_ns()
        span = self._guard(None, self._start_span, base, inputs, start_ns)
        token = context.attach(trace.set_span_in_context(span)) if span is not None else None
        try:
            if "requested" in config.records:
                self._guard(None, self._emit, attr.EVENT_REQUESTED, attr.BODY_REQUESTED, {**base, **inputs})
            try:
                result = model.predict(data=data)
            except Exception as error:
                latency_ms = (time.perf_counter_ns() - started) / 1e6
                self._guard(None, self._on_error, span, base, inputs, data, sampled, error, latency_ms)
                raise
            latency_ms = (time.perf_counter_ns() - started) / 1e6
            self._guard(None, self._on_success, span, base, result, sampled, latency_ms)
            return result
        finally:
            if token is not None:
                context.detach(token)
            if span is not None:
                span.end(start_ns + (time.perf_counter_ns() - started))

    def _start_span(self, base: Attributes, inputs: Attributes, start_ns: int) -> Span | None:
        if not self.config.span:
            return None
        tracer: trace.Tracer = self.__dict__["_tracer"]
        return tracer.start_span(
            self.__dict__["_span_name"],
            kind=SpanKind.INTERNAL,
            attributes={**base, **inputs, "code.function.name": self.__dict__["_code_function"]},
            start_time=start_ns,
        )

    def _on_success(self, span: Span | None, base: Attributes, result: Any, sampled: bool, latency_ms: float) -> None:
        fields: FieldRecorder = self.__dict__["_fields"]
        outputs = fields.output_attributes(result, attr.ML_PREDICTION_OUTPUT_PREFIX) if sampled else {}
        outcome: Attributes = {
            attr.ML_PREDICTION_STATUS: attr.STATUS_SUCCESS,
            attr.ML_PREDICTION_LATENCY_MS: latency_ms,
        }
        if span is not None:
            span.set_attributes({**outputs, **outcome})
        if "created" in self.config.records:
            self._emit(attr.EVENT_CREATED, attr.BODY_CREATED, {**base, **outputs, **outcome})
        self._record_metrics(base, attr.STATUS_SUCCESS, latency_ms, None)

    def _on_error(
        self,
        span: Span | None,
        base: Attributes,
        inputs: Attributes,
        data: Any,
        sampled: bool,
        error: Exception,
        latency_ms: float,
    ) -> None:
        if not sampled:  # errors always keep their payload
            fields: FieldRecorder = self.__dict__["_fields"]
            inputs = fields.input_attributes(data, attr.ML_PREDICTION_INPUT_PREFIX)
        error_type = _qualified_type_name(error)
        outcome: Attributes = {
            attr.ML_PREDICTION_STATUS: attr.STATUS_ERROR,
            attr.ML_PREDICTION_LATENCY_MS: latency_ms,
            "error.type": error_type,
        }
        if span is not None:
            span.set_attributes({**inputs, **outcome})
            span.record_exception(error, escaped=True)
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
                SeverityNumber.ERROR,
            )
        self._record_metrics(base, attr.STATUS_ERROR, latency_ms, error_type)

    def _emit(
        self, event_name: str, body: str, attributes: Attributes, severity: SeverityNumber = SeverityNumber.INFO
    ) -> None:
        otel_logger: _logs.Logger = self.__dict__["_otel_logger"]
        otel_logger.emit(
            timestamp=time.time_ns(),
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
        labels = {
            attr.ML_MODEL_NAME: base[attr.ML_MODEL_NAME],
            attr.ML_MODEL_VERSION: base[attr.ML_MODEL_VERSION],
            attr.ML_PREDICTION_STATUS: status,
        }
        instruments.predictions.add(1, labels)
        instruments.duration.record(latency_ms / 1e3, labels)
        if error_type is not None:
            error_labels = {**labels, "error.type": error_type}
            del error_labels[attr.ML_PREDICTION_STATUS]
            instruments.errors.add(1, error_labels)

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


def _qualified_type_name(error: BaseException) -> str:
    cls = type(error)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
