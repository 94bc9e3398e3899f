from __future__ import annotations

import logging

import pytest

from otel_ml_logging.setup.providers import apply_env_defaults
from otel_ml_logging.setup.resource import MLServiceResourceDetector, parse_env_map


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_LOGS_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp"}),
        ({"OTEL_LOGS_EXPORTER": "console"}, {"OTEL_LOGS_EXPORTER": "console"}),
        ({"OTEL_PYTHON_ID_GENERATOR": "random"}, {"OTEL_PYTHON_ID_GENERATOR": "random"}),
        ({}, {"OTEL_PYTHON_ID_GENERATOR": "otel_ml_logging"}),
        (
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
            {
                "OTEL_TRACES_EXPORTER": "otlp_json",
                "OTEL_LOGS_EXPORTER": "otlp_json",
                "OTEL_METRICS_EXPORTER": "otlp",
                "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/protobuf",
            },
        ),
        (
            {"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "http/json", "OTEL_LOGS_EXPORTER": "otlp,console"},
            {"OTEL_LOGS_EXPORTER": "otlp_json,console", "OTEL_TRACES_EXPORTER": "otlp"},
        ),
    ],
)
def test_env_defaults_and_http_json_routing(given, expected):
    environ = dict(given)
    apply_env_defaults(environ)
    for name, value in expected.items():
        assert environ[name] == value


def test_invalid_protocol_warns_once_and_falls_back_to_grpc(caplog):
    environ = {"OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"}
    with caplog.at_level(logging.WARNING):
        apply_env_defaults(environ)
    assert environ["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc"
    (warning,) = caplog.records
    assert "OTEL_EXPORTER_OTLP_PROTOCOL='carrier-pigeon' is not one of grpc" in warning.getMessage()


def test_resource_env_map_is_configurable(monkeypatch):
    monkeypatch.setenv("OTEL_ML_LOGGING_RESOURCE_ENV_MAP", "MY_POD=k8s.pod.name, ZONE=cloud.availability_zone,bad")
    monkeypatch.setenv("MY_POD", "pod-9")
    monkeypatch.setenv("ZONE", "eu-west-1a")
    monkeypatch.setenv("POD_NAME", "ignored-now")
    attributes = MLServiceResourceDetector().detect().attributes
    assert attributes["k8s.pod.name"] == "pod-9"
    assert attributes["cloud.availability_zone"] == "eu-west-1a"
    assert attributes["host.name"]


def test_default_resource_env_map_reads_downward_api_variables(monkeypatch):
    monkeypatch.delenv("OTEL_ML_LOGGING_RESOURCE_ENV_MAP", raising=False)
    for name, value in {"POD_NAME": "p", "POD_NAMESPACE": "ns", "NODE_NAME": "n", "NODE_IP": "10.0.0.9"}.items():
        monkeypatch.setenv(name, value)
    attributes = MLServiceResourceDetector().detect().attributes
    assert {k: attributes[k] for k in ("k8s.pod.name", "k8s.namespace.name", "k8s.node.name", "host.ip")} == {
        "k8s.pod.name": "p",
        "k8s.namespace.name": "ns",
        "k8s.node.name": "n",
        "host.ip": "10.0.0.9",
    }


def test_malformed_env_map_pairs_are_skipped_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        assert parse_env_map("A=a.b,=x,B,C=") == {"A": "a.b"}
    assert len(caplog.records) == 3
