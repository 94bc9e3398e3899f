"""Bad requests to the real model service under ``opentelemetry-instrument``.

Each row asserts the service's exact answer, and that the good prediction sent right after it reaches the
OTLP receiver with its records (nothing else is lost).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from harness.model_service import RunningService, run_model_service, scoring_rest_config, write_rest_config
from harness.otlp_receiver import OTLPReceiver, grpc_receiver

pytestmark = pytest.mark.integration

REST_CONFIG = scoring_rest_config()
PATH = "/api/models/scoring_model/prediction"
JSON = {"Content-Type": "application/json"}

REQUESTS = [
    # name, body bytes, status, words in the answer
    ("10 MB city", json.dumps({"temperature": 1, "city": "x" * 10_000_000}).encode(), 200, '"label":"XXXX'),
    ("body not UTF-8", b'{"temperature": 1, "city": "\xff\xfe"}', 400, "There was an error parsing the body"),
    # rest-model-service's validation handler fails on the error's position (an int): its own 500
    ("broken JSON", b'{"temperature": 1, "city": ', 500, "Internal Server Error"),
    (
        "wrong type",
        b'{"temperature": "warm", "city": "oslo"}',
        400,
        "Field 'body, temperature' has error 'float_parsing'",
    ),
    ("missing field", b'{"temperature": 1}', 400, "Field 'body, city' has error 'missing'"),
    ("unknown field", b'{"temperature": 1, "city": "oslo", "colour": "red"}', 200, '"label":"OSLO"'),
    # the model's score is NaN, which the service cannot write as JSON: its own 500
    ("NaN literal", b'{"temperature": NaN, "city": "oslo"}', 500, "Out of range float values are not JSON compliant"),
    (
        "prediction id over 256 characters",
        json.dumps({"temperature": 1, "city": "oslo", "prediction_id": "p" * 257}).encode(),
        400,
        "Field 'body, prediction_id' has error 'string_too_long'",
    ),
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningService, OTLPReceiver]]:
    tmp_path = tmp_path_factory.mktemp("bad-requests")
    rest_config = write_rest_config(tmp_path, REST_CONFIG)
    with grpc_receiver() as receiver:
        env = {
            "OTEL_SERVICE_NAME": "bad-requests",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_BLRP_SCHEDULE_DELAY": "100",
        }
        with run_model_service(rest_config, env, tmp_path) as running:
            yield running, receiver


@pytest.mark.parametrize(("body", "status", "words"), [row[1:] for row in REQUESTS], ids=[row[0] for row in REQUESTS])
def test_bad_request(service, body, status, words):
    running, receiver = service
    response = httpx.post(running.url + PATH, content=body, headers=JSON, timeout=60)
    assert response.status_code == status, response.text[:500]
    assert words in response.text[:2000]
    good = httpx.post(running.url + PATH, json={"temperature": 2, "city": "lima"}, timeout=30)
    assert good.status_code == 200
    good_id = good.json()["prediction_id"]
    receiver.wait_for(
        lambda r: any(
            log["event_name"] == "ml.prediction.created" and log["attributes"].get("ml.prediction.id") == good_id
            for log in r.logs
        ),
        timeout=20,
    )
