"""Tests of the example insurance charges model: data, training, model, bare service, traffic generator."""

import copy
import logging
import random
import uuid
from pathlib import Path

import insurance_charges_model
import numpy as np
import pytest
import sklearn
import yaml
from fastapi.testclient import TestClient
from insurance_charges_model import data, traffic, train
from insurance_charges_model.model import (
    InsuranceChargesModel,
    InsuranceChargesModelInput,
    InsuranceChargesModelOutput,
)
from ml_base import MLModel
from ml_base.ml_model import MLModelSchemaValidationException
from ml_base.utilities import ModelManager
from pydantic import ValidationError
from rest_model_service.configuration import ServiceConfiguration
from rest_model_service.helpers import create_app

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "insurance_charges_model"
REST_CONFIG = EXAMPLE_DIR / "rest_config.yaml"
PREDICTION_PATH = "/api/models/insurance_charges_model/prediction"
INPUT_FIELDS = ["age", "sex", "bmi", "children", "smoker", "region"]

VALID = {"age": 42, "sex": "female", "bmi": 27.5, "children": 2, "smoker": False, "region": "northwest"}


@pytest.fixture(scope="module")
def model() -> InsuranceChargesModel:
    return InsuranceChargesModel()


# --- data -----------------------------------------------------------------------------------------


def test_generator_is_deterministic_and_seeded():
    assert data.generate(50, seed=3) == data.generate(50, seed=3)
    assert data.generate(50, seed=3) != data.generate(50, seed=4)


def test_shipped_csv_is_what_the_generator_writes(tmp_path):
    regenerated = tmp_path / "insurance.csv"
    data.write_csv(data.generate(), regenerated)
    assert regenerated.read_bytes() == data.default_csv_path().read_bytes()


def test_shipped_csv_looks_like_the_classic_data_set():
    records = data.read_csv()
    assert len(records) == data.DEFAULT_ROWS == 1338
    assert {r["sex"] for r in records} == set(data.SEXES)
    assert {r["region"] for r in records} == set(data.REGIONS)
    assert all(18 <= r["age"] <= 65 and 0 <= r["children"] <= 5 for r in records)
    assert all(data.BMI_MIN <= r["bmi"] <= data.BMI_MAX for r in records)
    assert all(r["charges"] >= 1100 for r in records)
    smokers = [r["charges"] for r in records if r["smoker"]]
    non_smokers = [r["charges"] for r in records if not r["smoker"]]
    assert 0.15 < len(smokers) / len(records) < 0.27
    assert np.mean(smokers) > 2.5 * np.mean(non_smokers)


