"""The prediction in progress: its id and model, kept in the OpenTelemetry context.

Whichever of our decorators runs first (outermost) opens the scope; the others, and stdlib log
records written during ``predict()``, read it. That is what gives every record of a prediction
the same ``ml.prediction.id`` whatever order the decorators are listed in. The scope lives in the
same Context as the prediction's span, so one context switch on the request thread sets both, and
it follows the context wherever OpenTelemetry propagates it in-process (child spans, tasks).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import Token
from typing import Any

from opentelemetry import context
from opentelemetry.context import Context

from otel_ml_logging.pipeline._fast import get_current
from otel_ml_logging.prediction.fields import read_field

PREDICTION_ID_FIELD = "prediction_id"
PREDICTION_KEY = context.create_key("otel_ml_logging.prediction")
_getrandbits = random.getrandbits
# version 4 and RFC 4122 variant bits of a UUID, as in uuid.uuid4()
_UUID4_CLEAR = ~((0xF << 76) | (0x3 << 62))
_UUID4_SET = (0x4 << 76) | (0x2 << 62)


class PredictionScope(tuple[str | None, Any, int, Any]):
    """Identity of one prediction: its id and the model answering it.

    An immutable tuple ``(given id or None, input payload or None, 128 random bits, model)``: the
    decorator's request-thread path builds it with one ``tuple.__new__``. Everything else is read
    where it is needed (a log line, the response, the telemetry thread), never on the way in: the
    client's ``prediction_id`` from the input, else the random bits formatted as a UUID4 string
    (the same string every time), and the model's qualified name and version.
    """

    __slots__ = ()

    def __new__(cls, model: Any, data: Any = None, prediction_id: str | None = None) -> PredictionScope:
        """Scope a prediction of ``model``: ``prediction_id``, else the client's id in ``data``, else a UUID4."""
        return tuple.__new__(cls, (prediction_id, data, _getrandbits(128), model))

    @property
    def prediction_id(self) -> str:
        """The given id, the client's id sent with the input, or the generated UUID4 string."""
        prediction_id, data, bits, _ = self
        if prediction_id is None and data is not None:
            prediction_id = client_prediction_id(data)
        return prediction_id if prediction_id is not None else format_uuid4(bits)

    @property
    def model_name(self) -> str:
        """The model's qualified name."""
        return str(self[3].qualified_name)

    @property
    def model_version(self) -> str:
        """The model's version."""
        return str(self[3].version)

    def __repr__(self) -> str:
        """Show the id and model."""
        return f"PredictionScope({self.prediction_id!r}, {self.model_name!r}, {self.model_version!r})"


scope_from_parts: Callable[[tuple[str | None, Any, int, Any]], PredictionScope] = functools.partial(
    tuple.__new__, PredictionScope
)
"""Build a scope from its four parts (given id, input, random bits, model): the request thread's way."""


def format_uuid4(bits: int) -> str:
    """Format 128 random bits as a version 4 UUID string (as ``str(uuid.uuid4())``)."""
    h = f"{(bits & _UUID4_CLEAR) | _UUID4_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def enter_prediction(data: Any, model: Any) -> tuple[PredictionScope, Token[Context] | None]:
    """Open a prediction scope (or join the enclosing one); pass the token to :func:`exit_prediction`."""
    current = get_current()
    enclosing = current.get(PREDICTION_KEY)
    if isinstance(enclosing, PredictionScope):
        return enclosing, None
    scope = PredictionScope(model, data)
    return scope, context.attach(context.set_value(PREDICTION_KEY, scope, current))


def exit_prediction(token: Token[Context] | None) -> None:
    """Close the scope opened by :func:`enter_prediction` (no-op when it joined an enclosing one)."""
    if token is not None:
        context.detach(token)


def current_prediction() -> PredictionScope | None:
    """Return the prediction in progress in this context, if any."""
    scope = get_current().get(PREDICTION_KEY)
    return scope if isinstance(scope, PredictionScope) else None


def client_prediction_id(data: Any) -> str | None:
    """Return the ``prediction_id`` a client sent with the input, if it sent one."""
    value = read_field(data, PREDICTION_ID_FIELD)
    if value is None or value == "":
        return None
    return str(value)


@contextmanager
def prediction_scope(data: Any, model: Any) -> Iterator[PredictionScope]:
    """Enter the scope of a prediction of ``model``, reusing an enclosing one (nested decorators)."""
    scope, token = enter_prediction(data, model)
    try:
        yield scope
    finally:
        exit_prediction(token)
