"""A trivial ml-base model with the example's schemas: the cost of predict() itself is ~nothing."""

from __future__ import annotations

from ml_base import MLModel
from pydantic import BaseModel


class BenchInput(BaseModel):
    age: int
    sex: str
    bmi: float
    children: int
    smoker: bool
    region: str


class BenchOutput(BaseModel):
    charges: float


SAMPLE = BenchInput(age=42, sex="female", bmi=27.5, children=2, smoker=False, region="northwest")
INPUT_FIELDS = ("age", "sex", "bmi", "children", "smoker", "region")
OUTPUT_FIELDS = ("charges",)


class TrivialModel(MLModel):
    """Returns a constant; what is measured is everything around it."""

    display_name = "Trivial model"
    qualified_name = "trivial_model"
    description = "Benchmark model."
    version = "1.0.0"
    input_schema = BenchInput
    output_schema = BenchOutput

    def __init__(self) -> None:
        self._output = BenchOutput(charges=1234.5)

    def predict(self, data: BenchInput) -> BenchOutput:
        return self._output
