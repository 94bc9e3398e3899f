"""The Kibana objects against a real Elasticsearch fed by the real collector (integration).

Traffic: OTLP log records and spans shaped exactly like docs/telemetry.md, from two instances
(two resources with different ``k8s.pod.name``/``host.name``/model version), sent over gRPC to the
otelcol-ml collector started with the same config files as deploy/compose, which exports to a real
Elasticsearch node carrying the templates of collector/elasticsearch. The traffic mirrors the compose
traffic generator (``--count 40 --error-every 8``): 40 predictions, every 8th raises ``ValueError``.
Instance B serves every 4th request (10 predictions, all 5 errors), instance A the other 30.

Then, for every panel of deploy/kibana/panels.yaml, the equivalent Elasticsearch query and
aggregation (deploy/kibana/panels.py) must return the numbers this traffic implies, and every field
a data view, saved search, panel or control uses must exist in the real mapping and hold values.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import statistics
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1 import trace_pb2

from harness.collector import run_collector
from harness.elasticsearch import ElasticsearchUnavailableError, apply_templates, run_elasticsearch
from harness.otlp_receiver import key_value as kv
from harness.requirements import unavailable
from tests.deploy.conftest import REPO_ROOT, load_compose

pytestmark = pytest.mark.integration

MODEL = "insurance_charges_model"
COUNT, ERROR_EVERY, B_EVERY = 40, 8, 4
SCOPE = InstrumentationScope(name="otel_ml_logging", version="0.1.0")


@dataclass(frozen=True)
class Instance:
    pod: str
    host: str
    version: str


INSTANCE_A = Instance("insurance-charges-model-6d9f7c-a1b2c", "node-a", "0.1.0")
INSTANCE_B = Instance("insurance-charges-model-6d9f7c-d3e4f", "node-b", "0.2.0")


@dataclass(frozen=True)
class Prediction:
    index: int
    instance: Instance
    prediction_id: str
    trace_id: bytes
    span_id: bytes
    error: bool
    latency_ms: float
    start_ns: int


def traffic(now_ns: int) -> list[Prediction]:
    predictions = []
    for i in range(1, COUNT + 1):
        instance = INSTANCE_B if i % B_EVERY == 0 else INSTANCE_A
        latency = (100.0 + i) if instance is INSTANCE_B else (10.0 + 0.5 * i)
        predictions.append(
            Prediction(
                index=i,
                instance=instance,
                prediction_id=str(uuid.uuid4()),
                trace_id=secrets.token_bytes(16),
                span_id=secrets.token_bytes(8),
                error=i % ERROR_EVERY == 0,
                latency_ms=latency,
                start_ns=now_ns - (COUNT - i) * 15_000_000_000,
            )
        )
    return predictions


# --- OTLP encoding (docs/telemetry.md) ---------------------------------------------------------


def resource(instance: Instance) -> Resource:
    return Resource(
        attributes=[
            kv("service.name", "insurance-charges-model"),
            kv("service.version", "0.1.0"),
            kv("service.instance.id", instance.pod),
            kv("host.name", instance.host),
            kv("k8s.pod.name", instance.pod),
            kv("k8s.namespace.name", "ml-models"),
            kv("k8s.node.name", instance.host),
            kv("telemetry.sdk.language", "python"),
        ]
    )


def base_attributes(p: Prediction) -> list[KeyValue]:
    return [
        kv("ml.model.name", MODEL),
        kv("ml.model.version", p.instance.version),
        kv("ml.prediction.id", p.prediction_id),
    ]


def finished_attributes(p: Prediction) -> list[KeyValue]:
    return [
        *base_attributes(p),
        kv("ml.prediction.status", "error" if p.error else "success"),
        kv("ml.prediction.latency_ms", p.latency_ms),
    ]


def exception_attributes() -> list[KeyValue]:
    return [
        kv("exception.type", "ValueError"),
        kv("exception.message", "bmi 47.5 is above the trained range"),
        kv("exception.stacktrace", 'Traceback (most recent call last):\n  File "model.py"\nValueError: bmi'),
    ]


def log_records(p: Prediction) -> list[logs_pb2.LogRecord]:
    end_ns = p.start_ns + int(p.latency_ms * 1_000_000)

    def record(event: str, body: str, severity: int, text: str, ts: int, attrs: list[KeyValue]) -> logs_pb2.LogRecord:
        return logs_pb2.LogRecord(
            time_unix_nano=ts,
            observed_time_unix_nano=ts,
            severity_number=severity,
            severity_text=text,
            body=AnyValue(string_value=body),
            attributes=attrs,
            trace_id=p.trace_id,
            span_id=p.span_id,
            flags=1,
            event_name=event,
        )

    records = [
        record(
            "ml.prediction.requested",
            "Prediction requested.",
            9,
            "INFO",
            p.start_ns,
            [
                *base_attributes(p),
                kv("ml.prediction.input.age", 30 + p.index % 30),
                kv("ml.prediction.input.region", "southwest"),
            ],
        )
    ]
    if p.error:
        records.append(
            record(
                "ml.prediction.exception",
                "Prediction exception.",
                17,
                "ERROR",
                end_ns,
                [*finished_attributes(p), *exception_attributes()],
            )
        )
    else:
        records.append(
            record(
                "ml.prediction.created",
                "Prediction created.",
                9,
                "INFO",
                end_ns,
                [*finished_attributes(p), kv("ml.prediction.output.charges", 1000.0 + p.index)],
            )
        )
    return records


def span(p: Prediction) -> trace_pb2.Span:
    end_ns = p.start_ns + int(p.latency_ms * 1_000_000)
    events = []
    status = trace_pb2.Status(code=trace_pb2.Status.STATUS_CODE_OK)
    if p.error:
        events.append(trace_pb2.Span.Event(time_unix_nano=end_ns, name="exception", attributes=exception_attributes()))
        status = trace_pb2.Status(code=trace_pb2.Status.STATUS_CODE_ERROR, message="ValueError: bmi")
    return trace_pb2.Span(
        trace_id=p.trace_id,
        span_id=p.span_id,
        name=f"predict {MODEL}",
        kind=trace_pb2.Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=p.start_ns,
        end_time_unix_nano=end_ns,
        attributes=finished_attributes(p),
        events=events,
        status=status,
    )


def send(endpoint: str, predictions: list[Prediction]) -> None:
    target = endpoint.removeprefix("http://").removeprefix("https://")
    logs_request = logs_service_pb2.ExportLogsServiceRequest()
    traces_request = trace_service_pb2.ExportTraceServiceRequest()
    for instance in (INSTANCE_A, INSTANCE_B):
        mine = [p for p in predictions if p.instance is instance]
        logs_request.resource_logs.append(
            logs_pb2.ResourceLogs(
                resource=resource(instance),
                scope_logs=[logs_pb2.ScopeLogs(scope=SCOPE, log_records=[r for p in mine for r in log_records(p)])],
            )
        )
        scope_spans = [trace_pb2.ScopeSpans(scope=SCOPE, spans=[span(p) for p in mine])]
        traces_request.resource_spans.append(
            trace_pb2.ResourceSpans(resource=resource(instance), scope_spans=scope_spans)
        )
    with grpc.insecure_channel(target) as channel:
        grpc.channel_ready_future(channel).result(timeout=30)
        logs_service_pb2_grpc.LogsServiceStub(channel).Export(logs_request, timeout=30)
        trace_service_pb2_grpc.TraceServiceStub(channel).Export(traces_request, timeout=30)


# --- fixtures ----------------------------------------------------------------------------------


def compose_collector_configs() -> list[Path]:
    """The collector config files the compose demo runs with, in --config order."""
    _, compose, _ = load_compose()
    collector = compose["services"]["collector"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in collector["volumes"] if v.startswith("../")}
    configs = [a.split("=", 1)[1] for a in collector["command"] if a.startswith("--config=")]
    return [(REPO_ROOT / "deploy" / "compose" / mounts[c]).resolve() for c in configs]


@contextlib.contextmanager
def udp_sink() -> Iterator[int]:
    """A UDP port that swallows what the GELF exporter sends (Graylog is not under test here)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@dataclass
