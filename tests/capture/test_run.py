"""``otel-ml-logging run`` as a real process: records at real receivers, never blocking, exit codes, signals."""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.capture_writer import WRITER, run_writer
from harness.collector import run_collector
from harness.model_service import REPO_ROOT
from harness.otlp_receiver import grpc_receiver
from harness.ports import free_port
from otel_ml_logging.capture.runner import SignalForwarder

CLI = [sys.executable, "-m", "otel_ml_logging.cli"]
RELAY = REPO_ROOT / "tests" / "integration" / "collector.relay.yaml"
ACCEPTED = "otelcol_receiver_accepted_log_records"

CHILD = r"""
import json, logging, sys
print("INFO: model loaded", flush=True)
print(json.dumps({"levelname": "WARNING", "message": "slow request", "action": "predict",
                  "model_version": "1.2.0", "otelTraceID": "0af7651916cd43dd8448eb211c80319c",
                  "otelSpanID": "b7ad6b7169203331"}), flush=True)
logging.basicConfig(format="%(levelname)s:%(name)s:%(message)s")
try:
    {}["missing"]
except KeyError:
    logging.getLogger("model").exception("prediction failed")
print("no level here", file=sys.stderr, flush=True)
sys.exit(3)
"""


def capture_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update({"OTEL_SERVICE_NAME": "captured-server", "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=test"})
    env.update(extra)
    return env


def by_body(logs: list[dict]) -> dict[str, dict]:
    return {record["body"]: record for record in logs}


