"""Pre-forking servers (gunicorn --preload) fork after start-up: the engine must work in the child."""

from __future__ import annotations

import os

import pytest

from otel_ml_logging.pipeline.engine import Engine, EngineSettings

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def test_engine_keeps_working_in_a_forked_child():
    emitted: list[str] = []
    engine = Engine(EngineSettings(queue_size=100))
    assert engine.submit(lambda facts: emitted.append(f"parent {facts}"), "p1")  # type: ignore[arg-type]
    assert engine.flush(5)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: no telemetry thread survives the fork unless the engine restarts its own
        try:
            engine.submit(lambda facts: emitted.append(f"child {facts}"), "c1")  # type: ignore[arg-type]
            ok = engine.flush(5)
            os.write(write_end, f"{ok}|{emitted[-1]}|{engine.accepted}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    report = os.read(read_end, 1000).decode()
    os.waitpid(pid, 0)
    assert report == "True|child c1|1"
    assert emitted == ["parent p1"]  # the child's work stayed in the child
    engine.shutdown()
