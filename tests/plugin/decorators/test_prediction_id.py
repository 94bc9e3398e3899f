from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from ml_base.utilities import ModelManager
from rest_model_service.configuration import ServiceConfiguration
from rest_model_service.helpers import create_app

from otel_ml_logging import OTelLoggingDecorator, PredictionIDDecorator
from tests.plugin.models import ScoringInput, ScoringModel

LOGGING = {"class_path": "otel_ml_logging.OTelLoggingDecorator", "configuration": {"input_fields": ["city"]}}
PREDICTION_ID = {"class_path": "otel_ml_logging.PredictionIDDecorator"}


@pytest.fixture(autouse=True)
def fresh_model_manager():
    if hasattr(ModelManager, "_instance"):  # a singleton: models from other tests would clash
        ModelManager.clear_instance()


def test_schemas_gain_an_optional_prediction_id():
    model = PredictionIDDecorator().set_model(ScoringModel())
    for schema in (model.input_schema, model.output_schema):
        field = schema.model_fields["prediction_id"]
        assert not field.is_required()
        assert "Unique id of the prediction" in field.description
    assert issubclass(model.input_schema, ScoringInput)


def test_client_id_is_kept_and_model_gets_its_own_input_type():
    inner = ScoringModel()
    model = PredictionIDDecorator().set_model(inner)
    data = model.input_schema(temperature=1, city="x", prediction_id="client-42")
    result = model.predict(data)
    assert result.prediction_id == "client-42"
    assert type(inner.seen[0]) is ScoringInput
    assert "prediction_id" not in inner.seen[0].model_dump()


def test_generated_id_is_a_uuid_and_differs_per_prediction():
    model = PredictionIDDecorator().set_model(ScoringModel())
    ids = {model.predict(model.input_schema(temperature=1, city="x")).prediction_id for _ in range(3)}
    assert len(ids) == 3
    for value in ids:
        uuid.UUID(value)


@pytest.mark.parametrize(
    "decorators", [[PREDICTION_ID, LOGGING], [LOGGING, PREDICTION_ID]], ids=["id-first", "logging-first"]
)
@pytest.mark.parametrize("client_id", [None, "from-client-7"])
def test_every_record_of_a_served_prediction_carries_its_id(telemetry, decorators, client_id):
    configuration = ServiceConfiguration(
        models=[{"class_path": "tests.plugin.models.ScoringModel", "create_endpoint": True, "decorators": decorators}]
    )
    app = create_app(configuration, wait_for_model_creation=True)
    body = {"temperature": 20, "city": "quito"}
    if client_id:
        body["prediction_id"] = client_id
    with TestClient(app) as client:
        response = client.post("/api/models/scoring_model/prediction", json=body)
    assert response.status_code == 200, response.text
    prediction_id = response.json()["prediction_id"]
    if client_id:
        assert prediction_id == client_id
    records = [r for r in telemetry.records() if r.log_record.attributes.get("ml.model.name") == "scoring_model"]
    bodies = sorted(str(r.log_record.body) for r in records)
    assert bodies == ["Prediction created.", "Prediction requested.", "scoring quito"]
    assert {r.log_record.attributes["ml.prediction.id"] for r in records} == {prediction_id}
    (span,) = [s for s in telemetry.spans() if s.name == "predict scoring_model"]
    assert span.attributes["ml.prediction.id"] == prediction_id
    assert span.attributes["code.function.name"] == "tests.plugin.models.ScoringModel.predict"


def test_openapi_documents_prediction_id():
    configuration = ServiceConfiguration(
        models=[
            {
                "class_path": "tests.plugin.models.ScoringModel",
                "create_endpoint": True,
                "decorators": [PREDICTION_ID, LOGGING],
            }
        ]
    )
    schema = create_app(configuration, wait_for_model_creation=True).openapi()
    components = schema["components"]["schemas"]
    assert "prediction_id" in components["ScoringInput"]["properties"]
    assert "prediction_id" in components["ScoringOutput"]["properties"]


def test_standalone_logging_decorator_generates_an_id(telemetry):
    OTelLoggingDecorator().set_model(ScoringModel()).predict(ScoringInput(temperature=1, city="x"))
    uuid.UUID(telemetry.spans()[0].attributes["ml.prediction.id"])


def test_misconfigured_decorator_fails_service_start_up_naming_the_field():
    configuration = ServiceConfiguration(
        models=[
            {
                "class_path": "tests.plugin.models.ScoringModel",
                "create_endpoint": True,
                "decorators": [
                    PREDICTION_ID,
                    {"class_path": "otel_ml_logging.OTelLoggingDecorator", "configuration": {"input_fields": ["town"]}},
                ],
            }
        ]
    )
    with pytest.raises(ValueError, match=r"input_fields names unknown field\(s\) 'town'.*valid names: temperature"):
        create_app(configuration, wait_for_model_creation=True)
