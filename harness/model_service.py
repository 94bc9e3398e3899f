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

import yaml

from harness import REPO_ROOT
from harness.ports import free_port
from harness.processes import stop_process

BIN_DIR = Path(sys.executable).parent
APP = "rest_model_service.main:app"
SCORING_MODEL = "tests.plugin.models.ScoringModel"


def scoring_rest_config(
    logging_configuration: Mapping[str, object] | None = None, **settings: object
) -> dict[str, object]:
    """Return a rest-model-service configuration serving the test ``ScoringModel`` with both decorators.

    ``logging_configuration``: the ``OTelLoggingDecorator``'s configuration (default: the input field
    ``city``); ``settings``: more top-level keys (``service_title``, ``logging``, ``custom_attributes``...).
    """
    otel_logging = {"input_fields": ["city"]} if logging_configuration is None else dict(logging_configuration)
    decorators = [
        {"class_path": "otel_ml_logging.PredictionIDDecorator"},
        {"class_path": "otel_ml_logging.OTelLoggingDecorator", "configuration": otel_logging},
    ]
    return {**settings, "models": [{"class_path": SCORING_MODEL, "create_endpoint": True, "decorators": decorators}]}


def write_rest_config(directory: Path, config: Mapping[str, object]) -> Path:
    """Write ``config`` to ``directory/rest_config.yaml`` (for the ``REST_CONFIG`` variable) and return its path."""
    path = directory / "rest_config.yaml"
    path.write_text(yaml.safe_dump(dict(config)))
    return path


@dataclass
class RunningService:
    """A model service process: its URL and, after it stopped, its output."""

    url: str
    process: subprocess.Popen[str]
    output_path: Path

    def output(self) -> str:
        """Everything the service wrote to stdout and stderr so far."""
        return self.output_path.read_text(errors="replace")


def server_command(server: str, workers: int, port: int) -> list[str]:
    """Return the command line of ``server`` (``uvicorn`` or ``gunicorn``) serving the app with ``workers`` processes.

    ``workers=0``: uvicorn without ``--workers`` (one process, no supervisor). uvicorn's spawned workers
    get 60 s to answer their supervisor's first health check: each starts the SDK before it answers, which
    takes longer than uvicorn's 5 s default on a busy 2-core machine (the supervisor then kills and
    restarts them, again and again).
    """
    address = ["--host", "127.0.0.1", "--port", str(port)]
    if server == "uvicorn":
        return [
            str(BIN_DIR / "uvicorn"),
            APP,
            *address,
            *(["--workers", str(workers), "--timeout-worker-healthcheck", "60"] if workers else []),
        ]
    if server == "gunicorn":
        worker_class = "uvicorn.workers.UvicornWorker"
        return [str(BIN_DIR / "gunicorn"), "-w", str(workers or 1), "-k", worker_class, "-b", f"127.0.0.1:{port}", APP]
    raise ValueError(f"unknown server {server!r} (uvicorn or gunicorn)")


@contextmanager
def run_model_service(
    rest_config: Path,
    env: Mapping[str, str],
    log_dir: Path,
    startup_timeout: float = 60.0,
    server: str = "uvicorn",
    workers: int = 0,
) -> Iterator[RunningService]:
    """Start ``opentelemetry-instrument <server> rest_model_service.main:app`` and wait until it is ready.

    ``server``/``workers``: see :func:`server_command` (default: one uvicorn process).
    """
    port = free_port()
    output_path = log_dir / f"model-service-{port}.log"
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "REST_CONFIG": str(rest_config),
        **env,
    }
    command = [str(BIN_DIR / "opentelemetry-instrument"), *server_command(server, workers, port)]
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
