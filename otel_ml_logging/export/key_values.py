"""Attribute groups as OTLP JSON ``KeyValue`` items (bytes): compiled when it was built, else Python.

The fast path serializes a few attribute groups per prediction. ``_key_values`` (C, compiled when the
package is installed on a machine with a C compiler) writes the values predictions carry (str, bool,
64-bit int, finite float) in one pass, and joins an item's groups, each encoded once per prediction;
any other group, or a package installed without it, goes through :func:`plain_key_values` and orjson.
Both give the same JSON: tests/plugin/export/test_key_values.py holds the compiled encoder to the
Python one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import orjson

from otel_ml_logging.export.json_encoding import JsonObject, any_value
from otel_ml_logging.prediction.fields import Attributes
from otel_ml_logging.prediction.telemetry import AttributeGroups, SharedAttributes

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


def _compiled() -> tuple[Callable[[Attributes], bytes | None] | None, Callable[..., bytes] | None]:
    try:
        from otel_ml_logging.export._key_values import encode, encode_groups
    except ImportError:  # installed without a C compiler: the Python encoder does it all
        return None, None
    return encode, encode_groups


compiled_key_values_json, compiled_encode_groups = _compiled()
"""The compiled encoders (None when not built); the first gives None for a group it leaves to Python.

:class:`GroupEncoder` uses ``compiled_encode_groups``, which encodes each group with the first and
hands the groups it declines to :func:`python_key_values_json`."""


class GroupEncoder:
    """Joins an item's attribute groups' ``KeyValue`` items, each group encoded once per prediction.

    A prediction's table (:meth:`prediction_table`, then passed to every :meth:`encode` call of the
    prediction's span and records) maps a group's ``id`` to its bytes; groups of type
    :class:`~otel_ml_logging.prediction.telemetry.SharedAttributes` (a model's, the code's) are
    encoded once for all and kept alive, so that their ids stay theirs.
    """

    def __init__(self, limit: int = 256, compiled: bool = True) -> None:
        """Remember at most ``limit`` shared groups; ``compiled=False`` uses the Python encoder only."""
        self._shared: dict[int, bytes] = {}
        self._alive: list[SharedAttributes] = []
        self._limit = limit
        self.encode: Callable[[AttributeGroups, dict[int, bytes]], bytes] = self._encode
        if compiled and compiled_encode_groups is not None:
            self.encode = functools.partial(
                compiled_encode_groups, self._shared, self._alive, SharedAttributes, limit, python_key_values_json
            )

    def prediction_table(self) -> dict[int, bytes]:
        """Return a new prediction's table, holding the shared groups' bytes."""
        return self._shared.copy()

    def _encode(self, groups: AttributeGroups, converted: dict[int, bytes]) -> bytes:
        """Return the ``KeyValue`` list's items of disjoint groups, each group serialized once."""
        parts = []
        for group in groups:
            if group:
                encoded = converted.get(key := id(group))
                if encoded is None:
                    encoded = converted[key] = python_key_values_json(group)
                    if type(group) is SharedAttributes and len(self._shared) < self._limit:
                        self._shared[key] = encoded  # a model's or the code's group: once for all
                        self._alive.append(group)
                parts.append(encoded)
        return b",".join(parts)
