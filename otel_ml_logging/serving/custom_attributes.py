"""``X-Amzn-SageMaker-Custom-Attributes``: the caller's trace context and chosen keys in, the prediction id out.

SageMaker passes this one header through unchanged (≤ 1024 visible ASCII characters) and drops
``traceparent``. :class:`CustomAttributesMiddleware` (an ASGI middleware; wrap the whole app with
it so that it runs before OpenTelemetry's server middleware) reads ``key=value`` pairs separated by
``,`` or ``;`` (``;`` when a value itself has commas, such as a multi-entry ``tracestate``):

- ``traceparent`` / ``tracestate`` continue the caller's W3C trace: they are checked with the
  OpenTelemetry trace-context propagator and given to the request as real headers (unless it has
  its own ``traceparent``), so the server span of the ASGI/FastAPI instrumentation continues the
  caller's trace, and with it the prediction's span and every record;
- keys listed in ``attributes`` (custom key → attribute name) become request attributes
  (:func:`otel_ml_logging.request_attributes`): on the span and every record of each prediction
  made for the request, and on every stdlib log record written meanwhile; the SageMaker app sets
  them on the server span too;
- anything malformed is reported in one warning and otherwise ignored: never an error response.

The response gets ``<response header>: prediction_id=<id>`` when its JSON body has a
``prediction_id`` (what :class:`~otel_ml_logging.PredictionIDDecorator` adds).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from otel_ml_logging.prediction.request_attributes import current_request_attributes, is_reserved, request_attributes

_logger = logging.getLogger(__name__)

SAGEMAKER_HEADER = "X-Amzn-SageMaker-Custom-Attributes"
MAX_LENGTH = 1024
TRACE_KEYS = ("traceparent", "tracestate")
PREDICTION_ID_KEY = "prediction_id"
_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")
_PROPAGATOR = TraceContextTextMapPropagator()


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class CustomAttributes:
    """The pairs of one header value and what was wrong with it."""

    pairs: dict[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


def parse_custom_attributes(value: str) -> CustomAttributes:
    """Split ``k1=v1, k2=v2`` or ``k1=v1; k2=v2``; whitespace around keys and values is ignored, bad pairs reported.

    Pairs are separated by commas, or by semicolons when the value has any: then commas belong to
    the values, as in a W3C ``tracestate`` with several entries (``tracestate=a=1,b=2; tenant=x``).
    """
    problems = []
    if len(value) > MAX_LENGTH:
        problems.append(f"header is {len(value)} characters, more than {MAX_LENGTH}; ignored")
        return CustomAttributes({}, tuple(problems))
    pairs: dict[str, str] = {}
    for raw in value.split(";" if ";" in value else ","):
        item = raw.strip()
        if not item:
            continue
        key, sep, val = item.partition("=")
        key, val = key.strip(), val.strip()
        if not sep or not key:
            problems.append(f"{item!r} is not key=value")
        elif not _KEY.match(key):
            problems.append(f"key {key!r} has characters other than letters, digits, '_', '.', '-'")
        elif key in pairs:
            problems.append(f"key {key!r} given more than once; the first value is kept")
        else:
            pairs[key] = val
    return CustomAttributes(pairs, tuple(problems))


@dataclass(frozen=True)
class CustomAttributesConfig:
    """Which header to read, which keys become attributes, which header returns the prediction id."""

    header: str = SAGEMAKER_HEADER
    response_header: str = SAGEMAKER_HEADER
    attributes: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any] | None) -> CustomAttributesConfig:
        """Read the ``custom_attributes:`` section of a rest config (unknown options fail, naming the valid ones)."""
        options = dict(options or {})
        valid = ("header", "response_header", "attributes")
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise ValueError(f"custom_attributes: unknown option(s) {', '.join(unknown)} (valid: {', '.join(valid)})")
        attributes = options.get("attributes") or {}
        if not isinstance(attributes, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in attributes.items()
        ):
            raise ValueError("custom_attributes.attributes: must map header keys to attribute names (strings)")
        reserved = sorted(set(attributes) & {*TRACE_KEYS, PREDICTION_ID_KEY})
        if reserved:
            raise ValueError(f"custom_attributes.attributes: {', '.join(reserved)} cannot be used as attribute keys")
        taken = sorted(name for name in attributes.values() if is_reserved(name))
        if taken:
            raise ValueError(
                f"custom_attributes.attributes: {', '.join(taken)} are the decorator's own attribute names"
            )
        return cls(
            header=str(options.get("header", SAGEMAKER_HEADER)),
            response_header=str(options.get("response_header", SAGEMAKER_HEADER)),
            attributes=dict(attributes),
        )


class CustomAttributesMiddleware:
    """ASGI middleware: trace context and chosen attributes in from a header, prediction id out."""

    def __init__(self, app: ASGIApp, config: CustomAttributesConfig | None = None) -> None:
        """Wrap ``app``; ``config`` defaults to SageMaker's header names and no attribute keys."""
        self.app = app
        self.config = config or CustomAttributesConfig()
        self._header = self.config.header.lower().encode("latin-1")
        self._response_header = self.config.response_header.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers") or [])
        raw = b",".join(value for name, value in headers if name == self._header)
        if not raw:
            await self.app(scope, receive, self._send_with_prediction_id(send))
            return
        parsed = parse_custom_attributes(raw.decode("latin-1"))
        problems = list(parsed.problems)
        carrier = {key: parsed.pairs[key] for key in TRACE_KEYS if key in parsed.pairs}
        if carrier:
            extracted = _PROPAGATOR.extract(carrier)
            if trace.get_current_span(extracted).get_span_context().is_valid:
                if not any(name == b"traceparent" for name, _ in headers):
                    injected: dict[str, str] = {}
                    _PROPAGATOR.inject(injected, context=extracted)
                    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in injected.items()]
                    scope = {**scope, "headers": headers}
            else:
                problems.append(f"traceparent {parsed.pairs.get('traceparent')!r} is not a valid W3C traceparent")
        chosen = {name: parsed.pairs[key] for key, name in self.config.attributes.items() if key in parsed.pairs}
        if problems:
            _logger.warning("%s header: %s", self.config.header, "; ".join(problems))
        with request_attributes(chosen):
            await self.app(scope, receive, self._send_with_prediction_id(send))

    def _send_with_prediction_id(self, send: Send) -> Send:
        held: list[Message] = []

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                held.append(message)  # wait for the body: the prediction id is in it
                return
            if message["type"] == "http.response.body" and held:
                start = held.pop()
                prediction_id = None if message.get("more_body") else _prediction_id(start, message.get("body", b""))
                if prediction_id is not None:
                    value = f"{PREDICTION_ID_KEY}={prediction_id}".encode("latin-1", "replace")
                    start = {**start, "headers": [*start.get("headers", []), (self._response_header, value)]}
                await send(start)
            await send(message)

        return wrapped


def _prediction_id(start: Message, body: bytes) -> str | None:
    content_type = next((v for k, v in start.get("headers", []) if k.lower() == b"content-type"), b"")
    if not content_type.startswith(b"application/json") or not body.startswith(b"{"):
        return None
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    value = document.get(PREDICTION_ID_KEY) if isinstance(document, dict) else None
    return str(value) if value not in (None, "") else None


def set_span_attributes() -> None:
    """Set the request's chosen attributes on the current span (the server span, inside an endpoint)."""
    chosen = current_request_attributes()
    if chosen:
        trace.get_current_span().set_attributes(dict(chosen))
