"""Environment variables read by otel_ml_logging, beyond the standard ``OTEL_*`` ones.

Standard variables (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_PROTOCOL``, ``OTEL_*_EXPORTER``,
``OTEL_PYTHON_LOG_HANDLER_LEVEL`` ...) keep their OpenTelemetry meaning.
"""

from typing import Final

OTEL_ML_LOGGING_HASH_SALT: Final = "OTEL_ML_LOGGING_HASH_SALT"
"""Salt prepended before hashing ``hash_fields`` values (default: no salt)."""

OTEL_ML_LOGGING_QUEUE_SIZE: Final = "OTEL_ML_LOGGING_QUEUE_SIZE"
"""Capacity of the queue of predictions awaiting telemetry (default 32768); beyond it, drops are counted."""

OTEL_ML_LOGGING_SHUTDOWN_TIMEOUT: Final = "OTEL_ML_LOGGING_SHUTDOWN_TIMEOUT"
"""Milliseconds the whole pipeline may take to flush at exit (default 3000); what is left is counted as dropped."""
