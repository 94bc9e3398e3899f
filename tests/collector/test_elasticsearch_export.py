"""End to end: OTLP from the Python SDK -> built collector (config.yaml + config.elasticsearch.yaml)
-> a real Elasticsearch 8.19 node with the shipped templates.

Checks the ECS documents the exporter writes (log <-> span join on trace.id/span.id, ml.* fields,
exception fields), their mapping types, and that an Elasticsearch outage loses nothing thanks to
the persistent sending queue, also across a collector restart while Elasticsearch is down.
"""

from __future__ import annotations

import contextlib
import time
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from harness.collector import build_collector, run_collector
from harness.elasticsearch import ECS_LOG_FIELD_TYPES, REPO_ROOT, RunningElasticsearch

pytestmark = pytest.mark.integration

CONFIGS = [REPO_ROOT / "collector" / "config.yaml", REPO_ROOT / "collector" / "config.elasticsearch.yaml"]
LOGS = "logs-otel_ml-default"
TRACES = "traces-otel_ml-default"
SPAN_EVENTS = "logs-apm.error-default"
MODEL = "insurance_charges_model"


@pytest.fixture(scope="module")
def collector_binary() -> Path:
    return build_collector()


@contextlib.contextmanager
def collector(es: RunningElasticsearch, storage_dir: Path, **options: Any) -> Iterator[Any]:
    """The real collector with the base + Elasticsearch configs, pointed at ``es``."""
    env = {
        "ELASTICSEARCH_ENDPOINT": es.url,
        "ELASTICSEARCH_FLUSH_INTERVAL": "1s",  # test latency; production default 5s
    }
    with run_collector([str(p) for p in CONFIGS], env=env, storage_dir=storage_dir, **options) as running:
        yield running


class Sender:
    """In-process SDK pipeline exporting OTLP/gRPC to the collector, as a model service would."""

    def __init__(self, endpoint: str, run_id: str) -> None:
        endpoint = endpoint.removeprefix("http://")
        resource = Resource.create(
            {
                "service.name": "insurance-model-service",
                "service.version": "1.2.3",
                "service.instance.id": run_id,
                "host.name": "node-a",
                "host.ip": "10.0.0.7",
                "k8s.pod.name": "model-pod-1",
                "k8s.namespace.name": "ml",
                "k8s.node.name": "kube-node-1",
            }
        )
        self.tracer_provider = TracerProvider(resource=resource)
        self.tracer_provider.add_span_processor(
            SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True, timeout=10))
        )
        self.logger_provider = LoggerProvider(resource=resource)
        self.logger_provider.add_log_record_processor(
            SimpleLogRecordProcessor(OTLPLogExporter(endpoint=endpoint, insecure=True, timeout=10))
        )
        self.tracer = self.tracer_provider.get_tracer("otel_ml_logging")
        self.logger = self.logger_provider.get_logger("otel_ml_logging")
        self.run_id = run_id

    def prediction(self, prediction_id: str, fail: bool = False) -> None:
        """One predict() as docs/telemetry.md describes: span + requested + created/exception records."""
        attrs: dict[str, Any] = {
            "ml.model.name": MODEL,
            "ml.model.version": "0.1.0",
            "ml.prediction.id": prediction_id,
            "ml.prediction.input.age": 42,
            "ml.prediction.input.region": "southwest",
        }
        with self.tracer.start_as_current_span(f"predict {MODEL}", attributes=attrs) as span:
            self.logger.emit(
                LogRecord(
                    severity_text="INFO",
                    severity_number=SeverityNumber.INFO,
                    body="Prediction requested.",
                    attributes=attrs,
                    event_name="ml.prediction.requested",
                )
            )
            if not fail:
                done = {
                    **attrs,
                    "ml.prediction.status": "success",
                    "ml.prediction.latency_ms": 12.5,
                    "ml.prediction.output.charges": 1234.5,
                }
                span.set_attributes(done)
                self.logger.emit(
                    LogRecord(
                        severity_text="INFO",
                        severity_number=SeverityNumber.INFO,
                        body="Prediction created.",
                        attributes=done,
                        event_name="ml.prediction.created",
                    )
                )
                return
            try:
                raise ValueError("age must be positive")
            except ValueError as exc:
                failed = {**attrs, "ml.prediction.status": "error", "ml.prediction.latency_ms": 3.0}
                span.set_attributes(failed)
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, str(exc)))
                self.logger.emit(
                    LogRecord(
                        severity_text="ERROR",
                        severity_number=SeverityNumber.ERROR,
                        body="Prediction exception.",
                        attributes={
                            **failed,
                            "exception.type": "ValueError",
                            "exception.message": str(exc),
                            "exception.stacktrace": traceback.format_exc(),
                        },
                        event_name="ml.prediction.exception",
                    )
                )

    def close(self) -> None:
        self.tracer_provider.shutdown()
        self.logger_provider.shutdown()


