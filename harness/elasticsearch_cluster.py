"""N real Elasticsearch nodes forming one cluster on loopback (test peer, not shipped).

Each node is the same launcher as :mod:`harness.elasticsearch` (Elastic's server jars), with its
own HTTP and transport ports; the nodes find each other through ``discovery.seed_hosts`` and
bootstrap the cluster together (every node master-eligible, so one may die)::

    with run_elasticsearch_cluster(tmp_path, size=3) as cluster:
        apply_templates(cluster.nodes[0])
        env = {"ELASTICSEARCH_ENDPOINT": cluster.endpoints}   # "http://127.0.0.1:A,http://127.0.0.1:B,..."
        cluster.nodes[1].kill()                            # SIGKILL, data stays
        cluster.nodes[1].start()                           # rejoins

Environment: ``ES_CLUSTER_HEAP`` (default ``384m`` per node), plus those of :mod:`harness.elasticsearch`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from harness.elasticsearch import ElasticsearchStartError, RunningElasticsearch, ensure_elasticsearch
from harness.ports import LOOPBACK, distinct_free_ports


class ClusterNode(RunningElasticsearch):
    """One node of a loopback cluster: a :class:`RunningElasticsearch` with cluster discovery."""

    def __init__(
        self, base_dir: Path, cache_dir: Path, *, name: str, http_port: int, transport_port: int, heap: str
    ) -> None:
        """Prepare (not start) node ``name``; :meth:`join` tells it the other nodes."""
        super().__init__(base_dir, cache_dir, port=http_port, heap=heap)
        self.name = name
        self.transport_port = transport_port
        self.seed_hosts: list[str] = []
        self.masters: list[str] = []

    def join(self, nodes: list[ClusterNode]) -> None:
        """Discover ``nodes`` (this one included) and bootstrap the cluster with them."""
        self.seed_hosts = [f"{LOOPBACK}:{node.transport_port}" for node in nodes]
        self.masters = [node.name for node in nodes]

    def command(self) -> list[str]:
        """Return the launcher's command line with the node's name, transport port and peers."""
        return [
            *super().command(),
            "--node-name",
            self.name,
            "--transport-port",
            str(self.transport_port),
            "--seed-hosts",
            ",".join(self.seed_hosts),
            "--initial-master-nodes",
            ",".join(self.masters),
        ]

    def launch(self) -> None:
        """Start the JVM without waiting (a lone node cannot become healthy before the others join)."""
        if self.is_running():
            return
        self.base_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {time.strftime('%H:%M:%S')} {self.name} port {self.port} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def kill(self) -> None:
        """SIGKILL the node (a crash: no flush, no handover); its data stays for a restart."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
            self.process = None


class ElasticsearchCluster:
    """The nodes of one cluster and the few cluster-wide calls the tests need."""

    def __init__(self, nodes: list[ClusterNode]) -> None:
        """Wrap ``nodes`` (already joined to each other)."""
        self.nodes = nodes

    @property
    def endpoints(self) -> str:
        """Comma-separated HTTP URLs of every node (what ``ELASTICSEARCH_ENDPOINT`` takes)."""
        return ",".join(node.url for node in self.nodes)

    def live_node(self) -> ClusterNode:
        """Return a running node to send requests to."""
        for node in self.nodes:
            if node.is_running():
                return node
        raise AssertionError("no Elasticsearch node is running")

    def health(self, **params: str) -> dict[str, Any]:
        """``GET /_cluster/health`` on a live node."""
        resp = httpx.get(f"{self.live_node().url}/_cluster/health", params=params, timeout=60.0)
        return dict(resp.json())

    def wait_for(self, status: str, nodes: int, timeout: float = 180.0) -> dict[str, Any]:
        """Wait until the cluster has ``nodes`` nodes and at least ``status`` health; return the health."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] | str = "no answer"
        while time.monotonic() < deadline:
            for node in self.nodes:
                if node.process is not None and node.process.poll() is not None:
                    raise ElasticsearchStartError(
                        f"{node.name} exited with {node.process.returncode}\n{node.log_tail()}"
                    )
            with contextlib.suppress(httpx.HTTPError, AssertionError, ValueError):
                last = self.health(wait_for_status=status, wait_for_nodes=f">={nodes}", timeout="2s")
                if not last.get("timed_out", True) and last.get("number_of_nodes", 0) >= nodes:
                    return last
            time.sleep(0.5)
        raise ElasticsearchStartError(
            f"cluster not {status} with {nodes} nodes after {timeout:.0f}s: {last}\n{self.nodes[0].log_tail()}"
        )

    def close(self) -> None:
        """Stop every node."""
        for node in self.nodes:
            node.close()


@contextlib.contextmanager
def run_elasticsearch_cluster(base_dir: Path, size: int = 3, heap: str | None = None) -> Iterator[ElasticsearchCluster]:
    """Start ``size`` nodes under ``base_dir``, yield the cluster once green, stop every node on exit."""
    cache_dir = ensure_elasticsearch()
    heap = heap or os.environ.get("ES_CLUSTER_HEAP", "384m")
    ports = distinct_free_ports(2 * size)
    nodes = [
        ClusterNode(
            base_dir / f"es-{index}",
            cache_dir,
            name=f"es-{index}",
            http_port=ports[2 * index],
            transport_port=ports[2 * index + 1],
            heap=heap,
        )
        for index in range(size)
    ]
    for node in nodes:
        node.join(nodes)
    cluster = ElasticsearchCluster(nodes)
    try:
        for node in nodes:
            node.launch()
        cluster.wait_for("green", size)
        yield cluster
    except BaseException:
        for node in nodes:
            print(f"----- {node.name} log ({node.log_path}) -----\n{node.log_tail(60)}")
        raise
    finally:
        cluster.close()
