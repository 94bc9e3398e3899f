"""The insurance charges model as an ``ml_base.MLModel``, ready for rest-model-service.

Configuration (the ``configuration:`` mapping of the model in ``rest_config.yaml``, passed to
``__init__``):

* ``model_path``: artefact to load instead of the packaged ``model_files/model.joblib``.
* ``max_bmi``: largest bmi the model accepts. Defaults to the largest bmi seen in training (about 45,
  recorded in the artefact). The input schema accepts bmi up to 50, so a request with a bmi between
  the two passes request validation but ``predict()`` refuses it with
  ``ValueError("bmi ... is outside the range the model was trained on ...")``: the model does not
  extrapolate. rest-model-service answers such requests with HTTP 500, which makes a genuine model
  error easy to produce from ordinary traffic (``traffic.py --error-every N`` does exactly that).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

import sklearn
from ml_base import MLModel
from ml_base.ml_model import MLModelSchemaValidationException
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from insurance_charges_model.features import to_feature_matrix
from insurance_charges_model.train import load
from insurance_charges_model.version import __version__

logger = logging.getLogger(__name__)


class Sex(str, Enum):
    """Allowed values of the `sex` input field."""

    female = "female"
    male = "male"


class Region(str, Enum):
    """Allowed values of the `region` input field (US regions)."""

    southwest = "southwest"
    southeast = "southeast"
    northwest = "northwest"
    northeast = "northeast"


class InsuranceChargesModelInput(BaseModel):
    """Input of the insurance charges model.

    Unknown fields are ignored, so decorators may add their own (e.g. ``prediction_id``).
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "age": 42,
                    "sex": "female",
                    "bmi": 27.5,
                    "children": 2,
                    "smoker": False,
                    "region": "northwest",
                }
            ]
        }
    )

    age: int = Field(ge=18, le=65, description="Age of the primary beneficiary, in years.")
    sex: Sex = Field(description="Sex of the primary beneficiary.")
    bmi: float = Field(
        ge=15.0,
        le=50.0,
        allow_inf_nan=False,
        description="Body mass index of the primary beneficiary (kg/m²).",
    )
    children: int = Field(ge=0, le=5, description="Number of children covered by the insurance.")
    smoker: bool = Field(description="Whether the primary beneficiary smokes.")
    region: Region = Field(description="Residential area of the beneficiary in the US.")


class InsuranceChargesModelOutput(BaseModel):
    """Output of the insurance charges model."""

    charges: float = Field(description="Predicted individual medical costs billed by health insurance, in US dollars.")


def _is_positive_number(value: object) -> bool:
    """Return whether ``value`` is a finite number above zero (booleans excluded)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) and value > 0


class InsuranceChargesModel(MLModel):
    """Predicts individual medical insurance charges from age, sex, bmi, children, smoking and region."""

    @property
    def display_name(self) -> str:
        """Return the name of the model for user interfaces."""
        return "Insurance Charges Model"

    @property
    def qualified_name(self) -> str:
        """Return the unique identifier of the model (also the endpoint path segment)."""
        return "insurance_charges_model"

    @property
    def description(self) -> str:
        """Return a description of the model."""
        return "Predicts individual medical insurance charges from age, sex, bmi, children, smoking and region."

    @property
    def version(self) -> str:
        """Return the version of the package that holds the model."""
        return __version__

    @property
    def input_schema(self) -> type[InsuranceChargesModelInput]:
        """Return the schema accepted by ``predict()``."""
        return InsuranceChargesModelInput

    @property
    def output_schema(self) -> type[InsuranceChargesModelOutput]:
        """Return the schema returned by ``predict()``."""
        return InsuranceChargesModelOutput

    @property
    def max_bmi(self) -> float:
        """Return the largest bmi ``predict()`` accepts."""
        return self._max_bmi

    def __init__(self, model_path: str | None = None, max_bmi: float | None = None) -> None:
        """Load the trained pipeline.

        Args:
            model_path: artefact saved by ``insurance_charges_model.train``; defaults to the packaged one.
            max_bmi: largest bmi to accept; defaults to the largest bmi seen in training.

        Raises:
            ValueError: if ``max_bmi`` is not a finite positive number.

        """
        artefact = load(None if model_path is None else Path(model_path))
        if artefact["sklearn_version"] != sklearn.__version__:
            logger.warning(
                "Model artefact was built with scikit-learn %s but %s is installed; "
                "retrain with 'python -m insurance_charges_model.train' if predictions look wrong.",
                artefact["sklearn_version"],
                sklearn.__version__,
            )
        self._pipeline = artefact["pipeline"]
        if max_bmi is None:
            max_bmi = float(artefact["training_ranges"]["bmi"][1])
        elif not _is_positive_number(max_bmi):
            raise ValueError(f"max_bmi must be a finite positive number, got {max_bmi!r}")
        self._max_bmi = float(max_bmi)

    def predict(self, data: BaseModel | Mapping[str, Any]) -> InsuranceChargesModelOutput:
        """Predict the insurance charges of one person.

        Args:
            data: an ``InsuranceChargesModelInput`` (or any model or mapping with its fields; extra
                fields are ignored).

        Returns:
            The predicted charges, rounded to cents.

        Raises:
            MLModelSchemaValidationException: if ``data`` does not satisfy ``InsuranceChargesModelInput``.
            ValueError: if bmi is above ``max_bmi``: the model does not extrapolate beyond its training data.

        """
        try:
            payload = data.model_dump() if isinstance(data, BaseModel) else dict(data)
            validated = InsuranceChargesModelInput.model_validate(payload)
        except (ValidationError, TypeError, ValueError) as error:
            raise MLModelSchemaValidationException(str(error)) from error

        logger.info("Predicting charges.")
        if validated.bmi > self._max_bmi:
            raise ValueError(
                f"bmi {validated.bmi} is outside the range the model was trained on "
                f"(largest accepted bmi is {self._max_bmi})."
            )
        charges = float(self._pipeline.predict(to_feature_matrix([validated.model_dump()]))[0])
        return InsuranceChargesModelOutput(charges=round(charges, 2))
