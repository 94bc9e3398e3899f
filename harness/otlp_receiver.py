"""A real OTLP receiver (gRPC and HTTP/protobuf) built on opentelemetry-proto, for tests.

It decodes what an SDK exports with the protocol's own message types and keeps it in memory,
flattened into plain dicts that tests can assert on.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue


def key_value(key: str, value: Any) -> KeyValue:
    """Encode a Python scalar as an OTLP ``KeyValue`` (for tests that build OTLP requests by hand)."""
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def any_value(value: AnyValue) -> Any:
    """Convert an OTLP AnyValue to the Python value it holds."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    return getattr(value, kind)


def attributes(pairs: Any) -> dict[str, Any]:
    """Convert repeated KeyValue to a dict."""
    return {pair.key: any_value(pair.value) for pair in pairs if isinstance(pair, KeyValue)}


@dataclass
class Received:
    """Everything received so far, flattened: one dict per span, log record and metric point."""

    spans: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    log_metadata: list[dict[str, str]] = field(default_factory=list)  # gRPC request metadata of each logs export
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_traces(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        """Flatten and keep the spans of an export request."""
        with self.lock:
            for resource_spans in request.resource_spans:
                resource = attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append(
                            {
                                "resource": resource,
                                "scope": scope_spans.scope.name,
                                "name": span.name,
                                "kind": span.kind,
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent_span_id": span.parent_span_id.hex(),
                                "start": span.start_time_unix_nano,
                                "end": span.end_time_unix_nano,
                                "status_code": span.status.code,
                                "status_message": span.status.message,
                                "attributes": attributes(span.attributes),
                                "events": [(e.name, attributes(e.attributes)) for e in span.events],
                            }
                        )

    def add_logs(self, request: logs_service_pb2.ExportLogsServiceRequest) -> None:
        """Flatten and keep the log records of an export request."""
        with self.lock:
            for resource_logs in request.resource_logs:
                resource = attributes(resource_logs.resource.attributes)
                for scope_logs in resource_logs.scope_logs:
                    for record in scope_logs.log_records:
                        self.logs.append(
                            {
                                "resource": resource,
                                "scope": scope_logs.scope.name,
                                "time": record.time_unix_nano,
                                "severity_number": record.severity_number,
                                "severity_text": record.severity_text,
                                "body": any_value(record.body),
                                "event_name": record.event_name,
                                "trace_id": record.trace_id.hex(),
                                "span_id": record.span_id.hex(),
                                "attributes": attributes(record.attributes),
                            }
                        )

    def add_metrics(self, request: metrics_service_pb2.ExportMetricsServiceRequest) -> None:
        """Flatten and keep sum and histogram points of an export request."""
        with self.lock:
            for resource_metrics in request.resource_metrics:
                resource = attributes(resource_metrics.resource.attributes)
                for scope_metrics in resource_metrics.scope_metrics:
                    for metric in scope_metrics.metrics:
                        kind = metric.WhichOneof("data")
                        for point in getattr(metric, kind).data_points if kind else []:
                            value = point.as_int if kind == "sum" else getattr(point, "count", None)
                            self.metrics.append(
                                {
                                    "resource": resource,
                                    "name": metric.name,
                                    "kind": kind,
                                    "unit": metric.unit,
                                    "attributes": attributes(point.attributes),
                                    "value": value,
                                }
                            )


class _Traces(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, received: Received) -> None:
        self._received = received

    def Export(self, request: Any, context: Any) -> Any:  # noqa: N802 (gRPC method name)
        self._received.add_traces(request)
        return trace_service_pb2.ExportTraceServiceResponse()


class _Logs(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, received: Received) -> None:
        self._received = received

    def Export(self, request: Any, context: Any) -> Any:  # noqa: N802
        with self._received.lock:
            self._received.log_metadata.append({key: str(value) for key, value in context.invocation_metadata()})
        self._received.add_logs(request)
        return logs_service_pb2.ExportLogsServiceResponse()


class _Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, received: Received) -> None:
        self._received = received

    def Export(self, request: Any, context: Any) -> Any:  # noqa: N802
        self._received.add_metrics(request)
        return metrics_service_pb2.ExportMetricsServiceResponse()


@dataclass
class OTLPReceiver:
    """A running receiver: ``endpoint`` to give an SDK, ``received`` to assert on."""

    endpoint: str
    received: Received

    def wait_for(self, condition: Callable[[Received], bool], timeout: float = 20.0) -> Received:
        """Poll until ``condition(received)`` holds; fail with what arrived otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.received.lock:
                if condition(self.received):
                    return self.received
            time.sleep(0.1)
        raise AssertionError(
            f"OTLP receiver: condition not met in {timeout}s; got {len(self.received.spans)} spans, "
            f"{len(self.received.logs)} log records, {len(self.received.metrics)} metric points"
        )


@contextmanager
def grpc_receiver(port: int = 0) -> Iterator[OTLPReceiver]:
    """Run an OTLP/gRPC receiver on loopback ``port`` (default: a free one)."""
    received = Received()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Traces(received), server)
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_Logs(received), server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_Metrics(received), server)
    port = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    try:
        yield OTLPReceiver(f"http://127.0.0.1:{port}", received)
    finally:
        server.stop(grace=None)


_HTTP_ROUTES: dict[str, tuple[type[Message], str]] = {
    "/v1/traces": (trace_service_pb2.ExportTraceServiceRequest, "add_traces"),
    "/v1/logs": (logs_service_pb2.ExportLogsServiceRequest, "add_logs"),
    "/v1/metrics": (metrics_service_pb2.ExportMetricsServiceRequest, "add_metrics"),
}


@contextmanager
def http_receiver() -> Iterator[OTLPReceiver]:
    """Run an OTLP/HTTP (protobuf) receiver on a free loopback port."""
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            route = _HTTP_ROUTES.get(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if route is None or self.headers.get("Content-Type") != "application/x-protobuf":
                self.send_response(404 if route is None else 415)
                self.end_headers()
                return
            message_type, method = route
            message = message_type()
            message.ParseFromString(body)
            getattr(received, method)(message)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield OTLPReceiver(f"http://127.0.0.1:{server.server_address[1]}", received)
    finally:
        server.shutdown()
        server.server_close()
