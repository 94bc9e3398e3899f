"""From captured lines to log entries: grouping (tracebacks) and parsing (JSON, level words).

Pure code, no threads and no sockets: :class:`LineGrouper` turns the lines of one stream into
entries (a Python traceback, with the log line that announced it, is one entry) and
:func:`parse_entry` turns an entry into the body, severity and attributes of a log record.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson
from opentelemetry._logs import SeverityNumber

MAX_ENTRY_LINES = 2000
"""A traceback longer than this is cut into several entries."""

MAX_ATTRIBUTE_DEPTH = 4
"""Nested JSON objects deeper than this are kept as JSON strings."""

_TRACEBACK_START = "Traceback (most recent call last):"
_CHAIN_LINES = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)
_LEVELS: dict[str, tuple[SeverityNumber, str]] = {
    "TRACE": (SeverityNumber.TRACE, "TRACE"),
    "DEBUG": (SeverityNumber.DEBUG, "DEBUG"),
    "INFO": (SeverityNumber.INFO, "INFO"),
    "NOTICE": (SeverityNumber.INFO2, "NOTICE"),
    "WARN": (SeverityNumber.WARN, "WARN"),
    "WARNING": (SeverityNumber.WARN, "WARNING"),
    "ERROR": (SeverityNumber.ERROR, "ERROR"),
    "ERR": (SeverityNumber.ERROR, "ERR"),
    "CRITICAL": (SeverityNumber.FATAL, "CRITICAL"),
    "FATAL": (SeverityNumber.FATAL, "FATAL"),
    "PANIC": (SeverityNumber.FATAL, "PANIC"),
}
# An upper-case level word near the start of the line (uvicorn "INFO:", gunicorn "[INFO]", logging's
# "ERROR:root:"), or logfmt's level=info in any case. Lower-case words in free text are not levels.
_LEVEL_WORD = re.compile(
    r"(?<![A-Za-z0-9_])(" + "|".join(sorted(_LEVELS, key=len, reverse=True)) + r")(?![A-Za-z0-9_])"
)
_LOGFMT_LEVEL = re.compile(r"(?:^|\s)(?:level|lvl|severity)=\"?([A-Za-z]+)", re.IGNORECASE)
_LEVEL_SEARCH_CHARS = 120
_JSON_MESSAGE_KEYS = ("message", "msg", "body", "short_message")
_JSON_LEVEL_KEYS = ("level", "levelname", "severity", "log.level", "severity_text")
_JSON_TRACE_KEYS = ("trace_id", "otelTraceID", "trace.id")
_JSON_SPAN_KEYS = ("span_id", "otelSpanID", "span.id")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEX16 = re.compile(r"^[0-9a-f]{16}$")
STDERR_SEVERITY = (SeverityNumber.WARN, None)
STDOUT_SEVERITY = (SeverityNumber.INFO, None)
TRACEBACK_SEVERITY = (SeverityNumber.ERROR, "ERROR")


@dataclass
class LineGrouper:
    """Group the lines of one stream into entries: one line each, a traceback as one entry.

    A line ending a block is only known when the next line arrives, so :meth:`feed` holds the
    latest entry back; :meth:`flush` releases it (at end of stream, or when the stream has been
    idle for a moment).
    """

    _lines: list[str] = field(default_factory=list)
    _in_traceback: bool = False
    _after_traceback: bool = False

    def feed(self, line: str) -> Iterator[list[str]]:
        """Add one line (without its newline); yield the entries it completes."""
        if line.startswith(_TRACEBACK_START):
            lines = self._lines
            announced = len(lines) == 1 and not (self._in_traceback or self._after_traceback)
            chained = self._after_traceback and lines[-1] == ""
            if lines and not (announced or chained):
                yield from self.flush()
            # joins the log line that announced it, or the traceback it chains on to
            self._lines.append(line)
            self._in_traceback, self._after_traceback = True, False
        elif self._in_traceback and line[:1] in (" ", "\t"):
            self._lines.append(line)
        elif self._in_traceback and line:
            self._lines.append(line)  # the exception line ends the traceback (chains may follow)
            self._in_traceback, self._after_traceback = False, True
        elif self._after_traceback and (not line or line in _CHAIN_LINES):
            self._lines.append(line)
        else:
            yield from self.flush()
            self._lines.append(line)
        if len(self._lines) >= MAX_ENTRY_LINES:
            yield from self.flush()

    def flush(self) -> Iterator[list[str]]:
        """Release the entry held back, if any."""
        lines = self._lines
        if lines:
            while len(lines) > 1 and not lines[-1]:
                lines.pop()  # blank lines after a traceback that no chain followed
            self._lines = []
            yield lines
        self._in_traceback = self._after_traceback = False

    @property
    def pending_lines(self) -> int:
        """How many lines are held back."""
        return len(self._lines)


class ParsedEntry(NamedTuple):
    """Body, severity, attributes and trace ids of one captured entry."""

    body: str
    severity_number: SeverityNumber
    severity_text: str | None
    attributes: dict[str, Any]
    trace_id: int = 0
    span_id: int = 0


def parse_entry(lines: list[str], stream: str) -> ParsedEntry:
    """Parse an entry of ``stream`` (``stdout`` or ``stderr``): JSON object, traceback or plain text."""
    text = "\n".join(lines)
    if len(lines) == 1 and text.startswith("{") and text.rstrip().endswith("}"):
        try:
            parsed = _parse_json(text, stream)
        except Exception:  # a JSON shape nobody foresaw: the line still goes out, as text
            parsed = None
        if parsed is not None:
            return parsed
    default = STDERR_SEVERITY if stream == "stderr" else STDOUT_SEVERITY
    number, word = level_of(lines[0]) or default
    if len(lines) > 1 and number.value < SeverityNumber.ERROR.value and _TRACEBACK_START in text:
        number, word = TRACEBACK_SEVERITY
    return ParsedEntry(text, number, word, stream_attributes(stream))


_STREAM_ATTRIBUTES = {"stdout": {"log.iostream": "stdout"}, "stderr": {"log.iostream": "stderr"}}


def stream_attributes(stream: str) -> dict[str, Any]:
    """Return the attributes of a plain line of ``stream``: one shared dict per stream (never modify it)."""
    shared = _STREAM_ATTRIBUTES.get(stream)
    return shared if shared is not None else {"log.iostream": stream}


def level_of(line: str) -> tuple[SeverityNumber, str] | None:
    """Return the level a line names: an upper-case level word near its start, or ``level=...``."""
    head = line[:_LEVEL_SEARCH_CHARS]
    match = _LEVEL_WORD.search(head)
    if match is not None:
        return _LEVELS[match.group(1)]
    match = _LOGFMT_LEVEL.search(head)
    if match is not None:
        return _LEVELS.get(match.group(1).upper())
    return None


def _parse_json(text: str, stream: str) -> ParsedEntry | None:
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict):
        return None
    body = text
    for key in _JSON_MESSAGE_KEYS:
        value = document.pop(key, None)
        if value is not None:
            body = value if isinstance(value, str) else orjson.dumps(value).decode()
            break
    severity: tuple[SeverityNumber, str | None] = STDERR_SEVERITY if stream == "stderr" else STDOUT_SEVERITY
    for key in _JSON_LEVEL_KEYS:
        value = document.get(key)
        if isinstance(value, str) and value.upper() in _LEVELS:
            severity = _LEVELS[value.upper()]
            del document[key]
            break
    trace_id = _hex_id(document, _JSON_TRACE_KEYS, _HEX32)
    span_id = _hex_id(document, _JSON_SPAN_KEYS, _HEX16) if trace_id else 0
    attributes: dict[str, Any] = {}
    _flatten(document, "", attributes, 0)
    attributes["log.iostream"] = stream
    return ParsedEntry(body, severity[0], severity[1], attributes, trace_id, span_id)


def _hex_id(document: dict[str, Any], keys: tuple[str, ...], pattern: re.Pattern[str]) -> int:
    for key in keys:
        value = document.get(key)
        if isinstance(value, str) and pattern.match(value.lower()):
            del document[key]
            number = int(value, 16)
            if number:
                return number
    return 0


def _flatten(value: dict[str, Any], prefix: str, out: dict[str, Any], depth: int) -> None:
    """JSON object → attribute values: nested objects become dotted keys, lists of scalars stay lists."""
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict) and depth < MAX_ATTRIBUTE_DEPTH:
            _flatten(item, f"{name}.", out, depth + 1)
        elif isinstance(item, (str, bool, int, float)):
            out[name] = item if not isinstance(item, int) or -(2**63) <= item < 2**63 else str(item)
        elif item is None:
            continue
        elif isinstance(item, list) and _homogeneous_scalars(item):
            out[name] = item
        else:
            out[name] = orjson.dumps(item).decode()


def _homogeneous_scalars(items: list[Any]) -> bool:
    kinds = {type(item) for item in items}
    return len(kinds) == 1 and kinds <= {str, bool, int, float}
