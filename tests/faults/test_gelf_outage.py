"""A GELF TCP endpoint goes away for 30 s under load and comes back: what was queued arrives.

The shipped ``collector/config.gelf.yaml`` (persistent queue, retry until sent) sends to Graylog's
own GELF codec (the Graylog harness) over TCP; a second copy of the same exporter settings sends
over UDP to the same harness. A process predicts at 200/s for 45 s through the plugin; at 5 s the
harness is stopped, at 35 s a new one listens on the same ports.

- TCP: every record queued while the endpoint was away arrives (exact count per
  ``ml.prediction.id`` and event). GELF over TCP has no acknowledgement: frames already written
  into the connection when the receiver goes away (its socket buffers, the batch being written)
  are lost without the exporter knowing. The test prints them and checks that every missing
  prediction was made in the few seconds before the cut (plugin batch delay 1 s + queue batch
  1 s + the write), never during the outage or after. GELF has no idempotency key either: a batch
  re-sent after a broken connection can arrive twice (printed, not failed on).
- UDP: nothing acknowledges a datagram, so the UDP exporter never waits: its queue holds no more
  than the batch being formed and it never reports a failed send while the endpoint is down (those
  datagrams are lost on the wire, which is what UDP means); its records arrive again once the
  endpoint is back.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import yaml

from harness import REPO_ROOT
from harness.collector_process import CollectorProcess
from harness.faults import Schedule, gelf_prediction_counts
from harness.gelf import GraylogHarness
from harness.ports import free_port
from harness.prediction_load import finish_load, start_load

pytestmark = [pytest.mark.integration, pytest.mark.faults]

RATE = 200.0
SECONDS = 45.0
DOWN_AT, UP_AT = 5.0, 35.0
# Records made this long before the receiver went away may still have been in flight on the wire.
IN_FLIGHT_SECONDS = 4.0
EVENTS = ("ml.prediction.requested", "ml.prediction.created")


def udp_copy_of_the_shipped_gelf_exporter(path: Path) -> Path:
    """A config file adding ``gelf/udp``: the shipped exporter's settings, endpoint GELF_UDP_ENDPOINT."""
    shipped = yaml.safe_load((REPO_ROOT / "collector" / "config.gelf.yaml").read_text())
    exporter = dict(shipped["exporters"]["gelf"], endpoint="${env:GELF_UDP_ENDPOINT}")
    pipeline = dict(shipped["service"]["pipelines"]["logs/gelf"], exporters=["gelf/udp"])
    path.write_text(
        yaml.safe_dump({"exporters": {"gelf/udp": exporter}, "service": {"pipelines": {"logs/udp": pipeline}}})
    )
    return path


