"""``PredictionIDDecorator``: a prediction id in every request and response."""

from __future__ import annotations

from typing import Any

from ml_base.decorator import MLModelDecorator
from pydantic import BaseModel

from otel_ml_logging.decorators.schemas import with_prediction_id, without_prediction_id
from otel_ml_logging.prediction.log_records import install_log_record_factory
from otel_ml_logging.prediction.scope import PREDICTION_ID_FIELD, prediction_scope


class PredictionIDDecorator(MLModelDecorator):  # type: ignore[misc]
    """Accept a client-supplied ``prediction_id`` or generate one, and return it in the output.

    The optional field is added to the input and output schemas, so the OpenAPI docs show it.
    The model itself keeps receiving its own input type. The id is shared with
    :class:`~otel_ml_logging.OTelLoggingDecorator` and with stdlib log records through the
    prediction scope, in whichever order the decorators are listed.
    """

    def __init__(self, model: Any = None, **configuration: Any) -> None:
        """Create the decorator; it takes no options."""
        if configuration:
            names = ", ".join(sorted(configuration))
            raise ValueError(f"PredictionIDDecorator configuration: takes no options, got {names}")
        super().__init__(model)
        install_log_record_factory()

    @property
    def input_schema(self) -> type[BaseModel]:
        """The model's input schema plus an optional ``prediction_id``."""
        return with_prediction_id(self.__dict__["_model"].input_schema)

    @property
    def output_schema(self) -> type[BaseModel]:
        """The model's output schema plus ``prediction_id``."""
        return with_prediction_id(self.__dict__["_model"].output_schema)

    def predict(self, data: Any) -> Any:
        """Predict with the wrapped model and stamp the output with the prediction id."""
        model = self.__dict__["_model"]
        with prediction_scope(data, model) as scope:
            result = model.predict(data=without_prediction_id(data, model.input_schema))
        if not isinstance(result, BaseModel):
            return result
        output_schema = with_prediction_id(type(result))
        return output_schema.model_validate({**result.model_dump(), PREDICTION_ID_FIELD: scope.prediction_id})
