"""The prediction in progress on this thread or task: its id and model, in a ContextVar.

Whichever of our decorators runs first (outermost) opens the scope; the others, and stdlib
log records written during ``predict()``, read it. That is what gives every record of a
prediction the same ``ml.prediction.id`` whatever order the decorators are listed in.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from otel_ml_logging.fields import read_field

PREDICTION_ID_FIELD = "prediction_id"
_getrandbits = random.getrandbits
# version 4 and RFC 4122 variant bits of a UUID, as in uuid.uuid4()
_UUID4_CLEAR = ~((0xF << 76) | (0x3 << 62))
_UUID4_SET = (0x4 << 76) | (0x2 << 62)


class PredictionScope:
    """Identity of one prediction: its id and the model answering it.

    A generated id is drawn as 128 random bits on the request thread and formatted as a UUID4
    string only when first read (by a log line, the response, or the telemetry thread).
    """

    __slots__ = ("_bits", "_prediction_id", "model_name", "model_version")

    def __init__(self, prediction_id: str | None, model_name: str, model_version: str) -> None:
        """Use ``prediction_id``, or generate one lazily when it is None."""
        self._prediction_id = prediction_id
        self._bits = 0 if prediction_id is not None else _getrandbits(128)
        self.model_name = model_name
        self.model_version = model_version

    @property
    def prediction_id(self) -> str:
        """The client's id, or the generated UUID4 string."""
        prediction_id = self._prediction_id
        if prediction_id is None:
            prediction_id = self._prediction_id = _format_uuid4(self._bits)
        return prediction_id

    def __repr__(self) -> str:
        """Show the id and model."""
        return f"PredictionScope({self.prediction_id!r}, {self.model_name!r}, {self.model_version!r})"


_current: ContextVar[PredictionScope | None] = ContextVar("otel_ml_logging_prediction", default=None)


def _format_uuid4(bits: int) -> str:
    h = f"{(bits & _UUID4_CLEAR) | _UUID4_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def enter_prediction(data: Any, model_name: str, model_version: str) -> tuple[PredictionScope, Token[Any] | None]:
    """Open a prediction scope (or join the enclosing one); pass the token to :func:`exit_prediction`."""
    enclosing = _current.get()
    if enclosing is not None:
        return enclosing, None
    scope = PredictionScope(client_prediction_id(data), model_name, model_version)
    return scope, _current.set(scope)


def exit_prediction(token: Token[Any] | None) -> None:
    """Close the scope opened by :func:`enter_prediction` (no-op when it joined an enclosing one)."""
    if token is not None:
        _current.reset(token)


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
    scope, token = enter_prediction(data, model_name, model_version)
    try:
        yield scope
    finally:
        exit_prediction(token)