def by_run(run_id: str) -> dict[str, Any]:
    return {"term": {"service.node.name": run_id}}


def test_logs_and_spans_are_ecs_documents_that_join(
    elasticsearch: RunningElasticsearch, collector_binary: Path, tmp_path: Path
) -> None:
    run_id = uuid.uuid4().hex
    ok_id, err_id = f"ok-{run_id}", f"err-{run_id}"
    with collector(elasticsearch, tmp_path / "storage") as running:
        sender = Sender(running.otlp_grpc_endpoint, run_id)
        sender.prediction(ok_id)
        sender.prediction(err_id, fail=True)
        sender.close()
        assert elasticsearch.wait_for_count(LOGS, 4, by_run(run_id)) == 4
        assert elasticsearch.wait_for_count(TRACES, 2, by_run(run_id)) == 2
        assert elasticsearch.wait_for_count(SPAN_EVENTS, 1, by_run(run_id)) == 1

    logs = elasticsearch.search(LOGS, {"query": by_run(run_id)})
    spans = {s["ml"]["prediction"]["id"]: s for s in elasticsearch.search(TRACES, {"query": by_run(run_id)})}
    created = next(d for d in logs if d["message"] == "Prediction created.")
    exception = next(d for d in logs if d["message"] == "Prediction exception.")

    # log <-> span join
    for log, span in ((created, spans[ok_id]), (exception, spans[err_id])):
        assert log["trace"]["id"] == span["trace"]["id"]
        assert log["span"]["id"] == span["span"]["id"]
        assert len(log["trace"]["id"]) == 32
        assert len(log["span"]["id"]) == 16

    assert created["log"]["level"] == "INFO"
    assert created["event"] == {"action": "ml.prediction.created", "severity": 9}
    assert created["service"]["name"] == "insurance-model-service"
    assert created["host"]["name"] == "node-a"
    assert created["kubernetes"]["pod"]["name"] == "model-pod-1"
    assert created["kubernetes"]["namespace"] == "ml"
    assert created["ml"]["model"] == {"name": MODEL, "version": "0.1.0"}
    assert created["ml"]["prediction"]["id"] == ok_id
    assert created["ml"]["prediction"]["latency_ms"] == 12.5
    assert created["ml"]["prediction"]["output"]["charges"] == 1234.5

    assert exception["log"]["level"] == "ERROR"
    assert exception["event"]["action"] == "ml.prediction.exception"
    assert exception["error"]["type"] == "ValueError"
    assert exception["error"]["message"] == "age must be positive"
    assert "Traceback" in exception["error"]["stacktrace"]  # exporter's name, not ECS error.stack_trace

    err_span = spans[err_id]
    assert err_span["span"]["name"] == f"predict {MODEL}"
    assert err_span["span"]["kind"] == "INTERNAL"
    assert err_span["event"]["outcome"] == "failure"
    assert spans[ok_id]["ml"]["prediction"]["status"] == "success"

    # the span's exception event: a separate doc in logs-apm.error-*, joined by trace.id/parent.id
    (event_doc,) = elasticsearch.search(SPAN_EVENTS, {"query": by_run(run_id)})
    assert event_doc["trace"]["id"] == err_span["trace"]["id"]
    assert event_doc["parent"]["id"] == err_span["span"]["id"]
    assert event_doc["error"]["exception"]["type"] == "ValueError"
    assert "Traceback" in event_doc["error"]["stack_trace"]


