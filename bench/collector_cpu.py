"""CPU time of the bundled collector per log record, settings compared side by side.

``python -m bench.collector_cpu`` runs, for each pipeline and each variant of its settings, the
collector with the shipped files (``collector/config.yaml`` + ``config.elasticsearch.yaml`` or
``config.gelf.yaml``) plus the variant's overlay (one more ``--config`` file, generated from
:data:`VARIANTS`; maps merge, so an overlay holds only the keys it changes). Pipelines:

- ``elasticsearch``: into a real Elasticsearch node (harness/elasticsearch.py, the shipped index
  templates), started once for the whole run;
- ``gelf-udp`` / ``gelf-tcp``: into a GELF sink on loopback that reads and discards.

A worker process makes predictions with our decorator at a fixed rate (the worker of
bench/elasticsearch_rate.py, records only, 2 per prediction): a warm-up phase, sent completely,
then the measured phase. Measured: the collector's CPU time (user + system, /proc) from the start
of the measured phase until the exporter's ``otelcol_exporter_sent_log_records`` counted every
record, divided by the records; and how long after the worker finished (its final flush included)
the last record was sent (the tail). Each variant runs in a fresh collector (fresh persistent queue); the variants
are interleaved within each round, in a different order every round, so that a slow spell of the
machine hits them alike; the table shows the median of the rounds and its ratio to the shipped
defaults' median of the same run. Results: ``bench/results/collector_cpu.json`` (every round).
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.elasticsearch_rate import LOGS, cpu_seconds, offer
from harness.collector import run_collector
from harness.elasticsearch import RunningElasticsearch, apply_templates, run_elasticsearch

REPO_ROOT = Path(__file__).resolve().parents[1]
COLLECTOR = REPO_ROOT / "collector"
SENT = "otelcol_exporter_sent_log_records"
PREDICTION_RECORDS = {"exists": {"field": "ml.prediction.id"}}


@dataclass(frozen=True)
class Pipeline:
    """One shipped pipeline: its config files, its exporter's id and where it sends."""

    configs: tuple[str, ...]
    exporter: str
    transport: str  # "elasticsearch", "udp" or "tcp"


PIPELINES: dict[str, Pipeline] = {
    "elasticsearch": Pipeline(("config.yaml", "config.elasticsearch.yaml"), "elasticsearch", "elasticsearch"),
    "gelf-udp": Pipeline(("config.yaml", "config.gelf.yaml"), "gelf", "udp"),
    "gelf-tcp": Pipeline(("config.yaml", "config.gelf.yaml"), "gelf", "tcp"),
}


@dataclass(frozen=True)
class Variant:
    """Settings on top of the shipped files: a config overlay and environment variables."""

    describe: str
    overlay: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


def _exporter(exporter: str, **settings: Any) -> dict[str, Any]:
    return {"exporters": {exporter: settings}}


def _queue(exporter: str, **settings: Any) -> dict[str, Any]:
    return _exporter(exporter, sending_queue=settings)


def _batch(exporter: str, **settings: Any) -> dict[str, Any]:
    return _queue(exporter, batch=settings)


_ES = "elasticsearch"
_GELF = "gelf"
_ES_ID = "transform/elasticsearch_document_id"
# The same record fields as config.elasticsearch.yaml hashes, with a 128-bit non-cryptographic hash.
_XXH128_ID = (
    'set(log.attributes["elasticsearch.document_id"], XXH128(Concat([log.trace_id.string, log.span_id.string, '
    "log.event_name, log.time_unix_nano, log.observed_time_unix_nano, log.severity_number, log.body, "
    'log.attributes, resource.attributes], "|")))'
)

