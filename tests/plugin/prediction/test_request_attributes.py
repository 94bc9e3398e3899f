from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context

import pytest

from otel_ml_logging import OTelLoggingDecorator, current_request_attributes, request_attributes
from tests.plugin.conftest import on_path
from tests.plugin.models import ScoringInput, ScoringModel

TENANT = {"tenant.id": "acme", "request.priority": 2}


def test_request_attributes_reach_the_span_every_record_and_model_log_lines(path, telemetry):
    model = on_path(OTelLoggingDecorator().set_model(ScoringModel()), path)
    with request_attributes(TENANT):
        model.predict(ScoringInput(temperature=1, city="oslo"))
        with pytest.raises(LookupError):
            model.predict(ScoringInput(temperature=1, city="nowhere"))
    model.predict(ScoringInput(temperature=1, city="riga"))  # outside: none

    spans = telemetry.spans()
    records = telemetry.records()
    assert len(spans) == 3
    for span in spans[:2]:
        assert {k: span.attributes[k] for k in TENANT} == TENANT
    assert not set(TENANT) & set(spans[2].attributes)
    inside = [r for r in records if r.log_record.trace_id != spans[2].context.trace_id]
    outside = [r for r in records if r.log_record.trace_id == spans[2].context.trace_id]
    # requested + created, requested + exception, and the model's own log line of each prediction
    assert {r.log_record.body for r in inside} >= {
        "Prediction requested.",
        "Prediction created.",
        "Prediction exception.",
        "scoring oslo",
        "scoring nowhere",
    }
    for record in inside:
        assert {k: record.log_record.attributes[k] for k in TENANT} == TENANT, record.log_record.body
    assert outside
    for record in outside:
        assert not set(TENANT) & set(record.log_record.attributes)


def test_blocks_nest_and_threads_that_copy_the_context_see_them():
    with request_attributes({"tenant.id": "acme"}), request_attributes({"region": "eu"}):
        assert current_request_attributes() == {"tenant.id": "acme", "region": "eu"}
        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(copy_context().run, current_request_attributes).result() == {
                "tenant.id": "acme",
                "region": "eu",
            }

        async def in_task() -> dict:
            return current_request_attributes()

        assert asyncio.run(in_task()) == {"tenant.id": "acme", "region": "eu"}
    assert current_request_attributes() == {}


@pytest.mark.parametrize("name", ["ml.prediction.id", "error.type", "exception.message", "code.function.name"])
def test_the_decorators_own_names_are_refused(name):
    message = f"request attributes {name}: the decorator's own names are reserved"
    with pytest.raises(ValueError, match=message), request_attributes({name: "x"}):
        pass


def test_stdlib_records_outside_predictions_get_them_too(caplog):
    with caplog.at_level(logging.INFO, logger="tests.plugin.requests"), request_attributes({"tenant.id": "acme"}):
        logging.getLogger("tests.plugin.requests").info("handling")
    assert caplog.records[-1].__dict__["tenant.id"] == "acme"
