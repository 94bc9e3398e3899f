"""SageMaker serving: ``GET /ping`` and ``POST /invocations`` for the model of a rest-model-service YAML.

::

    REST_CONFIG=rest_config.yaml opentelemetry-instrument uvicorn otel_ml_logging.sagemaker:app --port 8080

The model is built with its decorators exactly as rest-model-service builds it. Optional sections
of the same YAML::

    sagemaker:
      model: insurance_charges_model     # which model answers /invocations (default: the only one)
    custom_attributes:
      attributes: {tenant: tenant.id}    # X-Amzn-SageMaker-Custom-Attributes key → attribute name

``app`` is built on first access from ``REST_CONFIG`` (default ``rest_config.yaml``).
"""

from __future__ import annotations

from otel_ml_logging.sagemaker.endpoints import create_app, create_app_from_env
from otel_ml_logging.serving.lazy_app import lazy_app

__all__ = ["app", "create_app", "create_app_from_env"]

__getattr__ = lazy_app(__name__, create_app_from_env)  # ``app``: built from REST_CONFIG when uvicorn asks for it
