"""A collector that fault tests can kill and restart: same ports, same storage, same log.

:func:`harness.collector.run_collector` gives a collector for one ``with`` block. Fault
tests need more: SIGKILL it under load and start it again on the same OTLP ports (so the senders
reconnect to it) with the same ``file_storage`` directory (so it finds its persistent queues), or
time how long a SIGTERM takes::

    collector = CollectorProcess(configs, {"ELASTICSEARCH_ENDPOINT": es.url}, tmp_path / "storage")
    collector.start()
    collector.kill()                 # SIGKILL: no shutdown at all
    collector.start()                # same ports and storage
    seconds = collector.terminate()  # SIGTERM; seconds until the process was gone

A tier of collectors on one machine binds each to its own loopback address (``host``: 127.0.0.N
stands in for a pod IP; all of 127.0.0.0/8 reaches this host) and may share one OTLP/gRPC port
(``grpc_port``), so that one DNS name with several A records reaches all of them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from harness import REPO_ROOT
from harness.collector import CollectorError, build_collector, parse_prometheus_text
from harness.ports import LOOPBACK, distinct_free_ports


class CollectorProcess:
    """One ``otelcol-ml`` configuration that can be started, killed and restarted."""

    def __init__(
        self,
        config_files: list[Path],
        env: Mapping[str, str],
        storage_dir: Path,
        *,
        host: str = LOOPBACK,
        grpc_port: int | None = None,
    ) -> None:
        """Choose the ports now (they stay the same across restarts); nothing runs yet.

        Every listener binds ``host``; the OTLP/gRPC port is ``grpc_port`` when given.
        """
        self.binary = build_collector()
        self.storage_dir = Path(storage_dir).resolve()
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.storage_dir.with_name(self.storage_dir.name + ".otelcol.log")
        grpc, http, health, metrics = distinct_free_ports(4)
        grpc = grpc_port or grpc
        self.host = host
        self.env = {
            "OTLP_GRPC_ENDPOINT": f"{host}:{grpc}",
            "OTLP_HTTP_ENDPOINT": f"{host}:{http}",
            "HEALTH_CHECK_ENDPOINT": f"{host}:{health}",
            "COLLECTOR_METRICS_HOST": host,
            "COLLECTOR_METRICS_PORT": str(metrics),
            "COLLECTOR_STORAGE_DIR": str(self.storage_dir),
            **env,
        }
        self.otlp_grpc_endpoint = f"http://{host}:{grpc}"
        self.otlp_http_endpoint = f"http://{host}:{http}"
        self.health_url = f"http://{host}:{health}/"
        self.metrics_url = f"http://{host}:{metrics}/metrics"
        self.args = [str(self.binary)]
        for config in config_files:
            self.args += ["--config", str(Path(config).resolve())]
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 60.0) -> None:
        """Start the process and wait until its health check answers."""
        if self.running():
            raise CollectorError("the collector is already running")
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {self.starts + 1} at {time.strftime('%H:%M:%S')} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.args,
                cwd=REPO_ROOT,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while not self._healthy():
            if self.process.poll() is not None:
                raise CollectorError(f"otelcol-ml exited with {self.process.returncode}\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise CollectorError(f"otelcol-ml not healthy after {timeout:.0f}s\n{self.log_tail()}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the process (a crash, an OOM kill, a node loss) and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def terminate(self, timeout: float = 120.0) -> float:
        """SIGTERM (what Kubernetes sends); return the seconds until the process exited.

        Raises CollectorError (after a SIGKILL) if it is still running after ``timeout``.
        """
        if self.process is None or self.process.poll() is not None:
            raise CollectorError("the collector is not running")
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise CollectorError(f"otelcol-ml still running {timeout:.0f}s after SIGTERM\n{self.log_tail()}") from None
        self.process = None
        return time.monotonic() - started

    def running(self) -> bool:
        """Return True while the process is alive."""
        return self.process is not None and self.process.poll() is None

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the collector's own metric ``name`` (or ``name_total``) over samples with ``labels``."""
        with urllib.request.urlopen(self.metrics_url, timeout=5) as response:
            samples = parse_prometheus_text(response.read().decode("utf-8"))
        names = {sample_name for sample_name, _, _ in samples}
        wanted = name if name in names or f"{name}_total" not in names else f"{name}_total"
        return sum(
            value
            for sample_name, sample_labels, value in samples
            if sample_name == wanted and all(sample_labels.get(k) == v for k, v in labels.items())
        )

    def log_text(self) -> str:
        """Everything the collector wrote so far, over all its starts."""
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def log_tail(self, chars: int = 20_000) -> str:
        """Return the end of the log, for assertion messages."""
        return f"--- {self.log_path} ---\n{self.log_text()[-chars:]}"

    def close(self) -> None:
        """Stop the process if it still runs (SIGKILL: tests that care use :meth:`terminate`)."""
        self.kill()

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=1.0) as response:
                return bool(200 <= response.status < 300)
        except (urllib.error.URLError, OSError):
            return False
