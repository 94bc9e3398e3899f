"""Capture a server's stdout and stderr as OpenTelemetry log records, without ever slowing it.

``otel-ml-logging run -- gunicorn app:app`` starts the command with its stdout and stderr on
pipes (its own children inherit them). Reader threads drain the pipes at once, echo every byte
to our own stdout/stderr and hand complete lines to a bounded buffer; when the buffer is full,
lines are dropped and counted, never waited for. An exporter thread groups lines (a Python
traceback, with the log line that announced it, is one record), parses them (JSON objects into
attributes, level words into severities) and sends them. Signals are passed on to the child and
its exit code is ours. At exit the rest is sent within a bounded time and one line on stderr
reports what was captured, delivered, failed, dropped and left unsent.

Configured by ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_LOGS_EXPORTER``
(``otlp``, ``console``, ``none``, or any installed log exporter) and
``OTEL_EXPORTER_OTLP_[LOGS_]{ENDPOINT,PROTOCOL,HEADERS,TIMEOUT,COMPRESSION}``; with the
``http/json`` protocol records are encoded directly (the fastest route).
"""

from otel_ml_logging.capture.lines import LineGrouper, ParsedEntry, level_of, parse_entry
from otel_ml_logging.capture.pipeline import CaptureCounts
from otel_ml_logging.capture.runner import exit_code, run_captured
from otel_ml_logging.capture.settings import CaptureConfigurationError, CaptureSettings

__all__ = [
    "CaptureConfigurationError",
    "CaptureCounts",
    "CaptureSettings",
    "LineGrouper",
    "ParsedEntry",
    "exit_code",
    "level_of",
    "parse_entry",
    "run_captured",
]
