"""The two-tier topology of the scale tests, on loopback, from the repository's config files.

agent (config.yaml + config.agent.yaml [+ config.kafka.agent.yaml]) tails a directory laid out like
/var/log/pods and receives OTLP from load generators (the real plugin), then sends to two gateways
(config.yaml + config.elasticsearch.yaml [+ config.kafka.gateway.yaml]) that listen on 127.0.0.1 and
127.0.0.2 behind one DNS name answered by :mod:`harness.dns` (a headless Service's records), or
through a real Kafka broker; the gateways write to a real Elasticsearch cluster.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from harness import REPO_ROOT, load_generator
from harness.collector_process import CollectorProcess
from harness.dns import run_dns
from harness.elasticsearch_cluster import ElasticsearchCluster
from harness.ports import free_port

COLLECTOR = REPO_ROOT / "collector"
GATEWAY_HOSTS = ["127.0.0.1", "127.0.0.2"]
GATEWAYS_NAME = "otelcol-ml-gateway.observability.svc"
LOGS, TRACES = "logs-otel_ml-*", "traces-otel_ml-*"
NAMESPACE = "ml"
RATE = float(os.environ.get("SCALE_RATE", "100"))  # predictions/s per pod (2 records + 1 span + 1 log line each)


def agent_configs(kafka: bool) -> list[Path]:
    """The agent's files, as the DaemonSet mounts them."""
    names = ["config.yaml", "config.agent.yaml"] + (["config.kafka.agent.yaml"] if kafka else [])
    return [COLLECTOR / name for name in names]


def gateway_configs(kafka: bool) -> list[Path]:
    """The gateway's files, as the StatefulSet mounts them (GELF left out: Elasticsearch is what is counted)."""
    names = ["config.yaml", "config.elasticsearch.yaml"] + (["config.kafka.gateway.yaml"] if kafka else [])
    return [COLLECTOR / name for name in names]


@dataclass
class Pod:
    """A simulated model pod: its name, its kubelet log file, the generator process making its traffic."""

    name: str
    log_file: Path
    log_format: str
    id_prefix: str
    process: subprocess.Popen[str] | None = None
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def expected_ids(self) -> set[str]:
        """The prediction ids the generator made (known once it has finished)."""
        return {f"{self.id_prefix}-{n}" for n in range(int(self.report["predictions"]))}


def new_pod(pods_dir: Path, name: str, log_format: str, id_prefix: str) -> Pod:
    """Lay out ``/var/log/pods/<namespace>_<name>_<uid>/model/0.log`` under ``pods_dir``."""
    log_file = pods_dir / f"{NAMESPACE}_{name}_{uuid.uuid4()}" / "model" / "0.log"
    return Pod(name, log_file, log_format, id_prefix)


