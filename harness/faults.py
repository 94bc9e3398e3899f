"""Helpers of the fault tests: a schedule of faults, a hard kill of Elasticsearch, exact counts.

- :class:`Schedule` runs actions at fixed offsets from its start, on the calling thread, and
  records when each one really ran (printed with the test's figures).
- :func:`kill_elasticsearch` SIGKILLs a :class:`~harness.elasticsearch.RunningElasticsearch`
  (its data directory stays, :meth:`start` brings it back on the same port).
- :func:`prediction_counts` counts prediction records exactly (a composite aggregation over every
  ``ml.prediction.id`` and event, not the approximate ``cardinality``): records per event, distinct
  predictions per event and predictions whose record of an event arrived more than once.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.elasticsearch import RunningElasticsearch


@dataclass
class Schedule:
    """Actions at offsets (seconds) from :meth:`run`'s start, run in order on this thread."""

    steps: list[tuple[float, str, Callable[[], None]]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    #: wall-clock (``time.time()``) start and end of each step, by name
    wall: dict[str, tuple[float, float]] = field(default_factory=dict)

    def at(self, offset: float, name: str, action: Callable[[], None]) -> Schedule:
        """Add ``action`` at ``offset`` seconds; returns self for chaining."""
        self.steps.append((offset, name, action))
        return self

    def run(self, started: float | None = None) -> None:
        """Run every step at its offset from ``started`` (a ``time.monotonic()``; default now)."""
        start = time.monotonic() if started is None else started
        for offset, name, action in sorted(self.steps, key=lambda step: step[0]):
            delay = start + offset - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            began = time.monotonic() - start
            wall_began = time.time()
            action()
            self.wall[name] = (wall_began, time.time())
            self.log.append(f"{name}: at {began:.1f}s (took {time.monotonic() - start - began:.1f}s)")


def kill_elasticsearch(node: RunningElasticsearch) -> None:
    """SIGKILL the node's JVM (no flush, no clean shutdown) and reap it."""
    if node.process is not None and node.process.poll() is None:
        node.process.send_signal(signal.SIGKILL)
        node.process.wait(timeout=30)
    node.process = None


@dataclass(frozen=True)
class PredictionCounts:
    """Exact counts of prediction records per event (``event.action`` in ECS, ``_event_name`` in GELF)."""

    records: dict[str, int]
    distinct: dict[str, int]
    duplicated: dict[str, int]
    ids: dict[str, set[str]] = field(default_factory=dict, compare=False)

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[tuple[str, str], int]]) -> PredictionCounts:
        """Build from ``((prediction id, event), number of records)`` pairs."""
        records: Counter[str] = Counter()
        distinct: Counter[str] = Counter()
        duplicated: Counter[str] = Counter()
        ids: dict[str, set[str]] = {}
        for (prediction, event), count in pairs:
            records[event] += count
            distinct[event] += 1
            ids.setdefault(event, set()).add(prediction)
            if count > 1:
                duplicated[event] += 1
        return cls(dict(records), dict(distinct), dict(duplicated), ids)

    def summary(self) -> str:
        """One line per event: records, distinct predictions, duplicated predictions."""
        return "; ".join(
            f"{event}: {self.records[event]} records, {self.distinct[event]} predictions, "
            f"{self.duplicated.get(event, 0)} duplicated"
            for event in sorted(self.records)
        )


def prediction_counts(node: RunningElasticsearch, index: str) -> PredictionCounts:
    """Exact per-event counts of the prediction records in ``index`` (refreshes first)."""
    node.refresh()
    pairs: list[tuple[tuple[str, str], int]] = []
    after: dict[str, Any] | None = None
    while True:
        composite: dict[str, Any] = {
            "size": 5000,
            "sources": [
                {"id": {"terms": {"field": "ml.prediction.id"}}},
                {"event": {"terms": {"field": "event.action"}}},
            ],
        }
        if after is not None:
            composite["after"] = after
        body = {"size": 0, "query": {"exists": {"field": "ml.prediction.id"}}, "aggs": {"p": {"composite": composite}}}
        result = node.request("POST", f"/{index}/_search?ignore_unavailable=true&allow_no_indices=true", body)
        aggregation = result.get("aggregations", {}).get("p", {})
        buckets = aggregation.get("buckets", [])
        pairs += [((b["key"]["id"], b["key"]["event"]), int(b["doc_count"])) for b in buckets]
        after = aggregation.get("after_key")
        if not buckets or after is None:
            return PredictionCounts.from_pairs(pairs)


def wait_for_records(count: Callable[[], PredictionCounts], total: int, timeout: float) -> PredictionCounts:
    """Poll ``count`` until ``total`` prediction records (all events) are there or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            counts = count()
        except AssertionError:  # a shard of a new backing index not yet allocated
            counts = PredictionCounts({}, {}, {})
        if sum(counts.records.values()) >= total or time.monotonic() > deadline:
            return counts
        time.sleep(1.0)


def gelf_prediction_counts(messages: Iterable[Mapping[str, Any]]) -> PredictionCounts:
    """Exact per-event counts of the prediction records among decoded GELF messages (``gelf`` field)."""
    pairs: Counter[tuple[str, str]] = Counter()
    for message in messages:
        gelf = message.get("gelf", {})
        prediction = gelf.get("_ml.prediction.id")
        if prediction is not None:
            pairs[(str(prediction), str(gelf.get("_event_name", "")))] += 1
    return PredictionCounts.from_pairs(pairs.items())
