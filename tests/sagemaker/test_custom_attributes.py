import re

import pytest

from otel_ml_logging.serving.custom_attributes import CustomAttributesConfig, parse_custom_attributes


@pytest.mark.parametrize(
    "header",
    [
        " traceparent = 00-abc-def-01 ,tenant=acme,  region=eu-west-1 , ",
        "traceparent=00-abc-def-01;tenant=acme ;region = eu-west-1;",
    ],
)
def test_pairs_split_on_commas_or_semicolons_whitespace_ignored(header):
    parsed = parse_custom_attributes(header)
    assert parsed.pairs == {"traceparent": "00-abc-def-01", "tenant": "acme", "region": "eu-west-1"}
    assert parsed.problems == ()


def test_semicolons_let_values_keep_their_commas():
    parsed = parse_custom_attributes("traceparent=00-abc-def-01; tracestate=rojo=00f067aa0ba902b7,congo=t61; tenant=a")
    assert parsed.pairs == {
        "traceparent": "00-abc-def-01",
        "tracestate": "rojo=00f067aa0ba902b7,congo=t61",
        "tenant": "a",
    }


def test_bad_pairs_are_reported_and_the_rest_kept():
    parsed = parse_custom_attributes("tenant=acme, novalue, =x, bad key=1, tenant=other, empty=")
    assert parsed.pairs == {"tenant": "acme", "empty": ""}
    assert parsed.problems == (
        "'novalue' is not key=value",
        "'=x' is not key=value",
        "key 'bad key' has characters other than letters, digits, '_', '.', '-'",
        "key 'tenant' given more than once; the first value is kept",
    )


def test_longer_than_1024_characters_is_ignored_and_reported():
    parsed = parse_custom_attributes("k=" + "v" * 1023)
    assert parsed.pairs == {}
    assert parsed.problems == ("header is 1025 characters, more than 1024; ignored",)
    assert parse_custom_attributes("k=" + "v" * 1022).pairs == {"k": "v" * 1022}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"headers": "x"}, "custom_attributes: unknown option(s) headers (valid: header, response_header, attributes)"),
        ({"attributes": ["tenant"]}, "must map header keys to attribute names"),
        ({"attributes": {"traceparent": "trace"}}, "traceparent cannot be used as attribute keys"),
        ({"attributes": {"tenant": "ml.tenant"}}, "ml.tenant are the decorator's own attribute names"),
    ],
)
def test_configuration_errors_name_the_problem(options, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        CustomAttributesConfig.from_mapping(options)


def test_instrument_app_wraps_a_hand_built_app_with_configured_header_names():
    from fastapi.testclient import TestClient
    from rest_model_service.configuration import ServiceConfiguration
    from rest_model_service.helpers import create_app

    import otel_ml_logging

    configuration = ServiceConfiguration(
        models=[
            {
                "class_path": "tests.plugin.models.ScoringModel",
                "create_endpoint": True,
                "decorators": [{"class_path": "otel_ml_logging.PredictionIDDecorator"}],
            }
        ]
    )
    app = otel_ml_logging.instrument_app(
        create_app(configuration, wait_for_model_creation=True),
        custom_attributes={"header": "X-Caller", "response_header": "X-Prediction"},
    )
    with TestClient(app) as client:
        response = client.post(
            "/api/models/scoring_model/prediction",
            json={"temperature": 1, "city": "oslo", "prediction_id": "given-7"},
            headers={"X-Caller": "tenant=acme"},
        )
    assert response.status_code == 200
    assert response.json()["prediction_id"] == "given-7"
    assert response.headers["X-Prediction"] == "prediction_id=given-7"
