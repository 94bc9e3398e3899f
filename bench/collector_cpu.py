"""CPU time of the bundled collector per log record: OTLP/HTTP in → GELF out (UDP or TCP).

``python -m bench.collector_cpu`` starts the collector with ``collector/config.yaml`` +
``collector/config.gelf.yaml`` and a GELF sink on loopback (a UDP socket or a TCP server that reads
and discards), makes predictions with our decorator at a fixed rate in a worker process (the same
worker as bench/elasticsearch_rate.py, records only), waits until the exporter has sent every
record, and divides the collector's CPU time (user + system, /proc) by the records. Each setting
runs in a fresh collector; the worker's warm-up records are sent and counted before the measured
phase. The Elasticsearch pipeline's figure comes from ``python -m bench`` (its Elasticsearch run
reports the collector's CPU seconds for a known number of records).
"""

from __future__ import annotations

import argparse
import json
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.elasticsearch_rate import cpu_seconds, offer
from harness.collector import run_collector

REPO_ROOT = Path(__file__).resolve().parents[1]
SENT = "otelcol_exporter_sent_log_records"


class Sink:
    """A GELF endpoint on loopback that reads and discards everything (UDP datagrams or a TCP stream)."""

    def __init__(self, transport: str) -> None:
        """Bind a free port and start reading in a daemon thread."""
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        self._socket = socket.socket(socket.AF_INET, kind)
        self._socket.bind(("127.0.0.1", 0))
        if transport == "udp":
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        else:
            self._socket.listen()
        self.endpoint = f"{transport}://127.0.0.1:{self._socket.getsockname()[1]}"
        target = self._drain_udp if transport == "udp" else self._accept
        threading.Thread(target=target, daemon=True).start()

    def _drain_udp(self) -> None:
        while True:
            self._socket.recv(65536)

    def _accept(self) -> None:
        while True:
            connection, _ = self._socket.accept()
            threading.Thread(target=self._drain_tcp, args=(connection,), daemon=True).start()

    @staticmethod
    def _drain_tcp(connection: socket.socket) -> None:
        with connection:
            while connection.recv(1 << 16):
                pass


def measure(transport: str, env: dict[str, str], rate: float, seconds: float) -> dict[str, Any]:
    """Collector CPU µs per record for one GELF setting."""
    sink = Sink(transport)
    configs = [REPO_ROOT / "collector" / "config.yaml", REPO_ROOT / "collector" / "config.gelf.yaml"]
    with tempfile.TemporaryDirectory(prefix="otel-ml-collector-cpu-") as scratch:
        settings = {"GELF_ENDPOINT": sink.endpoint, "COLLECTOR_LOG_LEVEL": "warn", **env}
        with run_collector(configs, settings, Path(scratch) / "storage") as collector:
            assert collector.process is not None
            warm = offer(collector.otlp_http_endpoint, rate, 2.0, False)
            base = collector.wait_metric(SENT, warm["predictions"] * 2, timeout=120)
            before = cpu_seconds(collector.process.pid)
            made = offer(collector.otlp_http_endpoint, rate, seconds, False)
            expected = made["predictions"] * 2
            sent = collector.wait_metric(SENT, base + expected, timeout=300) - base
            time.sleep(0.5)  # let the last batch's work finish before reading the clock
            used = cpu_seconds(collector.process.pid) - before
    return {
        "transport": transport,
        "settings": env,
        "records": expected,
        "sent": sent,
        "collector_cpu_seconds": used,
        "cpu_us_per_record": used / expected * 1e6,
    }


VARIANTS: list[tuple[str, dict[str, str]]] = [
    ("udp", {}),  # the shipped defaults: gzip above 1,420 bytes (most records go uncompressed)
    ("udp", {"GELF_COMPRESSION_THRESHOLD": "0"}),  # gzip every message
    ("udp", {"GELF_COMPRESSION": "none"}),
    ("tcp", {}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=2000.0, help="predictions/s (2 log records each)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results" / "collector_cpu.json")
    args = parser.parse_args()
    results = []
    for transport, env in VARIANTS:
        print(f"collector → GELF {transport} {env or 'defaults'}", flush=True)
        results.append(measure(transport, env, args.rate, args.seconds))
        print(json.dumps(results[-1]), flush=True)
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
