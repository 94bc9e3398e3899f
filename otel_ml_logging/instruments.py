"""The per-model metric instruments (see docs/telemetry.md)."""

from __future__ import annotations

from opentelemetry import metrics

from otel_ml_logging.attributes import INSTRUMENTATION_SCOPE, METRIC_DURATION, METRIC_ERRORS, METRIC_PREDICTIONS
from otel_ml_logging.version import __version__

# Seconds; predictions range from sub-millisecond lookups to multi-second models.
DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class PredictionInstruments:
    """Counters and a latency histogram, created once per decorator."""

    def __init__(self, meter_provider: metrics.MeterProvider | None = None) -> None:
        """Create the instruments on the global (or given) meter provider."""
        meter = metrics.get_meter(INSTRUMENTATION_SCOPE, __version__, meter_provider)
        self.predictions = meter.create_counter(
            METRIC_PREDICTIONS, unit="{prediction}", description="Predictions made, by model and status."
        )
        self.errors = meter.create_counter(
            METRIC_ERRORS, unit="{error}", description="Predictions that raised, by model and exception type."
        )
        self.duration = meter.create_histogram(
            METRIC_DURATION,
            unit="s",
            description="Duration of predict().",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
