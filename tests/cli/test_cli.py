"""The ``otel-ml-logging`` console script, run as a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.model_service import BIN_DIR, REPO_ROOT
from otel_ml_logging import __version__

CLI = str(BIN_DIR / "otel-ml-logging")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)


def config_with(tmp_path: Path, decorator_options: dict) -> Path:
    path = tmp_path / "rest_config.yaml"
    model = {
        "class_path": "tests.plugin.models.ScoringModel",
        "create_endpoint": True,
        "decorators": [
            {"class_path": "otel_ml_logging.PredictionIDDecorator"},
            {"class_path": "otel_ml_logging.OTelLoggingDecorator", "configuration": decorator_options},
        ],
    }
    path.write_text(yaml.safe_dump({"models": [model]}))
    return path


def test_version_and_help():
    assert cli("--version").stdout == f"otel-ml-logging {__version__}\n"
    help_text = cli("--help").stdout
    assert "run" in help_text
    assert "check" in help_text
    assert "OTEL_LOGS_EXPORTER" in cli("run", "--help").stdout
    assert cli().returncode == 2


def test_check_accepts_the_example_config():
    done = cli("check", "examples/insurance_charges_model/rest_config.yaml")
    assert done.returncode == 0, done.stderr
    assert "models[0] insurance_charges_model" in done.stdout
    assert "1 model(s) ok" in done.stdout


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"input_field": ["city"]},
            "models[0].decorators[1] (otel_ml_logging.OTelLoggingDecorator): OTelLoggingDecorator configuration: "
            "unknown option 'input_field' (valid options: input_fields, output_fields, redact_fields, hash_fields, "
            "max_value_length, payload_sample_rate, records, span, metrics)",
        ),
        (
            {"input_fields": ["town"]},
            "input_fields names unknown field(s) 'town' for model 'scoring_model'; "
            "valid names: temperature, city, note, payload, prediction_id",
        ),
        ({"max_value_length": 3}, "option 'max_value_length': Input should be greater than or equal to 16 (got 3)"),
    ],
)
def test_check_names_the_bad_option_and_the_valid_names(tmp_path: Path, options: dict, message: str):
    config = config_with(tmp_path, options)
    done = cli("check", str(config))
    assert done.returncode == 1
    assert message in done.stderr
    assert done.stderr.startswith(f"{config}: ")


def test_check_reports_a_missing_file_and_a_missing_class(tmp_path: Path):
    done = cli("check", str(tmp_path / "absent.yaml"))
    assert done.returncode == 1
    assert "cannot read rest config" in done.stderr
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({"models": [{"class_path": "no_such_package.Model", "create_endpoint": True}]}))
    done = cli("check", str(config))
    assert done.returncode == 1
    assert "models[0]: cannot import 'no_such_package.Model'" in done.stderr


def test_the_module_runs_too():
    done = subprocess.run([sys.executable, "-m", "otel_ml_logging.cli", "--version"], capture_output=True, text=True)
    assert done.stdout == f"otel-ml-logging {__version__}\n"


def test_check_validates_the_custom_attributes_and_sagemaker_sections(tmp_path: Path):
    config = config_with(tmp_path, {})
    document = yaml.safe_load(config.read_text())

    document["sagemaker"] = {"model": "scoring_model"}
    config.write_text(yaml.safe_dump(document))
    done = cli("check", str(config))
    assert done.returncode == 0, done.stderr
    assert "/invocations served by scoring_model" in done.stdout

    document["sagemaker"] = {"model": "scoring"}
    config.write_text(yaml.safe_dump(document))
    done = cli("check", str(config))
    assert done.returncode == 1
    assert "sagemaker: sagemaker.model 'scoring' is not one of scoring_model" in done.stderr

    del document["sagemaker"]
    document["custom_attributes"] = {"attributes": {"tenant": "ml.tenant"}, "header_name": "X"}
    config.write_text(yaml.safe_dump(document))
    done = cli("check", str(config))
    assert done.returncode == 1
    assert "custom_attributes: unknown option(s) header_name (valid: header, response_header, attributes)" in (
        done.stderr
    )
