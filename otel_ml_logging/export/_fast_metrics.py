"""The one shortcut the metrics take past the SDK's API: adding a batch of durations to a histogram.

``Histogram.record()`` costs several microseconds per call in the SDK (a ``Measurement``, the
exemplar filter, hashing the attributes, two locks), a quarter of the engine's CPU per prediction
(bench/README.md). :class:`HistogramBatch` keeps a batch's durations and, per batch, adds them to
the SDK's explicit-bucket aggregations directly, value by value in arrival order, the way
``aggregate()`` does (same bucket, same running sum, min and max), under the same locks. An
aggregation that does not exist yet is created by one ``record()``.

Anything else goes through ``record()`` for every value, in arrival order, so a reader never sees a
difference: a meter provider that is not the SDK's, an SDK whose internals changed shape, a view
with another aggregation or one that merges attribute sets (its float sum depends on the
interleaving), an exemplar filter that could keep an exemplar (``always_on``; the engine thread has
no current span, so ``trace_based`` keeps none), a reader whose views are not matched yet.
``tests/plugin/export/test_fast_metrics.py`` holds what readers collect equal to per-value
``record()`` calls, with views, several readers, delta temporality and collections between batches.
Nothing else in the package reaches into the SDK's metrics internals.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

from opentelemetry.metrics import Histogram

_logger = logging.getLogger(__name__)
_warned = False


class HistogramBatch:
    """Durations of one batch, in arrival order, added to a histogram at :meth:`flush`."""

    def __init__(self, histogram: Histogram) -> None:
        """Check once whether the SDK behind ``histogram`` has the shape the shortcut knows."""
        self._histogram = histogram
        self.fast = _reader_storages(histogram) is not None
        self._values: list[tuple[dict[str, Any], float]] = []

    def add(self, value: float, attributes: dict[str, Any]) -> None:
        """Keep ``value`` for the next flush (``attributes`` must not change afterwards)."""
        self._values.append((attributes, value))

    def flush(self) -> None:
        """Add the kept values to the histogram, as ``record()`` of each in turn would."""
        batch, self._values = self._values, []
        if not batch:
            return
        record = self._histogram.record
        matches = self._matches(batch) if self.fast else None
        if matches is None:
            for attributes, value in batch:
                record(value, attributes)
            return
        groups: dict[int, tuple[dict[str, Any], list[float]]] = {}
        for attributes, value in batch:
            group = groups.get(id(attributes))
            if group is None:
                groups[id(attributes)] = (attributes, [value])
            else:
                group[1].append(value)
        for attributes, values in groups.values():
            if not _add_to_aggregations(matches, attributes, values):
                record(values[0], attributes)  # the SDK creates each reader's aggregation of these attributes
                rest = values[1:]
                if rest and not _add_to_aggregations(matches, attributes, rest):  # e.g. beyond a cardinality limit
                    for value in rest:
                        record(value, attributes)

    def _matches(self, batch: list[tuple[dict[str, Any], float]]) -> list[Any] | None:
        """Every reader's view of the histogram, if each keeps the batch's attribute sets apart in explicit buckets.

        None when one does not, or when a value is one ``record()`` would refuse.
        """
        for _, value in batch:
            if not (value >= 0.0 and value != float("inf")):
                return None
        storages = _reader_storages(self._histogram)  # readers may have been added since
        if not storages:
            return None
        histogram = self._histogram
        try:
            if any(histogram not in storage._instrument_view_instrument_matches for storage in storages):
                return None  # a reader's views are matched at the first record(): this batch goes through it
            matches = [m for storage in storages for m in storage._instrument_view_instrument_matches[histogram]]
            distinct = {id(attributes): attributes for attributes, _ in batch}.values()
            if all(_match_supported(m, attributes) for m in matches for attributes in distinct):
                return matches
        except (AttributeError, TypeError):
            pass
        return None


def _reader_storages(histogram: Histogram) -> Sequence[Any] | None:
    """Return the SDK's per-reader storages behind ``histogram``, or None when the shortcut does not apply."""
    global _warned
    try:
        from opentelemetry.sdk.metrics._internal.exemplar import AlwaysOffExemplarFilter, TraceBasedExemplarFilter
        from opentelemetry.sdk.metrics._internal.instrument import _Histogram
        from opentelemetry.sdk.metrics._internal.measurement_consumer import SynchronousMeasurementConsumer

        if type(histogram) is not _Histogram:
            return None  # not the SDK's (no-op or proxy meter): nothing to shortcut
        consumer = histogram._measurement_consumer
        is_enabled = getattr(histogram, "_is_enabled", None)
        if type(consumer) is not SynchronousMeasurementConsumer or (is_enabled is not None and not is_enabled()):
            return None
        exemplar_filter = consumer._sdk_config.exemplar_filter
        if type(exemplar_filter) not in (TraceBasedExemplarFilter, AlwaysOffExemplarFilter):
            return None
        return list(consumer._reader_storages.values())
    except (ImportError, AttributeError, TypeError) as error:
        if not _warned:
            _warned = True
            _logger.warning(
                "otel_ml_logging: opentelemetry-sdk metrics internals changed (%s); recording each duration", error
            )
        return None


def _match_supported(match: Any, attributes: dict[str, Any]) -> bool:
    """Whether ``match`` (a reader's view of the histogram) keeps ``attributes`` apart, in explicit buckets.

    A view that keeps only some attribute keys sums several attribute sets into one aggregation,
    interleaved per prediction: added per set, the float sum could round differently.
    """
    from opentelemetry.sdk.metrics._internal.aggregation import _ExplicitBucketHistogramAggregation

    keys = match._view._attribute_keys
    if keys is not None and not keys.issuperset(attributes):
        return False
    aggregations = match._attributes_aggregation
    return isinstance(aggregations, dict) and all(
        type(aggregation) is _ExplicitBucketHistogramAggregation for aggregation in aggregations.values()
    )


def _aggregation_of(match: Any, attributes: dict[str, Any]) -> Any:
    """Return the aggregation ``match`` keeps for ``attributes``, or None."""
    found = [a for a in match._attributes_aggregation.values() if a._attributes == attributes]
    return found[0] if len(found) == 1 else None


def _add_to_aggregations(matches: list[Any], attributes: dict[str, Any], values: list[float]) -> bool:
    """Add ``values`` to every reader's aggregation of ``attributes``; False (nothing added) if one is missing."""
    locks = [match._lock for match in matches]
    for lock in locks:  # as record() holds it while a delta reader may swap the aggregations out
        lock.acquire()
    try:
        aggregations = [_aggregation_of(match, attributes) for match in matches]
        if any(aggregation is None for aggregation in aggregations):
            return False
        for aggregation in aggregations:
            _add_values(aggregation, values)
        return True
    finally:
        for lock in reversed(locks):
            lock.release()


def _add_values(aggregation: Any, values: list[float]) -> None:
    """Do what ``_ExplicitBucketHistogramAggregation.aggregate()`` does for each value, minus exemplars."""
    with aggregation._lock:
        if aggregation._value is None:
            aggregation._value = aggregation._get_empty_bucket_counts()
        buckets, boundaries, total = aggregation._value, aggregation._boundaries, aggregation._sum
        for value in values:
            total += value
            buckets[bisect_left(boundaries, value)] += 1
        aggregation._sum = total
        if aggregation._record_min_max:
            aggregation._min = min(aggregation._min, *values)
            aggregation._max = max(aggregation._max, *values)
