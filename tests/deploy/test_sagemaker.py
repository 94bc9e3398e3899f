"""deploy/sagemaker: the Dockerfile (lint level: Docker cannot run here), the collector config (the real
binary validates it) and the ``serve`` entrypoint run for real: collector + model server under capture,
predictions reaching Graylog's own GELF codec with the prediction id and the caller's trace id."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import orjson
import pytest
import tomllib
import yaml

from harness import REPO_ROOT
from harness.collector import build_collector
from harness.gelf import GraylogHarness
from harness.ports import free_port
from harness.processes import stop_process

SAGEMAKER = REPO_ROOT / "deploy" / "sagemaker"
CONFIGS = [
    REPO_ROOT / "collector" / "config.yaml",
    REPO_ROOT / "collector" / "config.gelf.yaml",
    SAGEMAKER / "config.sagemaker.yaml",
]
TRACE_ID = "5bf92f3577b34da6a3ce929d0e0e4736"
HEADER = "X-Amzn-SageMaker-Custom-Attributes"


def test_dockerfile_runs_serve_under_tini_as_non_root_with_every_copied_file_present():
    text = (SAGEMAKER / "Dockerfile").read_text()
    final_stage = text.rsplit("\nFROM ", 1)[-1]
    assert "org.opencontainers.image.source" in final_stage
    users = re.findall(r"^USER\s+(\S+)", final_stage, flags=re.MULTILINE)
    assert users
    assert not users[-1].startswith(("root", "0"))
    assert 'ENTRYPOINT ["/usr/bin/tini", "--"]' in final_stage
    assert 'CMD ["serve"]' in final_stage
    assert "COPY deploy/sagemaker/serve /usr/local/bin/serve" in final_stage
    defaults = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, flags=re.MULTILINE))
    for line in re.findall(r"^COPY (?!--from)(.+)$", text, flags=re.MULTILINE):
        for source in line.split()[:-1]:
            source = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], source)
            assert (REPO_ROOT / source).exists(), source
    assert (REPO_ROOT / defaults["MODEL_PACKAGE"] / "pyproject.toml").is_file()
    assert os.access(SAGEMAKER / "serve", os.X_OK)
    assert subprocess.run(["bash", "-n", str(SAGEMAKER / "serve")], capture_output=True).returncode == 0


@pytest.mark.parametrize("dockerfile", ["deploy/sagemaker/Dockerfile", "deploy/model-service/Dockerfile"])
def test_images_that_build_the_package_copy_every_file_pyproject_names(dockerfile: str):
    text = (REPO_ROOT / dockerfile).read_text()
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    needed = ["pyproject.toml", project["readme"]["file"], *project.get("license-files", [])]
    copied = " ".join(re.findall(r"^COPY (?!--from)(.+)$", text, flags=re.MULTILINE))
    for name in needed:
        parent = Path(name).parent
        assert name in copied or (parent != Path(".") and f"{parent}/" in copied), f"{dockerfile} misses {name}"


def test_collector_config_validates_with_the_real_binary(tmp_path: Path):
    binary = build_collector()
    args = [str(binary), "validate"]
    for config in CONFIGS:
        args += ["--config", str(config)]
    env = {**os.environ, "GELF_ENDPOINT": "udp://127.0.0.1:12201", "COLLECTOR_STORAGE_DIR": str(tmp_path)}
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.mark.integration
def test_serve_delivers_predictions_and_server_output_to_graylog(tmp_path: Path):
    config_dir = tmp_path / "etc"
    config_dir.mkdir()
    for config in CONFIGS:
        shutil.copy(config, config_dir / config.name)
    rest_config = tmp_path / "rest_config.yaml"
    rest_config.write_text(
        yaml.safe_dump(
            {
                "models": [
                    {
                        "class_path": "tests.plugin.models.ScoringModel",
                        "create_endpoint": True,
                        "decorators": [
                            {"class_path": "otel_ml_logging.PredictionIDDecorator"},
                            {"class_path": "otel_ml_logging.OTelLoggingDecorator"},
                        ],
                    }
                ],
                "custom_attributes": {"attributes": {"tenant": "tenant.id"}},
            }
        )
    )
    port = free_port()
    with GraylogHarness(tcp=False) as graylog:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        env.update(
            {
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
                "PYTHONPATH": str(REPO_ROOT),
                "GELF_ENDPOINT": graylog.udp_endpoint,
                "REST_CONFIG": str(rest_config),
                "SAGEMAKER_BIND_TO_PORT": str(port),
                "OTELCOL_BIN": str(build_collector()),
                "OTELCOL_CONFIG_DIR": str(config_dir),
                "COLLECTOR_STORAGE_DIR": str(tmp_path / "storage"),
                "OTLP_GRPC_ENDPOINT": f"127.0.0.1:{free_port()}",
                "OTLP_HTTP_ENDPOINT": f"127.0.0.1:{free_port()}",
                "HEALTH_CHECK_ENDPOINT": f"127.0.0.1:{free_port()}",
                "COLLECTOR_METRICS_PORT": str(free_port()),
                "GELF_FLUSH_INTERVAL": "200ms",
                "OTEL_BLRP_SCHEDULE_DELAY": "200",
                "OTEL_SERVICE_NAME": "sagemaker-endpoint",
            }
        )
        log = tmp_path / "serve.log"
        with log.open("w") as out:
            serve = subprocess.Popen([str(SAGEMAKER / "serve")], env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 90
            while True:
                try:
                    with urllib.request.urlopen(url + "/ping", timeout=2):
                        break
                except OSError:
                    assert serve.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.3)
            request = urllib.request.Request(url + "/invocations", data=b'{"temperature": 3, "city": "lima"}')
            request.add_header("Content-Type", "application/json")
            request.add_header(HEADER, f"traceparent=00-{TRACE_ID}-00f067aa0ba902b7-01,tenant=acme,oops")
            with urllib.request.urlopen(request, timeout=10) as response:
                prediction_id = orjson.loads(response.read())["prediction_id"]
                assert response.headers[HEADER] == f"prediction_id={prediction_id}"

            def fields() -> list[dict]:
                return [m["gelf"] for m in graylog.messages(timeout=0.5, count=10_000)]

            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                created = [f for f in fields() if f.get("short_message") == "Prediction created."]
                access = [f for f in fields() if "POST /invocations HTTP/1.1" in str(f.get("short_message"))]
                warned = [f for f in fields() if "'oops' is not key=value" in str(f.get("short_message"))]
                if created and access and warned:
                    break
            assert created, (fields(), log.read_text())
            assert created[0]["_ml.prediction.id"] == prediction_id
            assert created[0]["_trace_id"] == TRACE_ID
            assert created[0]["_tenant.id"] == "acme"
            assert created[0]["_service.name"] == "sagemaker-endpoint"
            assert access, (fields(), log.read_text())
            assert access[0]["_log.iostream"] == "stdout"
            assert access[0]["_service.name"] == "sagemaker-endpoint"
            # each once: the bridge exports the app's records, the capture only what the servers print
            time.sleep(2)
            assert len([f for f in fields() if f.get("short_message") == "Prediction created."]) == 1
            (warning,) = [f for f in fields() if "'oops' is not key=value" in str(f.get("short_message"))]
            assert warning["level"] == 4
            assert "_log.iostream" not in warning
            assert len([f for f in fields() if "POST /invocations HTTP/1.1" in str(f.get("short_message"))]) == 1
            assert not graylog.errors()
        finally:
            started = time.monotonic()
            serve.send_signal(signal.SIGTERM)
            code = stop_process(serve, 30)
            stopped_in = time.monotonic() - started
        output = log.read_text()
        assert code == 128 + signal.SIGTERM, output  # the server's own code (its SIGTERM exit), passed through
        assert stopped_in < 20, output
        assert re.search(r"otel-ml-logging run: \d+ lines read, \d+ records delivered, 0 failed", output), output