def test_read_csv_rejects_a_wrong_header(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("age,sex\n30,male\n")
    with pytest.raises(ValueError, match="expected columns"):
        data.read_csv(bad)


def test_generate_rejects_no_rows():
    with pytest.raises(ValueError, match="rows must be positive"):
        data.generate(0)


# --- training -------------------------------------------------------------------------------------


def test_shipped_artefact_is_small_and_described():
    assert train.default_model_path().stat().st_size < 1_000_000
    artefact = train.load()
    assert artefact["feature_columns"] == INPUT_FIELDS
    assert artefact["model_version"] == insurance_charges_model.__version__
    assert artefact["metrics"]["r2"] > 0.85
    assert artefact["metrics"]["test_rows"] == 268
    low, high = artefact["training_ranges"]["bmi"]
    assert data.BMI_MIN <= low < high <= data.BMI_MAX


def test_training_is_reproducible(tmp_path):
    shipped = train.load()
    retrained = train.train()
    assert retrained["metrics"]["r2"] > 0.85
    assert retrained["training_ranges"] == shipped["training_ranges"]
    if shipped["sklearn_version"] != sklearn.__version__:
        pytest.skip("shipped artefact built with another scikit-learn; exact comparison not meaningful")
    assert retrained["metrics"] == shipped["metrics"]
    features = data.read_csv()[:100]
    from insurance_charges_model.features import to_feature_matrix

    matrix = to_feature_matrix(features)
    np.testing.assert_array_equal(retrained["pipeline"].predict(matrix), shipped["pipeline"].predict(matrix))
    assert train.save(retrained, tmp_path / "model.joblib") < 1_000_000


# --- model ----------------------------------------------------------------------------------------


def test_model_metadata(model):
    assert isinstance(model, MLModel)
    assert model.qualified_name == "insurance_charges_model"
    assert model.display_name == "Insurance Charges Model"
    assert model.description
    assert model.version == insurance_charges_model.__version__ == "0.1.0"
    assert model.input_schema is InsuranceChargesModelInput
    assert model.output_schema is InsuranceChargesModelOutput


def test_schemas_have_described_fields():
    input_schema = InsuranceChargesModelInput.model_json_schema()
    assert list(input_schema["properties"]) == INPUT_FIELDS
    assert set(input_schema["required"]) == set(INPUT_FIELDS)
    for name, prop in input_schema["properties"].items():
        assert prop.get("description"), name
    assert input_schema["properties"]["age"]["minimum"] == 18
    assert input_schema["properties"]["bmi"]["maximum"] == 50
    output_schema = InsuranceChargesModelOutput.model_json_schema()
    assert list(output_schema["properties"]) == ["charges"]
    assert output_schema["properties"]["charges"]["description"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("age", 17),
        ("age", 66),
        ("sex", "other"),
        ("bmi", 14.9),
        ("bmi", 50.1),
        ("bmi", float("nan")),
        ("children", -1),
        ("children", 6),
        ("smoker", "sometimes"),
        ("region", "antarctica"),
    ],
)
def test_input_schema_rejects_out_of_range_values(field, value):
    with pytest.raises(ValidationError):
        InsuranceChargesModelInput(**{**VALID, field: value})


def test_predict_returns_sensible_positive_charges(model):
    output = model.predict(InsuranceChargesModelInput(**VALID))
    assert isinstance(output, InsuranceChargesModelOutput)
    assert 1_000 < output.charges < 70_000
    assert output.charges == round(output.charges, 2)


def test_predictions_track_the_generating_formula(model):
    rng = random.Random(0)
    payloads = [traffic.valid_payload(rng) for _ in range(200)]
    predicted = np.array([model.predict(p).charges for p in payloads])
    columns = {name: np.array([p[name] for p in payloads]) for name in INPUT_FIELDS}
    expected = data.expected_charges(**columns)
    assert np.all(predicted > 0)
    assert np.mean(np.abs(predicted - expected)) < 2_500


@pytest.mark.parametrize("age", [20, 35, 50, 64])
@pytest.mark.parametrize("bmi", [22.0, 28.0, 33.0, 40.0])
def test_smokers_pay_more(model, age, bmi):
    profile = {**VALID, "age": age, "bmi": bmi}
    smoker = model.predict({**profile, "smoker": True}).charges
    non_smoker = model.predict({**profile, "smoker": False}).charges
    assert smoker > non_smoker + 5_000


def test_older_people_pay_more(model):
    charges = [model.predict({**VALID, "age": age}).charges for age in (20, 35, 50, 65)]
    assert charges == sorted(charges)
    assert charges[-1] > charges[0] + 8_000


def test_predict_accepts_mappings_and_ignores_extra_fields(model):
    expected = model.predict(InsuranceChargesModelInput(**VALID)).charges
    assert model.predict(VALID).charges == expected
    assert model.predict({**VALID, "prediction_id": "abc"}).charges == expected


def test_predict_logs_through_stdlib_logging(model, caplog):
    with caplog.at_level(logging.INFO, logger="insurance_charges_model.model"):
        model.predict(VALID)
    messages = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert ("insurance_charges_model.model", logging.INFO, "Predicting charges.") in messages


