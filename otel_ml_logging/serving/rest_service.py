"""rest-model-service's app with the custom-attributes header handling, zero code.

Run it as::

    REST_CONFIG=rest_config.yaml opentelemetry-instrument uvicorn otel_ml_logging.serving.rest_service:app

The same app as ``rest_model_service.main:app`` (same YAML, same endpoints), wrapped in
:class:`~otel_ml_logging.serving.custom_attributes.CustomAttributesMiddleware` configured by the
YAML's optional ``custom_attributes:`` section (``header``, ``response_header``, ``attributes``).
"""

from __future__ import annotations

import os

from otel_ml_logging.serving.custom_attributes import CustomAttributesConfig, CustomAttributesMiddleware
from otel_ml_logging.serving.lazy_app import lazy_app
from otel_ml_logging.serving.rest_config import RestConfigError, read_rest_config


def create_app_from_env() -> CustomAttributesMiddleware:
    """Build rest-model-service's app from ``REST_CONFIG`` and wrap it."""
    path = os.environ.get("REST_CONFIG", "rest_config.yaml")
    document = read_rest_config(path)
    try:
        config = CustomAttributesConfig.from_mapping(document.get("custom_attributes"))
    except ValueError as error:
        raise RestConfigError(f"{path}: {error}") from None
    from rest_model_service.main import app as rest_app  # builds the app from REST_CONFIG, as uvicorn would

    return CustomAttributesMiddleware(rest_app, config)


__getattr__ = lazy_app(__name__, create_app_from_env)  # ``app``: built when uvicorn first asks for it
