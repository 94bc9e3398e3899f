"""The prediction in progress on this thread or task: its id and model, in a ContextVar.

Whichever of our decorators runs first (outermost) opens the scope; the others, and stdlib
log records written during ``predict()``, read it. That is what gives every record of a
prediction the same ``ml.prediction.id`` whatever order the decorators are listed in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from otel_ml_logging.fields import read_field

PREDICTION_ID_FIELD = "prediction_id"


@dataclass(frozen=True, slots=True)
class PredictionScope:
    """Identity of one prediction: its id and the model answering it."""

    prediction_id: str
    model_name: str
    model_version: str


_current: ContextVar[PredictionScope | None] = ContextVar("otel_ml_logging_prediction", default=None)


def current_prediction() -> PredictionScope | None:
    """Return the prediction in progress in this context, if any."""
    return _current.get()


def client_prediction_id(data: Any) -> str | None:
    """Return the ``prediction_id`` a client sent with the input, if it sent one."""
    value = read_field(data, PREDICTION_ID_FIELD)
    if value is None or value == "":
        return None
    return str(value)


@contextmanager
def prediction_scope(data: Any, model_name: str, model_version: str) -> Iterator[PredictionScope]:
    """Enter the scope of a prediction, reusing an enclosing one (nested decorators)."""
    enclosing = _current.get()
    if enclosing is not None:
        yield enclosing
        return
    prediction_id = client_prediction_id(data) or str(uuid.uuid4())
    scope = PredictionScope(prediction_id, model_name, model_version)
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)