def start_load(pod: Pod, endpoint: str, protocol: str, rate: float, seconds: float) -> None:
    """Start the pod's load generator (harness/load_generator.py) in the background."""
    pod.process = subprocess.Popen(
        load_generator.command(endpoint, protocol, rate, seconds, pod.id_prefix, pod.log_file, pod.log_format),
        cwd=REPO_ROOT,
        env=load_generator.pod_environment(pod.name, NAMESPACE),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish_load(pod: Pod, timeout: float = 180.0) -> None:
    """Wait for the generator and read its report."""
    assert pod.process is not None
    out, err = pod.process.communicate(timeout=timeout)
    assert pod.process.returncode == 0, f"load generator of {pod.name} failed:\n{err[-3000:]}"
    pod.report = json.loads(out.strip().splitlines()[-1])


@dataclass
class Tier:
    """The running collectors of one topology."""

    agent: CollectorProcess
    gateways: list[CollectorProcess]

    def all(self) -> list[CollectorProcess]:
        """Agent first, then the gateways."""
        return [self.agent, *self.gateways]


@contextlib.contextmanager
def run_tier(
    work: Path, cluster: ElasticsearchCluster, pods_dir: Path, kafka_brokers: str | None = None
) -> Iterator[Tier]:
    """Start two gateways and one agent (direct OTLP, or through Kafka when ``kafka_brokers`` is set)."""
    kafka = kafka_brokers is not None
    topic_env = (
        {"KAFKA_BROKERS": kafka_brokers, "KAFKA_TOPIC_PREFIX": f"otel_ml_{uuid.uuid4().hex[:8]}"} if kafka else {}
    )
    grpc_port = free_port()
    gateway_env = {"ELASTICSEARCH_ENDPOINT": cluster.endpoints, "ELASTICSEARCH_FLUSH_INTERVAL": "1s", **topic_env}
    gateways = [
        CollectorProcess(
            gateway_configs(kafka),
            gateway_env,
            work / f"gateway-{index}",
            host=host,
            grpc_port=grpc_port,
        )
        for index, host in enumerate(GATEWAY_HOSTS)
    ]
    with run_dns({GATEWAYS_NAME: GATEWAY_HOSTS}) as dns:
        agent = CollectorProcess(
            agent_configs(kafka),
            {
                # a headless Service's name, resolved by the gRPC client against the test's DNS server
                "GATEWAY_OTLP_ENDPOINT": f"dns://{dns.address}/{GATEWAYS_NAME}:{grpc_port}",
                "FILELOG_PODS_DIR": str(pods_dir),
                **topic_env,
            },
            work / "agent",
        )
        tier = Tier(agent, gateways)
        failed = True
        try:
            for gateway in gateways:
                gateway.start()
            agent.start()
            yield tier
            failed = False
        finally:
            for collector in tier.all():
                if collector.running():
                    collector.terminate(timeout=60)
            if failed:
                for collector in tier.all():
                    print(collector.log_tail())


# -- what arrived -----------------------------------------------------------------------------------


def values(cluster: ElasticsearchCluster, index: str, query: dict[str, Any], field_name: str) -> Counter[str]:
    """How many documents of ``index`` matching ``query`` carry each value of ``field_name`` (scroll, all hits)."""
    url = cluster.live_node().url
    with httpx.Client(base_url=url, timeout=60.0) as client:
        client.post(f"/{index}/_refresh?ignore_unavailable=true&allow_no_indices=true")
        resp = client.post(
            f"/{index}/_search?scroll=1m&ignore_unavailable=true&allow_no_indices=true",
            json={"size": 5000, "query": query, "_source": [field_name]},
        )
        if resp.status_code == 503:
            return Counter()
        resp.raise_for_status()
        body = resp.json()
        counts: Counter[str] = Counter()
        while body["hits"]["hits"]:
            for hit in body["hits"]["hits"]:
                counts[str(_dotted(hit["_source"], field_name))] += 1
            body = client.post("/_search/scroll", json={"scroll": "1m", "scroll_id": body["_scroll_id"]}).json()
        client.request("DELETE", "/_search/scroll", json={"scroll_id": body["_scroll_id"]})
    return counts


def _dotted(source: dict[str, Any], path: str) -> Any:
    """``source["a"]["b"]`` or ``source["a.b"]`` for ``a.b`` (ECS mode nests some fields, not others)."""
    if path in source:
        return source[path]
    head, _, rest = path.partition(".")
    if head in source and isinstance(source[head], dict) and rest:
        return _dotted(source[head], rest)
    return None


def pod_query(pod: Pod, predictions: bool) -> dict[str, Any]:
    """The pod's prediction records (with ``ml.prediction.id``) or its container log lines (without)."""
    of_pod = {"term": {"kubernetes.pod.name": pod.name}}
    has_id = {"exists": {"field": "ml.prediction.id"}}
    if predictions:
        return {"bool": {"filter": [of_pod, has_id]}}
    return {"bool": {"filter": [of_pod], "must_not": [has_id]}}


@dataclass
class Arrived:
    """Per pod: prediction records by id, container log lines by text, spans by prediction id."""

    records: Counter[str]
    lines: Counter[str]
    spans: Counter[str]

    def complete(self, pod: Pod) -> bool:
        """Everything the pod made is there (at least once)."""
        ids = pod.expected_ids
        return (
            set(self.records) >= ids
            and set(self.spans) >= ids
            and set(self.lines) >= {f"handled prediction {i}" for i in ids}
        )


def arrived(cluster: ElasticsearchCluster, pod: Pod) -> Arrived:
    """Read what Elasticsearch has of ``pod``."""
    return Arrived(
        records=values(cluster, LOGS, pod_query(pod, predictions=True), "ml.prediction.id"),
        lines=values(cluster, LOGS, pod_query(pod, predictions=False), "message"),
        spans=values(cluster, TRACES, {"term": {"kubernetes.pod.name": pod.name}}, "ml.prediction.id"),
    )


def wait_complete(cluster: ElasticsearchCluster, pods: list[Pod], timeout: float) -> tuple[dict[str, Arrived], float]:
    """Poll until every pod's data is in Elasticsearch (or ``timeout``); return it and the seconds waited."""
    started = time.monotonic()
    while True:
        result = {pod.name: arrived(cluster, pod) for pod in pods}
        if all(result[pod.name].complete(pod) for pod in pods) or time.monotonic() - started > timeout:
            # one more refresh interval: a late duplicate must have its chance to show up
            time.sleep(6)
            return {pod.name: arrived(cluster, pod) for pod in pods}, time.monotonic() - started
        time.sleep(2)


def account(pod: Pod, got: Arrived) -> dict[str, int]:
    """Expected, missing and duplicated records, lines and spans of one pod."""
    ids = pod.expected_ids
    lines = {f"handled prediction {i}" for i in ids}
    return {
        "predictions": len(ids),
        "records_indexed": sum(got.records.values()),
        "records_missing": sum(max(0, 2 - got.records[i]) for i in ids),
        "records_duplicated": sum(max(0, n - 2) for n in got.records.values()),
        "records_unknown": len(set(got.records) - ids),
        "lines_indexed": sum(got.lines.values()),
        "lines_missing": len(lines - set(got.lines)),
        "lines_duplicated": sum(n - 1 for n in got.lines.values() if n > 1),
        "spans_indexed": sum(got.spans.values()),
        "spans_missing": len(ids - set(got.spans)),
        "spans_duplicated": sum(n - 1 for n in got.spans.values() if n > 1),
    }


# -- the two pods of every test --------------------------------------------------------------------


def two_pods(pods_dir: Path, test: str) -> list[Pod]:
    """One pod whose runtime writes CRI lines (OTLP/gRPC), one with docker json-file lines (OTLP/HTTP JSON)."""
    return [
        new_pod(pods_dir, f"{test}-model-a", "cri", f"{test}-a"),
        new_pod(pods_dir, f"{test}-model-b", "docker", f"{test}-b"),
    ]


def start_pods(pods: list[Pod], agent: CollectorProcess, seconds: float) -> None:
    """Start both pods' traffic at ``RATE`` each: the first over OTLP/gRPC, the second over OTLP/HTTP JSON."""
    start_load(pods[0], agent.otlp_grpc_endpoint, "grpc", RATE, seconds)
    start_load(pods[1], agent.otlp_http_endpoint, "http/json", RATE, seconds)


def print_accounts(
    title: str, pods: list[Pod], got: dict[str, Any], extra: dict[str, Any]
) -> dict[str, dict[str, int]]:
    """Print what each pod made and what arrived, plus ``extra`` figures; return the accounts."""
    accounts = {pod.name: account(pod, got[pod.name]) for pod in pods}
    print(f"\n{title}")
    for name, figures in accounts.items():
        print(f"  {name}: {figures}")
    for key, value in extra.items():
        print(f"  {key}: {value}")
    return accounts


def assert_exactly_once(accounts: dict[str, dict[str, int]]) -> None:
    """Every prediction's 2 records, 1 span and 1 log line indexed once: none missing, none doubled."""
    for name, figures in accounts.items():
        assert figures["predictions"] > 0, name
        assert figures["records_indexed"] == 2 * figures["predictions"], (name, figures)
        assert figures["lines_indexed"] == figures["predictions"], (name, figures)
        assert figures["spans_indexed"] == figures["predictions"], (name, figures)
        bad = {k: v for k, v in figures.items() if k.endswith(("_missing", "_duplicated", "_unknown")) and v}
        assert not bad, (name, bad)


def arrived_now(cluster: ElasticsearchCluster, pods: list[Pod]) -> dict[str, Arrived]:
    """What Elasticsearch has of each pod right now."""
    return {pod.name: arrived(cluster, pod) for pod in pods}