class Fed:
    es: Any
    predictions: list[Prediction]


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fed]:
    base = tmp_path_factory.mktemp("kibana-e2e")
    configs = compose_collector_configs()
    missing = [str(c) for c in configs if not c.is_file()]
    assert not missing, f"collector config files used by compose are missing: {missing}"
    es_cm = run_elasticsearch(base / "es")
    try:
        es = es_cm.__enter__()
    except ElasticsearchUnavailableError as exc:
        unavailable("Elasticsearch", str(exc))
    try:
        apply_templates(es)
        with udp_sink() as gelf_port:
            env = {
                "ELASTICSEARCH_ENDPOINT": es.url,
                "ELASTICSEARCH_USERNAME": "",
                "ELASTICSEARCH_PASSWORD": "",
                "GELF_ENDPOINT": f"udp://127.0.0.1:{gelf_port}",
            }
            with run_collector(configs, env, base / "storage") as collector:
                predictions = traffic(time.time_ns())
                send(collector.otlp_grpc_endpoint, predictions)
                logs = es.wait_for_count("logs-otel_ml-*", 2 * COUNT, timeout=90)
                spans = es.wait_for_count("traces-otel_ml-*", COUNT, timeout=90)
        assert (logs, spans) == (2 * COUNT, COUNT), "collector did not deliver everything to Elasticsearch"
        yield Fed(es, predictions)
    finally:
        es_cm.__exit__(None, None, None)


def spec() -> Any:
    from panels import load_spec

    return load_spec()


# --- expectations ------------------------------------------------------------------------------