def check_captured(logs: list[dict]) -> None:
    records = by_body(logs)
    assert records["INFO: model loaded"]["severity_number"] == 9
    assert records["INFO: model loaded"]["attributes"] == {"log.iostream": "stdout"}
    assert records["INFO: model loaded"]["resource"]["service.name"] == "captured-server"
    slow = records["slow request"]
    assert (slow["severity_number"], slow["severity_text"]) == (13, "WARNING")
    assert slow["attributes"] == {"action": "predict", "model_version": "1.2.0", "log.iostream": "stdout"}
    assert slow["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert slow["span_id"] == "b7ad6b7169203331"
    failed = next(body for body in records if body.startswith("ERROR:model:prediction failed"))
    assert failed.splitlines()[1] == "Traceback (most recent call last):"
    assert failed.endswith("KeyError: 'missing'")
    assert records[failed]["severity_number"] == 17
    assert records["no level here"]["attributes"] == {"log.iostream": "stderr"}
    assert len(logs) == 4


@pytest.mark.integration
def test_output_reaches_the_real_collector_over_http_json(tmp_path: Path):
    with grpc_receiver() as receiver:
        relay = {"RELAY_OTLP_ENDPOINT": receiver.endpoint.removeprefix("http://")}
        configs = [REPO_ROOT / "collector" / "config.yaml", RELAY]
        with run_collector(configs, relay, tmp_path / "storage") as collector:
            env = capture_env(
                OTEL_EXPORTER_OTLP_PROTOCOL="http/json", OTEL_EXPORTER_OTLP_ENDPOINT=collector.otlp_http_endpoint
            )
            done = subprocess.run(
                [*CLI, "run", "--", sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 3, done.stderr
            assert "INFO: model loaded\n" in done.stdout  # still echoed
            assert "KeyError: 'missing'" in done.stderr
            assert "4 records delivered, 0 failed, 0 lines dropped" in done.stderr
            received = receiver.wait_for(lambda r: len(r.logs) >= 4)
            check_captured(received.logs)


def test_output_reaches_an_otlp_grpc_receiver_through_the_sdk_exporter():
    with grpc_receiver() as receiver:
        env = capture_env(OTEL_EXPORTER_OTLP_PROTOCOL="grpc", OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)
        done = subprocess.run(
            [*CLI, "run", "--no-echo", "--", sys.executable, "-c", CHILD],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 3, done.stderr
        assert done.stdout == ""
        check_captured(receiver.wait_for(lambda r: len(r.logs) >= 4).logs)


def writer_seconds(
    tmp_path: Path, wrapped: list[str], env: dict[str, str], lines: int, reports: list[str] | None = None
) -> tuple[float, float]:
    """Run the fast writer (optionally under ``wrapped``); return (its own write time, wall time)."""
    run = run_writer(lines, wrapped, env, tmp_path, timeout=120)
    if reports is not None:
        reports.append(run.stderr.strip().splitlines()[-1])
    return run.write_s, run.wall_s


@pytest.mark.integration
def test_a_fast_writer_is_not_slowed_all_lines_arrive_and_a_dead_endpoint_never_blocks_it(tmp_path: Path):
    lines = 200_000
    env = capture_env(OTEL_EXPORTER_OTLP_PROTOCOL="http/json")
    configs = [REPO_ROOT / "collector" / "config.yaml", REPO_ROOT / "bench" / "collector.bench.yaml"]
    with run_collector(configs, {}, tmp_path / "storage") as collector:
        live_env = {**env, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.otlp_http_endpoint}
        dead_env = {**env, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}"}
        bare, live, dead, arrived, dead_walls, reports = [], [], [], [], [], []
        # the time to send what is buffered when the writer is done depends on the machine's load; the
        # default 10 s bounds a shutdown, this test measures arrivals, so it allows more
        capture = [*CLI, "run", "--shutdown-timeout", "60", "--"]
        for _ in range(3):  # interleaved rounds: the machine's load hits every side alike
            bare.append(writer_seconds(tmp_path, [], env, lines)[0])
            before = collector.metric(ACCEPTED)
            live.append(writer_seconds(tmp_path, capture, live_env, lines, reports)[0])
            arrived.append(collector.wait_metric(ACCEPTED, before + lines, timeout=30) - before)
            seconds, wall = writer_seconds(tmp_path, [*CLI, "run", "--shutdown-timeout", "2", "--"], dead_env, lines)
            dead.append(seconds)
            dead_walls.append(wall)
    live_ratio = statistics.median(live) / statistics.median(bare)
    dead_ratio = statistics.median(dead) / statistics.median(bare)
    print(
        f"\n200,000 lines: writer bare median {statistics.median(bare):.3f}s; under capture with the live "
        f"collector {statistics.median(live):.3f}s (ratio {live_ratio:.2f}, arrived {arrived}); with a dead "
        f"endpoint {statistics.median(dead):.3f}s (ratio {dead_ratio:.2f}, wall times {dead_walls})"
    )
    assert min(arrived) >= 0.95 * lines, reports
    # bench/capture_rate.py reports against the 1.2x target; on this shared machine single runs of the
    # bare writer vary 0.1-0.4 s, so the test's guard is looser: a blocked child takes seconds, not 1.5x
    assert live_ratio <= 1.5, (bare, live)
    assert dead_ratio <= 1.5, (bare, dead)
    assert max(dead_walls) < 2 + 2 + 5  # shutdown timeout + reader grace + start-up: bounded however dead


def test_exit_code_passes_through():
    done = subprocess.run(
        [*CLI, "run", "--", sys.executable, "-c", "raise SystemExit(7)"],
        env=capture_env(OTEL_LOGS_EXPORTER="none"),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 7


def test_a_missing_command_exits_127_with_a_message():
    done = subprocess.run(
        [*CLI, "run", "--", "/nonexistent/server"],
        env=capture_env(OTEL_LOGS_EXPORTER="none"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 127
    assert "cannot start '/nonexistent/server'" in done.stderr


SLEEPER = r"""
import signal, sys, time
if sys.argv[1] == "handle":
    signal.signal(signal.SIGTERM, lambda n, f: (print(f"child got signal {n}", flush=True), sys.exit(0)))
print("ready", flush=True)
time.sleep(60)
"""


def test_a_signal_that_comes_before_the_child_exists_is_passed_on_once_it_does():
    # e.g. a SIGTERM while the command starts: by the default action it would end the wrapper and leave
    # the command, in its own session, running alone
    before = signal.getsignal(signal.SIGUSR1)
    forwarder = SignalForwarder()
    try:
        os.kill(os.getpid(), signal.SIGUSR1)  # no child yet: kept
        time.sleep(0.05)  # the handler runs in the main thread, between bytecodes
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        forwarder.attach(child)
        assert child.wait(timeout=20) == -signal.SIGUSR1
    finally:
        forwarder.restore()
    assert signal.getsignal(signal.SIGUSR1) == before


@pytest.mark.parametrize(("mode", "expected_code"), [("default", 128 + signal.SIGTERM), ("handle", 0)])
def test_sigterm_reaches_the_child_and_its_exit_code_comes_back(mode: str, expected_code: int):
    process = subprocess.Popen(
        [*CLI, "run", "--", sys.executable, "-c", SLEEPER, mode],
        env=capture_env(OTEL_LOGS_EXPORTER="none"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == expected_code, err
    assert time.monotonic() - started < 5
    if mode == "handle":
        assert out == f"child got signal {int(signal.SIGTERM)}\n"


def test_a_full_buffer_drops_and_counts_instead_of_blocking(tmp_path: Path):
    dead = f"http://127.0.0.1:{free_port()}"
    env = capture_env(OTEL_EXPORTER_OTLP_PROTOCOL="http/json", OTEL_EXPORTER_OTLP_ENDPOINT=dead)
    result = tmp_path / "writer.txt"
    done = subprocess.run(
        [
            *CLI,
            "run",
            "--no-echo",
            "--max-lines",
            "100",
            "--shutdown-timeout",
            "1",
            "--",
            sys.executable,
            str(WRITER),
            "50000",
            str(result),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    report = done.stderr.strip().splitlines()[-1]
    numbers = [int(n) for n in re.findall(r"(\d+) ", report)]
    read, delivered, failed, dropped, unsent = numbers
    assert read == 50_000, report
    assert delivered == 0
    assert dropped > 40_000, report  # the endpoint never answered: almost everything overflowed the 100 lines
    assert failed + dropped + unsent == read, report  # every line accounted for


@pytest.mark.integration
def test_captured_lines_go_to_graylog_with_the_gelf_exporter():
    from harness.gelf import GraylogHarness

    with GraylogHarness(tcp=False) as graylog:
        env = capture_env(OTEL_LOGS_EXPORTER="gelf", OTEL_EXPORTER_GELF_ENDPOINT=graylog.udp_endpoint)
        done = subprocess.run(
            [*CLI, "run", "--no-echo", "--", sys.executable, "-c", CHILD],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 3, done.stderr
        messages = {m["gelf"]["short_message"]: m["gelf"] for m in graylog.messages(timeout=20, count=4)}
    assert messages["INFO: model loaded"]["_log.iostream"] == "stdout"
    assert messages["INFO: model loaded"]["host"]
    assert messages["slow request"]["_trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert messages["slow request"]["level"] == 4
    failed = next(m for body, m in messages.items() if body.startswith("ERROR:model:prediction failed"))
    assert failed["level"] == 3
    assert failed["short_message"].endswith("KeyError: 'missing'")


FAMILY = r"""
import subprocess, sys
subprocess.run([sys.executable, "-c", "print('from the grandchild', flush=True)"], check=True)
# a daemon-like grandchild that keeps the pipes open long after its parent exits
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
print("parent done", flush=True)
"""


def test_children_of_the_command_are_captured_and_a_lingering_one_does_not_hold_up_the_exit():
    with grpc_receiver() as receiver:
        env = capture_env(OTEL_EXPORTER_OTLP_PROTOCOL="grpc", OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)
        started = time.monotonic()
        done = subprocess.run(
            [*CLI, "run", "--", sys.executable, "-c", FAMILY], env=env, capture_output=True, text=True, timeout=60
        )
        elapsed = time.monotonic() - started
        assert done.returncode == 0, done.stderr
        assert done.stdout == "from the grandchild\nparent done\n"
        assert elapsed < 15  # the lingering grandchild sleeps 30 s; the capture stops reading 2 s after the command
        bodies = {r["body"] for r in receiver.wait_for(lambda r: len(r.logs) >= 2).logs}
        assert bodies == {"from the grandchild", "parent done"}
