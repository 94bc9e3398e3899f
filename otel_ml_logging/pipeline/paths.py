"""How a decorated model's predictions become telemetry, chosen once per decorator.

- :class:`QueuedPath` with a :class:`~otel_ml_logging.export.json_sink.JsonSink`: traces and logs go
  by OTLP/HTTP JSON (set up by this package): the engine encodes the values straight to JSON.
- :class:`QueuedPath` with a :class:`~otel_ml_logging.export.sdk_sink.SdkSink`: the tracer provider
  uses our id generator, so the span can be built later, off the request thread, with the ids the
  request thread chose.
- :class:`InlinePath`: any other tracer provider; the span is started through it before ``predict()``.

Process set-up (:mod:`otel_ml_logging.setup`) announces the JSON export with :func:`use_json_export`;
this module never imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry import _logs, metrics, trace
from opentelemetry.trace import Span

from otel_ml_logging.export.json_batches import JsonBatches
from otel_ml_logging.export.json_sink import JsonSink
from otel_ml_logging.export.metrics import MetricRecorder
from otel_ml_logging.export.sdk_sink import SdkSink
from otel_ml_logging.pipeline.delivery import TelemetryFailures
from otel_ml_logging.pipeline.engine import Engine, shared_engine
from otel_ml_logging.pipeline.ids import PresetIdGenerator
from otel_ml_logging.pipeline.request import Predict, inline_step, queued_step
from otel_ml_logging.prediction.attributes import INSTRUMENTATION_SCOPE
from otel_ml_logging.prediction.facts import PredictionFacts, RequestFacts
from otel_ml_logging.prediction.telemetry import TelemetryModel
from otel_ml_logging.version import __version__


@dataclass(frozen=True)
class QueuedPath:
    """The request thread queues the facts; the engine builds the telemetry and gives it to ``sink``."""

    predict: Predict
    engine: Engine
    sink: SdkSink | JsonSink
    json_batches: JsonBatches | None

    def flush(self, timeout: float) -> bool:
        """Wait until every prediction so far reached the sink (and, on the JSON path, was posted)."""
        flushed = self.engine.flush(timeout)
        return flushed and (self.json_batches is None or self.json_batches.wait_sent(timeout))


@dataclass(frozen=True)
class InlinePath:
    """The span is started through a foreign tracer provider; the telemetry is emitted on the request thread."""

    predict: Predict
    sink: SdkSink

    def flush(self, timeout: float) -> bool:
        """Nothing is queued by this path (the provider's own processors are flushed by the provider)."""
        return True


PredictionPath = QueuedPath | InlinePath


@dataclass(frozen=True)
class JsonExport:
    """The fast path's export, as set up for the process: batches, and the sampler to emulate."""

    batches: JsonBatches
    sampler: Any


@dataclass(frozen=True)
class Providers:
    """Where the SDK sink emits; None: the global provider."""

    tracer_provider: trace.TracerProvider | None = None
    logger_provider: _logs.LoggerProvider | None = None
    meter_provider: metrics.MeterProvider | None = None


_json_export: JsonExport | None = None


def use_json_export(export: JsonExport | None) -> None:
    """Announce (or withdraw) the OTLP JSON export for decorators that choose their path from now on."""
    global _json_export
    _json_export = export


def choose_path(model: Any, telemetry: TelemetryModel, failures: TelemetryFailures) -> PredictionPath:
    """Return the path for ``model``'s predictions, given how the process's providers are set up now."""
    export = _json_export
    if export is None:
        return sdk_path(model, telemetry, failures)
    metrics = MetricRecorder() if telemetry.config.metrics else None
    json_sink = JsonSink(export.batches, metrics, export.sampler)
    return queued_path(model, telemetry, failures, json_sink, export.batches)


def sdk_path(
    model: Any,
    telemetry: TelemetryModel,
    failures: TelemetryFailures,
    providers: Providers | None = None,
    queued: bool | None = None,
) -> PredictionPath:
    """Return a path into the SDK sink on ``providers`` (default: global), queued when its ids can be preset."""
    providers = providers or Providers()
    tracer_provider = providers.tracer_provider or trace.get_tracer_provider()
    id_generator = getattr(tracer_provider, "id_generator", None)
    if not isinstance(id_generator, PresetIdGenerator):
        if queued:
            raise ValueError("a queued path needs a tracer provider with otel_ml_logging's PresetIdGenerator")
        id_generator = None
    sink = SdkSink(
        trace.get_tracer(INSTRUMENTATION_SCOPE, __version__, providers.tracer_provider),
        _logs.get_logger(INSTRUMENTATION_SCOPE, __version__, logger_provider=providers.logger_provider),
        MetricRecorder(providers.meter_provider) if telemetry.config.metrics else None,
        id_generator,
    )
    if id_generator is not None and queued is not False:
        return queued_path(model, telemetry, failures, sink)
    return inline_path(model, telemetry, failures, sink)


def queued_path(
    model: Any,
    telemetry: TelemetryModel,
    failures: TelemetryFailures,
    sink: SdkSink | JsonSink,
    json_batches: JsonBatches | None = None,
    engine: Engine | None = None,
) -> QueuedPath:
    """Build the engine path of ``model`` into ``sink``."""
    engine = engine or shared_engine()
    rate = telemetry.config.payload_sample_rate
    build, emit = telemetry.build, sink.emit

    def handle(facts: RequestFacts) -> None:  # the engine thread
        try:
            emit(build(PredictionFacts.from_request(facts, rate)))
        except Exception:
            failures()

    engine.add_drain_hook(sink.flush_metrics)
    if json_batches is not None:
        engine.add_drain_hook(json_batches.flush)
    return QueuedPath(queued_step(model, engine.submit, handle), engine, sink, json_batches)


def inline_path(model: Any, telemetry: TelemetryModel, failures: TelemetryFailures, sink: SdkSink) -> InlinePath:
    """Build the inline path of ``model`` into ``sink`` (whose tracer starts the spans)."""
    span_name = telemetry.span_name

    def start_span(start_ns: int) -> Span | None:
        try:
            return sink.start_span(span_name, start_ns)
        except Exception:
            failures()
            return None

    def finish(facts: PredictionFacts, span: Span | None) -> None:
        try:
            sink.finish_started(telemetry.build(facts), span)
        except Exception:
            failures()
            if span is not None and span.is_recording():
                span.end(facts.end_ns)

    start: Callable[[int], Span | None] | None = start_span if telemetry.config.span else None
    return InlinePath(inline_step(model, start, finish, telemetry.config.payload_sample_rate), sink)
