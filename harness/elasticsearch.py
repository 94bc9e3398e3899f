"""A real Elasticsearch 8.19 node for integration tests (test peer, not shipped).

The node is Elastic's own server jar from Maven Central, started by the small launcher in
``tools/elasticsearch`` (see ``scripts/fetch-elasticsearch.sh``): one JVM, heap capped at 1 GiB,
HTTP on a free loopback port, data under a directory the caller owns. It has no x-pack (no
security, ILM, built-in ``logs-*`` templates, ``GET /`` or ``GET /_data_stream``), but data
streams work (auto-created from an index template with ``"data_stream": {}``) and so does
``require_data_stream=true`` on ``_bulk``.

Use the context manager directly::

    with run_elasticsearch(tmp_path) as es:
        es.request("PUT", "/_index_template/x", {...})
        es.refresh()
        assert es.count("logs-otel_ml-*") == 3

or, in tests, the session-scoped ``elasticsearch`` fixture of ``tests/conftest.py`` (templates
applied). If Java or Maven is missing the fixture skips with the reason; under ``CI=true`` it fails.
Environment: ``ES_HEAP`` (default ``1g``), ``ES_CACHE_DIR``, ``ES_START_TIMEOUT`` (seconds, 180).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from harness import REPO_ROOT
from harness.ports import free_port
from harness.processes import stop_process

FETCH_SCRIPT = REPO_ROOT / "scripts" / "fetch-elasticsearch.sh"
SETUP_SCRIPT = REPO_ROOT / "scripts" / "setup-elasticsearch.py"
TEMPLATE_DIR = REPO_ROOT / "collector" / "elasticsearch"
ES_VERSION = "8.19.21"  # also the compose demo's image tag (deploy/compose/.env)

# JVM flags: the ones bin/elasticsearch would set that matter here, and the 8.x server running
# as a named module (NodeServiceProvider reads its own module descriptor, so the class path
# fails with a NullPointerException).
JVM_FLAGS = (
    "-XX:+UseG1GC",
    "-Djava.awt.headless=true",
    "-Dfile.encoding=UTF-8",
    "-Djava.locale.providers=SPI,COMPAT",
    "-Dio.netty.noUnsafe=true",
    "-Dio.netty.recycler.maxCapacityPerThread=0",
    "-Dlog4j.shutdownHookEnabled=false",
    "-Dlog4j2.disable.jmx=true",
    "-XX:-OmitStackTraceInFastThrow",
)


class ElasticsearchUnavailableError(RuntimeError):
    """Java or Maven is missing, so no node can be fetched or started."""


class ElasticsearchStartError(RuntimeError):
    """The node did not become healthy; the message carries the tail of its log."""


def ensure_elasticsearch() -> Path:
    """Fetch (once, cached) the node's jars; return the cache directory.

    Raises ElasticsearchUnavailableError when ``java`` or ``mvn`` is missing.
    """
    missing = [tool for tool in ("java", os.environ.get("MVN", "mvn")) if shutil.which(tool) is None]
    if missing:
        raise ElasticsearchUnavailableError(f"{', '.join(missing)} not on PATH (need Java 17+ and Maven)")
    result = subprocess.run(
        [str(FETCH_SCRIPT)], capture_output=True, text=True, check=False, timeout=900, cwd=REPO_ROOT
    )
    if result.returncode != 0:
        raise ElasticsearchStartError(f"{FETCH_SCRIPT} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def flatten_mapping(properties: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Turn a mapping's nested ``properties`` into ``{"a.b.c": "keyword", ...}`` (leaf fields only)."""
    out: dict[str, str] = {}
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        if "properties" in spec:
            out.update(flatten_mapping(spec["properties"], f"{path}."))
        else:
            out[path] = spec.get("type", "object")
    return out


