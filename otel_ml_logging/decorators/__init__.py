"""The ml-base decorators users list in their rest-model-service configuration."""

from otel_ml_logging.decorators.otel_logging import OTelLoggingDecorator
from otel_ml_logging.decorators.prediction_id import PredictionIDDecorator

__all__ = ["OTelLoggingDecorator", "PredictionIDDecorator"]
