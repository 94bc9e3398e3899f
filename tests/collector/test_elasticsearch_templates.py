"""The shipped index templates against a real Elasticsearch 8.19 node (no collector needed).

Documents here have the shape the contrib elasticsearch exporter writes in ECS mapping mode
(v0.156.0 model.go: dedotted objects, require_data_stream=true, op_type create); the end-to-end
test with the real collector is test_elasticsearch_export.py.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from harness.elasticsearch import (
    ECS_LOG_FIELD_TYPES,
    TEMPLATE_DIR,
    RunningElasticsearch,
    apply_templates,
)

pytestmark = pytest.mark.integration

EXPECTED_LOG_TYPES = {**ECS_LOG_FIELD_TYPES, "ml.prediction.output.approved": "boolean"}


def bulk_create(es: RunningElasticsearch, index: str, docs: list[dict]) -> dict:
    """Index like the exporter does: _bulk, create actions, require_data_stream=true."""
    lines = []
    for doc in docs:
        lines.append(json.dumps({"create": {"_index": index, "require_data_stream": True}}))
        lines.append(json.dumps(doc))
    resp = httpx.post(
        f"{es.url}/_bulk?refresh=true",
        content="\n".join(lines) + "\n",
        headers={"Content-Type": "application/x-ndjson"},
        timeout=60,
    )
    resp.raise_for_status()
    return resp.json()


def ecs_log_doc(prediction_id: str, latency: float | int) -> dict:
    return {
        "@timestamp": "2026-01-01T12:00:00.123456789Z",
        "message": "Prediction created.",
        "log": {"level": "INFO"},
        "event": {"severity": 9},
        "trace": {"id": "5b8efff798038103d269b633813fc60c"},
        "span": {"id": "eee19b7ec3c1b174"},
        "service": {"name": "insurance-model-service", "node": {"name": "instance-1"}},
        "host": {"name": "node-a", "hostname": "node-a", "ip": "10.1.2.3"},
        "kubernetes": {"pod": {"name": "model-7d9f"}, "namespace": "ml"},
        "error": {"type": "ValueError", "message": "bad input", "stacktrace": "Traceback ..."},
        "ml": {
            "model": {"name": "insurance_charges_model", "version": "0.1.0"},
            "prediction": {
                "id": prediction_id,
                "status": "success",
                # an integer first: the explicit double mapping must win over dynamic "long"
                "latency_ms": latency,
                "input": {"age": 42, "region": "southwest"},
                "output": {"charges": 1234.5, "approved": True},
            },
        },
    }


def test_setup_script_is_idempotent(elasticsearch: RunningElasticsearch) -> None:
    first = apply_templates(elasticsearch)
    second = apply_templates(elasticsearch)
    assert first == second
    names = {p.name.split(".", 1)[1].removesuffix(".json") for p in TEMPLATE_DIR.glob("index_template.*.json")}
    stored = elasticsearch.request("GET", "/_index_template/otel-ml-*")["index_templates"]
    assert {t["name"] for t in stored} == names
    for template in stored:
        body = template["index_template"]
        assert body["data_stream"] is not None
        # x-pack component templates are optional: absent here, so they must be ignored.
        assert {"logs@settings", "traces@settings", "metrics@settings"} & set(body["composed_of"])


def test_log_data_stream_gets_the_documented_types(elasticsearch: RunningElasticsearch) -> None:
    index = f"logs-otel_ml-t{uuid.uuid4().hex[:8]}"
    result = bulk_create(elasticsearch, index, [ecs_log_doc("p-1", 12), ecs_log_doc("p-2", 3.25)])
    assert result["errors"] is False, result
    assert index in elasticsearch.data_streams("logs-otel_ml-*")
    types = elasticsearch.mapping(index)
    wrong = {f: (types.get(f), t) for f, t in EXPECTED_LOG_TYPES.items() if types.get(f) != t}
    assert not wrong, f"field: (actual, expected) {wrong}"
    hits = elasticsearch.search(index, {"query": {"term": {"ml.prediction.id": "p-2"}}})
    assert [h["ml"]["prediction"]["latency_ms"] for h in hits] == [3.25]
    # keyword fields are aggregatable (what Kibana visualisations need)
    aggs = elasticsearch.request(
        "POST",
        f"/{index}/_search",
        {
            "size": 0,
            "aggs": {"m": {"terms": {"field": "ml.model.name"}}, "l": {"avg": {"field": "ml.prediction.latency_ms"}}},
        },
    )["aggregations"]
    assert aggs["m"]["buckets"] == [{"key": "insurance_charges_model", "doc_count": 2}]
    assert aggs["l"]["value"] == pytest.approx((12 + 3.25) / 2)


def test_unknown_target_without_template_is_rejected(elasticsearch: RunningElasticsearch) -> None:
    """Why the templates matter: ECS mode sends require_data_stream=true."""
    result = bulk_create(elasticsearch, f"logs-nottemplated{uuid.uuid4().hex[:6]}-default", [ecs_log_doc("x", 1)])
    assert result["errors"] is True
    error = result["items"][0]["create"]["error"]
    assert error["type"] in {"index_not_found_exception", "illegal_argument_exception"}, error


def test_span_event_data_streams_are_templated(elasticsearch: RunningElasticsearch) -> None:
    doc = {
        "@timestamp": "2026-01-01T12:00:00Z",
        "trace": {"id": "5b8efff798038103d269b633813fc60c"},
        "parent": {"id": "eee19b7ec3c1b174"},
        "error": {"exception": {"type": "ValueError", "message": "boom"}, "stack_trace": "Traceback ..."},
        "service": {"name": "svc"},
        "data_stream": {"type": "logs", "dataset": "apm.error", "namespace": "default"},
    }
    namespace = f"t{uuid.uuid4().hex[:8]}"
    result = bulk_create(elasticsearch, f"logs-apm.error-{namespace}", [doc])
    assert result["errors"] is False, result
    types = elasticsearch.mapping(f"logs-apm.error-{namespace}")
    assert types["error.exception.type"] == "keyword"
    assert types["error.stack_trace"] == "text"
    assert types["parent.id"] == "keyword"
