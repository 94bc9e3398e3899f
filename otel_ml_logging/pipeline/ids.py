"""Span and trace ids chosen on the request thread, honoured later by the SDK.

The decorator's fast path gives a prediction its span id the moment ``predict()`` starts, so that
log lines written during the prediction carry it, and builds the SDK span afterwards on a
background thread. :class:`PresetIdGenerator` (entry point ``otel_ml_logging`` of
``opentelemetry_id_generator``, selected by the distro through ``OTEL_PYTHON_ID_GENERATOR``) lets
that thread tell the SDK which ids to use; otherwise it generates random ids exactly like the
SDK's default generator.
"""

from __future__ import annotations

import random
import threading

from opentelemetry.sdk.trace.id_generator import IdGenerator

_getrandbits = random.getrandbits


def new_span_id() -> int:
    """Return a random, valid (non-zero) 64-bit span id."""
    span_id = _getrandbits(64)
    while not span_id:
        span_id = _getrandbits(64)
    return span_id


def new_trace_id() -> int:
    """Return a random, valid (non-zero) 128-bit trace id."""
    trace_id = _getrandbits(128)
    while not trace_id:
        trace_id = _getrandbits(128)
    return trace_id


class PresetIdGenerator(IdGenerator):
    """Random ids, unless the calling thread preset the next ones with :meth:`preset`."""

    def __init__(self) -> None:
        """Start with nothing preset."""
        self._preset = threading.local()

    def preset(self, trace_id: int, span_id: int) -> None:
        """Make the next span started on this thread use these ids (trace id only for a root span)."""
        self._preset.ids = (trace_id, span_id)

    def clear(self) -> None:
        """Forget a preset that was not consumed (e.g. the span was not sampled)."""
        self._preset.ids = None

    def generate_span_id(self) -> int:
        """Return the preset span id (consuming the preset), else a random one."""
        ids = getattr(self._preset, "ids", None)
        if ids is None:
            return new_span_id()
        self._preset.ids = None
        return int(ids[1])

    def generate_trace_id(self) -> int:
        """Return the preset trace id (kept for the span id that follows), else a random one."""
        ids = getattr(self._preset, "ids", None)
        return new_trace_id() if ids is None else int(ids[0])

    def is_trace_id_random(self) -> bool:
        """Report whether trace ids are random: they are, whoever picked them."""
        return True
