r"""Attribute values as text, exactly as the collector's GELF exporter (Go, pdata) writes them.

Python strings are Unicode, Go strings are bytes. A Python string that is not valid UTF-8 holds lone
surrogates: U+DC80..U+DCFF stand for the undecodable bytes 0x80..0xFF (``surrogateescape``, how
Python decodes ``os.environ``, ``sys.argv`` and many subprocess pipes); other lone surrogates are
taken as their ``surrogatepass`` bytes. With that, every rule below is the Go rule applied to the
same bytes:

* :func:`valid_utf8`: each run of invalid bytes becomes one U+FFFD (Go ``strings.ToValidUTF8``);
* :func:`value_as_string`: pdata ``Value.AsString`` (maps and slices as JSON with sorted keys and no
  HTML escaping, bytes as base64, doubles in the ES6 number format);
* :func:`go_json`: Go ``encoding/json`` with HTML escaping off (each invalid byte becomes ``\ufffd``).

The one deliberate difference from pdata: a NaN or infinite double inside a map or slice becomes the
string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"`` (pdata's ``AsString`` gives an empty string for
the whole value; the Go exporter does the same as here).
"""

from __future__ import annotations

import base64
import codecs
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

__all__ = [
    "GO_SPACE",
    "char_length",
    "format_float",
    "go_bytes",
    "go_json",
    "is_valid_utf8",
    "utf8_length",
    "valid_utf8",
    "value_as_string",
]

GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
"""The characters Go's ``strings.TrimSpace`` removes (``unicode.IsSpace``); ``str.strip()`` removes more."""

_ERRORS = "otel_ml_logging.go_bytes"


def _surrogates_as_bytes(error: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    out = bytearray()
    for char in error.object[error.start : error.end]:
        code = ord(char)
        out += bytes([code - 0xDC00]) if 0xDC80 <= code <= 0xDCFF else char.encode("utf-8", "surrogatepass")
    return bytes(out), error.end


codecs.register_error(_ERRORS, _surrogates_as_bytes)


def go_bytes(text: str) -> bytes:
    """Return the bytes a Go string holds for ``text`` (see the module docstring for lone surrogates)."""
    return text.encode("utf-8", _ERRORS)


def char_length(data: bytes, i: int) -> int:
    """Length of the valid UTF-8 character starting at ``data[i]``, 0 when Go's DecodeRune rejects it."""
    lead = data[i]
    if lead < 0x80:
        return 1
    width = 2 if 0xC2 <= lead <= 0xDF else 3 if 0xE0 <= lead <= 0xEF else 4 if 0xF0 <= lead <= 0xF4 else 0
    if width == 0 or i + width > len(data):
        return 0
    try:
        data[i : i + width].decode("utf-8")
    except UnicodeDecodeError:
        return 0
    return width


def is_valid_utf8(text: str) -> bool:
    """Tell whether ``text`` has no lone surrogates (it encodes to UTF-8 as is)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def valid_utf8(text: str) -> str:
    """``text`` with every run of invalid bytes replaced by one U+FFFD (Go ``strings.ToValidUTF8``)."""
    if is_valid_utf8(text):
        return text
    return "\ufffd".join(_valid_segments(go_bytes(text), per_run=True))


def _valid_segments(data: bytes, per_run: bool) -> list[str]:
    """Split ``data`` at its invalid bytes (at each one, or at each run of them) into valid UTF-8 pieces."""
    segments: list[str] = []
    start = i = 0
    while i < len(data):
        width = char_length(data, i)
        if width:
            i += width
            continue
        segments.append(data[start:i].decode("utf-8"))
        i += 1
        while per_run and i < len(data) and not char_length(data, i):
            i += 1
        start = i
    segments.append(data[start:].decode("utf-8"))
    return segments


def utf8_length(text: str) -> int:
    """Length in bytes of valid ``text`` encoded as UTF-8."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def format_float(value: float) -> str:
    """Format a finite double as Go's encoding/json does: shortest digits, exponent only below 1e-6 or from 1e21."""
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        mantissa, _, exponent = repr(value).partition("e")  # repr uses the exponent form in these ranges
        power = int(exponent)
        return f"{mantissa}e-{-power}" if power < 0 else f"{mantissa}e+{power:02d}"
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _nonfinite(value: float) -> str:
    return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"


_JSON_ESCAPES = {
    ord('"'): '\\"',
    ord("\\"): "\\\\",
    ord("\b"): "\\b",
    ord("\f"): "\\f",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
    **{c: f"\\u{c:04x}" for c in range(0x20) if chr(c) not in "\b\f\n\r\t"},
}


def _json_string(text: str) -> str:
    if is_valid_utf8(text):
        return '"' + text.translate(_JSON_ESCAPES) + '"'
    segments = _valid_segments(go_bytes(text), per_run=False)  # encoding/json writes \ufffd per invalid byte
    return '"' + "\\ufffd".join(segment.translate(_JSON_ESCAPES) for segment in segments) + '"'


def go_json(value: Any) -> str:
    """``value`` (an attribute value: None, bool, int, float, str, bytes, sequences, mappings) as compact JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value) if math.isfinite(value) else f'"{_nonfinite(value)}"'
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, (bytes, bytearray)):
        return '"' + base64.b64encode(value).decode("ascii") + '"'
    if isinstance(value, Mapping):
        items = sorted(((go_bytes(str(k)), str(k), v) for k, v in value.items()), key=lambda item: item[0])
        return "{" + ",".join(_json_string(k) + ":" + go_json(v) for _, k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    return _json_string(str(value))


def value_as_string(value: Any) -> str:
    """``value`` as text, like pdata's ``Value.AsString`` (None is the empty string)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value) if math.isfinite(value) else _nonfinite(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (Mapping, list, tuple)):
        return go_json(value)
    return str(value)
