"""Past one machine, on loopback with real engines: agent → 2 gateways (direct or through Kafka) → 3-node Elasticsearch.

Everything runs from the repository's collector files, unchanged (see tests/scale/tiers.py): an
agent tails a directory laid out like /var/log/pods (CRI and docker json-file container logs) and
receives OTLP from two simulated model pods (the real plugin in a load generator); two gateways
behind one DNS name (gRPC round-robin over its A records) write to a real 3-node Elasticsearch
cluster whose data streams have one replica.

- ``test_gateway_and_elasticsearch_node_killed_under_load``: SIGKILL one gateway and one
  Elasticsearch node while the pods make predictions; the gateway comes back (as a StatefulSet
  restarts its pod on the same volume), the Elasticsearch node stays down until the end.
- ``test_kafka_buffers_while_every_gateway_is_down``: agent → Kafka → gateways; every gateway is
  down for ``SCALE_OUTAGE_SECONDS`` (default 20) under load, then returns and drains the backlog.
- ``test_log_line_and_prediction_record_carry_the_pod_name``: for the same request, the pod's log
  line (named from the kubelet's log file path by the container parser, since there is no cluster
  here for k8sattributes) and the plugin's record (named from POD_NAME, the downward API) both
  reach Elasticsearch with the pod's name.

Every record is counted per prediction id: each one exactly once (2 records, 1 span, 1 log line per
prediction), none missing, none doubled.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.elasticsearch import ElasticsearchUnavailableError, apply_templates
from harness.elasticsearch_cluster import ElasticsearchCluster, run_elasticsearch_cluster
from harness.kafka import KafkaUnavailableError, run_kafka
from harness.requirements import unavailable
from tests.scale.tiers import (
    LOGS,
    TRACES,
    Arrived,
    Pod,
    account,
    arrived,
    finish_load,
    new_pod,
    run_tier,
    start_load,
    wait_complete,
)

pytestmark = [pytest.mark.integration, pytest.mark.scale]

RATE = float(os.environ.get("SCALE_RATE", "100"))  # predictions/s per pod (2 records + 1 span + 1 log line each)
OUTAGE_SECONDS = float(os.environ.get("SCALE_OUTAGE_SECONDS", "20"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ElasticsearchCluster]:
    """Three real Elasticsearch nodes, the otel-ml-logging templates applied (one replica per shard)."""
    try:
        with run_elasticsearch_cluster(tmp_path_factory.mktemp("es-cluster"), size=3) as es:
            apply_templates(es.nodes[0])
            yield es
    except ElasticsearchUnavailableError as exc:
        unavailable("Elasticsearch", str(exc))


def two_pods(pods_dir: Path, test: str) -> list[Pod]:
    """One pod whose runtime writes CRI lines (OTLP/gRPC), one with docker json-file lines (OTLP/HTTP JSON)."""
    return [
        new_pod(pods_dir, f"{test}-model-a", "cri", f"{test}-a"),
        new_pod(pods_dir, f"{test}-model-b", "docker", f"{test}-b"),
    ]


def start_pods(pods: list[Pod], agent: Any, seconds: float) -> None:
    start_load(pods[0], agent.otlp_grpc_endpoint, "grpc", RATE, seconds)
    start_load(pods[1], agent.otlp_http_endpoint, "http/json", RATE, seconds)


def print_accounts(
    title: str, pods: list[Pod], got: dict[str, Any], extra: dict[str, Any]
) -> dict[str, dict[str, int]]:
    accounts = {pod.name: account(pod, got[pod.name]) for pod in pods}
    print(f"\n{title}")
    for name, figures in accounts.items():
        print(f"  {name}: {figures}")
    for key, value in extra.items():
        print(f"  {key}: {value}")
    return accounts


def assert_exactly_once(accounts: dict[str, dict[str, int]]) -> None:
    for name, figures in accounts.items():
        assert figures["predictions"] > 0, name
        assert figures["records_indexed"] == 2 * figures["predictions"], (name, figures)
        assert figures["lines_indexed"] == figures["predictions"], (name, figures)
        assert figures["spans_indexed"] == figures["predictions"], (name, figures)
        bad = {k: v for k, v in figures.items() if k.endswith(("_missing", "_duplicated", "_unknown")) and v}
        assert not bad, (name, bad)


def test_gateway_and_elasticsearch_node_killed_under_load(cluster: ElasticsearchCluster, tmp_path: Path):
    pods_dir = tmp_path / "pods"
    pods = two_pods(pods_dir, "kill")
    victim_node = cluster.nodes[2]
    load_seconds = 30.0
    with run_tier(tmp_path, cluster, pods_dir) as tier:
        victim = tier.gateways[1]
        start_pods(pods, tier.agent, load_seconds)
        time.sleep(8)
        spread_before_kill = [g.metric("otelcol_receiver_accepted_log_records") for g in tier.gateways]
        victim.kill()
        killed_at = time.monotonic()
        time.sleep(4)
        victim_node.kill()
        time.sleep(6)
        victim.start()
        gateway_down_seconds = time.monotonic() - killed_at
        for pod in pods:
            finish_load(pod)
        got, drain_seconds = wait_complete(cluster, pods, timeout=120)
        health = cluster.health()
        figures = {
            "records accepted per gateway before the kill": spread_before_kill,
            "gateway down (s)": round(gateway_down_seconds, 1),
            "drain after the load ended (s)": round(drain_seconds, 1),
            "cluster while es-2 is down": f"{health['status']}, {health['number_of_nodes']} nodes",
            "agent send failures (log records, retried)": tier.agent.metric("otelcol_exporter_send_failed_log_records"),
        }
    victim_node.start()
    accounts = print_accounts("two-tier, one gateway and one Elasticsearch node SIGKILLed:", pods, got, figures)
    assert all(n > 0 for n in spread_before_kill), f"round-robin did not reach both gateways: {spread_before_kill}"
    assert_exactly_once(accounts)
    cluster.wait_for("green", 3)


def test_kafka_buffers_while_every_gateway_is_down(cluster: ElasticsearchCluster, tmp_path: Path):
    pods_dir = tmp_path / "pods"
    pods = two_pods(pods_dir, "kafka")
    load_seconds = OUTAGE_SECONDS + 15
    with contextlib.ExitStack() as stack:
        try:
            broker = stack.enter_context(run_kafka(tmp_path / "kafka", partitions=4))
        except KafkaUnavailableError as exc:
            unavailable("Kafka", str(exc))
        tier = stack.enter_context(run_tier(tmp_path, cluster, pods_dir, kafka_brokers=broker.bootstrap))
        start_pods(pods, tier.agent, load_seconds)
        time.sleep(5)
        for gateway in tier.gateways:
            gateway.terminate()
        down_at = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        made_while_down = 2 * len(pods) * RATE * (time.monotonic() - down_at)
        indexed_at_return = sum(sum(a.records.values()) for a in arrived_now(cluster, pods).values())
        for gateway in tier.gateways:
            gateway.start()
        returned_at = time.monotonic()
        for pod in pods:
            finish_load(pod)
        got, _ = wait_complete(cluster, pods, timeout=180)
        drained_seconds = time.monotonic() - returned_at
        figures = {
            "gateways down (s)": OUTAGE_SECONDS,
            "prediction records made while they were down (approx.)": round(made_while_down),
            "prediction records indexed when they returned": indexed_at_return,
            "all indexed, from the gateways' return (s)": round(drained_seconds, 1),
            "log records each gateway took from Kafka after its return": [
                g.metric("otelcol_receiver_accepted_log_records", receiver="kafka") for g in tier.gateways
            ],
        }
    accounts = print_accounts(f"through Kafka, every gateway down for {OUTAGE_SECONDS:.0f} s:", pods, got, figures)
    assert_exactly_once(accounts)


def arrived_now(cluster: ElasticsearchCluster, pods: list[Pod]) -> dict[str, Arrived]:
    return {pod.name: arrived(cluster, pod) for pod in pods}


def test_log_line_and_prediction_record_carry_the_pod_name(cluster: ElasticsearchCluster, tmp_path: Path):
    pods_dir = tmp_path / "pods"
    pods = two_pods(pods_dir, "podname")
    with run_tier(tmp_path, cluster, pods_dir) as tier:
        for pod, (endpoint, protocol) in zip(
            pods, [(tier.agent.otlp_grpc_endpoint, "grpc"), (tier.agent.otlp_http_endpoint, "http/json")], strict=True
        ):
            start_load(pod, endpoint, protocol, rate=20, seconds=1)
        for pod in pods:
            finish_load(pod)
        got, _ = wait_complete(cluster, pods, timeout=60)
    es = cluster.live_node()
    for pod in pods:
        prediction_id = f"{pod.id_prefix}-3"
        record = es.search(LOGS, {"query": {"term": {"ml.prediction.id": prediction_id}}, "size": 1})[0]
        line = es.search(
            LOGS,
            {
                "query": {
                    "bool": {
                        "filter": [{"match_phrase": {"message": f"handled prediction {prediction_id}"}}],
                        "must_not": [{"exists": {"field": "ml.prediction.id"}}],
                    }
                },
                "size": 1,
            },
        )[0]
        span = es.search(TRACES, {"query": {"term": {"ml.prediction.id": prediction_id}}, "size": 1})[0]
        print(f"\n{pod.name} ({pod.log_format} log file): line {line}\n  record {record}")
        for document in (record, line, span):
            assert document["kubernetes"]["pod"]["name"] == pod.name
            assert document["kubernetes"]["namespace"] == "ml"
        # what only the container parser knows: which container of the pod, and which stream
        assert line["kubernetes"]["container"]["name"] == "model"
        assert got[pod.name].complete(pod)
