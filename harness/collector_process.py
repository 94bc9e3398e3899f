"""An ``otelcol-ml`` process that can be killed and started again: one agent or gateway of a tier.

:func:`harness.collector.run_collector` runs one collector for the length of a ``with`` block;
a fault test needs to SIGKILL a gateway and bring it back with the same addresses, storage and
configuration, as a StatefulSet would restart its pod on the same volume::

    gateway = CollectorProcess("gateway-0", configs, env, tmp_path / "gateway-0", host="127.0.0.2")
    gateway.start()
    gateway.kill()     # SIGKILL: nothing flushed, the persistent queue stays on disk
    gateway.start()    # same ports, same queue
    gateway.stop()

``host`` is the loopback address every listener binds (127.0.0.N stand in for pod IPs); the OTLP
gRPC port can be fixed (a tier's gateways share one port behind one DNS name).
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
from harness.processes import stop_process


class CollectorProcess:
    """One restartable collector with fixed addresses and its own storage directory."""

    def __init__(
        self,
        name: str,
        configs: list[Path],
        env: Mapping[str, str],
        work_dir: Path,
        *,
        host: str = LOOPBACK,
        grpc_port: int | None = None,
    ) -> None:
        """Prepare (not start) collector ``name``: storage in ``work_dir/storage``, log in ``work_dir/otelcol.log``."""
        self.name = name
        self.configs = configs
        self.work_dir = work_dir
        self.log_path = work_dir / "otelcol.log"
        ports = distinct_free_ports(4)
        self.grpc_port = grpc_port or ports[0]
        self.host = host
        self.env = {
            "OTLP_GRPC_ENDPOINT": f"{host}:{self.grpc_port}",
            "OTLP_HTTP_ENDPOINT": f"{host}:{ports[1]}",
            "HEALTH_CHECK_ENDPOINT": f"{host}:{ports[2]}",
            "COLLECTOR_METRICS_HOST": host,
            "COLLECTOR_METRICS_PORT": str(ports[3]),
            "COLLECTOR_STORAGE_DIR": str(work_dir / "storage"),
            **env,
        }
        self.otlp_grpc_endpoint = f"http://{self.env['OTLP_GRPC_ENDPOINT']}"
        self.otlp_http_endpoint = f"http://{self.env['OTLP_HTTP_ENDPOINT']}"
        self.health_url = f"http://{self.env['HEALTH_CHECK_ENDPOINT']}/"
        self.metrics_url = f"http://{host}:{self.env['COLLECTOR_METRICS_PORT']}/metrics"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        """Start the collector and wait until its health check answers."""
        binary = build_collector()
        (self.work_dir / "storage").mkdir(parents=True, exist_ok=True)
        args = [str(binary)]
        for config in self.configs:
            args += ["--config", str(config)]
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {time.strftime('%H:%M:%S')} {self.name} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                args,
                cwd=REPO_ROOT,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not _http_ok(self.health_url):
            if self.process.poll() is not None:
                raise CollectorError(f"{self.name} exited with {self.process.returncode}\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise CollectorError(f"{self.name} not healthy after {timeout:.0f}s\n{self.log_tail()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: a crash, nothing drained or flushed."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
            self.process = None

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait up to ``timeout`` for a clean shutdown; return the exit code."""
        if self.process is None:
            return None
        code = stop_process(self.process, timeout)
        self.process = None
        return code

    def is_running(self) -> bool:
        """Return True while the process is alive."""
        return self.process is not None and self.process.poll() is None

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples of metric ``name`` (or ``name_total``) whose labels include ``labels``."""
        with urllib.request.urlopen(self.metrics_url, timeout=5.0) as response:
            samples = parse_prometheus_text(response.read().decode())
        names = {sample for sample, _, _ in samples}
        wanted = name if name in names or f"{name}_total" not in names else f"{name}_total"
        return sum(v for n, lab, v in samples if n == wanted and all(lab.get(k) == x for k, x in labels.items()))

    def log_tail(self, chars: int = 6000) -> str:
        """Return the end of the collector's log (all of its runs)."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else "(no log)"
        return f"--- {self.name}: {self.log_path} ---\n{text[-chars:]}"


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError):
        return False
