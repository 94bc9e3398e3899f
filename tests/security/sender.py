"""Send a known set of OTLP log records with the OpenTelemetry SDK's exporters, as a model service would."""

from __future__ import annotations

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    InMemoryLogRecordExporter,
    LogRecordExporter,
    LogRecordExportResult,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.resources import Resource


def send_records(exporter: LogRecordExporter, run_id: str, count: int) -> LogRecordExportResult:
    """Export ``count`` records (``ml.prediction.id`` = ``<run_id>-<i>``) in one request; return the result.

    The resource's ``service.instance.id`` is ``run_id`` (``service.node.name`` in Elasticsearch's ECS
    documents), so a test counts exactly its own records.
    """
    memory = InMemoryLogRecordExporter()
    resource = Resource.create({"service.name": "security-test", "service.instance.id": run_id})
    provider = LoggerProvider(resource=resource)
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = provider.get_logger("otel_ml_logging")
    for i in range(count):
        logger.emit(
            LogRecord(
                severity_number=SeverityNumber.INFO,
                severity_text="INFO",
                body="Prediction created.",
                attributes={"ml.prediction.id": f"{run_id}-{i}", "ml.model.name": "security_model"},
                event_name="ml.prediction.created",
            )
        )
    provider.shutdown()
    try:
        return exporter.export(memory.get_finished_logs())
    finally:
        exporter.shutdown()
