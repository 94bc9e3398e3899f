"""``OTelLoggingDecorator``: one span, log records and metrics for every ``predict()``."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from typing import Any

from ml_base.decorator import MLModelDecorator
from opentelemetry import _logs, metrics, trace

from otel_ml_logging.environment_variables import OTEL_ML_LOGGING_HASH_SALT
from otel_ml_logging.pipeline.delivery import TelemetryFailures
from otel_ml_logging.pipeline.paths import PredictionPath, Providers, choose_path, sdk_path
from otel_ml_logging.prediction.config import ConfigurationError, LoggingDecoratorConfig
from otel_ml_logging.prediction.fields import FieldRecorder, schema_field_names
from otel_ml_logging.prediction.log_records import install_log_record_factory
from otel_ml_logging.prediction.scope import PREDICTION_ID_FIELD
from otel_ml_logging.prediction.telemetry import TelemetryModel
from otel_ml_logging.setup.startup_choice import warn_if_ambiguous


class OTelLoggingDecorator(MLModelDecorator):  # type: ignore[misc]
    """Emit an OpenTelemetry span, log records and metrics for each prediction of the wrapped model.

    Configure it in the rest-model-service YAML::

        decorators:
          - class_path: otel_ml_logging.PredictionIDDecorator
          - class_path: otel_ml_logging.OTelLoggingDecorator
            configuration:
              input_fields: [age, sex]
              output_fields: [charges]

    On the first prediction the decorator chooses how its predictions reach the exporters
    (:mod:`otel_ml_logging.pipeline.paths`); all paths produce the same telemetry. Telemetry never
    changes what ``predict()`` returns or raises: a failure of the decorator's own telemetry code is
    counted (:attr:`telemetry_failures`) and logged once.
    """

    def __init__(self, model: Any = None, **configuration: Any) -> None:
        """Validate the options; with a model, check the fields against its schemas too."""
        config = LoggingDecoratorConfig.from_options(configuration)
        super().__init__(None, **configuration)
        state = self.__dict__
        state["_config"] = config
        state["_fields"] = FieldRecorder(config, os.environ.get(OTEL_ML_LOGGING_HASH_SALT, ""))
        state["_failures"] = TelemetryFailures()
        state["_telemetry"] = None
        state["_path"] = None  # chosen on the first prediction, once the process's providers are set up
        install_log_record_factory()
        warn_if_ambiguous()  # once: when neither our distro nor our configurator ran, this is the first chance
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
        failures: TelemetryFailures = self.__dict__["_failures"]
        return failures.count

    def set_model(self, model: Any) -> OTelLoggingDecorator:
        """Wrap ``model``; fails with a ConfigurationError when a configured field is not in its schemas."""
        self._check_fields(model)
        super().set_model(model)
        innermost = model
        while isinstance(innermost, MLModelDecorator) and innermost.__dict__.get("_model") is not None:
            innermost = innermost.__dict__["_model"]  # other decorators in between: name the model's own code
        predict = type(innermost).predict
        state = self.__dict__
        state["_telemetry"] = TelemetryModel(
            self.config,
            state["_fields"],
            f"predict {model.qualified_name}",
            f"{predict.__module__}.{predict.__qualname__}",
            state["_failures"],
        )
        self._swap_path(None)
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
        """Predict with the wrapped model, emitting its span, records and metrics.

        The first call chooses the path; from then on ``predict`` is the path's request step itself
        (an instance attribute, which takes precedence over this method): no extra call per prediction.
        """
        path: PredictionPath | None = self.__dict__["_path"]
        if path is None:
            path = self._use_path(choose_path)
        return path.predict(data)

    def use_providers(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        logger_provider: _logs.LoggerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        *,
        queued: bool | None = None,
    ) -> OTelLoggingDecorator:
        """Emit through these SDK providers (None: the global one) instead of the path chosen automatically.

        ``queued``: build the telemetry on the background engine (needs a tracer provider with
        ``PresetIdGenerator``), or on the request thread (False); None: the engine when possible.
        """
        self._use_path(
            partial(sdk_path, providers=Providers(tracer_provider, logger_provider, meter_provider), queued=queued)
        )
        return self

    def _swap_path(self, path: PredictionPath | None) -> PredictionPath | None:
        """Route predictions through ``path`` (None: choose again on the next one); return the previous path."""
        state = self.__dict__
        previous: PredictionPath | None = state["_path"]
        state["_path"] = path
        if path is None:
            state.pop("predict", None)  # the class's predict() chooses again
        else:
            state["predict"] = path.predict
        return previous

    def _use_path(self, build: Callable[[Any, TelemetryModel, TelemetryFailures], PredictionPath]) -> PredictionPath:
        state = self.__dict__
        if state["_model"] is None:
            raise ValueError("OTelLoggingDecorator.predict() called before a model was set")
        path = build(state["_model"], state["_telemetry"], state["_failures"])
        self._swap_path(path)
        return path

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until the telemetry of every prediction made so far has been handed to the exporters."""
        path: PredictionPath | None = self.__dict__["_path"]
        return True if path is None else path.flush(timeout)
