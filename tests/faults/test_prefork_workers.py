"""Pre-fork servers: gunicorn and ``uvicorn --workers`` lose nothing on a graceful stop, on every protocol.

Each server runs under ``opentelemetry-instrument`` as users run it, exporting to the real collector,
which relays to a test receiver; every prediction is counted there by its ``ml.prediction.id``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from harness import REPO_ROOT
from harness.collector import run_collector
from harness.model_service import run_model_service, scoring_rest_config, stop, write_rest_config
from harness.otlp_receiver import grpc_receiver

pytestmark = pytest.mark.integration

RELAY_CONFIG = REPO_ROOT / "tests" / "integration" / "collector.relay.yaml"

PREDICTIONS = 300
PROTOCOLS = ("grpc", "http/protobuf", "http/json")
SERVERS = (("gunicorn", 3), ("uvicorn", 2))  # --workers: uvicorn's spawned workers cost more start-up CPU
REST_CONFIG = scoring_rest_config(service_title="Scoring service", version="3.0.0")


@dataclass
class Run:
    server: str
    workers: int
    protocol: str
    statuses: list[int]
    exit_code: int
    exit_seconds: float
    output: str

    @property
    def name(self) -> str:
        return f"r5-{self.server}-{self.protocol.replace('/', '-')}"


def _serve_and_stop(
    rest_config: Path, tmp_path: Path, collector_endpoints: dict[str, str], server: str, workers: int, protocol: str
) -> Run:
    name = f"r5-{server}-{protocol.replace('/', '-')}"
    env = {
        "OTEL_SERVICE_NAME": name,
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector_endpoints[protocol],
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_METRICS_EXPORTER": "none",
    }
    log_dir = tmp_path / name
    log_dir.mkdir()
    with run_model_service(rest_config, env, log_dir, startup_timeout=120, server=server, workers=workers) as service:
        url = f"{service.url}/api/models/scoring_model/prediction"

        def send(index: int) -> int:
            # a new connection per request: the workers' accept loops share them out
            body = {"temperature": index, "city": "oslo", "prediction_id": f"{name}-{index}"}
            return httpx.post(url, json=body, timeout=30).status_code

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            statuses = list(pool.map(send, range(PREDICTIONS)))
        started = time.monotonic()
        exit_code = stop(service, timeout=60)
        exit_seconds = time.monotonic() - started
    return Run(server, workers, protocol, statuses, exit_code, exit_seconds, service.output())


def test_every_worker_delivers_everything_on_a_graceful_stop(tmp_path):
    rest_config = write_rest_config(tmp_path, REST_CONFIG)
    with grpc_receiver() as receiver:
        relay = {"RELAY_OTLP_ENDPOINT": receiver.endpoint.removeprefix("http://")}
        configs = [
            REPO_ROOT / "collector" / "config.yaml",
            REPO_ROOT / "tests" / "integration" / "collector.relay.yaml",
        ]
        with run_collector(configs, relay, tmp_path / "storage") as collector:
            endpoints = {
                "grpc": collector.otlp_grpc_endpoint,
                "http/protobuf": collector.otlp_http_endpoint,
                "http/json": collector.otlp_http_endpoint,
            }
            cases = [(server, workers, protocol) for server, workers in SERVERS for protocol in PROTOCOLS]
            with concurrent.futures.ThreadPoolExecutor(len(cases)) as pool:
                runs = list(pool.map(lambda case: _serve_and_stop(rest_config, tmp_path, endpoints, *case), cases))
            expected = {run.name: PREDICTIONS for run in runs}

            def complete(received) -> bool:
                created, spans = _by_service(received)
                return all(len(created[n]) >= c and len(spans[n]) >= c for n, c in expected.items())

            with contextlib.suppress(AssertionError):  # reported below, per server and protocol
                receiver.wait_for(complete, timeout=20)
            time.sleep(1.0)  # anything doubled would arrive by now
    created, spans = _by_service(receiver.received)
    instances = _instances(receiver.received)
    print()
    print("server   workers protocol       created/300 spans/300 duplicates instances exit code exit s")
    for run in runs:
        ids = created[run.name]
        duplicates = sum(ids.values()) - len(ids)
        print(
            f"{run.server:8} {run.workers:7} {run.protocol:14} {len(ids):11} {len(spans[run.name]):9} "
            f"{duplicates:10} {len(instances[run.name]):9} {run.exit_code:9} {run.exit_seconds:6.1f}"
        )
    for run in runs:
        assert run.statuses == [200] * PREDICTIONS, run.name
        assert run.exit_code in (0, 143), run.output
        assert len(created[run.name]) == PREDICTIONS, (run.name, run.output[-3000:])
        assert len(spans[run.name]) == PREDICTIONS, (run.name, run.output[-3000:])
        assert set(created[run.name].values()) == {1}, run.name  # nothing doubled
        # each worker is its own instance: more than one served, never more ids than workers
        assert 2 <= len(instances[run.name]) <= run.workers, (run.name, instances[run.name])
    all_instances = [instance for run in runs for instance in instances[run.name]]
    assert len(all_instances) == len(set(all_instances))  # no worker shares its master's or a sibling's id


def _by_service(received) -> tuple[dict[str, dict[str, int]], dict[str, set[str]]]:
    created: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    spans: dict[str, set[str]] = defaultdict(set)
    for record in received.logs:
        if record["event_name"] == "ml.prediction.created":
            created[record["resource"].get("service.name")][record["attributes"]["ml.prediction.id"]] += 1
    for span in received.spans:
        if span["name"] == "predict scoring_model":
            spans[span["resource"].get("service.name")].add(span["attributes"]["ml.prediction.id"])
    return created, spans


def _instances(received) -> dict[str, set[str]]:
    instances: dict[str, set[str]] = defaultdict(set)
    for record in received.logs:
        if record["event_name"] == "ml.prediction.created":
            instances[record["resource"].get("service.name")].add(record["resource"].get("service.instance.id"))
    return instances
