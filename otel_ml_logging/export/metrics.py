"""Metric points → the per-model instruments (see docs/telemetry.md); shared by both sinks.

Metrics always go through the SDK's meter provider (there is no JSON fast path for them). On the
engine thread, a batch's counts and durations are added once per batch (the durations through
:mod:`otel_ml_logging.export._fast_metrics`); on a request thread (:meth:`MetricRecorder.record`)
each prediction goes to the instruments at once.
"""

from __future__ import annotations

from opentelemetry import metrics

from otel_ml_logging.export._fast_metrics import HistogramBatch
from otel_ml_logging.prediction import attributes as attr
from otel_ml_logging.prediction.fields import Attributes
from otel_ml_logging.prediction.telemetry import MetricPoint
from otel_ml_logging.version import __version__

# Seconds; predictions range from sub-millisecond lookups to multi-second models.
DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LABEL_KEYS = (attr.ML_MODEL_NAME, attr.ML_MODEL_VERSION, attr.ML_PREDICTION_STATUS)
_CountKey = tuple[str, str, str, "str | None"]


class MetricRecorder:
    """The prediction count, error count and duration instruments of one decorated model."""

    def __init__(self, meter_provider: metrics.MeterProvider | None = None) -> None:
        """Create the instruments on the global (or given) meter provider."""
        meter = metrics.get_meter(attr.INSTRUMENTATION_SCOPE, __version__, meter_provider)
        self._predictions = meter.create_counter(
            attr.METRIC_PREDICTIONS, unit="{prediction}", description="Predictions made, by model and status."
        )
        self._errors = meter.create_counter(
            attr.METRIC_ERRORS, unit="{error}", description="Predictions that raised, by model and exception type."
        )
        self._duration = meter.create_histogram(
            attr.METRIC_DURATION,
            unit="s",
            description="Duration of predict().",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
        self._durations = HistogramBatch(self._duration)
        self._labels: dict[tuple[str, str, str], Attributes] = {}
        self._counts: dict[_CountKey, int] = {}

    def record(self, point: MetricPoint) -> None:
        """Record one prediction on every instrument now (any thread)."""
        labels = self._labels_of(point.model_name, point.model_version, point.status)
        self._duration.record(point.duration_s, labels)
        self._predictions.add(1, labels)
        if point.error_type is not None:
            self._errors.add(1, _error_labels(labels, point.error_type))

    def add(self, point: MetricPoint) -> None:
        """Count the prediction and its duration at the next :meth:`flush` (the engine thread only)."""
        self._durations.add(point.duration_s, self._labels_of(point.model_name, point.model_version, point.status))
        key = (point.model_name, point.model_version, point.status, point.error_type)
        self._counts[key] = self._counts.get(key, 0) + 1

    def flush(self) -> None:
        """Add the durations and counts gathered by :meth:`add` to the instruments."""
        self._durations.flush()
        counts, self._counts = self._counts, {}
        for (model_name, model_version, status, error_type), count in counts.items():
            labels = self._labels_of(model_name, model_version, status)
            self._predictions.add(count, labels)
            if error_type is not None:
                self._errors.add(count, _error_labels(labels, error_type))

    def _labels_of(self, model_name: str, model_version: str, status: str) -> Attributes:
        """Return the metric attributes of a model version and status (built once, then reused)."""
        key = (model_name, model_version, status)
        labels = self._labels.get(key)
        if labels is None:
            labels = dict(zip(_LABEL_KEYS, key, strict=True))
            if len(self._labels) < 256:
                self._labels[key] = labels
        return labels


def _error_labels(labels: Attributes, error_type: str) -> Attributes:
    error_labels = {k: v for k, v in labels.items() if k != attr.ML_PREDICTION_STATUS}
    error_labels[attr.ERROR_TYPE] = error_type
    return error_labels
