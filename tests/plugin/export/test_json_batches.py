"""The fast path's batching: serialized per prediction, posted as one OTLP JSON request per signal."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.resources import Resource

from otel_ml_logging.export.http_client import OTLPHttpClient
from otel_ml_logging.export.json_batches import JsonBatches
from otel_ml_logging.pipeline.delivery import DeliveryStats
from otel_ml_logging.pipeline.engine import Engine, EngineSettings


class _Receiver(http.server.BaseHTTPRequestHandler):
    bodies: list[tuple[str, dict[str, object]]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.bodies.append((self.path, json.loads(body)))  # json.loads fails on malformed JSON
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[str, dict[str, object]]]]]:
    bodies: list[tuple[str, dict[str, object]]] = []
    handler = type("Handler", (_Receiver,), {"bodies": bodies})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    server.shutdown()
    server.server_close()


def _exporter(url: str, stats: DeliveryStats) -> JsonBatches:
    def client(path: str) -> OTLPHttpClient:
        return OTLPHttpClient(url + path, {}, timeout=5, compression=None, max_attempts=1)

    resource = Resource({"service.name": "svc", "note": 'quotes " and otel-ml-logging:items'}, "https://schema")
    return JsonBatches(resource, "scope", "1.0", client("/v1/traces"), client("/v1/logs"), stats)


def _record(n: int) -> dict[str, object]:
    return {"timeUnixNano": str(n), "body": {"stringValue": f"record {n}"}}


def test_items_arrive_in_one_request_per_signal_inside_the_envelope(receiver):
    url, bodies = receiver
    stats = DeliveryStats()
    exporter = _exporter(url, stats)
    for n in range(3):
        exporter.add({"name": f"span {n}", "spanId": f"{n:016x}"}, [_record(2 * n), _record(2 * n + 1)])
    exporter.add(None, [_record(99)])  # an unsampled span: records only
    exporter.flush()
    assert exporter.wait_sent(5)
    exporter.shutdown(5)

    by_path = dict(bodies)
    (resource_logs,) = by_path["/v1/logs"]["resourceLogs"]  # type: ignore[index]
    assert resource_logs["schemaUrl"] == "https://schema"
    resource_attributes = {kv["key"]: kv["value"]["stringValue"] for kv in resource_logs["resource"]["attributes"]}
    assert resource_attributes["note"] == 'quotes " and otel-ml-logging:items'
    (scope_logs,) = resource_logs["scopeLogs"]
    assert scope_logs["scope"] == {"name": "scope", "version": "1.0"}
    assert [r["timeUnixNano"] for r in scope_logs["logRecords"]] == ["0", "1", "2", "3", "4", "5", "99"]
    (resource_spans,) = by_path["/v1/traces"]["resourceSpans"]  # type: ignore[index]
    assert [s["name"] for s in resource_spans["scopeSpans"][0]["spans"]] == ["span 0", "span 1", "span 2"]
    snapshot = stats.snapshot()
    assert (snapshot["spans"].accepted, snapshot["spans"].exported) == (3, 3)
    assert (snapshot["log records"].accepted, snapshot["log records"].exported) == (7, 7)


def test_what_is_still_buffered_is_accepted_and_reported_lost_until_sent(receiver):
    url, bodies = receiver
    stats = DeliveryStats()
    exporter = _exporter(url, stats)
    exporter.add({"name": "one"}, [_record(1), _record(2)])
    exporter.add({"name": "two"}, [_record(3)])
    buffered = stats.snapshot()
    assert (buffered["spans"].accepted, buffered["spans"].exported, buffered["spans"].lost) == (2, 0, 2)
    assert (buffered["log records"].accepted, buffered["log records"].lost) == (3, 3)
    assert "spans: 0/2 delivered, 0 failed, 2 dropped" in stats.report()
    exporter.flush()
    assert exporter.wait_sent(5)
    exporter.shutdown(5)
    sent = stats.snapshot()
    assert (sent["spans"].accepted, sent["spans"].exported, sent["spans"].lost) == (2, 2, 0)
    assert (sent["log records"].accepted, sent["log records"].exported) == (3, 3)
    assert len(bodies) == 2


def test_a_batch_of_many_items_is_one_valid_request(receiver):
    url, bodies = receiver
    exporter = _exporter(url, DeliveryStats())
    for n in range(2500):  # more than one batch: the first is handed over when full
        exporter.add({"name": f"span {n}"}, [_record(n)])
    exporter.flush()
    assert exporter.wait_sent(5)
    exporter.shutdown(5)
    spans = [s["name"] for path, body in bodies if path == "/v1/traces" for s in _items(body, "resourceSpans")]
    assert spans == [f"span {n}" for n in range(2500)]
    assert [len(_items(body, "resourceSpans")) for path, body in bodies if path == "/v1/traces"] == [2048, 452]


def _items(body: dict[str, object], key: str) -> list[dict[str, object]]:
    (resource,) = body[key]  # type: ignore[index]
    (scope,) = resource["scopeSpans"]
    return scope["spans"]  # type: ignore[no-any-return]


def test_an_unserializable_prediction_fails_alone_and_is_counted(receiver):
    url, bodies = receiver
    stats = DeliveryStats()
    exporter = _exporter(url, stats)
    exporter.add({"name": "good"}, [_record(1)])
    exporter.add({"name": "bad", "attributes": [{"key": "n", "value": {"intValue": 2**70}}]}, [_record(2)])
    exporter.add({"name": "good too"}, [_record(3)])
    exporter.flush()
    assert exporter.wait_sent(5)
    exporter.shutdown(5)

    by_path = dict(bodies)
    spans = by_path["/v1/traces"]["resourceSpans"][0]["scopeSpans"][0]["spans"]  # type: ignore[index]
    assert [s["name"] for s in spans] == ["good", "good too"]
    records = by_path["/v1/logs"]["resourceLogs"][0]["scopeLogs"][0]["logRecords"]  # type: ignore[index]
    assert len(records) == 3  # the bad prediction's records were fine and went on
    spans_delivery = stats.snapshot()["spans"]
    assert (spans_delivery.accepted, spans_delivery.exported, spans_delivery.failed) == (3, 2, 1)


def test_records_reach_the_receiver_within_the_drain_interval_without_a_flush(receiver):
    url, bodies = receiver
    settings = EngineSettings()
    engine = Engine(settings)
    exporter = _exporter(url, DeliveryStats())
    engine.add_drain_hook(exporter.flush)  # as the JSON path does: one request per signal per drain
    submitted = time.monotonic()
    engine.submit(lambda n: exporter.add(None, [_record(n)]), 7)
    while not bodies and time.monotonic() - submitted < settings.drain_interval + 5:
        time.sleep(0.01)
    arrived = time.monotonic() - submitted
    assert [path for path, _ in bodies] == ["/v1/logs"]
    assert arrived < settings.drain_interval + 1.5  # records are delivered within 2 s of the prediction
    engine.shutdown(5)
    exporter.shutdown(5)
