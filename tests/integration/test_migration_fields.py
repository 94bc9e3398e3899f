"""The README's migration table, checked: every field the replaced setups wrote, where it lands now.

One child process under ``otel-ml-logging run`` (its output captured) makes predictions with both
decorators, logs an exception from a named logger in a named thread, prints a python-json-logger line
and a plain line. Everything goes through the real collector into the real Elasticsearch (ECS mode)
and through the GELF exporter into Graylog's own codec; the assertions are the table's rows.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from harness import REPO_ROOT
from harness.collector import run_collector
from harness.elasticsearch import RunningElasticsearch, flatten_document
from harness.gelf import GraylogHarness

pytestmark = pytest.mark.integration

CONFIGS = [REPO_ROOT / "collector" / name for name in ("config.yaml", "config.elasticsearch.yaml", "config.gelf.yaml")]
LOGS = "logs-otel_ml-default"
SERVICE = "migration-check"

CHILD = r"""
import json, logging, sys, threading
import otel_ml_logging
from otel_ml_logging import OTelLoggingDecorator, PredictionIDDecorator
from tests.plugin.models import ScoringInput, ScoringModel

otel_ml_logging.configure(endpoint=sys.argv[1], protocol="grpc")
model = OTelLoggingDecorator(input_fields=["city"], output_fields=["label"]).set_model(
    PredictionIDDecorator().set_model(ScoringModel()))
logger = logging.getLogger("model_service.predictions")
logging.getLogger().setLevel(logging.INFO)

def work():
    model.predict(ScoringInput(temperature=1, city="riga"))
    try:
        model.predict(ScoringInput(temperature=1, city="nowhere"))
    except LookupError:
        logger.exception("prediction failed")

thread = threading.Thread(target=work, name="worker-7")
thread.start()
thread.join()
print(json.dumps({"asctime": "2026-12-05 10:00:00,000", "levelname": "WARNING", "name": "legacy",
                  "message": "legacy json line", "action": "predict", "model_qualified_name": "scoring_model",
                  "model_version": "2.1.0", "status": "success", "prediction_id": "legacy-1"}), flush=True)
