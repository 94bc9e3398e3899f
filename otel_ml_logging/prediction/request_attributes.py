"""Attributes of the request being served, added to the span and records of its predictions.

Set them where the request is known (an ASGI middleware, a FastAPI dependency, the custom-attributes
header handling of :mod:`otel_ml_logging.serving.custom_attributes`)::

    with otel_ml_logging.request_attributes({"tenant.id": "acme"}):
        model.predict(data)

Every prediction made inside (on this thread, or in tasks and threads that copy the context, as
Starlette's thread pool does) carries them on its span and all its log records, and so does every
stdlib log record written meanwhile. A ContextVar holds them, apart from the OpenTelemetry context,
so that an instrumentation starting a fresh context (a server span from extracted headers) keeps them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

from otel_ml_logging.prediction.fields import Attributes, AttributeValue

REQUEST_ATTRIBUTES: ContextVar[Attributes | None] = ContextVar("otel_ml_logging_request_attributes", default=None)
_RESERVED_PREFIXES = ("ml.", "exception.")
_RESERVED_NAMES = frozenset({"error.type", "code.function.name"})


@contextmanager
def request_attributes(attributes: Mapping[str, AttributeValue]) -> Iterator[Attributes]:
    """Add ``attributes`` to every prediction made inside the block (merged over enclosing ones).

    The decorator's own names (``ml.*``, ``exception.*``, ``error.type``, ``code.function.name``)
    are refused with a ValueError.
    """
    reserved = sorted(name for name in attributes if is_reserved(name))
    if reserved:
        raise ValueError(f"request attributes {', '.join(reserved)}: the decorator's own names are reserved")
    merged: Attributes = {**(REQUEST_ATTRIBUTES.get() or {}), **attributes}
    token = REQUEST_ATTRIBUTES.set(merged or None)
    try:
        yield merged
    finally:
        REQUEST_ATTRIBUTES.reset(token)


def current_request_attributes() -> Attributes:
    """Return the request attributes in effect here (empty outside :func:`request_attributes`)."""
    return REQUEST_ATTRIBUTES.get() or {}


def is_reserved(name: str) -> bool:
    """Whether ``name`` is one of the decorator's own attribute names."""
    return name.startswith(_RESERVED_PREFIXES) or name in _RESERVED_NAMES
