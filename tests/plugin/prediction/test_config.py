from __future__ import annotations

import pytest

from otel_ml_logging import ConfigurationError, OTelLoggingDecorator, PredictionIDDecorator
from tests.plugin.models import ScoringModel


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"input_feilds": ["city"]}, "unknown option 'input_feilds' (valid options: input_fields, output_fields"),
        ({"max_value_length": 3}, "option 'max_value_length': Input should be greater than or equal to 16 (got 3)"),
        ({"payload_sample_rate": 1.5}, "option 'payload_sample_rate': Input should be less than or equal to 1"),
        ({"records": ["requested", "finished"]}, "option 'records.1': Input should be 'requested', 'created' or"),
        ({"input_fields": "city"}, "option 'input_fields': Input should be a valid tuple"),
        ({"input_fields": ["city"], "redact_fields": ["ctiy"]}, "redact_fields names 'ctiy', which are not in"),
        (
            {"input_fields": ["city"], "redact_fields": ["city"], "hash_fields": ["city"]},
            "fields 'city' are in both redact_fields and hash_fields",
        ),
        ({"input_fields": ["city", "city"]}, "input_fields lists 'city' more than once"),
    ],
)
def test_bad_options_name_the_problem(options, message):
    with pytest.raises(ConfigurationError) as raised:
        OTelLoggingDecorator(**options)
    assert str(raised.value).startswith("OTelLoggingDecorator configuration: ")
    assert message in str(raised.value)


def test_unknown_field_fails_when_the_model_is_set_and_lists_valid_names():
    decorator = OTelLoggingDecorator(input_fields=["temperature", "town"], output_fields=["score"])
    with pytest.raises(ConfigurationError) as raised:
        decorator.set_model(ScoringModel())
    assert str(raised.value) == (
        "OTelLoggingDecorator configuration: input_fields names unknown field(s) 'town' for model "
        "'scoring_model'; valid names: temperature, city, note, payload, prediction_id"
    )


def test_unknown_output_field_fails_too():
    with pytest.raises(ConfigurationError, match=r"output_fields names unknown field.*'points'.*valid names: score"):
        OTelLoggingDecorator(output_fields=["points"], model=ScoringModel())


def test_prediction_id_decorator_takes_no_options():
    with pytest.raises(ValueError, match="PredictionIDDecorator configuration: takes no options, got header"):
        PredictionIDDecorator(header="x")