@pytest.mark.parametrize(
    "bad",
    [
        InsuranceChargesModelInput.model_construct(**{**VALID, "age": 10}),
        {**VALID, "region": "antarctica"},
        {key: value for key, value in VALID.items() if key != "smoker"},
        42,
        "not a payload",
    ],
    ids=["constructed-without-validation", "bad-enum", "missing-field", "int", "str"],
)
def test_predict_raises_schema_validation_on_bad_input(model, bad):
    with pytest.raises(MLModelSchemaValidationException):
        model.predict(bad)


def test_default_max_bmi_is_the_trained_maximum(model):
    assert model.max_bmi == train.load()["training_ranges"]["bmi"][1]
    assert 44.0 < model.max_bmi <= data.BMI_MAX


def test_bmi_above_trained_range_raises_value_error(model, caplog):
    with (
        caplog.at_level(logging.INFO, logger="insurance_charges_model.model"),
        pytest.raises(ValueError, match="outside the range the model was trained on") as raised,
    ):
        model.predict({**VALID, "bmi": 48.0})
    assert type(raised.value) is ValueError
    assert "Predicting charges." in caplog.messages
    assert model.predict({**VALID, "bmi": model.max_bmi}).charges > 0


def test_max_bmi_is_configurable():
    strict = InsuranceChargesModel(max_bmi=30)
    assert strict.max_bmi == 30.0
    assert strict.predict({**VALID, "bmi": 29.9}).charges > 0
    with pytest.raises(ValueError, match="outside the range"):
        strict.predict({**VALID, "bmi": 30.1})


@pytest.mark.parametrize("max_bmi", [0, -3.0, float("inf"), float("nan"), "45", True])
def test_invalid_max_bmi_is_refused(max_bmi):
    with pytest.raises(ValueError, match="max_bmi must be"):
        InsuranceChargesModel(max_bmi=max_bmi)


def test_model_path_is_configurable(tmp_path):
    artefact = train.load()
    artefact["training_ranges"]["bmi"] = [15.0, 35.0]
    path = tmp_path / "model.joblib"
    train.save(artefact, path)
    assert InsuranceChargesModel(model_path=str(path)).max_bmi == 35.0


# --- rest_config.yaml and the bare service --------------------------------------------------------


@pytest.fixture(scope="module")
def rest_config() -> dict:
    return yaml.safe_load(REST_CONFIG.read_text())


def test_rest_config_lists_the_decorators_in_the_users_order(rest_config):
    ServiceConfiguration(**rest_config)
    [model_config] = rest_config["models"]
    assert model_config["class_path"] == "insurance_charges_model.model.InsuranceChargesModel"
    assert model_config["create_endpoint"] is True
    decorators = model_config["decorators"]
    assert [d["class_path"] for d in decorators] == [
        "otel_ml_logging.PredictionIDDecorator",
        "otel_ml_logging.OTelLoggingDecorator",
    ]
    logging_decorator = decorators[1]["configuration"]
    assert logging_decorator["input_fields"] == list(InsuranceChargesModelInput.model_fields)
    assert logging_decorator["output_fields"] == list(InsuranceChargesModelOutput.model_fields)


def test_rest_config_logging_section(rest_config):
    logging_config = rest_config["logging"]
    assert logging_config["version"] == 1
    assert logging_config["disable_existing_loggers"] is False
    assert logging_config["root"]["level"] == "INFO"
    [handler_name] = logging_config["root"]["handlers"]
    assert logging_config["handlers"][handler_name]["class"] == "logging.StreamHandler"
    assert logging_config["handlers"][handler_name]["formatter"] in logging_config["formatters"]


def _reset_model_manager() -> None:
    if hasattr(ModelManager, "_instance"):
        ModelManager.clear_instance()


