"""A gateway and an Elasticsearch node SIGKILLed under load: every record indexed once.

The topology of tests/scale/test_two_tier.py (agent tailing pod log files and receiving OTLP from
two load generators using the plugin → two gateways behind one DNS name → 3-node Elasticsearch
cluster, one replica per shard). While the pods make predictions, one gateway is SIGKILLed and comes
back 10 s later on the same persistent queue (as a StatefulSet restarts its pod on the same volume),
and one Elasticsearch node is SIGKILLed and stays down until the counts are taken. The agent's
requests that the dead gateway had taken but not answered are sent again to the other gateway;
the restarted gateway sends what its queue held; the deterministic document ids of the
Elasticsearch exporter config keep one copy of each.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.elasticsearch_cluster import ElasticsearchCluster
from tests.scale.tiers import (
    assert_exactly_once,
    finish_load,
    print_accounts,
    run_tier,
    start_pods,
    two_pods,
    wait_complete,
)

pytestmark = [pytest.mark.integration, pytest.mark.scale]


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
