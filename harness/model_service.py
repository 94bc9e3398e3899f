"""Run a rest-model-service app under ``opentelemetry-instrument``, as users do, for tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness import REPO_ROOT
from harness.ports import free_port
from harness.processes import stop_process

BIN_DIR = Path(sys.executable).parent


@dataclass
class RunningService:
    """A model service process: its URL and, after it stopped, its output."""

    url: str
    process: subprocess.Popen[str]
    output_path: Path

    def output(self) -> str:
        """Everything the service wrote to stdout and stderr so far."""
        return self.output_path.read_text(errors="replace")


@contextmanager
def run_model_service(
    rest_config: Path, env: Mapping[str, str], log_dir: Path, startup_timeout: float = 60.0
) -> Iterator[RunningService]:
    """Start ``opentelemetry-instrument uvicorn rest_model_service.main:app`` and wait until it is ready."""
    port = free_port()
    output_path = log_dir / f"model-service-{port}.log"
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "REST_CONFIG": str(rest_config),
        **env,
    }
    command = [
        str(BIN_DIR / "opentelemetry-instrument"),
        str(BIN_DIR / "uvicorn"),
        "rest_model_service.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with output_path.open("w") as output:
        process = subprocess.Popen(command, env=environment, stdout=output, stderr=subprocess.STDOUT, text=True)
    service = RunningService(f"http://127.0.0.1:{port}", process, output_path)
    try:
        _wait_ready(service, startup_timeout)
        yield service
    finally:
        stop(service)


def stop(service: RunningService, timeout: float = 30.0) -> int:
    """Stop the service with SIGTERM (graceful: telemetry is flushed) and return its exit code."""
    return stop_process(service.process, timeout)


def _wait_ready(service: RunningService, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(f"model service exited with {service.process.returncode}:\n{service.output()}")
        try:
            with urllib.request.urlopen(service.url + "/api/health/ready", timeout=2) as response:
                if b"ACCEPTING_TRAFFIC" in response.read():
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"model service not ready after {timeout}s:\n{service.output()}")
