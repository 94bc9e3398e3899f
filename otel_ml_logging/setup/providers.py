"""The SDK's tracer, meter and logger providers, built from resolved :class:`Settings`.

One code path serves the distro's configurator and :func:`~otel_ml_logging.configure`: exporters
named by their entry points, our batch processors (which count delivery and loss), our id
generator and resource detector, and the JSON fast path for prediction telemetry when traces and
logs go by OTLP/HTTP JSON. Built with the SDK's public API; ``os.environ`` is only read (by the
settings and by the exporters themselves), never written.
"""

from __future__ import annotations

import logging
import threading
from importlib.metadata import entry_points
from typing import Any

from opentelemetry import _logs, metrics, trace
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource, ServiceInstanceIdResourceDetector
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.id_generator import IdGenerator

from otel_ml_logging.export.accounted import AccountedBatchLogRecordProcessor, AccountedBatchSpanProcessor
from otel_ml_logging.export.json_batches import JsonBatches
from otel_ml_logging.export.otlp_json import client_from_env
from otel_ml_logging.pipeline.budget import FlushBudget
from otel_ml_logging.pipeline.delivery import delivery_stats
from otel_ml_logging.pipeline.engine import shared_engine
from otel_ml_logging.pipeline.ids import PresetIdGenerator
from otel_ml_logging.pipeline.paths import JsonExport, use_json_export
from otel_ml_logging.prediction.attributes import INSTRUMENTATION_SCOPE
from otel_ml_logging.prediction.log_records import install_log_record_factory
from otel_ml_logging.setup.resource import MLServiceResourceDetector
from otel_ml_logging.setup.settings import OUR_ID_GENERATOR, Settings, Signal
from otel_ml_logging.setup.shutdown import Pipeline, register_bounded_shutdown
from otel_ml_logging.version import __version__

_logger = logging.getLogger(__name__)

_configured = threading.Event()


def initialize_sdk(settings: Settings, auto_instrumentation_version: str | None = None) -> bool:
    """Set the global tracer, meter and logger providers from ``settings``; False if already done."""
    if _configured.is_set():
        return False
    _configured.set()
    stats = delivery_stats()
    engine = shared_engine(settings.engine)  # the providers shut it down first: predictions still queued go out
    resource = _resource(settings, auto_instrumentation_version)
    budget = FlushBudget(settings.shutdown_timeout)  # one for everything that flushes at exit
    tracer_provider = TracerProvider(
        id_generator=_id_generator(settings.id_generator), resource=resource, shutdown_on_exit=False
    )
    for exporter in _exporters(settings, "traces"):
        tracer_provider.add_span_processor(AccountedBatchSpanProcessor(exporter, stats, engine.shutdown, budget))
    trace.set_tracer_provider(tracer_provider)
    readers: list[MetricReader] = [
        exporter if isinstance(exporter, MetricReader) else PeriodicExportingMetricReader(exporter)
        for exporter in _exporters(settings, "metrics")
    ]
    meter_provider = MeterProvider(resource=resource, metric_readers=readers, shutdown_on_exit=False)
    metrics.set_meter_provider(meter_provider)
    logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    for exporter in _exporters(settings, "logs"):
        processor = AccountedBatchLogRecordProcessor(exporter, stats, engine.shutdown, budget)
        logger_provider.add_log_record_processor(processor)
    _logs.set_logger_provider(logger_provider)
    register_bounded_shutdown(Pipeline(engine, tracer_provider, logger_provider, meter_provider, stats, budget))
    install_log_record_factory()
    if settings.json_fast_path:
        batches = JsonBatches(
            resource,
            INSTRUMENTATION_SCOPE,
            __version__,
            client_from_env("TRACES", "/v1/traces", endpoint=settings.endpoint_url("traces")),
            client_from_env("LOGS", "/v1/logs", endpoint=settings.endpoint_url("logs")),
            stats,
        )
        engine.add_drain_hook(batches.flush)
        engine.add_shutdown_hook(batches.shutdown)
        use_json_export(JsonExport(batches, tracer_provider.sampler))
    return True


def _resource(settings: Settings, auto_instrumentation_version: str | None) -> Resource:
    """Ours (lowest), then the SDK's detectors and ``OTEL_RESOURCE_ATTRIBUTES``, then explicit attributes."""
    explicit: dict[str, Any] = dict(settings.resource_attributes)
    if auto_instrumentation_version:
        explicit["telemetry.auto.version"] = auto_instrumentation_version
    resource = Resource.create(explicit)
    if settings.detect_resource:
        # service.instance.id: the SDK adds its detector by default only since 1.45; the floor is 1.43
        detected = MLServiceResourceDetector().detect().merge(ServiceInstanceIdResourceDetector().detect())
        resource = detected.merge(resource)
    return resource


def _id_generator(name: str) -> IdGenerator:
    if name == OUR_ID_GENERATOR:
        return PresetIdGenerator()  # lets the decorator choose span ids on the request thread
    generator: IdGenerator = _load("opentelemetry_id_generator", name)()
    return generator


def _exporters(settings: Settings, signal: Signal) -> list[Any]:
    """Instantiate the signal's exporters; one that cannot be loaded is skipped with a warning."""
    exporters = []
    endpoint = settings.endpoint_url(signal)
    for name in settings.exporters[signal]:
        try:
            exporter_class = _load(f"opentelemetry_{signal}_exporter", name)
            otlp = name.startswith("otlp")
            exporters.append(exporter_class(endpoint=endpoint) if otlp and endpoint else exporter_class())
        except Exception as error:
            _logger.warning("otel_ml_logging: %s exporter %r not set up: %s", signal, name, error)
    return exporters


def _load(group: str, name: str) -> Any:
    entry_point = next(iter(entry_points(group=group, name=name)), None)
    if entry_point is None:
        raise ValueError(f"no {group} entry point named {name!r} is installed")
    return entry_point.load()
