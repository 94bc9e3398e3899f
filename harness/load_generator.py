"""A model pod's traffic: predictions through the real plugin and the pod's stdout in a kubelet log file.

Run as a process (one per simulated pod)::

    python -m harness.load_generator --endpoint http://127.0.0.1:4317 --protocol grpc
        --rate 200 --seconds 30 --id-prefix two-tier-a --pod-log /tmp/pods/ml_model-a_<uid>/model/0.log

Every prediction goes through :class:`otel_ml_logging.OTelLoggingDecorator` around a trivial
``MLModel`` (records "requested" and "created" plus a span, with ``ml.prediction.id`` =
``<id-prefix>-<n>``), exported by the plugin to ``--endpoint`` with the resource attribute
``k8s.pod.name`` from ``OTEL_RESOURCE_ATTRIBUTES`` (composed from the downward API in a cluster).
For the same request the process appends the line ``handled prediction <id>`` to ``--pod-log`` the way the container
runtime writes a container's stdout: CRI format (``<time> stdout F <line>``; every 10th line split
into a partial ``P`` part and its final ``F`` part, as CRI-O/containerd do for long lines) or
docker json-file (``{"log": ..., "stream": "stdout", "time": ...}``).

Prints one JSON line at the end: predictions made, seconds, and the plugin's delivery counters.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from ml_base import MLModel
from pydantic import BaseModel

import otel_ml_logging as oml
from harness import REPO_ROOT
from harness.pacing import paced


class LoadInput(BaseModel):
    """The example's input fields plus the client's prediction id."""

    age: int
    bmi: float
    region: str
    prediction_id: str


class LoadOutput(BaseModel):
    """One number."""

    charges: float


class ConstantModel(MLModel):  # type: ignore[misc]  # ml_base is untyped
    """Returns a constant: what is exercised is the telemetry around it."""

    display_name = "Load model"
    qualified_name = "load_model"
    description = "Trivial model of the load generator."
    version = "1.0.0"
    input_schema = LoadInput
    output_schema = LoadOutput

    def __init__(self) -> None:
        """No state."""

    def predict(self, data: LoadInput) -> LoadOutput:
        """Return the same charges for everyone."""
        return LoadOutput(charges=1234.5)


def command(
    endpoint: str, protocol: str, rate: float, seconds: float, id_prefix: str, pod_log: Path, log_format: str = "cri"
) -> list[str]:
    """Return the command line that runs this module as one pod's load (see the module docstring)."""
    return [
        sys.executable,
        "-m",
        "harness.load_generator",
        "--endpoint",
        endpoint,
        "--protocol",
        protocol,
        "--rate",
        str(rate),
        "--seconds",
        str(seconds),
        "--id-prefix",
        id_prefix,
        "--pod-log",
        str(pod_log),
        "--log-format",
        log_format,
    ]


def pod_environment(pod_name: str, namespace: str) -> dict[str, str]:
    """Return the process environment of pod ``pod_name``: no inherited ``OTEL_*``, the pod's resource attributes.

    ``OTEL_RESOURCE_ATTRIBUTES`` is what a manifest composes from the downward API
    (deploy/kubernetes/model-service.yaml).
    """
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
        "OTEL_RESOURCE_ATTRIBUTES": f"k8s.pod.name={pod_name},k8s.namespace.name={namespace}",
        "PYTHONPATH": str(REPO_ROOT),
    }


def _timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def write_line(out: IO[str], line: str, log_format: str, split: bool) -> None:
    """Append ``line`` to a container log file the way the runtime would."""
    if log_format == "docker":
        out.write(json.dumps({"log": line + "\n", "stream": "stdout", "time": _timestamp()}) + "\n")
    elif split:
        cut = len(line) // 2
        out.write(f"{_timestamp()} stdout P {line[:cut]}\n{_timestamp()} stdout F {line[cut:]}\n")
    else:
        out.write(f"{_timestamp()} stdout F {line}\n")


def main(argv: list[str] | None = None) -> None:
    """Make predictions at ``--rate`` for ``--seconds`` (or ``--count`` of them), then flush and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--protocol", default="grpc", choices=["grpc", "http/protobuf", "http/json"])
    parser.add_argument("--rate", type=float, default=100.0, help="predictions per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--count", type=int, default=0, help="stop after this many predictions (0: no limit)")
    parser.add_argument("--id-prefix", required=True)
    parser.add_argument("--pod-log", type=Path, help="container log file to append each request's line to")
    parser.add_argument("--log-format", default="cri", choices=["cri", "docker"])
    args = parser.parse_args(argv)

    stats = oml.configure(
        service_name="load-model", endpoint=args.endpoint, protocol=args.protocol, instrument_logging=False
    )
    model = oml.OTelLoggingDecorator(input_fields=["age", "region"], output_fields=["charges"]).set_model(
        ConstantModel()
    )
    pod_log: IO[str] | None = None
    if args.pod_log is not None:
        args.pod_log.parent.mkdir(parents=True, exist_ok=True)
        pod_log = args.pod_log.open("a", buffering=1)
    started = time.perf_counter()
    made = 0
    for number in paced(args.rate, args.seconds, started, args.count):
        prediction_id = f"{args.id_prefix}-{number}"
        model.predict(LoadInput(age=30 + number % 40, bmi=25.0, region="northwest", prediction_id=prediction_id))
        if pod_log is not None:
            write_line(pod_log, f"handled prediction {prediction_id}", args.log_format, split=number % 10 == 9)
        made += 1
    seconds = time.perf_counter() - started
    model.flush(60)
    if pod_log is not None:
        pod_log.close()
    print(json.dumps({"predictions": made, "seconds": seconds, "delivery": stats.report()}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
