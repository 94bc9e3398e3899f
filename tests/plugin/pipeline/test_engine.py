"""The background engine: bounded, never blocking, counting what it refuses."""

from __future__ import annotations

import threading

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
