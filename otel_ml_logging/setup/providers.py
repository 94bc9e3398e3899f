"""SDK set-up from ``OTEL_*`` environment variables, for the distro and for :func:`configure`.

One code path serves both: the OpenTelemetry SDK's own environment-driven initialisation,
with our batch processors (which count delivery and loss), our resource detector, and the
stdlib-logging bridge of ``opentelemetry-instrumentation-logging``.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from types import FrameType
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk._configuration import _OTelSDKConfigurator
from opentelemetry.sdk.resources import Resource

from otel_ml_logging.export.accounted import AccountedBatchLogRecordProcessor, AccountedBatchSpanProcessor
from otel_ml_logging.export.json_batches import JsonBatches
from otel_ml_logging.export.otlp_json import client_from_env
from otel_ml_logging.pipeline.delivery import delivery_stats
from otel_ml_logging.pipeline.engine import shared_engine
from otel_ml_logging.pipeline.paths import JsonExport, use_json_export
from otel_ml_logging.prediction.attributes import INSTRUMENTATION_SCOPE
from otel_ml_logging.prediction.log_records import install_log_record_factory
from otel_ml_logging.version import __version__

_logger = logging.getLogger(__name__)

RESOURCE_DETECTOR_NAME = "otel_ml_logging"
ID_GENERATOR_NAME = "otel_ml_logging"
SIGNALS = ("traces", "metrics", "logs")
VALID_PROTOCOLS = ("grpc", "http/protobuf", "http/json")
JSON_EXPORTER_NAME = "otlp_json"
ENV_DEFAULTS: Mapping[str, str] = {
    "OTEL_TRACES_EXPORTER": "otlp",
    "OTEL_METRICS_EXPORTER": "otlp",
    "OTEL_LOGS_EXPORTER": "otlp",
    "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS": RESOURCE_DETECTOR_NAME,
    # lets the decorator choose span ids on the request thread and build spans in the background
    "OTEL_PYTHON_ID_GENERATOR": ID_GENERATOR_NAME,
}

_delivery_stats = delivery_stats()
_configured = threading.Event()


def apply_env_defaults(environ: os._Environ[str] | dict[str, str] = os.environ) -> None:
    """Fill in the distro's defaults and repair invalid protocol values (one warning each)."""
    for name, value in ENV_DEFAULTS.items():
        environ.setdefault(name, value)
    for name in ["OTEL_EXPORTER_OTLP_PROTOCOL"] + [f"OTEL_EXPORTER_OTLP_{s.upper()}_PROTOCOL" for s in SIGNALS]:
        protocol = environ.get(name)
        if protocol is not None and protocol.strip() not in VALID_PROTOCOLS:
            _logger.warning(
                "otel_ml_logging: %s=%r is not one of %s; using grpc", name, protocol, ", ".join(VALID_PROTOCOLS)
            )
            environ[name] = "grpc"
    _route_http_json(environ)


def _route_http_json(environ: os._Environ[str] | dict[str, str]) -> None:
    """Serve ``http/json`` (which the SDK lacks) with our exporters; metrics stay on http/protobuf."""
    generic = environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "").strip()
    for kind in ("TRACES", "LOGS"):
        protocol = environ.get(f"OTEL_EXPORTER_OTLP_{kind}_PROTOCOL", generic).strip()
        exporter_variable = f"OTEL_{kind}_EXPORTER"
        if protocol == "http/json":
            names = [name.strip() for name in environ.get(exporter_variable, "otlp").split(",")]
            environ[exporter_variable] = ",".join(JSON_EXPORTER_NAME if name == "otlp" else name for name in names)
            environ.pop(f"OTEL_EXPORTER_OTLP_{kind}_PROTOCOL", None)
    if generic == "http/json":
        environ.setdefault("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf")
        environ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf"


def initialize_sdk(**kwargs: Any) -> bool:
    """Set up tracer, meter and logger providers from the environment; False if already done."""
    if _configured.is_set():
        return False
    _configured.set()
    kwargs.setdefault("export_span_processor", lambda exporter: AccountedBatchSpanProcessor(exporter, _delivery_stats))
    kwargs.setdefault(
        "export_log_record_processor",
        lambda exporter: AccountedBatchLogRecordProcessor(exporter, _delivery_stats),
    )
    _OTelSDKConfigurator()._configure(**kwargs)  # type: ignore[no-untyped-call]
    install_log_record_factory()
    _start_json_export()
    return True


def _start_json_export() -> None:
    """Serve prediction spans and records by the JSON fast path when traces and logs go by OTLP/HTTP JSON only."""
    if os.environ.get("OTEL_TRACES_EXPORTER") != JSON_EXPORTER_NAME:
        return
    if os.environ.get("OTEL_LOGS_EXPORTER") != JSON_EXPORTER_NAME:
        return
    provider = trace.get_tracer_provider()
    resource = getattr(provider, "resource", None)
    if not isinstance(resource, Resource):
        return
    batches = JsonBatches(
        resource,
        INSTRUMENTATION_SCOPE,
        __version__,
        client_from_env("TRACES", "/v1/traces"),
        client_from_env("LOGS", "/v1/logs"),
        _delivery_stats,
    )
    engine = shared_engine()
    engine.add_drain_hook(batches.flush)
    engine.add_shutdown_hook(batches.shutdown)
    use_json_export(JsonExport(batches, getattr(provider, "sampler", None)))


def exit_on_sigterm() -> bool:
    """Turn SIGTERM into ``SystemExit(143)`` so exit handlers flush telemetry; False if not installed.

    Kubernetes stops pods with SIGTERM; its default action kills the process without running
    ``atexit``, so queued spans and log records, and the delivery report, would be lost. uvicorn
    re-raises the signal after its graceful shutdown, which then lands here. Only installed from
    the main thread and when nobody else handles SIGTERM.
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return False

    def _exit(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)
    return True