@pytest.fixture(scope="module")
def client(rest_config):
    """The service of rest_config.yaml without its decorators (the plugin is not needed here)."""
    bare = copy.deepcopy(rest_config)
    for model_config in bare["models"]:
        model_config.pop("decorators", None)
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    _reset_model_manager()
    try:
        app = create_app(ServiceConfiguration(**bare), wait_for_model_creation=True)
        with TestClient(app) as test_client:
            yield test_client
    finally:
        _reset_model_manager()
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def test_service_is_ready_and_lists_the_model(client):
    assert client.get("/api/health/ready").status_code == 200
    response = client.get("/api/models")
    assert response.status_code == 200
    assert response.json()["models"] == [
        {
            "display_name": "Insurance Charges Model",
            "qualified_name": "insurance_charges_model",
            "description": InsuranceChargesModel().description,
            "version": insurance_charges_model.__version__,
        }
    ]


def test_service_metadata_has_the_schemas(client):
    response = client.get("/api/models/insurance_charges_model/metadata")
    assert response.status_code == 200
    assert list(response.json()["input_schema"]["properties"]) == INPUT_FIELDS


def test_service_predicts(client, model):
    response = client.post(PREDICTION_PATH, json=VALID)
    assert response.status_code == 200
    assert response.json() == {"charges": model.predict(VALID).charges}


def test_service_ignores_a_client_prediction_id_without_the_decorator(client):
    response = client.post(PREDICTION_PATH, json={**VALID, "prediction_id": str(uuid.uuid4())})
    assert response.status_code == 200
    assert set(response.json()) == {"charges"}


def test_service_answers_500_when_the_model_refuses(client):
    response = client.post(PREDICTION_PATH, json={**VALID, "bmi": 48.0})
    assert response.status_code == 500
    body = response.json()
    assert body["type"] == "ServiceError"
    assert "outside the range the model was trained on" in body["messages"][0]


@pytest.mark.parametrize(
    "payload",
    [{**VALID, "age": 17}, {**VALID, "bmi": 55}, {**VALID, "region": "antarctica"}, {"age": 30}],
    ids=["age", "bmi", "region", "missing-fields"],
)
def test_service_answers_400_on_schema_errors(client, payload):
    response = client.post(PREDICTION_PATH, json=payload)
    assert response.status_code == 400
    assert response.json()["type"] == "ValidationError"


# --- traffic generator ----------------------------------------------------------------------------


def test_traffic_plan_is_deterministic_and_mixes_kinds():
    planned = traffic.plan(40, error_every=8, invalid_every=0, prediction_id_every=5, seed=1)
    assert planned == traffic.plan(40, error_every=8, invalid_every=0, prediction_id_every=5, seed=1)
    assert planned != traffic.plan(40, error_every=8, invalid_every=0, prediction_id_every=5, seed=2)
    kinds = [kind for kind, _ in planned]
    assert kinds.count("model_error") == 5
    assert kinds.count("valid") == 35
    ids = [payload["prediction_id"] for _, payload in planned if "prediction_id" in payload]
    assert len(ids) == 7  # i = 5, 10, ..., 35 (40 is an error request)
    assert all(uuid.UUID(i).version == 4 for i in ids)
    for kind, payload in planned:
        fields = {k: v for k, v in payload.items() if k != "prediction_id"}
        validated = InsuranceChargesModelInput(**fields)
        assert (validated.bmi > 45.0) == (kind == "model_error")


def test_traffic_against_the_bare_service(client):
    def send(path, payload):
        return client.post(path, json=payload).status_code

    summary = traffic.run(send, count=40, error_every=8, invalid_every=7, prediction_id_every=5, seed=1)
    assert (summary.sent, summary.count(200), summary.count(400), summary.count(500)) == (40, 30, 5, 5)
    assert str(summary) == "sent=40 200=30 400=5 500=5 other=0 no_answer=0"


def test_traffic_cli_reports_an_unreachable_service(capsys):
    argv = ["--url", "http://127.0.0.1:9", "--count", "3", "--wait-ready", "0", "--timeout", "2"]
    code = traffic.main(argv)
    assert code == 1
    assert "sent=3 200=0 400=0 500=0 other=0 no_answer=3" in capsys.readouterr().out
