"""The programmatic path: :func:`configure` the SDK and :func:`instrument_app` a FastAPI app yourself."""

from __future__ import annotations

from typing import Any

from otel_ml_logging.pipeline.delivery import DeliveryStats, delivery_stats
from otel_ml_logging.setup.providers import initialize_sdk
from otel_ml_logging.setup.settings import Settings


def configure(
    *,
    service_name: str | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    resource_attributes: dict[str, str] | None = None,
    exporter: str | None = None,
    instrument_logging: bool = True,
) -> DeliveryStats:
    """Set up traces, metrics and logs export for this process, once.

    Each explicit argument takes precedence over its ``OTEL_*`` variable, which takes precedence
    over the default: ``service_name`` → ``OTEL_SERVICE_NAME``; ``endpoint`` →
    ``OTEL_EXPORTER_OTLP_ENDPOINT``; ``protocol`` (``grpc`` | ``http/protobuf`` | ``http/json``) →
    ``OTEL_EXPORTER_OTLP_PROTOCOL`` (``http/json``: the fast path); ``exporter`` (``otlp`` |
    ``console`` | ``none``) → ``OTEL_{TRACES,METRICS,LOGS}_EXPORTER``. ``resource_attributes`` are
    merged over ``OTEL_RESOURCE_ATTRIBUTES``. Nothing is written to ``os.environ``. With
    ``instrument_logging`` stdlib logging is bridged to OpenTelemetry log records (level:
    ``OTEL_PYTHON_LOG_HANDLER_LEVEL``).

    Returns the delivery counters of the pipeline; a second call changes nothing.
    """
    settings = Settings.resolve(
        service_name=service_name,
        endpoint=endpoint,
        protocol=protocol,
        exporter=exporter,
        resource_attributes=resource_attributes,
    )
    if initialize_sdk(settings) and instrument_logging:
        from opentelemetry.instrumentation.logging import LoggingInstrumentor

        LoggingInstrumentor().instrument()
    return delivery_stats()


def instrument_app(app: Any, *, custom_attributes: Any = None) -> Any:
    """Instrument a FastAPI app you built yourself (request spans, context propagation).

    With ``custom_attributes`` (a :class:`~otel_ml_logging.serving.custom_attributes.CustomAttributesConfig`,
    or a mapping with its options ``header``, ``response_header``, ``attributes``) the app is also
    wrapped in the custom-attributes middleware and the wrapper is returned: serve that one.
    """
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app)
    if custom_attributes is None:
        return app
    from otel_ml_logging.serving.custom_attributes import CustomAttributesConfig, CustomAttributesMiddleware

    config = (
        custom_attributes
        if isinstance(custom_attributes, CustomAttributesConfig)
        else CustomAttributesConfig.from_mapping(custom_attributes)
    )
    return CustomAttributesMiddleware(app, config)
