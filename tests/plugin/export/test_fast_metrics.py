"""A batch's durations added at once are what readers would collect from one ``record()`` per prediction.

Two real SDK meter providers with the same readers and views: one gets each prediction through
``MetricRecorder.record`` (the public API, one call per prediction), the other through
``MetricRecorder.add``/``flush`` (per batch, the shortcut of ``export/_fast_metrics.py``).
Everything the readers collect, but timestamps, must be equal, floats to the bit.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics._internal.exemplar import AlwaysOnExemplarFilter
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.metrics.view import (
    DropAggregation,
    ExplicitBucketHistogramAggregation,
    ExponentialBucketHistogramAggregation,
    View,
)

from otel_ml_logging.export import _fast_metrics
from otel_ml_logging.export.metrics import MetricRecorder
from otel_ml_logging.prediction import attributes as attr
from otel_ml_logging.prediction.telemetry import MetricPoint

LABEL_KEYS = {attr.ML_MODEL_NAME, attr.ML_MODEL_VERSION, attr.ML_PREDICTION_STATUS}
DELTA = {Histogram: AggregationTemporality.DELTA, Counter: AggregationTemporality.DELTA}
Setup = Callable[[], tuple[list[InMemoryMetricReader], dict[str, Any]]]


def _readers_default() -> tuple[list[InMemoryMetricReader], dict[str, Any]]:
    return [InMemoryMetricReader(), InMemoryMetricReader(preferred_temporality=DELTA)], {}


def _readers_with_views() -> tuple[list[InMemoryMetricReader], dict[str, Any]]:
    views = [
        View(instrument_name=attr.METRIC_DURATION, aggregation=ExplicitBucketHistogramAggregation([0.001, 0.1])),
        View(instrument_name=attr.METRIC_DURATION, name="by.model", attribute_keys={attr.ML_MODEL_NAME}),
        View(instrument_name=attr.METRIC_DURATION, name="all.keys", attribute_keys={*LABEL_KEYS, "other"}),
    ]
    return [InMemoryMetricReader(), InMemoryMetricReader(preferred_temporality=DELTA)], {"views": views}


def _readers_exponential() -> tuple[list[InMemoryMetricReader], dict[str, Any]]:
    views = [View(instrument_name=attr.METRIC_DURATION, aggregation=ExponentialBucketHistogramAggregation())]
    return [InMemoryMetricReader()], {"views": views}


def _readers_dropped() -> tuple[list[InMemoryMetricReader], dict[str, Any]]:
    return [InMemoryMetricReader()], {
        "views": [View(instrument_name=attr.METRIC_DURATION, aggregation=DropAggregation())]
    }


def _readers_exemplars() -> tuple[list[InMemoryMetricReader], dict[str, Any]]:
    return [InMemoryMetricReader()], {"exemplar_filter": AlwaysOnExemplarFilter()}


def _points(seed: int, count: int) -> list[MetricPoint]:
    rng = random.Random(seed)
    points = []
    for _ in range(count):
        status, error = ("error", "ValueError") if rng.random() < 0.1 else ("success", None)
        version = rng.choice(["1.0", "2.0"])
        duration = rng.choice([rng.uniform(0, 0.002), rng.expovariate(20.0), 0.0005, 0.0])  # on bounds, too
        points.append(MetricPoint("model", version, status, duration, error))
    return points


def _collected(reader: InMemoryMetricReader) -> list[tuple[Any, ...]]:
    data = reader.get_metrics_data()
    if data is None:
        return []
    found = []
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    fields = {
                        k: v for k, v in vars(point).items() if k not in ("start_time_unix_nano", "time_unix_nano")
                    }
                    fields["attributes"] = sorted(dict(point.attributes or {}).items())
                    # counts were already added per batch before durations were (an always_on exemplar of a
                    # count is the batch's count): exemplars are compared for the durations
                    fields["exemplars"] = (
                        []
                        if metric.name != attr.METRIC_DURATION
                        else [
                            (e.value, sorted(dict(e.filtered_attributes or {}).items()))
                            for e in getattr(point, "exemplars", ())
                        ]
                    )
                    found.append((metric.name, metric.unit, repr(sorted(fields.items(), key=lambda kv: kv[0]))))
    return sorted(found)


def _run(setup: Setup, batches: list[list[MetricPoint]], per_batch: bool) -> tuple[list[Any], MetricRecorder]:
    readers, options = setup()
    recorder = MetricRecorder(MeterProvider(metric_readers=readers, **options))
    collected = []
    for batch in batches:
        for point in batch:
            recorder.add(point) if per_batch else recorder.record(point)
        recorder.flush()
        collected.append([_collected(reader) for reader in readers])  # collections between batches
    return collected, recorder


@pytest.mark.parametrize(
    ("setup", "fast"),
    [
        (_readers_default, True),
        (_readers_with_views, True),
        (_readers_exponential, True),  # the shortcut is refused per batch: every value through record()
        (_readers_dropped, True),
        (_readers_exemplars, False),  # an exemplar could be kept: never the shortcut
    ],
    ids=["two readers, cumulative and delta", "views: buckets, attribute keys", "exponential", "dropped", "always_on"],
)
def test_readers_collect_what_one_record_per_prediction_gives(setup: Setup, fast: bool) -> None:
    batches = [_points(seed, count) for seed, count in enumerate([1, 300, 0, 57, 1000])]
    expected, _ = _run(setup, batches, per_batch=False)
    collected, recorder = _run(setup, batches, per_batch=True)
    assert recorder._durations.fast is fast
    assert collected == expected
    assert any(expected[-1])  # something was compared


def test_the_shortcut_adds_a_batch_with_one_record_call_per_attribute_set() -> None:
    readers, _ = _readers_default()
    recorder = MetricRecorder(MeterProvider(metric_readers=readers))
    calls: list[float] = []
    record = recorder._duration.record
    recorder._duration.record = lambda value, attributes=None, context=None: (
        calls.append(value),
        record(value, attributes),
    )  # type: ignore[method-assign]
    recorder._durations = _fast_metrics.HistogramBatch(recorder._duration)
    recorder.add(MetricPoint("other", "1", "success", 0.1, None))
    recorder.flush()  # the readers' views of the histogram are matched at its first record()
    calls.clear()
    for point in _points(3, 500):
        recorder.add(point)
    recorder.flush()
    assert 1 <= len(calls) <= 4  # model versions and statuses: 2 x 2
    (histogram,) = [
        m
        for m in readers[0].get_metrics_data().resource_metrics[0].scope_metrics[0].metrics
        if m.name == attr.METRIC_DURATION
    ]
    assert sum(p.count for p in histogram.data.data_points) == 501


def test_a_meter_provider_that_is_not_the_sdks_records_each_value() -> None:
    recorder = MetricRecorder(NoOpMeterProvider())  # nothing to shortcut, nothing raised
    assert recorder._durations.fast is False
    for point in _points(4, 10):
        recorder.add(point)
    recorder.flush()


def test_changed_sdk_internals_fall_back_to_record_with_one_warning(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry.sdk.metrics._internal import exemplar

    readers, _ = _readers_default()
    recorder = MetricRecorder(MeterProvider(metric_readers=readers))
    monkeypatch.delattr(exemplar, "TraceBasedExemplarFilter")  # as if the SDK renamed it
    monkeypatch.setattr(_fast_metrics, "_warned", False)
    batch = _fast_metrics.HistogramBatch(recorder._duration)
    assert batch.fast is False
    assert "internals changed" in caplog.text
    (reader,) = readers[:1]
    for point in _points(5, 20):
        batch.add(point.duration_s, {"k": "v"})
    batch.flush()
    (histogram,) = [
        m
        for m in reader.get_metrics_data().resource_metrics[0].scope_metrics[0].metrics
        if m.name == attr.METRIC_DURATION
    ]
    assert histogram.data.data_points[0].count == 20