class QueueWatch:
    """Samples the UDP exporter's queue size and failed sends while the endpoint is down."""

    def __init__(self, collector: CollectorProcess) -> None:
        self.collector = collector
        self.max_queue = 0.0
        self.failed = 0.0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.max_queue = max(
                self.max_queue, self.collector.metric("otelcol_exporter_queue_size", exporter="gelf/udp")
            )
            self.failed = self.collector.metric("otelcol_exporter_send_failed_log_records", exporter="gelf/udp")
            self.samples += 1

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def test_gelf_tcp_endpoint_down_30s_loses_nothing_and_udp_never_blocks(tmp_path: Path) -> None:
    tcp_port, udp_port = free_port("tcp"), free_port("udp")
    configs = [
        REPO_ROOT / "collector" / "config.yaml",
        REPO_ROOT / "collector" / "config.gelf.yaml",
        udp_copy_of_the_shipped_gelf_exporter(tmp_path / "config.gelf-udp.yaml"),
    ]
    env = {
        "GELF_ENDPOINT": f"tcp://127.0.0.1:{tcp_port}",
        "GELF_UDP_ENDPOINT": f"udp://127.0.0.1:{udp_port}",
    }
    harnesses: list[GraylogHarness] = [GraylogHarness(udp_port=udp_port, tcp_port=tcp_port).__enter__()]
    collector = CollectorProcess(configs, env, tmp_path / "storage")
    watch = QueueWatch(collector)
    try:
        collector.start()
        load = start_load(collector.otlp_grpc_endpoint, RATE, SECONDS, "grpc", "fault-r3", tmp_path / "load.log")

        def endpoint_down() -> None:
            harnesses[0].__exit__(None, None, None)
            watch.start()

        def endpoint_up() -> None:
            watch.stop()
            harnesses.append(GraylogHarness(udp_port=udp_port, tcp_port=tcp_port).__enter__())

        schedule = (
            Schedule().at(DOWN_AT, "GELF endpoint stopped", endpoint_down).at(UP_AT, "GELF endpoint back", endpoint_up)
        )
        schedule.run()
        result = finish_load(load, timeout=SECONDS + 120)
        exported = result.records("log records")["exported"]
        # Until everything arrived, or the TCP queue is empty and nothing more came for 3 s.
        deadline, last, steady = time.monotonic() + 120, -1, 0
        while True:
            tcp = gelf_prediction_counts(
                m for h in harnesses for m in h.messages(timeout=0) if m.get("transport") == "tcp"
            )
            received = sum(tcp.records.values())
            steady = steady + 1 if received == last else 0
            last = received
            drained = steady >= 3 and collector.metric("otelcol_exporter_queue_size", exporter="gelf") == 0
            if received >= exported or drained or time.monotonic() > deadline:
                break
            time.sleep(1)
        udp = gelf_prediction_counts(m for h in harnesses for m in h.messages(timeout=0) if m.get("transport") == "udp")
        udp_sent = collector.metric("otelcol_exporter_sent_log_records", exporter="gelf/udp")
        udp_failed = collector.metric("otelcol_exporter_send_failed_log_records", exporter="gelf/udp")
        errors = [e for h in harnesses for e in h.errors()]
    finally:
        watch.stop()
        collector.close()
        for harness in harnesses:
            harness.__exit__(None, None, None)

    made = {result.prediction_id(n) for n in range(result.predictions)}
    missing = {event: sorted(made - tcp.ids.get(event, set())) for event in EVENTS}
    cut_began, cut_ended = schedule.wall["GELF endpoint stopped"]
    missing_at = sorted(result.made_at(p) - cut_began for ids in missing.values() for p in ids)
    outside_cut = [at for at in missing_at if not -IN_FLIGHT_SECONDS <= at <= cut_ended - cut_began + 0.5]
    lost_at_cut = (
        f", made {missing_at[0]:+.1f}s to {missing_at[-1]:+.1f}s from the receiver's stop (in flight)"
        if missing_at
        else ""
    )
    counts_missing = {event: len(ids) for event, ids in missing.items()}
    print(
        f"\nR3 GELF endpoint down {UP_AT - DOWN_AT:.0f}s under load: {result.predictions} predictions; "
        + ", ".join(schedule.log)
        + f"\n  plugin: {result.report_line}"
        f"\n  TCP (persistent queue): {tcp.summary()}; missing per event {counts_missing}{lost_at_cut}"
        f"\n  UDP: exporter queue at most {watch.max_queue / 1e3:.0f} kB while down ({watch.samples} samples), "
        f"{udp_failed:.0f} failed sends; {udp_sent:.0f} records sent, {sum(udp.records.values())} decoded "
        f"(the rest went out while nobody listened)"
    )
    assert not errors, errors[:3]
    assert result.records("log records")["failed"] + result.records("log records")["dropped"] == 0
    assert not outside_cut, f"records made outside the cut did not arrive (s from the cut): {outside_cut[:20]}"
    assert watch.samples > 0
    # Queued for TCP meanwhile: 30 s x 400 records/s (~10 MB). UDP holds at most the batch being formed.
    assert watch.max_queue <= 1_000_000, "the UDP exporter queued data while the endpoint was down"
    assert udp_failed == 0
    assert udp_sent == exported
    assert sum(udp.records.values()) > 0, "no UDP message arrived once the endpoint was back"