print("plain stdout line", flush=True)
"""


@pytest.fixture(scope="module")
def landed(elasticsearch: RunningElasticsearch, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("migration")
    with GraylogHarness(tcp=False) as graylog:
        env = {
            "ELASTICSEARCH_ENDPOINT": elasticsearch.url,
            "ELASTICSEARCH_FLUSH_INTERVAL": "1s",
            "GELF_ENDPOINT": graylog.udp_endpoint,
        }
        with run_collector(CONFIGS, env, work / "storage") as collector:
            child_env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
            child_env.update(
                {
                    "PYTHONPATH": str(REPO_ROOT),
                    "OTEL_SERVICE_NAME": SERVICE,
                    "OTEL_RESOURCE_ATTRIBUTES": "host.name=node-a,host.ip=10.0.0.7,service.version=2.1.0",
                    "OTEL_PYTHON_LOG_CODE_ATTRIBUTES": "true",
                    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
                    "OTEL_EXPORTER_OTLP_ENDPOINT": collector.otlp_http_endpoint,
                }
            )
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "otel_ml_logging.cli",
                    "run",
                    "--no-echo",
                    "--",
                    sys.executable,
                    "-c",
                    CHILD,
                    collector.otlp_grpc_endpoint,
                ],
                env=child_env,
                capture_output=True,
                text=True,
                timeout=120,
                cwd=REPO_ROOT,
            )
            assert done.returncode == 0, done.stderr
            query = {"term": {"service.name": SERVICE}}
            # 2 + 2 prediction records, 2 model lines, 1 exception log, 2 printed lines, 1 delivery report line
            assert elasticsearch.wait_for_count(LOGS, 10, query, timeout=90) == 10
            docs = [flatten_document(d) for d in elasticsearch.search(LOGS, {"query": query})]
            messages = [m["gelf"] for m in graylog.messages(timeout=60, count=10)]
    return {"es": {d["message"]: d for d in docs}, "gelf": {m["short_message"]: m for m in messages}}


def test_python_json_logger_fields(landed: dict[str, Any]):
    es, gelf = landed["es"], landed["gelf"]
    created, exception = es["Prediction created."], es["Prediction exception."]
    g_created, g_exception = gelf["Prediction created."], gelf["Prediction exception."]
    # action → event name
    assert created["event.action"] == "ml.prediction.created"
    assert g_created["_event_name"] == "ml.prediction.created"
    # model_qualified_name, model_version, prediction_id, status
    for es_doc, gelf_doc in ((created, g_created), (exception, g_exception)):
        assert es_doc["ml.model.name"] == gelf_doc["_ml.model.name"] == "scoring_model"
        assert es_doc["ml.model.version"] == gelf_doc["_ml.model.version"] == "2.1.0"
        assert es_doc["ml.prediction.id"] == gelf_doc["_ml.prediction.id"]
    assert created["ml.prediction.status"] == g_created["_ml.prediction.status"] == "success"
    assert exception["ml.prediction.status"] == g_exception["_ml.prediction.status"] == "error"
    # error_info → exception.* (ECS error.*), the traceback as GELF full_message
    assert exception["error.type"] == g_exception["_error.type"] == g_exception["_exception.type"] == "LookupError"
    assert exception["error.message"] == g_exception["_exception.message"] == "no such city: nowhere"
    assert exception["error.stacktrace"].endswith("LookupError: no such city: nowhere\n")
    assert g_exception["full_message"] == exception["error.stacktrace"]
    # levelname → severity
    assert (exception["log.level"], exception["event.severity"]) == ("ERROR", 17)
    assert (g_exception["level"], g_exception["_severity_text"]) == (3, "ERROR")
    # hostname, node_ip → resource host.name, host.ip
    assert created["host.name"] == created["host.hostname"] == g_created["host"] == "node-a"
    assert created["host.ip"] == g_created["_host.ip"] == "10.0.0.7"
    # new: the prediction's trace and span
    assert created["trace.id"] == g_created["_trace_id"]
    assert created["span.id"] == g_created["_span_id"]
    # input/output fields
    assert es["Prediction requested."]["ml.prediction.input.city"] in ("riga", "nowhere")
    assert created["ml.prediction.output.label"] == g_created["_ml.prediction.output.label"] == "RIGA"


def test_pygelf_fields(landed: dict[str, Any]):
    es, gelf = landed["es"], landed["gelf"]
    failed, g_failed = es["prediction failed"], gelf["prediction failed"]
    # _file, _line, _function with OTEL_PYTHON_LOG_CODE_ATTRIBUTES=true
    assert failed["code.file.path"] == g_failed["_code.file.path"] == "<string>"
    assert failed["code.function.name"] == g_failed["_code.function.name"] == "work"
    line = next(i for i, text in enumerate(CHILD.split("\n"), 1) if "logger.exception(" in text)
    assert failed["code.line.number"] == g_failed["_code.line.number"] == line
    # the traceback of logger.exception(): ECS error.*, GELF full_message
    assert g_failed["full_message"].endswith("LookupError: no such city: nowhere\n")
    assert failed["error.type"] == "LookupError"
    # the model's own log line carries the prediction's identity
    model_line = es["scoring riga"]
    assert model_line["ml.prediction.id"] == es["Prediction created."]["ml.prediction.id"]
    assert gelf["scoring riga"]["_ml.prediction.id"] == model_line["ml.prediction.id"]
    # not carried: logger name (the OpenTelemetry scope), module, process and thread names
    carried = set(failed) | set(g_failed)
    for name in ("log.logger", "_logger", "_logger_name", "_module", "_process_name", "_thread_name", "thread.name"):
        assert name not in carried
    assert "model_service.predictions" not in str(failed) + str(g_failed)
    assert "worker-7" not in str(failed) + str(g_failed)


def test_captured_lines(landed: dict[str, Any]):
    es, gelf = landed["es"], landed["gelf"]
    legacy, g_legacy = es["legacy json line"], gelf["legacy json line"]
    # a python-json-logger line on stdout, captured: its keys become attributes as they are
    for key in ("action", "model_qualified_name", "model_version", "status", "prediction_id", "name", "asctime"):
        assert legacy[key] == g_legacy[f"_{key}"]
    assert (legacy["log.level"], g_legacy["level"]) == ("WARNING", 4)
    assert legacy["log.iostream"] == g_legacy["_log.iostream"] == "stdout"
    plain = es["plain stdout line"]
    assert plain["log.iostream"] == gelf["plain stdout line"]["_log.iostream"] == "stdout"
    assert plain["service.name"] == SERVICE
