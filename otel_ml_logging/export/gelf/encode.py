"""The pure part of the GELF exporter: an OpenTelemetry log record (and its resource) → a GELF 1.1 message.

No I/O. The mapping is the collector's GELF exporter's (``collector/gelfexporter``), rule for rule; the
test vectors in ``collector/gelfexporter/testdata/vectors`` are checked against both::

    from otel_ml_logging.export.gelf import GelfMapping, to_gelf
    message = to_gelf(readable_log_record, GelfMapping(), fallback_host="my-host")
    message["short_message"], message["level"], message["_trace_id"]

* ``host``: the first non-blank resource attribute of ``host_attributes`` (default ``host.name``,
  ``service.instance.id``, ``service.name``), else the fallback host (this machine's name), else ``unknown``;
* ``short_message``: the body as text (maps and sequences as JSON); if blank, the event name, else ``-``;
* ``full_message``: the ``exception.stacktrace`` attribute (not repeated as an additional field);
* ``timestamp``: the record's time, else its observed time, else now: seconds with up to 6 decimals
  (microseconds, truncated);
* ``level``: syslog level from the severity number (FATAL 2, ERROR 3, WARN 4, INFO 6, DEBUG/TRACE 7),
  else from the severity text (``emerg`` 0 … ``debug`` 7), else 6;
* additional fields: resource attributes, then record attributes (the record wins), then ``_trace_id``,
  ``_span_id``, ``_severity_text``, ``_event_name``. Maps are flattened with dots; names keep
  ``[A-Za-z0-9_.-]`` (anything else becomes ``_``) and ``id`` becomes ``__id`` (GELF forbids ``_id``);
  booleans, bytes (base64) and sequences (JSON) become strings; NaN/±infinity become ``"NaN"``,
  ``"Infinity"``, ``"-Infinity"``; string values are cut to ``max_attribute_value_length`` UTF-8 bytes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource

from otel_ml_logging.export.gelf.values import (
    GO_SPACE,
    char_length,
    go_bytes,
    is_valid_utf8,
    utf8_length,
    valid_utf8,
    value_as_string,
)

__all__ = ["GelfEncoder", "GelfMapping", "encode_gelf", "field_name", "syslog_level", "to_gelf"]

GELF_VERSION = "1.1"
STACKTRACE_ATTRIBUTE = "exception.stacktrace"
DEFAULT_LEVEL = 6
DEFAULT_HOST_ATTRIBUTES = ("host.name", "service.instance.id", "service.name")
DEFAULT_MAX_ATTRIBUTE_VALUE_LENGTH = 32766  # Lucene's term limit, as the collector's exporter
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class GelfMapping:
    """How records become messages (the collector exporter's ``mapping:`` block, same names and defaults).

    Attributes:
        host_attributes: resource attributes tried, in order, for ``host``.
        include_attributes: when not empty, keep only attributes whose flattened name matches an entry
            (exact, or a prefix when the entry ends with ``*``).
        exclude_attributes: drop matching attributes (after ``include_attributes``).
        include_resource_attributes: add resource attributes as additional fields.
        max_attribute_value_length: cut string values to this many UTF-8 bytes; 0 means no limit.

    """

    host_attributes: tuple[str, ...] = DEFAULT_HOST_ATTRIBUTES
    include_attributes: tuple[str, ...] = ()
    exclude_attributes: tuple[str, ...] = ()
    include_resource_attributes: bool = True
    max_attribute_value_length: int = DEFAULT_MAX_ATTRIBUTE_VALUE_LENGTH

    def __post_init__(self) -> None:
        """Reject settings the collector's ``Validate()`` rejects, naming the setting."""
        if self.max_attribute_value_length < 0:
            raise ValueError("max_attribute_value_length: must not be negative (0 = no limit)")
        if any(not name.strip() for name in self.host_attributes):
            raise ValueError("host_attributes: names must not be empty")
        for setting, patterns in (
            ("include_attributes", self.include_attributes),
            ("exclude_attributes", self.exclude_attributes),
        ):
            for pattern in patterns:
                if not pattern or (pattern == "*" and setting == "exclude_attributes"):
                    raise ValueError(f"{setting}: {pattern!r} is not allowed")
                if "*" in pattern[:-1]:
                    raise ValueError(f"{setting}: {pattern!r}: `*` is only allowed at the end (prefix match)")


@dataclass(frozen=True)
class _Matcher:
    exact: frozenset[str]
    prefixes: tuple[str, ...]

    @classmethod
    def of(cls, patterns: Sequence[str]) -> _Matcher | None:
        if not patterns:
            return None
        return cls(
            frozenset(p for p in patterns if not p.endswith("*")),
            tuple(p[:-1] for p in patterns if p.endswith("*")),
        )

    def matches(self, name: str) -> bool:
        return name in self.exact or name.startswith(self.prefixes)


def _is_field_char(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char in "_.-")


def field_name(name: str) -> str:
    """Return the additional-field name for an attribute name, without the leading ``_``.

    Characters outside ``[A-Za-z0-9_.-]`` become ``_`` (one per character; one per invalid byte of a
    string that is not valid UTF-8); ``id`` becomes ``_id`` so the field is ``__id``. An empty name
    gives ``""`` (the attribute is skipped).
    """
    if not all(map(_is_field_char, name)):
        if is_valid_utf8(name):
            name = "".join(c if _is_field_char(c) else "_" for c in name)
        else:
            name = "".join(_field_chars(go_bytes(name)))
    return "_id" if name == "id" else name


def _field_chars(data: bytes) -> list[str]:
    """Go's ``for _, r := range name`` over the bytes: one output character per rune or invalid byte."""
    out: list[str] = []
    i = 0
    while i < len(data):
        width = char_length(data, i)
        char = chr(data[i])
        out.append(char if width == 1 and _is_field_char(char) else "_")
        i += width or 1
    return out


_TEXT_LEVELS = {
    "emerg": 0,
    "emergency": 0,
    "panic": 0,
    "alert": 1,
    "crit": 2,
    "critical": 2,
    "fatal": 2,
    "err": 3,
    "error": 3,
    "warn": 4,
    "warning": 4,
    "notice": 5,
    "info": 6,
    "informational": 6,
    "information": 6,
    "debug": 7,
    "trace": 7,
}


def syslog_level(severity_number: int | None, severity_text: str | None) -> int:
    """Return the syslog level (0-7) GELF expects: from the OTel severity number, else its text, else 6."""
    number = severity_number or 0
    if 1 <= number <= 8:
        return 7
    if 9 <= number <= 12:
        return 6
    if 13 <= number <= 16:
        return 4
    if 17 <= number <= 20:
        return 3
    if 21 <= number <= 24:
        return 2
    return _TEXT_LEVELS.get((severity_text or "").strip(GO_SPACE).lower(), DEFAULT_LEVEL)


def format_timestamp(nanoseconds: int) -> str:
    """Format nanoseconds since the epoch as seconds with up to 6 decimals (microseconds, truncated)."""
    seconds, rest = divmod(nanoseconds, 1_000_000_000)
    micros = rest // 1000
    return f"{seconds}.{micros:06d}".rstrip("0") if micros else str(seconds)


class GelfEncoder:
    """Maps records to GELF messages with one :class:`GelfMapping`; caches the last resource's share."""

    def __init__(self, mapping: GelfMapping | None = None, fallback_host: str = "") -> None:
        """Use ``mapping`` (default: the collector's defaults); ``fallback_host`` when no host attribute is set."""
        self.mapping = mapping or GelfMapping()
        self._include = _Matcher.of(self.mapping.include_attributes)
        self._exclude = _Matcher.of(self.mapping.exclude_attributes)
        self._max_length = self.mapping.max_attribute_value_length
        self.fallback_host = fallback_host if fallback_host.strip(GO_SPACE) else "unknown"
        # one tuple, replaced at once: export() may run on several threads
        self._cached: tuple[Resource | None, tuple[str, dict[str, Any]]] = (None, (self.fallback_host, {}))

    def message(self, record: ReadableLogRecord) -> tuple[dict[str, Any], str]:
        """Return the message in the order it is sent (``timestamp`` still None) and the timestamp as a JSON number."""
        host, resource_fields = self._share(record.resource)
        log = record.log_record
        attributes: Mapping[str, Any] = log.attributes or {}

        body = log.body
        short = valid_utf8(body if isinstance(body, str) else value_as_string(body))
        if not short.strip(GO_SPACE):
            event = (log.event_name or "").strip(GO_SPACE)
            short = valid_utf8(event) if event else "-"
        message: dict[str, Any] = {"version": GELF_VERSION, "host": host, "short_message": short}
        stacktrace = attributes.get(STACKTRACE_ATTRIBUTE)
        if stacktrace is not None:
            full_message = valid_utf8(value_as_string(stacktrace))
            if full_message:
                message["full_message"] = full_message
        message["timestamp"] = None
        severity_number = log.severity_number.value if log.severity_number is not None else 0
        message["level"] = syslog_level(severity_number, log.severity_text)

        fields = dict(resource_fields)
        self._add_attributes(fields, attributes, "")
        if log.trace_id:
            fields["trace_id"] = f"{log.trace_id:032x}"
        if log.span_id:
            fields["span_id"] = f"{log.span_id:016x}"
        if log.severity_text:
            fields["severity_text"] = self._truncate(valid_utf8(log.severity_text))
        if log.event_name:
            fields["event_name"] = self._truncate(valid_utf8(log.event_name))
        for key, value in fields.items():
            message["_" + key] = value
        return message, format_timestamp(log.timestamp or log.observed_timestamp or time.time_ns())

    def to_gelf(self, record: ReadableLogRecord) -> dict[str, Any]:
        """Return the message as the JSON object it is sent as (``timestamp`` an exact :class:`~decimal.Decimal`)."""
        message, timestamp = self.message(record)
        message["timestamp"] = Decimal(timestamp)
        return message

    def encode(self, record: ReadableLogRecord) -> bytes:
        """Return the message as sent: one compact JSON object, UTF-8."""
        message, timestamp = self.message(record)
        message["timestamp"] = orjson.Fragment(timestamp)
        return orjson.dumps(message)

    def _share(self, resource: Resource) -> tuple[str, dict[str, Any]]:
        """Host and resource fields, computed once per resource object."""
        cached_resource, share = self._cached
        if resource is cached_resource:
            return share
        attributes: Mapping[str, Any] = resource.attributes if resource is not None else {}
        host = self.fallback_host
        for name in self.mapping.host_attributes:
            candidate = valid_utf8(value_as_string(attributes.get(name))).strip(GO_SPACE)
            if candidate:
                host = candidate
                break
        fields: dict[str, Any] = {}
        if self.mapping.include_resource_attributes:
            self._add_attributes(fields, attributes, "")
        self._cached = (resource, (host, fields))
        return host, fields

    def _add_attributes(self, fields: dict[str, Any], attributes: Mapping[str, Any], prefix: str) -> None:
        for key, value in attributes.items():
            name = f"{prefix}.{key}" if prefix else key
            if not prefix and key == STACKTRACE_ATTRIBUTE:
                continue  # sent as full_message
            if isinstance(value, Mapping):
                self._add_attributes(fields, value, name)
                continue
            if (self._include is not None and not self._include.matches(name)) or (
                self._exclude is not None and self._exclude.matches(name)
            ):
                continue
            field_key = field_name(name)
            if not field_key or value is None:
                continue
            fields[field_key] = self._field_value(value)

    def _field_value(self, value: Any) -> str | int | float:
        if isinstance(value, str):
            return self._truncate(valid_utf8(value))
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return value if _INT64_MIN <= value <= _INT64_MAX else str(value)
        if isinstance(value, float):
            return value if math.isfinite(value) else value_as_string(value)
        return self._truncate(valid_utf8(value_as_string(value)))

    def _truncate(self, text: str) -> str:
        limit = self._max_length
        if limit <= 0 or len(text) <= limit // 4 or utf8_length(text) <= limit:
            return text
        data = text.encode("utf-8")
        cut = limit
        while cut > 0 and data[cut] & 0xC0 == 0x80:
            cut -= 1
        return data[:cut].decode("utf-8")


def to_gelf(record: ReadableLogRecord, mapping: GelfMapping | None = None, fallback_host: str = "") -> dict[str, Any]:
    """Map one record to a GELF message (a JSON-ready dict; ``timestamp`` is a Decimal)."""
    return GelfEncoder(mapping, fallback_host).to_gelf(record)


def encode_gelf(record: ReadableLogRecord, mapping: GelfMapping | None = None, fallback_host: str = "") -> bytes:
    """Map and encode one record: the bytes a GELF input receives (before compression or framing)."""
    return GelfEncoder(mapping, fallback_host).encode(record)
