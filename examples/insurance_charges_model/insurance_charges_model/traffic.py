"""Send prediction traffic to a running insurance charges service.

Example (service on the default uvicorn address)::

    python -m insurance_charges_model.traffic --url http://127.0.0.1:8000 --count 40 --error-every 8 --seed 1

Request ``i`` (counting from 1) is

* a *model error* request when ``--error-every N`` divides ``i``: a valid request whose bmi (46-50)
  is above what the model was trained on, so ``predict()`` raises ``ValueError`` and the service
  answers 500;
* otherwise an *invalid* request when ``--invalid-every M`` divides ``i`` (off by default): it
  breaks the input schema (age 17, bmi 55, an unknown region, a missing field), so the service
  answers 400 without calling the model;
* otherwise a *valid* request, which carries a client-supplied ``prediction_id`` (a UUID4) when
  ``--prediction-id-every K`` divides ``i`` and no ``prediction_id`` otherwise.

The same seed always sends the same requests. Only the standard library is used. Prints one line per
request with ``--verbose`` and a summary at the end; exits with 1 if any request got no HTTP answer.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

MODEL_PATH = "/api/models/insurance_charges_model/prediction"
"""Path of the prediction endpoint, relative to the service URL."""

READY_PATH = "/api/health/ready"
"""Readiness endpoint of rest-model-service."""

Sender = Callable[[str, dict[str, Any]], int]
"""Sends one JSON payload to a URL path and returns the HTTP status (raises ``OSError`` on no answer)."""

_SEXES = ("female", "male")
_REGIONS = ("southwest", "southeast", "northwest", "northeast")


@dataclass
class Summary:
    """Counts of what was sent and what came back."""

    sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    no_answer: int = 0

    def count(self, status: int) -> int:
        """Return how many responses had ``status``."""
        return self.statuses.get(status, 0)

    def __str__(self) -> str:
        """Return the one-line summary printed at the end of a run."""
        other = sum(n for s, n in self.statuses.items() if s not in (200, 400, 500))
        return (
            f"sent={self.sent} 200={self.count(200)} 400={self.count(400)} 500={self.count(500)} "
            f"other={other} no_answer={self.no_answer}"
        )


def valid_payload(rng: random.Random) -> dict[str, Any]:
    """Return a random request the model accepts (bmi within the trained range)."""
    return {
        "age": rng.randint(18, 65),
        "sex": rng.choice(_SEXES),
        "bmi": round(rng.uniform(16.0, 44.0), 1),
        "children": rng.choices(range(6), weights=(43, 24, 18, 12, 2, 1))[0],
        "smoker": rng.random() < 0.2,
        "region": rng.choice(_REGIONS),
    }


def model_error_payload(rng: random.Random) -> dict[str, Any]:
    """Return a schema-valid request the model refuses: bmi above the largest bmi seen in training."""
    payload = valid_payload(rng)
    payload["bmi"] = round(rng.uniform(46.0, 50.0), 1)
    return payload


def invalid_payload(rng: random.Random) -> dict[str, Any]:
    """Return a request that breaks the input schema (one of four kinds, chosen at random)."""
    payload = valid_payload(rng)
    kind = rng.randrange(4)
    if kind == 0:
        payload["age"] = 17
    elif kind == 1:
        payload["bmi"] = 55.0
    elif kind == 2:
        payload["region"] = "antarctica"
    else:
        del payload["smoker"]
    return payload


def plan(
    count: int, error_every: int, invalid_every: int, prediction_id_every: int, seed: int
) -> list[tuple[str, dict[str, Any]]]:
    """Return the ``(kind, payload)`` pairs to send, kind being ``valid``, ``model_error`` or ``invalid``."""
    rng = random.Random(seed)
    requests: list[tuple[str, dict[str, Any]]] = []
    for i in range(1, count + 1):
        if error_every > 0 and i % error_every == 0:
            requests.append(("model_error", model_error_payload(rng)))
        elif invalid_every > 0 and i % invalid_every == 0:
            requests.append(("invalid", invalid_payload(rng)))
        else:
            payload = valid_payload(rng)
            if prediction_id_every > 0 and i % prediction_id_every == 0:
                payload["prediction_id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            requests.append(("valid", payload))
    return requests


def urllib_sender(base_url: str, timeout: float) -> Sender:
    """Return a ``Sender`` posting JSON to ``base_url`` with urllib."""

    def send(path: str, payload: dict[str, Any]) -> int:
        request = urllib.request.Request(
            base_url.rstrip("/") + path,
            data=json.dumps(payload).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    return send


def wait_until_ready(base_url: str, seconds: float) -> bool:
    """Poll the readiness endpoint for up to ``seconds``; return whether the service became ready."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(base_url.rstrip("/") + READY_PATH, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)


