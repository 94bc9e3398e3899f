"""otel_ml_logging.testing: what users assert in their own tests, whatever the process set up."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from ml_base import MLModel
from pydantic import BaseModel

from otel_ml_logging import OTelLoggingDecorator
from otel_ml_logging.testing import capture_telemetry
from tests.plugin.models import ScoringInput, ScoringModel


def test_capture_telemetry_holds_the_span_records_metrics_and_log_lines():
    model = OTelLoggingDecorator(input_fields=["city"], output_fields=["score"]).set_model(ScoringModel())
    logging.getLogger("tests.plugin.models").setLevel(logging.INFO)
    with capture_telemetry(model) as captured:
        model.predict(ScoringInput(temperature=2, city="oslo"))
        with pytest.raises(LookupError):
            model.predict(ScoringInput(temperature=2, city="nowhere"))

    ok, failed = captured.spans
    assert ok.attributes["ml.prediction.input.city"] == "oslo"
    assert ok.attributes["ml.prediction.output.score"] == 4.0
    assert failed.attributes["error.type"] == "LookupError"
    assert captured.event_names() == [
        "ml.prediction.requested",
        "ml.prediction.created",
        "ml.prediction.requested",
        "ml.prediction.exception",
    ]
    (line,) = [r for r in captured.records if r.log_record.body == "scoring oslo"]
    assert (line.log_record.trace_id, line.log_record.span_id) == (ok.context.trace_id, ok.context.span_id)
    assert line.log_record.attributes["ml.prediction.id"] == ok.attributes["ml.prediction.id"]
    assert captured.metric_sum("ml.predictions", **{"ml.prediction.status": "success"}) == 1
    assert captured.metric_sum("ml.prediction.errors", **{"error.type": "LookupError"}) == 1
    assert captured.metric_sum("ml.prediction.duration") == 2
    assert len(captured.records_of("ml.prediction.exception")) == 1


def test_after_the_block_the_decorator_goes_back_to_its_own_path(telemetry):
    model = OTelLoggingDecorator(input_fields=["city"]).set_model(ScoringModel())
    model.predict(ScoringInput(temperature=1, city="before"))
    with capture_telemetry(model) as captured:
        model.predict(ScoringInput(temperature=1, city="inside"))
    model.predict(ScoringInput(temperature=1, city="after"))
    assert [s.attributes["ml.prediction.input.city"] for s in captured.spans] == ["inside"]
    cities = [s.attributes["ml.prediction.input.city"] for s in telemetry.spans() if s.name.startswith("predict ")]
    assert cities == ["before", "after"]  # the process's own pipeline saw the others, and only them


class AgeInput(BaseModel):
    age: int


class AgeOutput(BaseModel):
    risk: float


class AgeModel(MLModel):
    display_name = qualified_name = "age_model"
    description = "Test model."
    version = "1"
    input_schema = AgeInput
    output_schema = AgeOutput

    def __init__(self) -> None:
        pass

    def predict(self, data: AgeInput) -> AgeOutput:
        return AgeOutput(risk=data.age / 100)


def test_the_readme_example_runs_as_written():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("### Testing your model's telemetry", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, object] = {"MyModel": AgeModel, "MyModelInput": AgeInput}
    exec(code, namespace)
    namespace["test_predictions_are_logged_with_their_input"]()  # its assertions hold
