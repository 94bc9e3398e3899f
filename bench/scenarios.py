"""The four ways of logging a prediction that the benchmark compares, each set up in its own process.

Every scenario but ``bare`` produces one span (or none, for the JSON logger) and two log records per
prediction, with the same fields: model name and version, prediction id, six inputs, one output.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.model import INPUT_FIELDS, OUTPUT_FIELDS, TrivialModel


@dataclass
class Scenario:
    """A ready-to-call predict function, how to send what is pending, and how to finish (flush and shut down).

    ``finish`` returns drop counts.
    """

    predict: Callable[[Any], Any]
    finish: Callable[[], dict[str, int]]
    flush: Callable[[], None] = lambda: None


def bare(settings: dict[str, str]) -> Scenario:
    """predict() alone."""
    model = TrivialModel()
    return Scenario(model.predict, dict)


def json_logger(settings: dict[str, str]) -> Scenario:
    """The setup we replace: stdlib logging + python-json-logger, two JSON lines per prediction to a file."""
    from pythonjsonlogger.json import JsonFormatter

    path = Path(settings["json_log_path"])
    handler = logging.FileHandler(path)
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("bench.prediction")
    logger.handlers = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    model = TrivialModel()

    def predict(data: Any) -> Any:
        prediction_id = str(uuid.uuid4())
        base = {"action": "predict", "model_qualified_name": model.qualified_name, "model_version": model.version}
        inputs = {name: getattr(data, name) for name in INPUT_FIELDS}
        logger.info("Prediction requested.", extra={**base, "prediction_id": prediction_id, **inputs})
        result = model.predict(data)
        outputs = {name: getattr(result, name) for name in OUTPUT_FIELDS}
        logger.info(
            "Prediction created.", extra={**base, "prediction_id": prediction_id, "status": "success", **outputs}
        )
        return result

    def finish() -> dict[str, int]:
        handler.flush()
        handler.close()
        return {"delivered_records": sum(1 for _ in path.open())}

    return Scenario(predict, finish, handler.flush)


def otel_sdk(settings: dict[str, str]) -> Scenario:
    """The stock OpenTelemetry SDK path: span + 2 Logger.emit, batch processors, OTLP/gRPC exporters."""
    from opentelemetry import _logs, trace
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": "bench-otel-sdk"})
    endpoint = settings.get("grpc_endpoint", "http://127.0.0.1:4317")
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True)))
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter(endpoint=endpoint, insecure=True)))
    tracer = tracer_provider.get_tracer("bench")
    otel_logger = logger_provider.get_logger("bench")
    _logs.set_logger_provider(logger_provider)
    trace.set_tracer_provider(tracer_provider)
    model = TrivialModel()

    def predict(data: Any) -> Any:
        prediction_id = str(uuid.uuid4())
        base = {
            "ml.model.name": model.qualified_name,
            "ml.model.version": model.version,
            "ml.prediction.id": prediction_id,
        }
        inputs = {f"ml.prediction.input.{name}": getattr(data, name) for name in INPUT_FIELDS}
        with tracer.start_as_current_span(f"predict {model.qualified_name}", attributes={**base, **inputs}) as span:
            otel_logger.emit(body="Prediction requested.", severity_text="INFO", attributes={**base, **inputs})
            result = model.predict(data)
            outputs = {f"ml.prediction.output.{name}": getattr(result, name) for name in OUTPUT_FIELDS}
            span.set_attributes(outputs)
            otel_logger.emit(body="Prediction created.", severity_text="INFO", attributes={**base, **outputs})
        return result

    def finish() -> dict[str, int]:
        tracer_provider.shutdown()
        logger_provider.shutdown()
        return {}

    def flush() -> None:
        tracer_provider.force_flush()
        logger_provider.force_flush()

    return Scenario(predict, finish, flush)


def otel_ml_logging(settings: dict[str, str]) -> Scenario:
    """Our decorator, set up by configure(): telemetry built off the request thread, OTLP/HTTP JSON."""
    os.environ.setdefault("OTEL_METRIC_EXPORT_INTERVAL", "60000")
    from opentelemetry import _logs, metrics, trace

    import otel_ml_logging as oml
    from otel_ml_logging.pipeline.engine import shared_engine

    stats = oml.configure(
        service_name="bench-otel-ml-logging",
        endpoint=settings.get("http_endpoint", "http://127.0.0.1:4318"),
        protocol="http/json",
        instrument_logging=False,
    )
    model = oml.OTelLoggingDecorator(input_fields=list(INPUT_FIELDS), output_fields=list(OUTPUT_FIELDS)).set_model(
        TrivialModel()
    )

    def finish() -> dict[str, int]:
        model.flush(120)
        engine = shared_engine()
        for provider in (trace.get_tracer_provider(), _logs.get_logger_provider(), metrics.get_meter_provider()):
            getattr(provider, "shutdown", lambda: None)()
        snapshot = stats.snapshot()
        return {
            "queue_dropped": engine.dropped,
            **{f"{signal.replace(' ', '_')}_lost": d.lost for signal, d in snapshot.items()},
        }

    def flush() -> None:
        model.flush(60)

    return Scenario(model.predict, finish, flush)


SCENARIOS: dict[str, Callable[[dict[str, str]], Scenario]] = {
    "bare": bare,
    "json-logger": json_logger,
    "otel-sdk": otel_sdk,
    "otel-ml-logging": otel_ml_logging,
}
