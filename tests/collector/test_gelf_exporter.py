"""End to end: OTLP log records → our collector (otelcol-ml, GELF exporter) → two independent decoders.

Records are sent over OTLP/gRPC with opentelemetry-proto (exact trace/span ids and times), the
collector runs collector/config.yaml + collector/config.gelf.yaml, and what arrives is decoded by
Graylog's own GELF codec (tools/graylog-gelf-harness) and by tshark's GELF dissector, which are
validated on their own in test_gelf_decoders.py. Both must see the same GELF message.
"""

from __future__ import annotations

import os
import re
import time
from contextlib import AbstractContextManager
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs, SeverityNumber
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from harness import collector as collector_harness
from harness.gelf import GraylogHarness, GraylogMessage, TsharkCapture, both_decoders
from harness.otlp_receiver import key_value as kv
from harness.ports import free_port

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_FILES = [REPO_ROOT / "collector" / "config.yaml", REPO_ROOT / "collector" / "config.gelf.yaml"]
# config.gelf.yaml reads the endpoint from the environment; other exporter settings are given with
# one more --config file that overrides the `gelf` exporter's `udp:` block (collector/gelfexporter).
ENDPOINT_ENV = "GELF_ENDPOINT"
EXPORTER_ID = "gelf"

HOST = "ml-host-1"
RESOURCE = {
    "service.name": "insurance-charges-service",
    "service.version": "1.2.3",
    "host.name": HOST,
}
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
SPAN_ID = "b7ad6b7169203331"
STACKTRACE = (
    "Traceback (most recent call last):\n"
    '  File "/srv/model.py", line 42, in predict\n'
    '    raise ValueError("age must be \\"positive\\"")\n'
    'ValueError: age must be "positive" — ünïcödé\n'
)


@pytest.fixture(scope="module")
def collector_module() -> ModuleType:
    collector_harness.build_collector()
    return collector_harness


def run(
    support: ModuleType, tmp_path: Path, endpoint: str, compression: str | None = None
) -> AbstractContextManager[Any]:
    """Run the collector with the GELF pipeline pointed at ``endpoint`` (and a UDP compression)."""
    configs = list(CONFIG_FILES)
    if compression is not None:
        override = tmp_path / "gelf-udp-override.yaml"
        override.write_text(f"exporters:\n  {EXPORTER_ID}:\n    udp:\n      compression: {compression}\n")
        configs.append(override)
    storage = tmp_path / "storage"
    storage.mkdir(exist_ok=True)
    return support.run_collector(configs, env={ENDPOINT_ENV: endpoint}, storage_dir=storage)




def record(
    body: str,
    *,
    severity: int = SeverityNumber.SEVERITY_NUMBER_INFO,
    attributes: dict[str, object] | None = None,
    time_ns: int | None = None,
) -> LogRecord:
    """One OTLP log record carrying our telemetry contract's ids and attributes."""
    when = time_ns if time_ns is not None else time.time_ns()
    return LogRecord(
        time_unix_nano=when,
        observed_time_unix_nano=when,
        severity_number=severity,
        severity_text=SeverityNumber.Name(severity).removeprefix("SEVERITY_NUMBER_"),
        body=AnyValue(string_value=body),
        attributes=[kv(k, v) for k, v in (attributes or {}).items()],
        trace_id=bytes.fromhex(TRACE_ID),
        span_id=bytes.fromhex(SPAN_ID),
        flags=1,
    )


def export(collector: Any, records: list[LogRecord], timeout: float = 10.0) -> float:
    """Send ``records`` to the collector over OTLP/gRPC; return how long the call took."""
    target = re.sub(r"^[a-z]+://", "", str(collector.otlp_grpc_endpoint))
    request = logs_service_pb2.ExportLogsServiceRequest(
        resource_logs=[
            ResourceLogs(
                resource=Resource(attributes=[kv(k, v) for k, v in RESOURCE.items()]),
                scope_logs=[ScopeLogs(scope=InstrumentationScope(name="otel_ml_logging"), log_records=records)],
            )
        ]
    )
    started = time.monotonic()
    with grpc.insecure_channel(target) as channel:
        logs_service_pb2_grpc.LogsServiceStub(channel).Export(request, timeout=timeout)
    return time.monotonic() - started


def prediction_attributes(prediction_id: str, status: str = "success") -> dict[str, object]:
    return {
        "ml.model.name": "insurance_charges_model",
        "ml.model.version": "0.1.0",
        "ml.prediction.id": prediction_id,
        "ml.prediction.status": status,
        "ml.prediction.latency_ms": 12.5,
        "ml.prediction.input.age": 42,
    }


def by_message(messages: list[GraylogMessage]) -> dict[str, GraylogMessage]:
    return {m["gelf"]["short_message"]: m for m in messages}