def expected(panel_id: str, predictions: list[Prediction]) -> dict[str, Any]:
    """What each panel must show for this traffic (computed independently of panels.py)."""
    errors = [p for p in predictions if p.error]
    by_version = {v: sum(p.instance.version == v for p in predictions) for v in ("0.1.0", "0.2.0")}
    table: dict[str, dict[str, Any]] = {
        "otel-ml-lens-predictions-over-time": {"total": COUNT, "by": by_version, "x_total": COUNT},
        "otel-ml-lens-predictions-per-model": {"total": COUNT, "by": {MODEL: COUNT}},
        "otel-ml-lens-exceptions-over-time": {"total": 5, "by": {"ValueError": 5}, "x_total": 5},
        "otel-ml-lens-top-error-types": {"total": len(errors), "by": {"ValueError": 5}},
        "otel-ml-lens-predictions-per-pod": {"total": COUNT, "by": {INSTANCE_A.pod: 30, INSTANCE_B.pod: 10}},
        "otel-ml-lens-predictions-per-host": {"total": COUNT, "by": {INSTANCE_A.host: 30, INSTANCE_B.host: 10}},
        "otel-ml-lens-error-rate": {"total": 5 / 40},
    }
    return table[panel_id]


def test_the_traffic_matches_the_compose_traffic_generator():
    predictions = traffic(0)
    assert len(predictions) == 40
    assert sum(p.error for p in predictions) == 5
    assert len({p.instance for p in predictions}) == 2


def test_data_views_match_real_data_streams(fed: Fed):
    for view in spec().data_views:
        assert fed.es.data_streams(view["title"]), f"data view {view['title']} matches no data stream"


def test_every_field_used_by_the_saved_objects_exists_in_the_real_mapping_and_has_values(fed: Fed):
    from build_saved_objects import referenced_fields

    s = spec()
    problems = []
    for view_id, fields in referenced_fields(s).items():
        pattern = s.data_view(view_id)["title"]
        mapping = fed.es.mapping(pattern)
        for field in sorted(fields):
            if field not in mapping:
                problems.append(f"{pattern}: {field} not in mapping")
            elif fed.es.count(pattern, {"exists": {"field": field}}) == 0:
                problems.append(f"{pattern}: {field} mapped but no document has it")
    assert not problems, "\n".join(problems)


def test_aggregated_fields_are_aggregatable(fed: Fed):
    from panels import aggregatable_fields

    s = spec()
    for panel in s.panels:
        mapping = fed.es.mapping(s.data_view(panel["data_view"])["title"])
        for field in aggregatable_fields(panel):
            assert mapping.get(field) in {
                "keyword",
                "date",
                "date_nanos",
                "double",
                "float",
                "long",
                "integer",
                "ip",
                "scaled_float",
                "constant_keyword",
            }, f"{panel['id']}: {field}"


@pytest.mark.parametrize("panel_id", [p["id"] for p in spec().panels])
def test_panel_numbers_match_the_traffic(fed: Fed, panel_id: str):
    from panels import panel_result, panel_search_body

    s = spec()
    panel = s.panel(panel_id)
    index = s.data_view(panel["data_view"])["title"]
    response = fed.es.request("POST", f"/{index}/_search", panel_search_body(panel))
    result = panel_result(panel, response)
    if "percentiles" in panel["metric"]:
        check_percentiles(panel, result, fed.predictions)
        return
    want = expected(panel_id, fed.predictions)
    if isinstance(want["total"], float):
        assert result["total"] == pytest.approx(want["total"])
    else:
        assert result == want


def check_percentiles(panel: dict[str, Any], result: dict[str, Any], predictions: list[Prediction]) -> None:
    assert set(result["by"]) == {"0.1.0", "0.2.0"}
    for version, values in result["by"].items():
        latencies = sorted(p.latency_ms for p in predictions if p.instance.version == version)
        median = statistics.median(latencies)
        assert values[50.0] == pytest.approx(median, abs=1.0), (version, values)
        assert latencies[0] <= values[50.0] <= values[95.0] <= values[99.0] <= latencies[-1]
    assert result["by"]["0.1.0"][95.0] < result["by"]["0.2.0"][50.0]


def test_every_panel_has_an_expectation():
    for panel in spec().panels:
        if "percentiles" not in panel["metric"]:
            expected(panel["id"], traffic(0))


def test_prediction_id_leads_to_its_trace(fed: Fed):
    s = spec()
    logs, traces = (s.data_view(v)["title"] for v in ("otel-ml-logs", "otel-ml-traces"))
    for p in [fed.predictions[7], fed.predictions[0]]:  # an error and a success
        query = {"query": {"term": {"ml.prediction.id": p.prediction_id}}}
        records = fed.es.search(logs, query)
        assert len(records) == 2
        assert {r["trace"]["id"] if "trace" in r else r["trace.id"] for r in records} == {p.trace_id.hex()}
        spans = fed.es.search(traces, {"query": {"term": {"trace.id": p.trace_id.hex()}}})
        assert len(spans) == 1
        assert (
            fed.es.count(
                traces,
                {
                    "bool": {
                        "filter": [
                            {"term": {"trace.id": p.trace_id.hex()}},
                            {"term": {"ml.prediction.id": p.prediction_id}},
                        ]
                    }
                },
            )
            == 1
        )
