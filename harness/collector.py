"""Build and run our collector distribution (``otelcol-ml``) from pytest.

The binary is built by ``scripts/build-collector.sh`` (ocb; the first build on a machine takes
minutes, later calls are a no-op). :func:`run_collector` starts it on free loopback ports with the
given ``--config`` files, waits for the ``health_check`` extension, and stops it with SIGTERM::

    from harness.collector import build_collector, run_collector

    build_collector()
    configs = [REPO / "collector" / "config.yaml", REPO / "collector" / "config.gelf.yaml"]
    with run_collector(configs, {"GELF_ENDPOINT": "udp://127.0.0.1:12201"}, tmp_path / "storage") as c:
        send_otlp(c.otlp_grpc_endpoint)  # "http://127.0.0.1:<port>"
        assert c.wait_metric("otelcol_exporter_sent_log_records", 1, exporter="gelf") >= 1

The environment variables it sets for the collector (read by ``collector/config.yaml``):
``OTLP_GRPC_ENDPOINT``, ``OTLP_HTTP_ENDPOINT``, ``HEALTH_CHECK_ENDPOINT``, ``COLLECTOR_METRICS_HOST``,
``COLLECTOR_METRICS_PORT`` (all on 127.0.0.1 and free ports) and ``COLLECTOR_STORAGE_DIR``. The
caller's ``env`` is applied after them and so may override any of them.

Environment read here: ``OTELCOL_ML_BINARY`` uses that binary instead of building one.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness import REPO_ROOT
from harness.ports import LOOPBACK, distinct_free_ports
from harness.processes import stop_process

__all__ = [
    "BINARY_ENV",
    "REPO_ROOT",
    "CollectorError",
    "RunningCollector",
    "build_collector",
    "parse_prometheus_text",
    "run_collector",
]

BUILD_SCRIPT = REPO_ROOT / "scripts" / "build-collector.sh"
BINARY_ENV = "OTELCOL_ML_BINARY"

_build_lock = threading.Lock()
_built: Path | None = None


class CollectorError(RuntimeError):
    """The collector could not be built, did not become healthy, or died while running."""


def build_collector() -> Path:
    """Build ``collector/_build/otelcol-ml`` once per process and return its path.

    Runs ``scripts/build-collector.sh``, which is itself a fast no-op when nothing changed and
    serialises concurrent builds with a file lock. ``OTELCOL_ML_BINARY`` skips the build.

    Raises:
        CollectorError: the build failed (its output is in the message).

    """
    global _built
    with _build_lock:
        if _built is not None and _built.is_file():
            return _built
        override = os.environ.get(BINARY_ENV)
        if override:
            path = Path(override).resolve()
            if not os.access(path, os.X_OK):
                raise CollectorError(f"{BINARY_ENV}={override} is not an executable file")
            _built = path
            return path
        proc = subprocess.run(
            ["bash", str(BUILD_SCRIPT)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise CollectorError(
                f"{BUILD_SCRIPT} failed with exit code {proc.returncode}\n"
                f"--- stdout ---\n{proc.stdout[-5000:]}\n--- stderr ---\n{proc.stderr[-20000:]}"
            )
        lines = proc.stdout.strip().splitlines()
        path = Path(lines[-1]) if lines else REPO_ROOT / "collector" / "_build" / "otelcol-ml"
        if not path.is_file():
            raise CollectorError(f"{BUILD_SCRIPT} succeeded but {path} does not exist")
        _built = path
        return path


_SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r"(?:\{(?P<labels>.*)\})?"
    r"\s+(?P<value>\S+)(?:\s+\S+)?\s*$"
)
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def _unescape(value: str) -> str:
    return value.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")


def parse_prometheus_text(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Parse Prometheus text exposition format into ``(name, labels, value)`` samples.

    Comment lines (``# HELP``, ``# TYPE``) and lines that do not parse are skipped.
    """
    samples: list[tuple[str, dict[str, str], float]] = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match is None:
            continue
        labels = {key: _unescape(value) for key, value in _LABEL.findall(match.group("labels") or "")}
        try:
            value = float(match.group("value"))
        except ValueError:
            continue
        samples.append((match.group("name"), labels, value))
    return samples