def wait_for(graylog: GraylogHarness, short_messages: set[str], timeout: float = 30.0) -> dict[str, GraylogMessage]:
    """Wait until Graylog decoded every message in ``short_messages``; fail with its stderr if not."""
    deadline = time.monotonic() + timeout
    while True:
        got = by_message(graylog.messages(timeout=1.0, count=10**6))
        if short_messages <= got.keys() or time.monotonic() > deadline:
            break
    missing = short_messages - got.keys()
    assert not missing, f"Graylog never decoded {missing}; errors={graylog.errors()}\n{graylog.stderr_tail()}"
    return got


def assert_gelf_payload(gelf: dict[str, Any], sent: LogRecord, level: int) -> None:
    """What the exporter must put in the GELF JSON for ``sent`` (checked on each decoder's view)."""
    assert gelf["version"] == "1.1"
    assert gelf["host"] == HOST
    assert gelf["short_message"] == sent.body.string_value
    assert gelf["level"] == level
    assert abs(float(gelf["timestamp"]) * 1000 - sent.time_unix_nano / 1e6) <= 1.0, "timestamp != record time (ms)"
    assert gelf["_trace_id"] == TRACE_ID
    assert gelf["_span_id"] == SPAN_ID
    assert "_id" not in gelf
    for key, value in ((a.key, a.value) for a in sent.attributes):
        expected = getattr(value, value.WhichOneof("value"))
        if key == "exception.stacktrace":
            assert gelf["full_message"] == expected
            continue
        assert gelf[f"_{key}"] == expected, f"attribute {key}"
    assert gelf["_service.name"] == RESOURCE["service.name"]


