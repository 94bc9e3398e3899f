"""The background engine: bounded, never blocking, counting what it refuses."""

from __future__ import annotations

import threading
import time

from otel_ml_logging.pipeline.delivery import DeliveryStats
from otel_ml_logging.pipeline.engine import Engine, EngineSettings


def test_engine_after_shutdown_refuses_and_counts():
    engine = Engine(EngineSettings(queue_size=10))
    assert engine.submit(lambda facts: None, 1)
    engine.shutdown(5)
    assert engine.accepted == 1
    assert not engine.submit(lambda facts: None, 2)
    assert (engine.accepted, engine.dropped) == (1, 1)


def test_full_engine_queue_drops_the_newest_and_counts():
    engine = Engine(EngineSettings(queue_size=3))
    started, release = threading.Event(), threading.Event()
    emitted: list[int] = []

    def held(facts: int) -> None:  # keeps the worker busy while the queue fills up
        started.set()
        release.wait(5)
        emitted.append(facts)

    assert engine.submit(held, 0)
    assert started.wait(5)  # the worker took it off the queue (periodic drain)
    results = [engine.submit(emitted.append, n) for n in (1, 2, 3, 4)]
    assert results == [True, True, True, False]
    assert engine.dropped == 1
    release.set()
    engine.shutdown(5)
    assert emitted == [0, 1, 2, 3]
    assert engine.accepted == 4


def test_a_prediction_waits_for_the_periodic_drain_not_for_a_wake_up_of_its_own():
    settings = EngineSettings()
    engine = Engine(settings)
    handled, hooked = threading.Event(), threading.Event()
    engine.add_drain_hook(lambda: hooked.set() if handled.is_set() else None)
    submitted = time.monotonic()
    assert engine.submit(lambda facts: handled.set(), 1)
    assert handled.wait(settings.drain_interval + 5)
    waited = time.monotonic() - submitted
    assert hooked.wait(5)  # the batch's hooks (post the JSON batch, add the metrics) ran after it
    # the worker's first periodic wake-up is drain_interval after it started, just before the submit
    assert settings.drain_interval / 2 < waited < settings.drain_interval + 5
    engine.shutdown(5)


def test_wake_at_queued_predictions_wake_the_worker_before_the_periodic_drain():
    engine = Engine(EngineSettings(wake_at=100, drain_interval=60))
    handled: list[int] = []
    done = threading.Event()
    started = time.monotonic()
    for n in range(100):
        engine.submit(lambda facts: (handled.append(facts), len(handled) == 100 and done.set()), n)
    assert done.wait(10)
    assert time.monotonic() - started < 10  # long before the periodic drain (60 s)
    assert handled == list(range(100))
    engine.shutdown(5)


def test_shutdown_handles_everything_queued_then_runs_the_hooks_without_waiting_for_the_drain():
    engine = Engine(EngineSettings(drain_interval=60))
    events: list[str] = []
    engine.add_drain_hook(lambda: events.append("drain"))
    engine.add_shutdown_hook(lambda: events.append("shutdown"))
    for n in range(10):
        engine.submit(lambda facts: events.append(f"prediction {facts}"), n)
    started = time.monotonic()
    engine.shutdown(10)
    assert time.monotonic() - started < 10  # long before the periodic drain (60 s)
    assert events[:10] == [f"prediction {n}" for n in range(10)]
    assert events[10] == "drain"
    assert events[-1] == "shutdown"


def test_a_handler_or_hook_that_raises_is_counted_and_the_rest_goes_on(caplog):
    stats = DeliveryStats()
    engine = Engine(EngineSettings(queue_size=10), stats)
    handled: list[int] = []

    def handle(facts: int) -> None:
        if facts % 2:
            raise ValueError(f"odd {facts}")
        handled.append(facts)

    def hook() -> None:
        raise RuntimeError("hook")

    engine.add_drain_hook(hook)
    for n in range(5):
        assert engine.submit(handle, n)
    engine.shutdown(5)
    assert handled == [0, 2, 4]
    assert engine.failed >= 3  # two predictions, and the hook at each drain
    assert stats.predictions().telemetry_failures == engine.failed
    assert sum("building prediction telemetry failed" in r.getMessage() for r in caplog.records) == 1
