from __future__ import annotations

import logging

from otel_ml_logging.setup.resource import MLServiceResourceDetector, parse_env_map


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
