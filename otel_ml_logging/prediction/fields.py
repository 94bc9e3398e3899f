"""Turning chosen input/output fields of a prediction into OpenTelemetry attribute values.

Attribute values must be str, bool, int or float. Everything else is converted here, once,
with one set of rules: non-JSON-able values are stringified, NaN/inf become strings, bytes are
decoded, long strings are truncated with a marker, redacted fields are masked and hashed
fields replaced by a salted SHA-256 digest.
"""

from __future__ import annotations

import datetime
import enum
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from otel_ml_logging.prediction.attributes import ML_PREDICTION_INPUT_PREFIX as INPUT_PREFIX
from otel_ml_logging.prediction.attributes import ML_PREDICTION_OUTPUT_PREFIX as OUTPUT_PREFIX
from otel_ml_logging.prediction.config import TRUNCATION_MARKER, LoggingDecoratorConfig

REDACTED = "[REDACTED]"
HASH_PREFIX = "sha256:"
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_MISSING = object()
_NO_FIELDS: dict[str, Any] = {}
_KEEP, _REDACT, _HASH = 0, 1, 2

AttributeValue = str | bool | int | float
Attributes = dict[str, AttributeValue]


def to_attribute_value(value: Any, max_length: int) -> AttributeValue | None:
    """Convert any payload value to a valid attribute value; ``None`` means "leave it out"."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return to_attribute_value(value.value, max_length)
    if isinstance(value, int):
        return value if _INT64_MIN <= value <= _INT64_MAX else truncate(str(value), max_length)
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str):
        return truncate(value, max_length)
    if isinstance(value, bytes | bytearray | memoryview):
        return truncate(bytes(value).decode("utf-8", errors="backslashreplace"), max_length)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return truncate(_to_json(value), max_length)


def truncate(text: str, max_length: int) -> str:
    """Cut ``text`` to ``max_length`` characters, the last ones being the truncation marker."""
    if len(text) <= max_length:
        return text
    return text[: max_length - len(TRUNCATION_MARKER)] + TRUNCATION_MARKER


def _to_json(value: Any) -> str:
    try:
        return json.dumps(value, default=str, allow_nan=False, ensure_ascii=False, sort_keys=True)
    except (ValueError, TypeError):  # NaN inside a container, or keys json cannot sort or encode
        return str(value)


def read_field(payload: Any, name: str) -> Any:
    """Read a top-level field from a pydantic model or a mapping; a missing one reads as ``None``.

    For pydantic models the instance ``__dict__`` is read first: ``getattr`` of a missing name makes
    pydantic build and raise an AttributeError, which costs microseconds on the request thread.
    What kind of payload a type is, is decided once per type (``isinstance`` against pydantic's
    metaclass runs Python code each time).
    """
    kind = _payload_kinds.get(type(payload)) or _payload_kind(type(payload))
    if kind is _PYDANTIC:
        value = payload.__dict__.get(name, _MISSING)
        if value is not _MISSING:
            return value
        extra = payload.__pydantic_extra__
        return extra.get(name) if extra else None
    if kind is _MAPPING:
        return payload.get(name)
    return getattr(payload, name, None)


_PYDANTIC, _MAPPING, _OBJECT = "pydantic", "mapping", "object"
_payload_kinds: dict[type, str] = {}
_MAX_REMEMBERED_TYPES = 256


def _payload_kind(payload_type: type) -> str:
    if issubclass(payload_type, BaseModel):
        kind = _PYDANTIC
    else:
        kind = _MAPPING if issubclass(payload_type, Mapping) else _OBJECT
    if len(_payload_kinds) < _MAX_REMEMBERED_TYPES:  # types made per request must not grow it forever
        _payload_kinds[payload_type] = kind
    return kind


def schema_field_names(schema: Any) -> list[str]:
    """Names of the fields of a pydantic model class (empty when it is not one)."""
    fields = getattr(schema, "model_fields", None)
    return list(fields) if isinstance(fields, Mapping) else []


class FieldRecorder:
    """Extracts, masks and converts the configured fields of prediction inputs and outputs."""

    def __init__(self, config: LoggingDecoratorConfig, hash_salt: str = "") -> None:
        """Prepare the per-field treatment once, so each prediction only looks it up."""
        self._max_length = config.max_value_length
        self._salt = hash_salt.encode()
        redacted, hashed = frozenset(config.redact_fields), frozenset(config.hash_fields)

        def plan(prefix: str, names: tuple[str, ...]) -> tuple[tuple[str, str, int], ...]:
            return tuple(
                (name, prefix + name, _REDACT if name in redacted else _HASH if name in hashed else _KEEP)
                for name in names
            )

        self._inputs = plan(INPUT_PREFIX, config.input_fields)
        self._outputs = plan(OUTPUT_PREFIX, config.output_fields)

    def inputs(self, payload: Any) -> Attributes:
        """``ml.prediction.input.<name>`` attributes for the configured input fields of ``payload``."""
        return self._attributes(payload, self._inputs)

    def outputs(self, payload: Any) -> Attributes:
        """``ml.prediction.output.<name>`` attributes for the configured output fields of ``payload``."""
        return self._attributes(payload, self._outputs)

    def _attributes(self, payload: Any, fields: tuple[tuple[str, str, int], ...]) -> Attributes:
        attributes: Attributes = {}
        max_length = self._max_length
        payload_kind = _payload_kinds.get(type(payload)) or _payload_kind(type(payload))
        own = payload.__dict__ if payload_kind is _PYDANTIC else _NO_FIELDS  # a pydantic model's fields, read directly
        for name, key, treatment in fields:
            raw = own.get(name, _MISSING)
            if raw is _MISSING:
                raw = read_field(payload, name)
            if raw is None:
                continue
            kind = type(raw)
            if treatment:
                attributes[key] = REDACTED if treatment == _REDACT else self._digest(raw)
            elif (
                (kind is float and math.isfinite(raw))
                or (kind is str and len(raw) <= max_length)
                or (kind is int and _INT64_MIN <= raw <= _INT64_MAX)
                or kind is bool
            ):
                attributes[key] = raw  # already a valid attribute value: the common case, decided cheaply
            else:
                value = to_attribute_value(raw, max_length)
                if value is not None:
                    attributes[key] = value
        return attributes

    def _digest(self, raw: Any) -> str:
        canonical = to_attribute_value(raw, 2**31)
        return HASH_PREFIX + hashlib.sha256(self._salt + str(canonical).encode()).hexdigest()