_ES_VARIANTS = {
    "defaults": Variant("shipped: gzip level 1, batches of 1-5 MB (bytes sizer), 2 consumers"),
    "no-compression": Variant("compression: none", _exporter(_ES, compression="none")),
    "consumers-1": Variant("sending_queue.num_consumers: 1", _queue(_ES, num_consumers=1)),
    "consumers-4": Variant("sending_queue.num_consumers: 4", _queue(_ES, num_consumers=4)),
    "batch-items": Variant(
        "batch sizer items, 2,000-10,000 records", _batch(_ES, sizer="items", min_size=2000, max_size=10000)
    ),
    "batch-small": Variant("batch 0.25-1 MB (bytes)", _batch(_ES, min_size=250000, max_size=1000000)),
    "batch-large": Variant("batch 4-10 MB (bytes)", _batch(_ES, min_size=4000000, max_size=10000000)),
    # Not shippable (no deterministic ids: a batch sent twice would be indexed twice): what the ids cost.
    "no-document-id": Variant(
        "without the document-id transform (cost of the ids; not a shippable setting)",
        {
            "service": {
                "pipelines": {
                    "logs/elasticsearch": {
                        "processors": ["memory_limiter", "resource", "transform/elasticsearch_event_name"]
                    }
                }
            }
        },
    ),
    "xxh128-document-id": Variant(
        "document id hashed with XXH128 instead of SHA256",
        {
            "processors": {
                _ES_ID: {"log_statements": [{"context": "log", "statements": [_XXH128_ID]}]},
            }
        },
    ),
}
_GELF_VARIANTS = {
    "defaults": Variant("shipped: batches of 64-256 records (items sizer), 2 consumers"),
    "consumers-1": Variant("sending_queue.num_consumers: 1", _queue(_GELF, num_consumers=1)),
    "consumers-4": Variant("sending_queue.num_consumers: 4", _queue(_GELF, num_consumers=4)),
    "batch-512-2048": Variant("batch 512-2,048 records", _batch(_GELF, min_size=512, max_size=2048)),
    "batch-2048-8192": Variant("batch 2,048-8,192 records", _batch(_GELF, min_size=2048, max_size=8192)),
    "batch-128-512": Variant("batch 128-512 records", _batch(_GELF, min_size=128, max_size=512)),
    "batch-bytes": Variant(
        "batch sizer bytes, 0.5-2 MB", _batch(_GELF, sizer="bytes", min_size=500000, max_size=2000000)
    ),
}
VARIANTS: dict[str, dict[str, Variant]] = {
    "elasticsearch": _ES_VARIANTS,
    "gelf-udp": {
        **_GELF_VARIANTS,
        "no-compression": Variant("GELF_COMPRESSION=none", env={"GELF_COMPRESSION": "none"}),
        "gzip-all": Variant(
            "gzip every message (GELF_COMPRESSION_THRESHOLD=0)", env={"GELF_COMPRESSION_THRESHOLD": "0"}
        ),
    },
    "gelf-tcp": _GELF_VARIANTS,
}


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


@dataclass
class Targets:
    """What the pipelines send to, started once per run."""

    elasticsearch: RunningElasticsearch | None = None
    sinks: dict[str, Sink] = field(default_factory=dict)

    def env(self, pipeline: Pipeline) -> dict[str, str]:
        """The collector's environment for ``pipeline``."""
        if pipeline.transport == "elasticsearch":
            assert self.elasticsearch is not None
            # The bench's flush interval (shipped: 5s) only shortens the wait for the last batch.
            return {"ELASTICSEARCH_ENDPOINT": self.elasticsearch.url, "ELASTICSEARCH_FLUSH_INTERVAL": "1s"}
        return {"GELF_ENDPOINT": self.sinks[pipeline.transport].endpoint}


@contextmanager
def targets(pipelines: list[str], scratch: Path) -> Iterator[Targets]:
    """Start the Elasticsearch node and the GELF sinks the chosen pipelines need."""
    with ExitStack() as stack:
        found = Targets()
        for name in pipelines:
            transport = PIPELINES[name].transport
            if transport == "elasticsearch" and found.elasticsearch is None:
                found.elasticsearch = stack.enter_context(run_elasticsearch(scratch / "es"))
                apply_templates(found.elasticsearch)
            elif transport != "elasticsearch" and transport not in found.sinks:
                found.sinks[transport] = Sink(transport)
        yield found


