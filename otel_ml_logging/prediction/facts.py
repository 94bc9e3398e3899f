"""What the request thread observed about one prediction: the only input of its telemetry.

The request thread hands over one tuple (:data:`RequestFacts`, no Python-level constructor runs
there); off the request thread it becomes :class:`PredictionFacts`, where the payload sampling is
decided and the clocks are reconciled.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import SpanContext

from otel_ml_logging.prediction.fields import Attributes
from otel_ml_logging.prediction.scope import PredictionScope

# (scope, parent SpanContext or None, the prediction's SpanContext, start and end time ns,
#  input, output, exception, request attributes or None)
RequestFacts = tuple[PredictionScope, Any, Any, int, int, Any, Any, "BaseException | None", "Attributes | None"]


@dataclass(slots=True)
class PredictionFacts:
    """Ids, times, model, payload and outcome of one prediction."""

    scope: PredictionScope
    parent: SpanContext | None  # the enclosing span's context; None for a root prediction
    trace_id: int
    span_id: int
    trace_flags: int
    sampled_payload: bool  # whether the input/output fields are recorded (errors keep their input anyway)
    start_ns: int
    end_ns: int
    data: Any
    result: Any = None
    error: BaseException | None = None
    request: Attributes | None = None  # request attributes (otel_ml_logging.request_attributes)

    @classmethod
    def from_request(cls, facts: RequestFacts, payload_sample_rate: float) -> PredictionFacts:
        """Unpack the tuple the request thread handed over; decide here whether to keep the payload."""
        scope, parent, span_context, start_ns, end_ns, data, result, error, request = facts
        return cls(
            scope,
            parent,
            span_context.trace_id,
            span_context.span_id,
            int(span_context.trace_flags),
            payload_sampled(payload_sample_rate),
            start_ns,
            max(end_ns, start_ns),  # the wall clock may step back mid-prediction
            data,
            result,
            error,
            request,
        )

    @property
    def latency_ms(self) -> float:
        """Duration of ``predict()`` in milliseconds."""
        return (self.end_ns - self.start_ns) / 1e6

    @property
    def model_name(self) -> str:
        """The model's qualified name."""
        return self.scope.model_name

    @property
    def model_version(self) -> str:
        """The model's version."""
        return self.scope.model_version

    @property
    def prediction_id(self) -> str:
        """The prediction id (formatted here, off the request thread, when it was generated)."""
        return self.scope.prediction_id


def payload_sampled(rate: float) -> bool:
    """Whether one prediction's input/output fields are recorded at ``payload_sample_rate`` ``rate``."""
    return rate >= 1.0 or random.random() < rate
