"""Capture settings, resolved once: command-line options, then ``OTEL_*`` variables, then defaults."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points

from opentelemetry.sdk._logs.export import LogRecordExporter
from opentelemetry.sdk.resources import Resource

from otel_ml_logging.capture.sinks import ExporterSink, JsonSink, Sink

_logger = logging.getLogger(__name__)

DEFAULT_MAX_LINES = 1_000_000
DEFAULT_MAX_BYTES = 256 << 20
DEFAULT_SHUTDOWN_TIMEOUT = 10.0
DEFAULT_BATCH_SIZE = 2048
VALID_PROTOCOLS = ("grpc", "http/protobuf", "http/json")
_OTLP_ENTRY_POINTS = {"grpc": "otlp_proto_grpc", "http/protobuf": "otlp_proto_http"}


class CaptureConfigurationError(ValueError):
    """A capture setting is invalid; the message names it."""


@dataclass(frozen=True)
class CaptureSettings:
    """Everything the capture needs, decided before the child starts."""

    exporter: str
    protocol: str
    max_lines: int = DEFAULT_MAX_LINES
    max_bytes: int = DEFAULT_MAX_BYTES
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT
    batch_size: int = DEFAULT_BATCH_SIZE
    echo: bool = True

    @classmethod
    def resolve(
        cls,
        environ: Mapping[str, str] = os.environ,
        *,
        max_lines: int | None = None,
        max_bytes: int | None = None,
        shutdown_timeout: float | None = None,
        echo: bool = True,
    ) -> CaptureSettings:
        """Read ``OTEL_LOGS_EXPORTER`` and the OTLP logs protocol; explicit arguments win for the rest."""
        names = [n.strip() for n in environ.get("OTEL_LOGS_EXPORTER", "otlp").split(",") if n.strip()] or ["otlp"]
        if len(names) > 1:
            _logger.warning("otel-ml-logging run: OTEL_LOGS_EXPORTER lists %s; using %s", ", ".join(names), names[0])
        protocol = (
            environ.get("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "grpc"
        ).strip()
        if protocol not in VALID_PROTOCOLS:
            raise CaptureConfigurationError(
                f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not one of {', '.join(VALID_PROTOCOLS)}"
            )
        settings = cls(
            exporter=names[0],
            protocol=protocol,
            max_lines=max_lines if max_lines is not None else DEFAULT_MAX_LINES,
            max_bytes=max_bytes if max_bytes is not None else DEFAULT_MAX_BYTES,
            shutdown_timeout=shutdown_timeout if shutdown_timeout is not None else DEFAULT_SHUTDOWN_TIMEOUT,
            echo=echo,
        )
        if settings.max_lines < 1 or settings.max_bytes < 1:
            raise CaptureConfigurationError("the buffer limits (--max-lines, --max-bytes) must be positive")
        if settings.shutdown_timeout < 0:
            raise CaptureConfigurationError("--shutdown-timeout must not be negative")
        return settings

    def build_sink(self, resource: Resource, version: str) -> Sink | None:
        """Build the sink these settings name (None for ``none``); an unknown exporter name fails here."""
        if self.exporter == "none":
            return None
        if self.exporter == "otlp" and self.protocol == "http/json":
            return JsonSink(resource, version)
        name = _OTLP_ENTRY_POINTS[self.protocol] if self.exporter == "otlp" else self.exporter
        found = entry_points(group="opentelemetry_logs_exporter", name=name)
        if not found:
            available = sorted({ep.name for ep in entry_points(group="opentelemetry_logs_exporter")} | {"none"})
            raise CaptureConfigurationError(
                f"OTEL_LOGS_EXPORTER={self.exporter!r}: no log exporter named {name!r} "
                f"(installed: {', '.join(available)})"
            )
        exporter_class = next(iter(found)).load()
        exporter: LogRecordExporter = exporter_class()
        return ExporterSink(exporter, resource, version)