class RunningElasticsearch:
    """One Elasticsearch node process plus a small HTTP helper around its REST API."""

    def __init__(self, base_dir: Path, cache_dir: Path, port: int | None = None, heap: str | None = None) -> None:
        """Prepare (not start) a node whose home, data and log live under ``base_dir``."""
        self.base_dir = base_dir
        self.home = base_dir / "es-home"
        self.log_path = base_dir / "elasticsearch.log"
        self.cache_dir = cache_dir
        self.port = port or free_port()
        self.heap = heap or os.environ.get("ES_HEAP", "1g")
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.start_seconds: float | None = None
        self._client = httpx.Client(base_url=self.url, timeout=30.0)

    # -- lifecycle -------------------------------------------------------------------------
    def command(self) -> list[str]:
        """Return the java command line that starts the node."""
        return [
            "java",
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            *JVM_FLAGS,
            "--module-path",
            str(self.cache_dir / "lib"),
            "--add-modules",
            "ALL-MODULE-PATH,jdk.net",
            "-cp",
            str(self.cache_dir / "launcher" / "es-test-node.jar"),
            "io.github.otelml.estestnode.TestNode",
            "--home",
            str(self.home),
            "--http-port",
            str(self.port),
            "--netty-module-dir",
            str(self.cache_dir / "modules" / "transport-netty4"),
        ]

    def start(self, timeout: float | None = None) -> None:
        """Start the node (same port and data on a restart) and wait for yellow health."""
        if self.is_running():
            return
        timeout = timeout or float(os.environ.get("ES_START_TIMEOUT", "180"))
        self.base_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {time.strftime('%H:%M:%S')} port {self.port} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ElasticsearchStartError(f"Elasticsearch exited with {self.process.returncode}\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                resp = self._client.get("/_cluster/health", params={"wait_for_status": "yellow", "timeout": "1s"})
                if resp.status_code == 200 and resp.json().get("status") in ("yellow", "green"):
                    self.start_seconds = time.monotonic() - started
                    return
            time.sleep(0.5)
        self.stop()
        raise ElasticsearchStartError(f"Elasticsearch not healthy after {timeout:.0f}s\n{self.log_tail()}")

    def stop(self, timeout: float = 60.0) -> None:
        """Stop the node gracefully (SIGTERM, then SIGKILL after ``timeout``); data stays."""
        if self.process is None:
            return
        stop_process(self.process, timeout)
        self.process = None

    def is_running(self) -> bool:
        """Return True while the JVM process is alive."""
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 80) -> str:
        """Return the last ``lines`` lines of the node's console log."""
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        """Stop the node and release the HTTP client."""
        self.stop()
        self._client.close()

    # -- REST helpers ----------------------------------------------------------------------
    def request(self, method: str, path: str, body: object | None = None, expect: tuple[int, ...] = (200, 201)) -> Any:
        """Send a JSON request; return the decoded body; raise AssertionError on other statuses."""
        resp = self._client.request(method, path, json=body)
        if resp.status_code not in expect:
            raise AssertionError(f"{method} {path} -> {resp.status_code}: {resp.text[:2000]}")
        return resp.json() if resp.content else None

    def refresh(self, index: str = "_all") -> None:
        """Make everything indexed so far searchable (data streams included)."""
        self.request("POST", f"/{index}/_refresh?expand_wildcards=all&ignore_unavailable=true")

    def search(self, index: str, body: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Return the ``_source`` of each hit (``size`` defaults to 1000)."""
        query = {"size": 1000, **(body or {})}
        result = self.request("POST", f"/{index}/_search?ignore_unavailable=true&allow_no_indices=true", query)
        return [hit["_source"] for hit in result["hits"]["hits"]]

    def count(self, index: str, query: Mapping[str, Any] | None = None) -> int:
        """Count documents matching ``query`` (all when None); 0 if the index does not exist."""
        count = self.count_when_searchable(index, query)
        if count is None:
            raise AssertionError(f"count on {index}: a shard is not allocated yet")
        return count

    def count_when_searchable(self, index: str, query: Mapping[str, Any] | None = None) -> int | None:
        """Like :meth:`count`, but None while a new backing index's shard is still being allocated.

        The exporter's first bulk request creates the data stream; for a moment its primary
        shard is unassigned and searches answer 503 ``no_shard_available_action_exception``.
        """
        body = {"query": query} if query else None
        path = f"/{index}/_count?ignore_unavailable=true&allow_no_indices=true"
        resp = self._client.post(path, json=body)
        if resp.status_code == 503 and "no_shard_available_action_exception" in resp.text:
            return None
        if resp.status_code != 200:
            raise AssertionError(f"POST {path} -> {resp.status_code}: {resp.text[:2000]}")
        return int(resp.json()["count"])

    def mapping(self, index: str) -> dict[str, str]:
        """Leaf field types of ``index`` (a data stream or pattern), merged over backing indices."""
        result = self.request("GET", f"/{index}/_mapping")
        fields: dict[str, str] = {}
        for spec in result.values():
            fields.update(flatten_mapping(spec["mappings"].get("properties", {})))
        return fields

    def data_streams(self, pattern: str = "*") -> list[str]:
        """Names of data streams matching ``pattern`` (``GET _data_stream`` needs x-pack here)."""
        result = self.request("GET", f"/_resolve/index/{pattern}?expand_wildcards=all")
        return sorted(stream["name"] for stream in result.get("data_streams", []))

    def wait_for_count(
        self, index: str, expected: int, query: Mapping[str, Any] | None = None, timeout: float = 60.0
    ) -> int:
        """Refresh and count until at least ``expected`` documents match; return the last count."""
        deadline = time.monotonic() + timeout
        count = 0
        while time.monotonic() < deadline:
            self.refresh()
            searchable_count = self.count_when_searchable(index, query)
            if searchable_count is not None:
                count = searchable_count
                if count >= expected:
                    return count
            time.sleep(0.5)
        return count


@contextlib.contextmanager
def run_elasticsearch(
    base_dir: Path, port: int | None = None, heap: str | None = None
) -> Iterator[RunningElasticsearch]:
    """Start a node under ``base_dir``, yield it healthy, stop it on exit.

    On an exception inside the block the node's log tail is printed (pytest shows it).
    """
    cache_dir = ensure_elasticsearch()
    node = RunningElasticsearch(base_dir, cache_dir, port=port, heap=heap)
    try:
        node.start()
        yield node
    except BaseException:
        print(f"----- Elasticsearch log ({node.log_path}) -----\n{node.log_tail(200)}")
        raise
    finally:
        node.close()


def apply_templates(node: RunningElasticsearch) -> str:
    """Run ``scripts/setup-elasticsearch.py`` against ``node`` (the real script, not a copy)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELASTICSEARCH_")}
    env["ELASTICSEARCH_ENDPOINT"] = node.url
    result = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "python"), str(SETUP_SCRIPT)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )
    if result.returncode != 0:
        raise AssertionError(f"setup-elasticsearch.py failed: {result.stdout}\n{result.stderr}")
    return result.stdout


def flatten_document(document: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys for a ``_source`` whose objects nest (ECS mode writes ``{"trace": {"id": ...}}``)."""
    flat: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(value, Mapping):
            flat.update(flatten_document(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


# Field types our templates give the log documents of docs/telemetry.md (ECS mode); tests add the
# fields their own documents carry.
ECS_LOG_FIELD_TYPES: dict[str, str] = {
    "@timestamp": "date_nanos",
    "message": "text",
    "log.level": "keyword",
    "event.severity": "long",
    "trace.id": "keyword",
    "span.id": "keyword",
    "service.name": "keyword",
    "service.node.name": "keyword",
    "host.name": "keyword",
    "host.hostname": "keyword",
    "host.ip": "ip",
    "kubernetes.pod.name": "keyword",
    "kubernetes.namespace": "keyword",
    "error.type": "keyword",
    "error.message": "text",
    "error.stacktrace": "text",
    "ml.model.name": "keyword",
    "ml.model.version": "keyword",
    "ml.prediction.id": "keyword",
    "ml.prediction.status": "keyword",
    "ml.prediction.latency_ms": "double",
    "ml.prediction.input.age": "double",
    "ml.prediction.input.region": "keyword",
    "ml.prediction.output.charges": "double",
}
