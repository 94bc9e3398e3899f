"""GELF log exporter: OpenTelemetry log records straight to Graylog, for processes where no collector can run.

The record → message mapping is the collector's GELF exporter's (shared test vectors keep them equal).
Select it with ``OTEL_LOGS_EXPORTER=gelf`` under ``opentelemetry-instrument`` or ``otel-ml-logging run``,
or add it to a ``LoggerProvider`` yourself::

    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from otel_ml_logging.export.gelf import GelfLogRecordExporter

    exporter = GelfLogRecordExporter("tcp://graylog:12201")
    provider = LoggerProvider()
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    ...
    provider.shutdown()
    print(exporter.delivery().report())

Environment variables (explicit arguments win): ``OTEL_EXPORTER_GELF_ENDPOINT``, ``_COMPRESSION``,
``_COMPRESSION_THRESHOLD``, ``_CHUNK_SIZE``, ``_TIMEOUT``, ``_CERTIFICATE``, ``_CLIENT_CERTIFICATE``,
``_CLIENT_KEY``, ``_HEADERS``, ``_QUEUE_SIZE``, ``_HOST_ATTRIBUTES``, ``_INCLUDE_ATTRIBUTES``,
``_EXCLUDE_ATTRIBUTES``, ``_INCLUDE_RESOURCE_ATTRIBUTES``, ``_MAX_ATTRIBUTE_VALUE_LENGTH``
(:mod:`otel_ml_logging.export.gelf.environment_variables`).
"""

from otel_ml_logging.export.gelf.config import GelfEndpoint, GelfExporterConfig
from otel_ml_logging.export.gelf.encode import GelfEncoder, GelfMapping, encode_gelf, to_gelf
from otel_ml_logging.export.gelf.exporter import GelfDelivery, GelfLogRecordExporter

__all__ = [
    "GelfDelivery",
    "GelfEncoder",
    "GelfEndpoint",
    "GelfExporterConfig",
    "GelfLogRecordExporter",
    "GelfMapping",
    "encode_gelf",
    "to_gelf",
]