def run(
    send: Sender,
    count: int = 40,
    error_every: int = 8,
    invalid_every: int = 0,
    prediction_id_every: int = 5,
    seed: int = 1,
    verbose: bool = False,
) -> Summary:
    """Send the planned requests with ``send`` and return what came back.

    Args:
        send: the transport (``urllib_sender`` for a real service, anything else in tests).
        count: number of requests.
        error_every: every N-th request is a model error request (0: none).
        invalid_every: every M-th request is a schema-invalid request (0: none).
        prediction_id_every: every K-th valid request carries a client ``prediction_id`` (0: none).
        seed: seed of the request contents.
        verbose: print one line per request.

    Returns:
        The summary of the run.

    """
    summary = Summary()
    requests = plan(count, error_every, invalid_every, prediction_id_every, seed)
    for i, (kind, payload) in enumerate(requests, start=1):
        summary.sent += 1
        try:
            status = send(MODEL_PATH, payload)
        except OSError as error:
            summary.no_answer += 1
            if verbose:
                print(f"{i:4d} {kind:<11} no answer: {error}")
            continue
        summary.statuses[status] = summary.statuses.get(status, 0) + 1
        if verbose:
            print(f"{i:4d} {kind:<11} {status} {json.dumps(payload)}")
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(description="Send prediction traffic to the insurance charges service.")
    add = parser.add_argument
    add("--url", default="http://127.0.0.1:8000", help="service URL (default %(default)s)")
    add("--count", type=int, default=40, help="number of requests (default %(default)s)")
    add(
        "--error-every",
        type=int,
        default=8,
        help="every N-th request makes the model fail, HTTP 500 (0: never; default %(default)s)",
    )
    add(
        "--invalid-every",
        type=int,
        default=0,
        help="every M-th request breaks the schema, HTTP 400 (0: never; default %(default)s)",
    )
    add(
        "--prediction-id-every",
        type=int,
        default=5,
        help="every K-th valid request sends a prediction_id (0: never; default %(default)s)",
    )
    add("--seed", type=int, default=1, help="random seed (default %(default)s)")
    add("--timeout", type=float, default=10.0, help="per-request timeout, s (default %(default)s)")
    add(
        "--wait-ready",
        type=float,
        default=30.0,
        help="wait up to this many seconds for /api/health/ready (default %(default)s)",
    )
    add("--verbose", action="store_true", help="print one line per request")
    args = parser.parse_args(argv)
    if args.count < 0 or min(args.error_every, args.invalid_every, args.prediction_id_every) < 0:
        parser.error("--count and the --*-every options must not be negative")

    if args.wait_ready > 0 and not wait_until_ready(args.url, args.wait_ready):
        print(f"service at {args.url} not ready after {args.wait_ready:g} s", file=sys.stderr)
        return 1
    summary = run(
        urllib_sender(args.url, args.timeout),
        args.count,
        args.error_every,
        args.invalid_every,
        args.prediction_id_every,
        args.seed,
        args.verbose,
    )
    print(summary)
    return 1 if summary.no_answer else 0


if __name__ == "__main__":
    sys.exit(main())
