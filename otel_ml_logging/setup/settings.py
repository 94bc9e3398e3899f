"""The process's telemetry settings, resolved once: explicit argument → ``OTEL_*`` variable → default.

:meth:`Settings.resolve` reads the environment and never writes it; the result is passed down to
:func:`otel_ml_logging.setup.providers.initialize_sdk`. Exporters are named as the entry points of
``opentelemetry_{traces,metrics,logs}_exporter`` (``otlp_proto_grpc``, ``otlp_proto_http``,
``otlp_json``, ``console``, ...): ``otlp`` is resolved here with its protocol, including
``http/json``, which the SDK lacks and this package serves (metrics stay on ``http/protobuf``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypedDict

from otel_ml_logging.pipeline.budget import DEFAULT_SHUTDOWN_TIMEOUT, resolve_shutdown_timeout
from otel_ml_logging.pipeline.engine import EngineSettings

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack for **kwargs needs Python 3.12

_logger = logging.getLogger(__name__)

Signal = Literal["traces", "metrics", "logs"]
SIGNALS: tuple[Signal, ...] = ("traces", "metrics", "logs")
VALID_PROTOCOLS = ("grpc", "http/protobuf", "http/json")
DEFAULT_PROTOCOL = "grpc"
DEFAULT_EXPORTER = "otlp"
JSON_EXPORTER = "otlp_json"
OUR_ID_GENERATOR = "otel_ml_logging"
OUR_RESOURCE_DETECTOR = "otel_ml_logging"
URL_PATHS: Mapping[Signal, str] = {"traces": "/v1/traces", "metrics": "/v1/metrics", "logs": "/v1/logs"}


class Explicit(TypedDict, total=False):
    """Arguments of :meth:`Settings.resolve` (those of :func:`otel_ml_logging.configure`); None: not given."""

    service_name: str | None  # → OTEL_SERVICE_NAME
    endpoint: str | None  # → OTEL_EXPORTER_OTLP_ENDPOINT (read by the exporters)
    protocol: str | None  # → OTEL_EXPORTER_OTLP_{SIGNAL}_PROTOCOL → OTEL_EXPORTER_OTLP_PROTOCOL → grpc
    exporter: str | None  # → OTEL_{SIGNAL}_EXPORTER → otlp
    resource_attributes: Mapping[str, str] | None  # merged over OTEL_RESOURCE_ATTRIBUTES
    queue_size: int | None  # → OTEL_ML_LOGGING_QUEUE_SIZE → 32768
    shutdown_timeout: float | None  # seconds → OTEL_ML_LOGGING_SHUTDOWN_TIMEOUT (milliseconds) → 3 s


_OTLP_EXPORTERS = {"grpc": "otlp_proto_grpc", "http/protobuf": "otlp_proto_http", "http/json": JSON_EXPORTER}


@dataclass(frozen=True)
class Settings:
    """What :func:`~otel_ml_logging.setup.providers.initialize_sdk` sets up."""

    exporters: Mapping[Signal, tuple[str, ...]]  # entry-point names per signal; empty: not exported
    protocols: Mapping[Signal, str]  # the OTLP protocol per signal
    endpoint: str | None = None  # an explicit OTLP endpoint (scheme://host:port); None: the exporters read OTEL_*
    resource_attributes: Mapping[str, str] = field(default_factory=dict)  # win over OTEL_RESOURCE_ATTRIBUTES
    detect_resource: bool = True  # add our resource detector (False when OTEL_EXPERIMENTAL_RESOURCE_DETECTORS is set)
    id_generator: str = OUR_ID_GENERATOR  # entry point of opentelemetry_id_generator
    engine: EngineSettings = field(default_factory=EngineSettings)
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT  # seconds for the whole flush at exit

    @property
    def json_fast_path(self) -> bool:
        """Traces and logs go by OTLP/HTTP JSON only: prediction telemetry is encoded straight to JSON."""
        return self.exporters["traces"] == (JSON_EXPORTER,) and self.exporters["logs"] == (JSON_EXPORTER,)

    def endpoint_url(self, signal: Signal) -> str | None:
        """Return the explicit endpoint as the signal's exporter takes it (HTTP: with its path); None if not given."""
        if self.endpoint is None:
            return None
        if self.protocols[signal] == "grpc":
            return self.endpoint
        return self.endpoint.rstrip("/") + URL_PATHS[signal]

    @classmethod
    def resolve(cls, environ: Mapping[str, str] = os.environ, **explicit: Unpack[Explicit]) -> Settings:
        """Resolve every setting once: ``explicit`` arguments, then ``environ``, then the defaults.

        An invalid protocol warns once and falls back to grpc.
        """
        protocol, exporter = explicit.get("protocol"), explicit.get("exporter")
        protocols = {signal: _protocol(signal, protocol, environ) for signal in SIGNALS}
        exporters = {signal: _exporters(signal, exporter, protocols[signal], environ) for signal in SIGNALS}
        attributes = dict(explicit.get("resource_attributes") or {})
        service_name = explicit.get("service_name")
        if service_name is not None:
            attributes["service.name"] = service_name
        return cls(
            exporters=exporters,
            protocols=protocols,
            endpoint=explicit.get("endpoint"),
            resource_attributes=attributes,
            detect_resource="OTEL_EXPERIMENTAL_RESOURCE_DETECTORS" not in environ,
            id_generator=environ.get("OTEL_PYTHON_ID_GENERATOR", "").strip() or OUR_ID_GENERATOR,
            engine=EngineSettings.resolve(explicit.get("queue_size"), environ),
            shutdown_timeout=resolve_shutdown_timeout(explicit.get("shutdown_timeout"), environ),
        )


def _protocol(signal: Signal, explicit: str | None, environ: Mapping[str, str]) -> str:
    """Explicit → ``OTEL_EXPORTER_OTLP_{SIGNAL}_PROTOCOL`` → ``OTEL_EXPORTER_OTLP_PROTOCOL`` → grpc."""
    candidates = [
        ("protocol", explicit),
        (f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL", environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL")),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")),
    ]
    for name, value in candidates:
        if value is None:
            continue
        if value.strip() in VALID_PROTOCOLS:
            chosen = value.strip()
            if chosen == "http/json" and signal == "metrics":
                return "http/protobuf"  # no JSON metric exporter: metrics go by OTLP/HTTP protobuf
            return chosen
        _warn_once(name, value)
        return DEFAULT_PROTOCOL
    return DEFAULT_PROTOCOL


_warned: set[tuple[str, str]] = set()


def _warn_once(name: str, value: str) -> None:
    if (name, value) not in _warned:
        _warned.add((name, value))
        _logger.warning("otel_ml_logging: %s=%r is not one of %s; using grpc", name, value, ", ".join(VALID_PROTOCOLS))


def _exporters(signal: Signal, explicit: str | None, protocol: str, environ: Mapping[str, str]) -> tuple[str, ...]:
    """Explicit → ``OTEL_{SIGNAL}_EXPORTER`` → ``otlp``; ``otlp`` becomes the exporter of its protocol."""
    raw = explicit if explicit is not None else environ.get(f"OTEL_{signal.upper()}_EXPORTER", DEFAULT_EXPORTER)
    names = [name.strip() for name in raw.split(",") if name.strip()]
    if names == ["none"]:
        return ()
    return tuple(_OTLP_EXPORTERS[protocol] if name == "otlp" else name for name in names)
