"""An attribute group as OTLP JSON ``KeyValue`` items (bytes): compiled when it was built, else Python.

The fast path serializes a few attribute groups per prediction. ``_key_values`` (C, compiled when the
package is installed on a machine with a C compiler) writes the values predictions carry (str, bool,
64-bit int, finite float) in one pass; any other group, or a package installed without it, goes
through :func:`plain_key_values` and orjson. Both give the same JSON: tests/plugin/export/test_key_values.py
holds the compiled encoder to the Python one.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

from otel_ml_logging.export.json_encoding import JsonObject, any_value
from otel_ml_logging.prediction.fields import Attributes

_dumps = orjson.dumps


def plain_key_values(attributes: Attributes) -> list[JsonObject]:
    """Attributes (str, bool, int, float values) as OTLP JSON ``KeyValue`` objects, by the value's exact type."""
    encoded: list[JsonObject] = []
    for key, value in attributes.items():
        kind = type(value)
        if kind is str:
            encoded.append({"key": key, "value": {"stringValue": value}})
        elif kind is float:
            encoded.append({"key": key, "value": {"doubleValue": value}})
        elif kind is int:
            encoded.append({"key": key, "value": {"intValue": str(value)}})
        else:  # bool, or a subclass of the above
            encoded.append({"key": key, "value": any_value(value)})
    return encoded


def python_key_values_json(attributes: Attributes) -> bytes:
    """Return the ``KeyValue`` list's items, comma-separated, without the brackets (the Python encoder)."""
    return _dumps(plain_key_values(attributes))[1:-1]


def _compiled_encoder() -> Callable[[Attributes], bytes | None] | None:
    try:
        from otel_ml_logging.export._key_values import encode
    except ImportError:  # installed without a C compiler: the Python encoder does it all
        return None
    return encode


compiled_key_values_json = _compiled_encoder()
"""The compiled encoder (None when not built): bytes, or None for a group it leaves to Python."""


def _with_fallback(compiled: Callable[[Attributes], bytes | None]) -> Callable[[Attributes], bytes]:
    def key_values_json(attributes: Attributes) -> bytes:
        """Return the ``KeyValue`` list's items, comma-separated, without the brackets."""
        encoded = compiled(attributes)
        return python_key_values_json(attributes) if encoded is None else encoded

    return key_values_json


key_values_json: Callable[[Attributes], bytes] = (
    python_key_values_json if compiled_key_values_json is None else _with_fallback(compiled_key_values_json)
)
"""An attribute group's ``KeyValue`` items: compiled where it can be, else in Python."""
