"""A model service stand-in for fault tests: predictions at a fixed rate through the public API.

Run as a process (``python -m harness.prediction_load --endpoint ... --rate 200 --seconds 60``):
it sets the plugin up with :func:`otel_ml_logging.configure`, wraps a trivial ml-base model with
:class:`otel_ml_logging.OTelLoggingDecorator`, predicts at ``--rate`` per second for ``--seconds``,
flushes and shuts the SDK down (as a service does on SIGTERM), and prints one JSON line: the number
of predictions, seconds, and the plugin's delivery counters per signal (``accepted``,
``exported``, ``failed``, ``dropped``). Prediction ``n`` carries the client id
``<service name>-<n>`` (``ml.prediction.id``) and was made at ``started + n / rate`` (wall clock),
so a test can tell when each missing prediction was made (:meth:`LoadResult.made_at`).

:func:`start_load` starts it from a test and :func:`finish_load` collects the result.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import REPO_ROOT
from harness.pacing import paced


@dataclass(frozen=True)
class LoadResult:
    """What the load process reports after its shutdown."""

    predictions: int
    seconds: float
    delivery: dict[str, dict[str, int]]
    report_line: str
    service_name: str
    started: float
    rate: float

    def records(self, signal: str = "log records") -> dict[str, int]:
        """Return the plugin's counters for ``signal`` (``log records`` or ``spans``)."""
        return self.delivery.get(signal, {"accepted": 0, "exported": 0, "failed": 0, "dropped": 0})

    def prediction_id(self, number: int) -> str:
        """Return the ``ml.prediction.id`` of prediction ``number`` (0-based)."""
        return f"{self.service_name}-{number}"

    def made_at(self, prediction_id: str) -> float:
        """Wall-clock time (``time.time()``) at which the prediction with this id was made."""
        return self.started + int(prediction_id.rsplit("-", 1)[1]) / self.rate


def start_load(
    endpoint: str,
    rate: float,
    seconds: float,
    protocol: str,
    service_name: str,
    log_path: Path,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    """Start the load process (stdout piped, stderr to ``log_path``); see :func:`finish_load`.

    ``env`` adds variables for the process (``OTEL_*`` settings of the plugin and the SDK).
    """
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OTEL_METRIC_EXPORT_INTERVAL": "5000", **(env or {})}
    command = [
        sys.executable,
        "-m",
        "harness.prediction_load",
        "--endpoint",
        endpoint,
        "--protocol",
        protocol,
        "--rate",
        str(rate),
        "--seconds",
        str(seconds),
        "--service-name",
        service_name,
    ]
    with log_path.open("w") as log:
        return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=log, text=True)


def finish_load(process: subprocess.Popen[str], timeout: float) -> LoadResult:
    """Wait for the load process and parse its JSON line; raise AssertionError if it failed."""
    stdout, _ = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise AssertionError(f"load process exited with {process.returncode}: {stdout[-2000:]}")
    data: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return LoadResult(
        data["predictions"],
        data["seconds"],
        data["delivery"],
        data["report"],
        data["service_name"],
        data["started"],
        data["rate"],
    )


def _run(endpoint: str, protocol: str, rate: float, seconds: float, service_name: str) -> dict[str, Any]:
    from opentelemetry import _logs, metrics, trace

    import otel_ml_logging as oml

    # The bench's trivial model (predict() costs ~nothing); imported by name, as bench/ is not typed.
    bench = importlib.import_module("bench.model")
    stats = oml.configure(service_name=service_name, endpoint=endpoint, protocol=protocol, instrument_logging=False)
    model = oml.OTelLoggingDecorator(
        input_fields=list(bench.INPUT_FIELDS), output_fields=list(bench.OUTPUT_FIELDS)
    ).set_model(bench.TrivialModel())
    sample = bench.SAMPLE
    count = 0
    started = time.time()
    start = time.perf_counter()
    for number in paced(rate, seconds, start):
        model.predict(sample.model_copy(update={"prediction_id": f"{service_name}-{number}"}))
        count += 1
    elapsed = time.perf_counter() - start
    model.flush(60)
    for provider in (trace.get_tracer_provider(), _logs.get_logger_provider(), metrics.get_meter_provider()):
        getattr(provider, "shutdown", lambda: None)()
    delivery = {
        signal: {"accepted": d.accepted, "exported": d.exported, "failed": d.failed, "dropped": d.dropped}
        for signal, d in stats.snapshot().items()
    }
    return {
        "predictions": count,
        "seconds": elapsed,
        "delivery": delivery,
        "report": stats.report(),
        "service_name": service_name,
        "started": started,
        "rate": rate,
    }


def main() -> None:
    """Command line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--protocol", default="grpc")
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--service-name", default="fault-load")
    args = parser.parse_args()
    result = _run(args.endpoint, args.protocol, args.rate, args.seconds, args.service_name)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