@dataclass
class RunningCollector:
    """A started ``otelcol-ml`` process (returned by :func:`run_collector`).

    Attributes:
        process: the collector's process.
        otlp_grpc_endpoint: ``http://127.0.0.1:<port>`` of the OTLP/gRPC receiver (plaintext).
        otlp_http_endpoint: ``http://127.0.0.1:<port>`` of the OTLP/HTTP receiver (append
            ``/v1/logs``, ``/v1/traces``, ``/v1/metrics``).
        health_url: the ``health_check`` extension's URL.
        metrics_url: the collector's own Prometheus metrics (``http://127.0.0.1:<port>/metrics``).
        log_path: file with the collector's stdout and stderr.
        storage_dir: the ``file_storage`` extension's directory.
        config_files: the ``--config`` files, in order.
        env: the variables set for the collector on top of ``os.environ``.

    """

    process: subprocess.Popen[bytes]
    otlp_grpc_endpoint: str
    otlp_http_endpoint: str
    health_url: str
    metrics_url: str
    log_path: Path
    storage_dir: Path
    config_files: list[Path]
    env: dict[str, str] = field(default_factory=dict)

    def metrics_text(self, timeout: float = 5.0) -> str:
        """Return the current Prometheus text of the collector's own metrics."""
        with urllib.request.urlopen(self.metrics_url, timeout=timeout) as response:
            return str(response.read().decode("utf-8"))

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples of metric ``name`` whose labels include ``labels``; 0.0 if none.

        If no sample is called ``name`` exactly, ``name + "_total"`` is tried, so counters can be
        named either way (``otelcol_exporter_sent_log_records`` or ``..._total``). Example::

            collector.metric("otelcol_exporter_send_failed_log_records", exporter="gelf")
        """
        samples = parse_prometheus_text(self.metrics_text())
        names = {sample_name for sample_name, _, _ in samples}
        wanted = name if name in names or f"{name}_total" not in names else f"{name}_total"
        total = 0.0
        for sample_name, sample_labels, value in samples:
            if sample_name == wanted and all(sample_labels.get(k) == v for k, v in labels.items()):
                total += value
        return total

    def wait_metric(self, name: str, at_least: float, timeout: float = 30.0, **labels: str) -> float:
        """Poll :meth:`metric` until it is ``>= at_least`` or ``timeout`` seconds pass; return the last value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.metric(name, **labels)
            if value >= at_least or time.monotonic() >= deadline:
                return value
            self.check_alive()
            time.sleep(0.2)

    def log_text(self) -> str:
        """Return everything the collector wrote so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def check_alive(self) -> None:
        """Raise :class:`CollectorError` with the log if the process has exited."""
        code = self.process.poll()
        if code is not None:
            raise CollectorError(f"otelcol-ml exited with code {code}\n{self._log_tail()}")

    def _log_tail(self, chars: int = 20_000) -> str:
        return f"--- {self.log_path} (last {chars} chars) ---\n{self.log_text()[-chars:]}"


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError):
        return False


def _hostport(value: str) -> str:
    """``0.0.0.0:4317`` → ``127.0.0.1:4317`` (what a client on this machine should dial)."""
    host, _, port = value.rpartition(":")
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = LOOPBACK
    return f"{host}:{port}"


@contextlib.contextmanager
def run_collector(
    config_files: list[Path],
    env: dict[str, str],
    storage_dir: Path,
    *,
    startup_timeout: float = 60.0,
    stop_timeout: float = 30.0,
) -> Iterator[RunningCollector]:
    """Run ``otelcol-ml --config f1 --config f2 ...`` until the ``with`` block ends.

    Builds the binary first if needed (:func:`build_collector`). The collector runs in the
    repository root with free ports on 127.0.0.1 (see the module docstring for the variables),
    ``COLLECTOR_STORAGE_DIR=storage_dir`` (created if missing) and its log in
    ``<storage_dir>.otelcol.log`` next to ``storage_dir``.

    On leaving, the collector gets SIGTERM and up to ``stop_timeout`` seconds to drain (then
    SIGKILL). If the block raised, the collector died on its own, or it did not become healthy
    within ``startup_timeout`` seconds, its log is written to stderr (pytest shows it with the
    failure); the latter two raise :class:`CollectorError`.
    """
    binary = build_collector()
    storage_dir = Path(storage_dir).resolve()
    storage_dir.mkdir(parents=True, exist_ok=True)
    log_path = storage_dir.with_name(storage_dir.name + ".otelcol.log")
    grpc_port, http_port, health_port, metrics_port = distinct_free_ports(4)
    ours = {
        "OTLP_GRPC_ENDPOINT": f"{LOOPBACK}:{grpc_port}",
        "OTLP_HTTP_ENDPOINT": f"{LOOPBACK}:{http_port}",
        "HEALTH_CHECK_ENDPOINT": f"{LOOPBACK}:{health_port}",
        "COLLECTOR_METRICS_HOST": LOOPBACK,
        "COLLECTOR_METRICS_PORT": str(metrics_port),
        "COLLECTOR_STORAGE_DIR": str(storage_dir),
    }
    applied: dict[str, str] = {**ours, **env}
    full_env: Mapping[str, str] = {**os.environ, **applied}
    args = [str(binary)]
    for config in config_files:
        args += ["--config", str(Path(config).resolve())]

    with log_path.open("ab") as log:
        log.write(f"$ {' '.join(args)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            args, cwd=REPO_ROOT, env=dict(full_env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    collector = RunningCollector(
        process=process,
        otlp_grpc_endpoint=f"http://{_hostport(applied['OTLP_GRPC_ENDPOINT'])}",
        otlp_http_endpoint=f"http://{_hostport(applied['OTLP_HTTP_ENDPOINT'])}",
        health_url=f"http://{_hostport(applied['HEALTH_CHECK_ENDPOINT'])}/",
        metrics_url=f"http://{applied['COLLECTOR_METRICS_HOST']}:{applied['COLLECTOR_METRICS_PORT']}/metrics",
        log_path=log_path,
        storage_dir=storage_dir,
        config_files=[Path(c) for c in config_files],
        env=applied,
    )

    failed = True
    try:
        deadline = time.monotonic() + startup_timeout
        while not _http_ok(collector.health_url):
            collector.check_alive()
            if time.monotonic() > deadline:
                raise CollectorError(
                    f"otelcol-ml not healthy at {collector.health_url} after {startup_timeout:.0f}s\n"
                    f"{collector._log_tail()}"
                )
            time.sleep(0.1)
        yield collector
        collector.check_alive()
        failed = False
    finally:
        code = stop_process(process, stop_timeout)
        if failed:
            print(f"otelcol-ml exit code {code}\n{collector._log_tail()}", file=sys.stderr)
        elif code != 0:
            print(f"otelcol-ml exited with code {code} after SIGTERM\n{collector._log_tail()}", file=sys.stderr)
