"""GELF log exporter: OpenTelemetry log records straight to Graylog, for processes where no collector can run."""

from otel_ml_logging.export.gelf.encode import GelfEncoder, GelfMapping, encode_gelf, to_gelf

__all__ = ["GelfEncoder", "GelfMapping", "encode_gelf", "to_gelf"]
