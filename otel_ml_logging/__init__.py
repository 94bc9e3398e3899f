r"""OpenTelemetry spans, log records and metrics for every prediction of an ml-base model.

Zero-code, with rest-model-service::

    # rest_config.yaml
    models:
      - class_path: my_package.model.MyModel
        create_endpoint: true
        decorators:
          - class_path: otel_ml_logging.PredictionIDDecorator
          - class_path: otel_ml_logging.OTelLoggingDecorator
            configuration: {input_fields: [age], output_fields: [charges]}

    $ OTEL_SERVICE_NAME=my-model OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4317 \
      REST_CONFIG=rest_config.yaml opentelemetry-instrument uvicorn rest_model_service.main:app

Programmatic::

    import otel_ml_logging
    otel_ml_logging.setup.configure(service_name="my-model", endpoint="http://collector:4317")
    model = otel_ml_logging.OTelLoggingDecorator(input_fields=["age"]).set_model(MyModel())

Environment variables read besides the standard ``OTEL_*`` ones:
``OTEL_ML_LOGGING_HASH_SALT``, ``OTEL_ML_LOGGING_QUEUE_SIZE``, ``OTEL_ML_LOGGING_SHUTDOWN_TIMEOUT``
and ``NODE_IP`` (``host.ip``)
(see :mod:`otel_ml_logging.environment_variables`).
"""

from otel_ml_logging.decorators.otel_logging import OTelLoggingDecorator
from otel_ml_logging.decorators.prediction_id import PredictionIDDecorator
from otel_ml_logging.pipeline.delivery import DeliveryStats, SignalDelivery, delivery_stats
from otel_ml_logging.prediction.config import ConfigurationError, LoggingDecoratorConfig
from otel_ml_logging.prediction.request_attributes import current_request_attributes, request_attributes
from otel_ml_logging.prediction.scope import PredictionScope, current_prediction
from otel_ml_logging.setup.configure import configure, instrument_app
from otel_ml_logging.version import __version__

__all__ = [
    "ConfigurationError",
    "DeliveryStats",
    "LoggingDecoratorConfig",
    "OTelLoggingDecorator",
    "PredictionIDDecorator",
    "PredictionScope",
    "SignalDelivery",
    "__version__",
    "configure",
    "current_prediction",
    "current_request_attributes",
    "delivery_stats",
    "instrument_app",
    "request_attributes",
]
