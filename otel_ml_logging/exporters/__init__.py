"""OTLP/HTTP JSON exporters (``OTEL_EXPORTER_OTLP_PROTOCOL=http/json``), encoded with orjson."""

from otel_ml_logging.exporters.otlp_json import OTLPJsonLogRecordExporter, OTLPJsonSpanExporter

__all__ = ["OTLPJsonLogRecordExporter", "OTLPJsonSpanExporter"]
