"""The whole pipeline: example service under opentelemetry-instrument → otelcol-ml → Elasticsearch and GELF.

The example insurance-charges service runs twice against one collector (all three config files) and
one real Elasticsearch node, once per OTLP protocol users pick: ``grpc`` (the SDK's exporters, span
and records built off the request thread) and ``http/json`` (our fast path, encoded straight from
the prediction's facts). Each run sends the same predictions; then:

- Elasticsearch: every prediction has its "requested" and "created"/"exception" documents, the model's
  own log line and its span, joined on trace.id/span.id, with the prediction id, model name/version
  and the configured fields; the span is a child of the FastAPI request span;
- GELF: Graylog's own codec and tshark decoded the same records with the right levels and fields;
- the two protocols produced the same documents (field names and values, ids and clocks aside).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.collector import RunningCollector, run_collector
from harness.elasticsearch import RunningElasticsearch, flatten_document
from harness.gelf import both_decoders
from harness.model_service import REPO_ROOT, run_model_service

pytestmark = pytest.mark.integration

REST_CONFIG = REPO_ROOT / "examples" / "insurance_charges_model" / "rest_config.yaml"
CONFIGS = [REPO_ROOT / "collector" / name for name in ("config.yaml", "config.elasticsearch.yaml", "config.gelf.yaml")]
LOGS, TRACES = "logs-otel_ml-*", "traces-otel_ml-*"
PROTOCOLS = ("grpc", "http/json")
INPUTS = [
    {
        "age": 30 + i,
        "sex": "female" if i % 2 else "male",
        "bmi": 24.5 + i,
        "children": i % 3,
        "smoker": i == 2,
        "region": "southwest",
    }
    for i in range(5)
] + [{"age": 50, "sex": "male", "bmi": 48.0, "children": 0, "smoker": False, "region": "northeast"}]  # refused: bmi
VOLATILE = {
    "@timestamp",
    "trace.id",
    "span.id",
    "parent.id",
    "ml.prediction.id",
    "elasticsearch.document_id",  # derived from the ids and timestamps above
    "ml.prediction.latency_ms",
    "event.ingested",
    "observer.hostname",
    "service.node.name",
    "host.hostname",
    "host.name",
    "error.stacktrace",
    "deployment.environment.name",
    "service.environment",
    "service.name",
    "event.id",
    "data_stream.dataset",
}


def prediction_id(protocol: str, index: int) -> str:
    return f"{protocol.replace('/', '-')}-prediction-{index}"


@pytest.fixture(scope="module")
def pipeline(elasticsearch: RunningElasticsearch, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("e2e")
    with both_decoders("udp") as (graylog, capture):
        env = {
            "ELASTICSEARCH_ENDPOINT": elasticsearch.url,
            "ELASTICSEARCH_FLUSH_INTERVAL": "1s",
            "GELF_ENDPOINT": f"udp://127.0.0.1:{graylog.udp_port}",
        }
        with run_collector(CONFIGS, env, work / "storage") as collector:
            statuses = {protocol: serve(collector, protocol, work) for protocol in PROTOCOLS}
            # Only this module's predictions: the session's node also holds other suites' documents.
            ours = {"terms": {"ml.prediction.id": [prediction_id(p, i) for p in PROTOCOLS for i in range(len(INPUTS))]}}
            records = 2 * len(INPUTS) * len(PROTOCOLS)
            elasticsearch.wait_for_count(LOGS, records, ours, timeout=120)
            # + one model log line per prediction ("Predicting charges."), also carrying the prediction id
            expected_records = records + len(INPUTS) * len(PROTOCOLS)
            elasticsearch.wait_for_count(LOGS, expected_records, ours, timeout=60)
            elasticsearch.wait_for_count(TRACES, len(INPUTS) * len(PROTOCOLS), ours)
            gelf = graylog.messages(timeout=60, count=expected_records)
        decoded_by_tshark = capture.decode()
    return {"es": elasticsearch, "statuses": statuses, "graylog": gelf, "tshark": decoded_by_tshark}


def serve(collector: RunningCollector, protocol: str, work: Path) -> list[int]:
    endpoint = collector.otlp_grpc_endpoint if protocol == "grpc" else collector.otlp_http_endpoint
    env = {
        "OTEL_SERVICE_NAME": "insurance-charges-model",
        "OTEL_RESOURCE_ATTRIBUTES": f"deployment.environment.name=e2e-{protocol.replace('/', '-')},"
        f"k8s.pod.name=insurance-charges-{protocol.replace('/', '-')}-pod",
        "NODE_IP": "10.1.2.3",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_METRIC_EXPORT_INTERVAL": "1000",
    }
    with run_model_service(REST_CONFIG, env, work) as service:
        url = f"{service.url}/api/models/insurance_charges_model/prediction"
        return [
            httpx.post(url, json={**body, "prediction_id": prediction_id(protocol, i)}, timeout=10).status_code
            for i, body in enumerate(INPUTS)
        ]


def documents(es: RunningElasticsearch, index: str, **terms: str) -> list[dict[str, Any]]:
    query = {"bool": {"filter": [{"term": {k.replace("__", "."): v}} for k, v in terms.items()]}}
    return [flatten_document(doc) for doc in es.search(index, {"query": query, "sort": ["@timestamp"]})]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_prediction_is_joined_in_elasticsearch(pipeline: dict[str, Any], protocol: str):
    es = pipeline["es"]
    assert pipeline["statuses"][protocol] == [200] * 5 + [500]
    for i, inputs in enumerate(INPUTS):
        pid = prediction_id(protocol, i)
        logs = documents(es, LOGS, ml__prediction__id=pid)
        by_message = {doc["message"]: doc for doc in logs}
        failed = i == len(INPUTS) - 1
        last = "Prediction exception." if failed else "Prediction created."
        assert sorted(by_message) == sorted(["Prediction requested.", "Predicting charges.", last]), logs
        (span,) = documents(es, TRACES, ml__prediction__id=pid)
        assert span["span.name"] == "predict insurance_charges_model"
        for doc in logs:
            assert (doc["trace.id"], doc["span.id"]) == (span["trace.id"], span["span.id"])
            assert doc["ml.model.name"] == "insurance_charges_model"
            assert doc["ml.model.version"] == "0.1.0"
            assert doc["service.name"] == "insurance-charges-model"
            assert doc["kubernetes.pod.name"] == f"insurance-charges-{protocol.replace('/', '-')}-pod"
            assert doc["host.ip"] == ["10.1.2.3"]  # string[] resource attribute, indexed as an ip array
        requested = by_message["Prediction requested."]
        assert requested["event.action"] == "ml.prediction.requested"
        assert requested["log.level"] == "INFO"
        assert requested["ml.prediction.input.age"] == inputs["age"]
        assert requested["ml.prediction.input.region"] == inputs["region"]
        assert requested["ml.prediction.input.smoker"] == inputs["smoker"]
        outcome = by_message[last]
        if failed:
            assert outcome["log.level"] == "ERROR"
            assert outcome["error.type"] == "ValueError"
            assert "outside the range the model was trained on" in outcome["error.message"]
            assert "raise ValueError" in outcome["error.stacktrace"]
            assert span["event.outcome"] == "failure"
        else:
            assert outcome["event.action"] == "ml.prediction.created"
            assert outcome["ml.prediction.output.charges"] > 0
            assert outcome["ml.prediction.latency_ms"] > 0
            assert span["ml.prediction.output.charges"] == outcome["ml.prediction.output.charges"]
        (request,) = documents(es, TRACES, span__id=span["parent.id"])
        assert request["span.name"] == "POST /api/models/insurance_charges_model/prediction"
        assert request["trace.id"] == span["trace.id"]


def test_both_protocols_produce_the_same_documents(pipeline: dict[str, Any]):
    es = pipeline["es"]
    shapes = {}
    for protocol in PROTOCOLS:
        shape = []
        for i in range(len(INPUTS)):
            pid = prediction_id(protocol, i)
            for doc in documents(es, LOGS, ml__prediction__id=pid) + documents(es, TRACES, ml__prediction__id=pid):
                shape.append(sorted((k, str(v)) for k, v in doc.items() if k not in VOLATILE and "kubernetes" not in k))
        shapes[protocol] = sorted(shape)
    only_json = [doc for doc in shapes["http/json"] if doc not in shapes["grpc"]]
    only_grpc = [doc for doc in shapes["grpc"] if doc not in shapes["http/json"]]
    assert (only_json, only_grpc) == ([], [])


def test_gelf_decoders_got_every_record_with_levels_and_fields(pipeline: dict[str, Any]):
    es = pipeline["es"]
    graylog = {
        m["graylog"]["fields"].get("ml.prediction.id", "") + m["graylog"]["message"]: m for m in pipeline["graylog"]
    }
    tshark = {m["gelf"].get("_ml.prediction.id", "") + m["gelf"]["short_message"]: m for m in pipeline["tshark"]}
    for protocol in PROTOCOLS:
        for i in range(len(INPUTS)):
            pid = prediction_id(protocol, i)
            for doc in documents(es, LOGS, ml__prediction__id=pid):
                key = pid + doc["message"]
                decoded, captured = graylog[key], tshark[key]
                level = 3 if doc["log.level"] == "ERROR" else 6
                assert decoded["gelf"]["level"] == level
                assert captured["gelf"]["level"] == level
                assert decoded["graylog"]["fields"]["trace_id"] == doc["trace.id"]
                assert captured["gelf"]["_span_id"] == doc["span.id"]
                assert decoded["graylog"]["fields"]["ml.model.name"] == "insurance_charges_model"
                assert decoded["gelf"]["host"]
                assert decoded["gelf"]["_host.ip"] == '["10.1.2.3"]'  # GELF has no arrays: a JSON string
                if doc["message"] == "Prediction exception.":
                    assert "raise ValueError" in decoded["gelf"]["full_message"]


def test_every_field_the_kibana_objects_use_is_in_the_mapping_the_plugin_produced(pipeline: dict[str, Any]):
    """The dashboards work on what the real plugin sends, not only on hand-shaped records."""
    import sys

    sys.path.insert(0, str(REPO_ROOT / "deploy" / "kibana"))
    from build_saved_objects import referenced_fields
    from panels import load_spec

    es = pipeline["es"]
    spec = load_spec()
    missing = []
    for view_id, fields in referenced_fields(spec).items():
        pattern = spec.data_view(view_id)["title"]
        mapping = es.mapping(pattern)
        missing += [f"{pattern}: {field}" for field in sorted(fields) if field not in mapping]
    assert not missing, missing
