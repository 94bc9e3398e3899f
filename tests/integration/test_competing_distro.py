"""With ``opentelemetry-distro`` installed too, start-up says which set-up runs and how to choose.

A throw-away venv holds this package (editable) and the real ``opentelemetry-distro`` at the versions
of the test venv; a real ``opentelemetry-instrument python -c ...`` run reports which distro and which
configurator actually ran (our distro records that it ran, without writing the environment; our
configurator installs the SIGTERM handler), and the test compares that with the one warning the package logs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib.metadata import distributions
from pathlib import Path

import pytest

from harness import REPO_ROOT

pytestmark = pytest.mark.integration

UV = Path(sys.executable).parent / "uv"
WARNING = "several OpenTelemetry set-ups are installed"
PROBE = """
import json, os, signal
from otel_ml_logging import OTelLoggingDecorator
from otel_ml_logging.setup.distro import MLLoggingDistro
OTelLoggingDecorator()  # a rest config builds one: the warning's last chance when none of ours ran
print("PROBE " + json.dumps({
    "distro": "otel_ml_logging" if MLLoggingDistro.ran else "other",
    "configurator": "otel_ml_logging" if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL else "other",
}))
"""
QUIET = {"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"}


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not UV.exists():
        pytest.skip(f"uv not installed in the test venv ({UV}); make setup installs it")
    path = tmp_path_factory.mktemp("distro-venv") / "venv"
    subprocess.run([str(UV), "venv", "-q", "--python", sys.executable, str(path)], check=True, timeout=120)
    # the same OpenTelemetry versions as the test venv, plus the real opentelemetry-distro
    pins = sorted(
        f"{d.metadata['Name']}=={d.version}" for d in distributions() if d.metadata["Name"].startswith("opentelemetry-")
    )
    instrumentation = next(p for p in pins if p.startswith("opentelemetry-instrumentation=="))
    constraints = path.parent / "constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")
    subprocess.run(
        [str(UV), "pip", "install", "-q", "--python", str(path / "bin" / "python"), "-c", str(constraints),
         "-e", str(REPO_ROOT), instrumentation.replace("instrumentation==", "distro==")],
        check=True,
        timeout=600,
    )  # fmt: skip
    # a copy of opentelemetry-distro in a directory put first on PYTHONPATH: found before ours
    subprocess.run(
        [str(UV), "pip", "install", "-q", "--python", str(path / "bin" / "python"), "--no-deps",
         "--target", str(path.parent / "distro-first"), instrumentation.replace("instrumentation==", "distro==")],
        check=True,
        timeout=600,
    )  # fmt: skip
    return path


def run(venv: Path, **variables: str) -> tuple[dict[str, str], list[str], str]:
    """Run the probe under opentelemetry-instrument; return what ran, our warnings, and stderr."""
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", **QUIET, **variables}
    result = subprocess.run(
        [str(venv / "bin" / "opentelemetry-instrument"), str(venv / "bin" / "python"), "-c", PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=venv.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("PROBE ")]
    warnings = [line for line in result.stderr.splitlines() if WARNING in line]
    return json.loads(line.removeprefix("PROBE ")), warnings, result.stderr


def claimed(warning: str) -> dict[str, str]:
    match = re.search(r"This process runs distro '([^']+)' and configurator '([^']+)'", warning)
    assert match, warning
    return {kind: "otel_ml_logging" if name == "otel_ml_logging" else "other" for kind, name in zip(
        ("distro", "configurator"), match.groups(), strict=True)}  # fmt: skip


def test_both_unset_warns_once_and_says_truly_which_runs(venv):
    ran, warnings, stderr = run(venv)
    assert len(warnings) == 1, stderr
    (warning,) = warnings
    assert claimed(warning) == ran
    assert "distro (opentelemetry-distro)" in warning
    assert "configurator (opentelemetry-distro)" in warning
    assert "OTEL_PYTHON_DISTRO=otel_ml_logging and OTEL_PYTHON_CONFIGURATOR=otel_ml_logging" in warning


def test_theirs_found_first_runs_theirs_and_the_decorator_warns_once(venv):
    ran, warnings, stderr = run(venv, PYTHONPATH=str(venv.parent / "distro-first"))
    assert ran == {"distro": "other", "configurator": "other"}  # none of our start-up code ran
    assert len(warnings) == 1, stderr
    assert claimed(warnings[0]) == ran


@pytest.mark.parametrize("first", ["ours", "theirs"])
def test_choosing_ours_runs_ours_without_a_warning(venv, first):
    variables = {"OTEL_PYTHON_DISTRO": "otel_ml_logging", "OTEL_PYTHON_CONFIGURATOR": "otel_ml_logging"}
    if first == "theirs":
        variables["PYTHONPATH"] = str(venv.parent / "distro-first")
    ran, warnings, stderr = run(venv, **variables)
    assert ran == {"distro": "otel_ml_logging", "configurator": "otel_ml_logging"}
    assert warnings == [], stderr


def test_choosing_theirs_runs_theirs_without_a_warning(venv):
    ran, warnings, stderr = run(venv, OTEL_PYTHON_DISTRO="distro", OTEL_PYTHON_CONFIGURATOR="configurator")
    assert ran == {"distro": "other", "configurator": "other"}
    assert warnings == [], stderr


@pytest.mark.parametrize(
    "variables",
    [{"OTEL_PYTHON_DISTRO": "distro"}, {"OTEL_PYTHON_CONFIGURATOR": "configurator"}],
    ids=["distro-named", "configurator-named"],
)
def test_half_a_choice_still_warns_once_and_truly(venv, variables):
    ran, warnings, stderr = run(venv, **variables)
    assert len(warnings) == 1, stderr
    assert claimed(warnings[0]) == ran