def assert_graylog_decoded(message: GraylogMessage, sent: LogRecord, level: int) -> None:
    """What Graylog's codec made of it: Graylog strips the ``_`` prefix and trims strings."""
    decoded = message["graylog"]
    fields = decoded["fields"]
    assert decoded["source"] == HOST
    assert decoded["message"] == sent.body.string_value.strip()
    assert abs(decoded["timestamp_ms"] - sent.time_unix_nano // 1_000_000) <= 1
    assert fields["level"] == level
    assert fields["trace_id"] == TRACE_ID
    assert fields["span_id"] == SPAN_ID
    for key, value in ((a.key, a.value) for a in sent.attributes):
        expected = getattr(value, value.WhichOneof("value"))
        name = "full_message" if key == "exception.stacktrace" else key
        assert fields[name] == (expected.strip() if isinstance(expected, str) else expected), name


@pytest.fixture
def info_and_error() -> list[LogRecord]:
    info = record("Prediction created.", attributes=prediction_attributes("7d1c5e1e-aaaa-4bbb-8ccc-000000000001"))
    error = record(
        "Prediction exception.",
        severity=SeverityNumber.SEVERITY_NUMBER_ERROR,
        attributes={
            **prediction_attributes("7d1c5e1e-aaaa-4bbb-8ccc-000000000002", status="error"),
            "exception.type": "ValueError",
            "exception.message": 'age must be "positive"',
            "exception.stacktrace": STACKTRACE,
        },
    )
    return [info, error]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_records_decoded_by_graylog_and_tshark(
    collector_module: ModuleType, tmp_path: Path, info_and_error: list[LogRecord], transport: str
) -> None:
    info, error = info_and_error
    with both_decoders(transport) as (graylog, capture):  # type: ignore[arg-type]
        endpoint = graylog.udp_endpoint if transport == "udp" else graylog.tcp_endpoint
        with run(collector_module, tmp_path, endpoint) as collector:
            export(collector, [info, error])
            received = wait_for(graylog, {"Prediction created.", "Prediction exception."})
        captured = capture.decode()

    assert_gelf_payload(received["Prediction created."]["gelf"], info, level=6)
    assert_gelf_payload(received["Prediction exception."]["gelf"], error, level=3)
    assert_graylog_decoded(received["Prediction created."], info, level=6)
    assert_graylog_decoded(received["Prediction exception."], error, level=3)

    seen_by_tshark = {m["gelf"]["short_message"]: m for m in captured}
    assert seen_by_tshark.keys() == {"Prediction created.", "Prediction exception."}
    for short, message in seen_by_tshark.items():
        assert message["gelf"] == received[short]["gelf"], f"tshark and Graylog disagree on {short!r}"
    assert_gelf_payload(seen_by_tshark["Prediction exception."]["gelf"], error, level=3)
    if transport == "tcp":
        assert all(m["transport"] == "tcp" and not m["chunked"] for m in received.values())


@pytest.mark.parametrize("compression", ["gzip", "zlib", "none"])
def test_40kb_record_arrives_whole_through_udp_chunking(
    collector_module: ModuleType, tmp_path: Path, compression: str
) -> None:
    stacktrace = "".join(f'  File "/srv/m{i}.py", line {i}, in f{os.urandom(8).hex()}\n' for i in range(800))
    assert len(stacktrace) > 40_000
    big = record(
        "Prediction exception.",
        severity=SeverityNumber.SEVERITY_NUMBER_ERROR,
        attributes={**prediction_attributes("big-" + compression), "exception.stacktrace": stacktrace},
    )
    with both_decoders("udp") as (graylog, capture):
        with run(collector_module, tmp_path, graylog.udp_endpoint, compression=compression) as collector:
            export(collector, [big])
            got = wait_for(graylog, {"Prediction exception."})
        captured = capture.decode()

    message = got["Prediction exception."]
    assert message["chunked"], "a 40 KB record must be chunked over UDP"
    assert 2 <= message["chunk_count"] <= 128
    assert message["compression"] == {"gzip": "gzip", "zlib": "zlib", "none": "uncompressed"}[compression]
    assert_gelf_payload(message["gelf"], big, level=3)
    assert_graylog_decoded(message, big, level=3)
    assert len(captured) == 1
    assert captured[0]["chunked"]
    assert captured[0]["chunk_count"] == message["chunk_count"]
    assert captured[0]["gelf"] == message["gelf"]


def test_record_too_big_for_128_chunks_is_dropped_and_counted(collector_module: ModuleType, tmp_path: Path) -> None:
    # 1.4 MB of random hex as full_message (additional fields are truncated, full_message is not):
    # far more than 128 chunks of any allowed chunk size.
    huge = record("huge", attributes={"ml.prediction.id": "huge", "exception.stacktrace": os.urandom(700_000).hex()})
    small = record("small after huge", attributes={"ml.prediction.id": "small"})
    with (
        GraylogHarness(tcp=False) as graylog,
        run(collector_module, tmp_path, graylog.udp_endpoint, compression="none") as collector,
    ):
        export(collector, [huge])
        export(collector, [small])
        got = wait_for(graylog, {"small after huge"})
        time.sleep(2)  # give a wrongly sent huge record time to show up
        failed = collector.metric("otelcol_exporter_send_failed_log_records", exporter=EXPORTER_ID)
        dropped = collector.wait_metric(
            "otelcol_exporter_gelf_dropped_log_records", 1, timeout=10, exporter=EXPORTER_ID, reason="too_many_chunks"
        )
        log_text = collector.log_text()
    assert "huge" not in by_message(graylog.messages(timeout=0, count=1)), "over-128-chunk record was sent"
    assert got["small after huge"]["gelf"]["_ml.prediction.id"] == "small"
    assert not [e for e in graylog.errors() if "rejected chunk" in e.get("error", "")], "sent an invalid chunk set"
    drop_pattern = r"(128|max\w*)\W.{0,60}chunk|chunks?\W.{0,60}(128|limit|max)|too (big|large)"
    dropped_logged = re.search(drop_pattern, log_text, re.IGNORECASE) is not None
    assert (failed or 0) >= 1 or dropped_logged, f"drop neither counted nor logged; failed={failed}\n{log_text[-3000:]}"
    assert dropped == 1, f"otelcol_exporter_gelf_dropped_log_records{{reason=too_many_chunks}} is {dropped}, want 1"


def test_udp_endpoint_down_never_blocks(collector_module: ModuleType, tmp_path: Path) -> None:
    port = free_port("udp")
    with run(collector_module, tmp_path, f"udp://127.0.0.1:{port}") as collector:
        durations = [export(collector, [record(f"lost {i}")]) for i in range(20)]
        assert max(durations) < 2.0, f"OTLP export blocked while the UDP GELF peer was down: {durations}"
        with GraylogHarness(tcp=False, udp_port=port) as graylog:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                export(collector, [record("after peer is up")])
                if "after peer is up" in by_message(graylog.messages(timeout=1.0, count=10**6)):
                    break
            got = wait_for(graylog, {"after peer is up"}, timeout=5)
    assert got["after peer is up"]["gelf"]["host"] == HOST


def test_tcp_endpoint_down_retries_and_delivers(collector_module: ModuleType, tmp_path: Path) -> None:
    port = free_port("tcp")
    waiting = record("sent while the peer was down", attributes={"ml.prediction.id": "retry-me"})
    with (
        TsharkCapture("tcp", port, sink=False) as capture,
        run(collector_module, tmp_path, f"tcp://127.0.0.1:{port}") as collector,
    ):
        assert export(collector, [waiting]) < 5.0
        time.sleep(3)  # at least one connection attempt fails
        with GraylogHarness(udp=False, tcp_port=port) as graylog:
            got = wait_for(graylog, {"sent while the peer was down"}, timeout=90)
        captured = capture.decode()
    message = got["sent while the peer was down"]
    assert message["transport"] == "tcp"
    assert_gelf_payload(message["gelf"], waiting, level=6)
    assert [m["gelf"] for m in captured if m["gelf"]["short_message"] == "sent while the peer was down"] == [
        message["gelf"]
    ]
