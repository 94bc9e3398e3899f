"""Past one machine, on loopback with real engines: agent → 2 gateways (direct or through Kafka) → 3-node Elasticsearch.

(The same topology with a gateway and an Elasticsearch node SIGKILLed: tests/scale/test_crashes.py.)

Everything runs from the repository's collector files, unchanged (see tests/scale/tiers.py): an
agent tails a directory laid out like /var/log/pods (CRI and docker json-file container logs) and
receives OTLP from two simulated model pods (the real plugin in a load generator); two gateways
behind one DNS name (gRPC round-robin over its A records) write to a real 3-node Elasticsearch
cluster whose data streams have one replica.

- ``test_kafka_buffers_while_every_gateway_is_down``: agent → Kafka → gateways; every gateway is
  down for ``SCALE_OUTAGE_SECONDS`` (default 20) under load, then returns and drains the backlog.
- ``test_log_line_and_prediction_record_carry_the_pod_name``: for the same request, the pod's log
  line (named from the kubelet's log file path by the container parser, since there is no cluster
  here for k8sattributes) and the plugin's record (named by OTEL_RESOURCE_ATTRIBUTES, from the downward API) both
  reach Elasticsearch with the pod's name.

Every record is counted per prediction id: each one exactly once (2 records, 1 span, 1 log line per
prediction), none missing, none doubled.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import pytest

from harness.elasticsearch_cluster import ElasticsearchCluster
from harness.kafka import KafkaUnavailableError, run_kafka
from harness.requirements import unavailable
from tests.scale.tiers import (
    LOGS,
    RATE,
    TRACES,
    arrived_now,
    assert_exactly_once,
    finish_load,
    print_accounts,
    run_tier,
    start_load,
    start_pods,
    two_pods,
    wait_complete,
)

pytestmark = [pytest.mark.integration, pytest.mark.scale]

OUTAGE_SECONDS = float(os.environ.get("SCALE_OUTAGE_SECONDS", "20"))


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
