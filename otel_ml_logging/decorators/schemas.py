"""Input and output schemas extended with the optional ``prediction_id`` field."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel, Field, create_model

from otel_ml_logging.prediction.scope import PREDICTION_ID_FIELD

PREDICTION_ID_DESCRIPTION = (
    "Unique id of the prediction. Supply one to correlate with your own records; "
    "otherwise the service generates a UUID and returns it."
)


@functools.cache
def with_prediction_id(schema: type[BaseModel]) -> type[BaseModel]:
    """Return a subclass of ``schema`` with an optional ``prediction_id`` (``schema`` if it has one)."""
    if PREDICTION_ID_FIELD in schema.model_fields:
        return schema
    field: Any = (str | None, Field(default=None, max_length=256, description=PREDICTION_ID_DESCRIPTION))
    extended: type[BaseModel] = create_model(
        schema.__name__, __base__=schema, __module__=schema.__module__, **{PREDICTION_ID_FIELD: field}
    )
    return extended


def without_prediction_id(data: Any, schema: type[BaseModel]) -> Any:
    """Give the model its own input type back when the extended schema added ``prediction_id``."""
    if not isinstance(data, BaseModel) or PREDICTION_ID_FIELD in schema.model_fields:
        return data
    if type(data) is schema:
        return data
    return schema.model_validate(data.model_dump(exclude={PREDICTION_ID_FIELD}))
