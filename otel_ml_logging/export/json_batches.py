"""OTLP JSON spans and log records of predictions, batched per signal and posted by a sender thread.

The fast path's last step: the JSON sink adds each prediction's span and records; each is serialized
at once, batches are those bytes joined into one export request per signal, and a sender thread posts
them with the same client settings the SDK exporters use, so encoding goes on while a request is in
flight.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import orjson
from opentelemetry.sdk.resources import Resource

from otel_ml_logging.export.http_client import OTLPHttpClient
from otel_ml_logging.export.json_encoding import LOGS, SPANS, JsonObject, Signal, envelope, key_values
from otel_ml_logging.pipeline.delivery import DeliveryStats
from otel_ml_logging.pipeline.fork import after_fork_in_child

MAX_BATCH = 2048
MAX_REQUESTS_IN_FLIGHT = 4
_STOP = object()


class _Batch:
    """Serialized items of one signal waiting to be posted, and how many there are."""

    __slots__ = ("count", "fragments")

    def __init__(self) -> None:
        self.fragments: list[bytes] = []
        self.count = 0


class JsonBatches:
    """Serializes the spans and log records of one scope as they come and posts them in batches.

    Each prediction's items are turned into JSON bytes at once, so the objects they were built from
    are freed right away instead of piling up until the batch is full (which made the cyclic
    garbage collector scan them again and again); a batch is those bytes joined into the export
    request, whose resource and scope envelope is serialized once.
    """

    def __init__(
        self,
        resource: Resource,
        scope_name: str,
        scope_version: str,
        traces: OTLPHttpClient,
        logs: OTLPHttpClient,
        stats: DeliveryStats,
    ) -> None:
        """Serialize the envelopes once (resource and scope never change in a process) and start the sender."""
        self._scope = {"name": scope_name, "version": scope_version}
        self._set_resource(resource)
        self._traces, self._logs, self._stats = traces, logs, stats
        self._spans, self._records = _Batch(), _Batch()
        self._lock = threading.Lock()
        # counted here, under the batch's own lock, and read by the delivery report (no second lock per item)
        self._accepted_spans = self._accepted_records = 0
        stats.track_accepted(self)
        # bounded: when the collector is slower than we encode, the emitter thread waits here (never
        # a request thread), and the prediction queue in front of it absorbs or drops, counted
        self._requests: queue.Queue[Any] = queue.Queue(MAX_REQUESTS_IN_FLIGHT)
        self._sender = self._start_sender()
        after_fork_in_child(self)

    def _set_resource(self, resource: Resource) -> None:
        self._resource = resource
        resource_json = {"attributes": key_values(resource.attributes)}
        self._span_frame = _frame(SPANS, resource_json, resource.schema_url, self._scope)
        self._record_frame = _frame(LOGS, resource_json, resource.schema_url, self._scope)

    def _start_sender(self) -> threading.Thread:
        sender = threading.Thread(target=self._send_forever, name="otel-ml-logging-sender", daemon=True)
        sender.start()
        return sender

    def after_fork_in_child(self) -> None:
        """Start afresh in a forked child: the parent posts its own batches; the child opens its own connections.

        The child is its own ``service.instance.id``: the same one the SDK's providers give it after the fork.
        """
        self._set_resource(self._resource.merge(process_resource()))
        self._traces.forget_connection()
        self._logs.forget_connection()
        self._spans, self._records = _Batch(), _Batch()
        self._lock = threading.Lock()
        self._requests = queue.Queue(MAX_REQUESTS_IN_FLIGHT)
        self._sender = self._start_sender()

    def add(self, span: JsonObject | None, records: list[JsonObject]) -> None:
        """Buffer one prediction's span (if sampled) and records, as JSON objects; see :meth:`add_json`.

        Items that cannot be serialized are counted as failed; the prediction's other items and
        the rest of the batch go on.
        """
        span_json = self._serialize(self._traces, "spans", span) if span is not None else None
        records_json = self._serialize(self._logs, "log records", records) if records else None
        self.add_json(span_json, records_json[1:-1] if records_json is not None else b"", len(records))

    def add_json(self, span: bytes | None, records: bytes, record_count: int) -> None:
        """Buffer one prediction's serialized span (None: not sampled) and records (comma-separated).

        Hands off a batch when one is full.
        """
        with self._lock:
            spans, batch = self._spans, self._records
            # counted when buffered, not when handed to the sender: what is still buffered at exit is lost, counted
            if span is not None:
                spans.fragments.append(span)
                spans.count += 1
                self._accepted_spans += 1
            if record_count and records:
                batch.fragments.append(records)
                batch.count += record_count
                self._accepted_records += record_count
            full = spans.count >= MAX_BATCH or batch.count >= MAX_BATCH
        if full:
            self.flush()

    def accepted_counts(self) -> dict[str, int]:
        """Spans and log records buffered since the start (the delivery report's ``accepted``)."""
        counts = {"spans": self._accepted_spans, "log records": self._accepted_records}
        return {signal: count for signal, count in counts.items() if count}

    def flush(self) -> None:
        """Hand whatever is buffered to the sender (one request per signal)."""
        with self._lock:
            spans, self._spans = self._spans, _Batch()
            records, self._records = self._records, _Batch()
        if spans.count:
            self._enqueue(self._traces, "spans", self._span_frame, spans)
        if records.count:
            self._enqueue(self._logs, "log records", self._record_frame, records)

    def wait_sent(self, timeout: float = 30.0) -> bool:
        """Wait until every batch handed to the sender has been posted (or given up on)."""
        deadline = time.monotonic() + timeout
        while self._requests.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def shutdown(self, timeout: float = 30.0) -> None:
        """Flush, post what is pending, then stop the sender and the clients."""
        self.flush()
        self._requests.put(_STOP)
        self._sender.join(timeout)
        self._traces.shutdown()
        self._logs.shutdown()

    def _serialize(self, client: OTLPHttpClient, signal: str, item: JsonObject | list[JsonObject]) -> bytes | None:
        try:
            return orjson.dumps(item)
        except (TypeError, ValueError) as error:  # e.g. an integer beyond 64 bits in a hand-built item
            count = len(item) if isinstance(item, list) else 1
            self._stats.accepted(signal, count)
            self._stats.outcome(signal, count, False, f"{client.url} (not serializable: {error})")
            return None

    def _enqueue(self, client: OTLPHttpClient, signal: str, frame: tuple[bytes, bytes], batch: _Batch) -> None:
        prefix, suffix = frame
        fragments = batch.fragments  # a batch is megabytes: framed by its first and last item, copied once
        fragments[0] = prefix + fragments[0]
        fragments[-1] += suffix
        body = b",".join(fragments)
        self._requests.put((client, signal, batch.count, body))

    def _send_forever(self) -> None:
        while True:
            request = self._requests.get()
            try:
                if request is _STOP:
                    return
                client, signal, count, body = request
                try:
                    ok = client.post(body)
                except Exception:  # a sender that dies would silently stop all prediction telemetry
                    ok = False
                self._stats.outcome(signal, count, ok, client.url)
            finally:
                self._requests.task_done()


def process_resource() -> Resource:
    """Return the attributes that differ per process (``service.instance.id``), as the SDK renews them after a fork."""
    try:
        from opentelemetry.sdk.resources import _get_process_dependent_resource

        return _get_process_dependent_resource()
    except ImportError:  # an SDK without it (< 1.43) keeps one instance id for every process
        return Resource.get_empty()


_ITEMS_SLOT = "otel-ml-logging:items"


def _frame(signal: Signal, resource: JsonObject, schema_url: str, scope: JsonObject) -> tuple[bytes, bytes]:
    """Serialize the export request around its items; return the bytes before them and after them."""
    encoded = orjson.dumps(envelope(signal, resource, schema_url, [(scope, [_ITEMS_SLOT])]))
    # the items list comes last in its scope entry, after the resource and scope: the last slot is ours
    prefix, slot, suffix = encoded.rpartition(orjson.dumps(_ITEMS_SLOT))
    if not slot:
        raise RuntimeError("OTLP JSON envelope without its items slot")
    return prefix, suffix
