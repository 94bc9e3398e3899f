"""Small ml-base models used by the plugin's unit tests (not the shipped example)."""

from __future__ import annotations

import logging

from ml_base import MLModel
from pydantic import BaseModel

model_logger = logging.getLogger("tests.plugin.models")


class ScoringInput(BaseModel):
    temperature: float
    city: str
    note: str | None = None
    payload: bytes | None = None


class ScoringOutput(BaseModel):
    score: float
    label: str


class ScoringModel(MLModel):
    """Scores temperatures; raises for cities named 'nowhere' and logs a line per prediction."""

    display_name = "Scoring model"
    qualified_name = "scoring_model"
    description = "Test model."
    version = "2.1.0"
    input_schema = ScoringInput
    output_schema = ScoringOutput

    def __init__(self) -> None:
        self.seen: list[BaseModel] = []

    def predict(self, data: ScoringInput) -> ScoringOutput:
        self.seen.append(data)
        model_logger.info("scoring %s", data.city)
        if data.city == "nowhere":
            raise LookupError("no such city: nowhere")
        return ScoringOutput(score=data.temperature * 2, label=data.city.upper())
