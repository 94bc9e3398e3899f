from __future__ import annotations

import uuid

import pytest

from otel_ml_logging.setup.providers import _resource
from otel_ml_logging.setup.resource import MLServiceResourceDetector
from otel_ml_logging.setup.settings import Settings


@pytest.mark.parametrize(
    ("node_ip", "expected"),
    [
        ("10.0.0.9", ["10.0.0.9"]),
        ("10.0.0.9,fd00::9", ["10.0.0.9", "fd00::9"]),  # status.hostIPs on a dual-stack node
        (" 10.0.0.9 , ,10.0.0.9", ["10.0.0.9"]),
        ("", None),
        (None, None),
    ],
)
def test_host_ip_is_a_string_array_from_node_ip(monkeypatch, node_ip, expected):
    if node_ip is None:
        monkeypatch.delenv("NODE_IP", raising=False)
    else:
        monkeypatch.setenv("NODE_IP", node_ip)
    attributes = MLServiceResourceDetector().detect().attributes
    assert attributes["host.name"]
    if expected is None:
        assert "host.ip" not in attributes
    else:
        assert list(attributes["host.ip"]) == expected


def test_kubernetes_names_come_from_otel_resource_attributes_not_from_downward_api_variables(monkeypatch):
    for name, value in {"POD_NAME": "p", "POD_NAMESPACE": "ns", "NODE_NAME": "n"}.items():
        monkeypatch.setenv(name, value)
    assert not {k for k in MLServiceResourceDetector().detect().attributes if k.startswith("k8s.")}
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "k8s.pod.name=p,k8s.namespace.name=ns")
    monkeypatch.delenv("OTEL_EXPERIMENTAL_RESOURCE_DETECTORS", raising=False)
    attributes = _resource(Settings.resolve(environ={}), None).attributes
    assert (attributes["k8s.pod.name"], attributes["k8s.namespace.name"]) == ("p", "ns")


def test_the_sdk_resource_has_a_service_instance_id_host_name_and_host_ip(monkeypatch):
    monkeypatch.delenv("OTEL_EXPERIMENTAL_RESOURCE_DETECTORS", raising=False)
    monkeypatch.setenv("NODE_IP", "10.0.0.9")
    attributes = _resource(Settings.resolve(service_name="svc", environ={}), None).attributes
    assert uuid.UUID(str(attributes["service.instance.id"]))
    assert attributes["host.name"]
    assert list(attributes["host.ip"]) == ["10.0.0.9"]
    assert attributes["service.name"] == "svc"