EXPECTED_TYPES = {
    LOGS: {
        **ECS_LOG_FIELD_TYPES,
        "event.action": "keyword",
        "service.version": "keyword",
        "kubernetes.node.name": "keyword",
    },
    TRACES: {
        "@timestamp": "date_nanos",
        "trace.id": "keyword",
        "span.id": "keyword",
        "span.name": "keyword",
        "span.kind": "keyword",
        "event.outcome": "keyword",
        "service.name": "keyword",
        "ml.model.name": "keyword",
        "ml.prediction.id": "keyword",
        "ml.prediction.latency_ms": "double",
    },
    SPAN_EVENTS: {
        "trace.id": "keyword",
        "parent.id": "keyword",
        "error.exception.type": "keyword",
        "error.exception.message": "text",
        "error.stack_trace": "text",
        "data_stream.dataset": "keyword",
    },
}


@pytest.mark.parametrize("index", list(EXPECTED_TYPES))
def test_mapping_has_the_documented_types(
    elasticsearch: RunningElasticsearch, collector_binary: Path, index: str
) -> None:
    if not elasticsearch.data_streams(index):
        pytest.fail(f"{index} missing: run test_logs_and_spans_are_ecs_documents_that_join first")
    types = elasticsearch.mapping(index)
    wrong = {f: (types.get(f), t) for f, t in EXPECTED_TYPES[index].items() if types.get(f) != t}
    assert not wrong, f"field: (actual, expected) {wrong}"


def assert_all_delivered(es: RunningElasticsearch, run_id: str, count: int) -> None:
    """Every prediction of the run arrived (at-least-once: duplicates would be tolerated)."""
    assert es.wait_for_count(LOGS, 2 * count, by_run(run_id), timeout=120) >= 2 * count
    assert es.wait_for_count(TRACES, count, by_run(run_id), timeout=60) >= count
    ids = {d["ml"]["prediction"]["id"] for d in es.search(LOGS, {"query": by_run(run_id)})}
    assert ids == {f"{run_id}-{i}" for i in range(count)}


def send_batch(endpoint: str, run_id: str, count: int) -> None:
    sender = Sender(endpoint, run_id)
    for i in range(count):
        sender.prediction(f"{run_id}-{i}")
    sender.close()


def test_elasticsearch_outage_loses_nothing(
    elasticsearch: RunningElasticsearch, collector_binary: Path, tmp_path: Path
) -> None:
    run_id = uuid.uuid4().hex
    with collector(elasticsearch, tmp_path / "storage") as running:
        elasticsearch.stop()
        try:
            send_batch(running.otlp_grpc_endpoint, run_id, 20)  # 40 log records, 20 spans
            time.sleep(8)  # several flushes fail and are retried while Elasticsearch is down
        finally:
            elasticsearch.start()
        assert_all_delivered(elasticsearch, run_id, 20)


def test_collector_restart_while_elasticsearch_is_down_loses_nothing(
    elasticsearch: RunningElasticsearch, collector_binary: Path, tmp_path: Path
) -> None:
    run_id = uuid.uuid4().hex
    storage = tmp_path / "storage"
    elasticsearch.stop()
    try:
        with collector(elasticsearch, storage, stop_timeout=10) as running:
            send_batch(running.otlp_grpc_endpoint, run_id, 20)
            time.sleep(4)  # data reaches the persistent queue / in-flight bulk request
        # Stopping it hangs while a bulk request is retrying (flush deadline 30m), so the harness
        # has to SIGKILL it; the batch stays "dispatched" in file_storage and is re-sent by the
        # next collector on the same storage directory (verified by hand: 40/40 logs, 20/20 spans).
        with collector(elasticsearch, storage):
            elasticsearch.start()
            assert_all_delivered(elasticsearch, run_id, 20)
    finally:
        elasticsearch.start()