def measure(
    pipeline_name: str, variant_name: str, found: Targets, scratch: Path, rate: float, seconds: float, warmup: float
) -> dict[str, Any]:
    """Collector CPU µs per record for one pipeline with one variant, in a fresh collector."""
    pipeline = PIPELINES[pipeline_name]
    variant = VARIANTS[pipeline_name][variant_name]
    run_dir = Path(tempfile.mkdtemp(prefix=f"{pipeline_name}-{variant_name}-", dir=scratch))
    overlay = run_dir / "overlay.yaml"
    overlay.write_text(json.dumps(variant.overlay))  # JSON is YAML
    configs = [COLLECTOR / name for name in pipeline.configs] + [overlay]
    env = {"COLLECTOR_LOG_LEVEL": "warn", **found.env(pipeline), **variant.env}
    es = found.elasticsearch
    with run_collector(configs, env, run_dir / "storage") as collector:
        assert collector.process is not None
        indexed_before = es.count(LOGS, PREDICTION_RECORDS) if es and pipeline.transport == "elasticsearch" else 0
        warm = offer(collector.otlp_http_endpoint, rate, warmup, False)
        base = collector.wait_metric(SENT, warm["predictions"] * 2, timeout=120, exporter=pipeline.exporter)
        before = cpu_seconds(collector.process.pid)
        made = offer(collector.otlp_http_endpoint, rate, seconds, False)
        offered_until = time.monotonic()
        expected = made["predictions"] * 2
        sent = collector.wait_metric(SENT, base + expected, timeout=300, exporter=pipeline.exporter) - base
        tail = time.monotonic() - offered_until
        used = cpu_seconds(collector.process.pid) - before
    result: dict[str, Any] = {
        "pipeline": pipeline_name,
        "variant": variant_name,
        "records": expected,
        "sent": sent,
        "collector_cpu_seconds": used,
        "cpu_us_per_record": used / expected * 1e6,
        "tail_seconds": tail,
    }
    if es is not None and pipeline.transport == "elasticsearch":
        want = indexed_before + warm["predictions"] * 2 + expected
        result["indexed"] = es.wait_for_count(LOGS, want, query=PREDICTION_RECORDS, timeout=60) - indexed_before
        result["indexed_expected"] = want - indexed_before
    return result


def summarize(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Median per pipeline and variant, its ratio to the defaults' median, and the rounds."""
    rows = []
    for pipeline_name, variants in VARIANTS.items():
        medians: dict[str, float] = {}
        for variant_name, variant in variants.items():
            rounds = [r for r in results if r["pipeline"] == pipeline_name and r["variant"] == variant_name]
            if not rounds:
                continue
            medians[variant_name] = statistics.median(r["cpu_us_per_record"] for r in rounds)
            rows.append(
                {
                    "pipeline": pipeline_name,
                    "variant": variant_name,
                    "setting": variant.describe,
                    "median_cpu_us_per_record": medians[variant_name],
                    "rounds_cpu_us_per_record": [round(r["cpu_us_per_record"], 1) for r in rounds],
                    "median_tail_seconds": statistics.median(r["tail_seconds"] for r in rounds),
                    "lost": sum(r["records"] - r["sent"] for r in rounds),
                }
            )
        for row in rows:
            if row["pipeline"] == pipeline_name and "defaults" in medians:
                row["ratio_to_defaults"] = row["median_cpu_us_per_record"] / medians["defaults"]
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The summary as a Markdown table."""
    lines = [
        "| pipeline | variant | setting | CPU µs per record (median) | ratio to defaults | rounds | tail s |",
        "|---|---|---|---:|---:|---|---:|",
    ]
    for row in rows:
        ratio = row.get("ratio_to_defaults")
        lines.append(
            f"| {row['pipeline']} | {row['variant']} | {row['setting']} | {row['median_cpu_us_per_record']:.1f} | "
            f"{'' if ratio is None else f'{ratio:.2f}'} | {', '.join(map(str, row['rounds_cpu_us_per_record']))} | "
            f"{row['median_tail_seconds']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", action="append", choices=list(PIPELINES), help="repeatable; default all")
    parser.add_argument("--variant", action="append", help="repeatable; default all of each pipeline's")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=2000.0, help="predictions/s (2 log records each)")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured phase per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up phase per run (sent before measuring)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results" / "collector_cpu.json")
    args = parser.parse_args()
    pipelines = args.pipeline or list(PIPELINES)
    runs = [(p, v) for p in pipelines for v in VARIANTS[p] if args.variant is None or v in args.variant]
    unknown = set(args.variant or ()) - {v for p in pipelines for v in VARIANTS[p]}
    if unknown or not runs:
        known = {p: list(VARIANTS[p]) for p in pipelines}
        parser.error(f"no such variant for {pipelines}: {sorted(unknown)}; known: {known}")
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="otel-ml-collector-cpu-") as tmp:
        scratch = Path(tmp)
        with targets(pipelines, scratch) as found:
            order = random.Random(0)
            for round_number in range(1, args.rounds + 1):
                for pipeline_name, variant_name in order.sample(runs, len(runs)):
                    result = measure(pipeline_name, variant_name, found, scratch, args.rate, args.seconds, args.warmup)
                    result["round"] = round_number
                    results.append(result)
                    print(json.dumps(result), flush=True)
    rows = summarize(results)
    print(table(rows))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"rate": args.rate, "seconds": args.seconds, "summary": rows, "runs": results}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
