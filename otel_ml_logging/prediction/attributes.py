"""Attribute, event and instrument names emitted by otel_ml_logging (see docs/telemetry.md).

OpenTelemetry semantic-convention names come from ``opentelemetry-semantic-conventions``
(``exception.*``, ``error.type``, ``code.function.name``); everything specific to model serving
lives under ``ml.``.
"""

from typing import Final

from opentelemetry.semconv.attributes.code_attributes import CODE_FUNCTION_NAME
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.semconv.attributes.exception_attributes import (
    EXCEPTION_ESCAPED,
    EXCEPTION_MESSAGE,
    EXCEPTION_STACKTRACE,
    EXCEPTION_TYPE,
)

__all__ = [
    "CODE_FUNCTION_NAME",
    "ERROR_TYPE",
    "EXCEPTION_ESCAPED",
    "EXCEPTION_MESSAGE",
    "EXCEPTION_STACKTRACE",
    "EXCEPTION_TYPE",
]

ML_MODEL_NAME: Final = "ml.model.name"
ML_MODEL_VERSION: Final = "ml.model.version"
ML_PREDICTION_ID: Final = "ml.prediction.id"
ML_PREDICTION_STATUS: Final = "ml.prediction.status"
ML_PREDICTION_LATENCY_MS: Final = "ml.prediction.latency_ms"
ML_PREDICTION_INPUT_PREFIX: Final = "ml.prediction.input."
ML_PREDICTION_OUTPUT_PREFIX: Final = "ml.prediction.output."

STATUS_SUCCESS: Final = "success"
STATUS_ERROR: Final = "error"

EVENT_REQUESTED: Final = "ml.prediction.requested"
EVENT_CREATED: Final = "ml.prediction.created"
EVENT_EXCEPTION: Final = "ml.prediction.exception"
SPAN_EVENT_EXCEPTION: Final = "exception"

BODY_REQUESTED: Final = "Prediction requested."
BODY_CREATED: Final = "Prediction created."
BODY_EXCEPTION: Final = "Prediction exception."

METRIC_PREDICTIONS: Final = "ml.predictions"
METRIC_ERRORS: Final = "ml.prediction.errors"
METRIC_DURATION: Final = "ml.prediction.duration"

INSTRUMENTATION_SCOPE: Final = "otel_ml_logging"
