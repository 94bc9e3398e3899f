"""deploy/kubernetes: manifests valid for Kubernetes (kubeconform, offline) and Helm values valid for the chart.

kubeconform and the Kubernetes JSON schemas come from scripts/fetch-deploy-validators.sh (Go module
proxy + the `kubernetes-validate` wheel from PyPI); the chart's values.schema.json is vendored under
tests/deploy/schemas (see the README there).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import DEPLOY, REPO_ROOT

K8S_DIR = DEPLOY / "kubernetes"
K8S_VERSION = os.environ.get("K8S_SCHEMA_VERSION", "1.31.0")
KUBECONFORM = REPO_ROOT / ".cache" / "bin" / "kubeconform"
K8S_SCHEMAS = REPO_ROOT / ".cache" / "kubernetes-json-schema" / f"v{K8S_VERSION}-standalone-strict"
CHART_VERSION = "0.170.0"
VALUES_FILES = sorted(p.name for p in K8S_DIR.glob("values-*.yaml"))
MANIFESTS = sorted(p for p in K8S_DIR.glob("*.yaml") if not p.name.startswith("values-"))


def kubeconform(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    if not KUBECONFORM.is_file() or not (K8S_SCHEMAS / "deployment-apps-v1.json").is_file():
        pytest.skip("kubeconform or its schemas are missing: run scripts/fetch-deploy-validators.sh")
    location = str(K8S_SCHEMAS / "{{ .ResourceKind }}{{ .KindSuffix }}.json")
    return subprocess.run(
        [str(KUBECONFORM), "-strict", "-summary", "-output", "text", "-schema-location", location, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def load_documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_there_are_manifests():
    kinds = {d["kind"] for p in MANIFESTS for d in load_documents(p)}
    assert {"Deployment", "Service"} <= kinds


def test_manifests_are_valid_for_kubernetes():
    result = kubeconform(MANIFESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Invalid: 0, Errors: 0" in result.stdout, result.stdout


def test_kubeconform_rejects_an_invalid_manifest(tmp_path: Path):
    deployment = next(d for d in load_documents(K8S_DIR / "model-service.yaml") if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] = "/x"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(deployment))
    result = kubeconform([bad])
    assert result.returncode != 0
    assert "paht" in result.stdout


def test_volume_claim_templates_of_the_gateway_values_are_valid(tmp_path: Path):
    values = yaml.safe_load((K8S_DIR / "values-gateway.yaml").read_text())
    claims = [
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", **template}
        for template in values["statefulset"]["volumeClaimTemplates"]
    ]
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump_all(claims))
    result = kubeconform([path])
    assert result.returncode == 0, result.stdout + result.stderr


def model_container() -> dict[str, Any]:
    deployment = next(d for d in load_documents(K8S_DIR / "model-service.yaml") if d["kind"] == "Deployment")
    return deployment["spec"]["template"]["spec"]["containers"][0]


def test_model_service_downward_api_and_otel_env():
    env = {e["name"]: e for e in model_container()["env"]}
    field_paths = {
        name: env[name]["valueFrom"]["fieldRef"]["fieldPath"]
        for name in ("POD_NAME", "POD_UID", "POD_NAMESPACE", "NODE_NAME", "NODE_IP")
    }
    assert field_paths == {
        "POD_NAME": "metadata.name",
        "POD_UID": "metadata.uid",
        "POD_NAMESPACE": "metadata.namespace",
        "NODE_NAME": "spec.nodeName",
        "NODE_IP": "status.hostIP",
    }
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"] == "http://$(NODE_IP):4317"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"]["value"] == "grpc"
    assert env["OTEL_SERVICE_NAME"]["value"]
    assert env["REST_CONFIG"]["value"]
    # the Kubernetes names go through the standard variable; $(VAR) expands only from earlier entries
    resource = dict(pair.split("=", 1) for pair in env["OTEL_RESOURCE_ATTRIBUTES"]["value"].split(","))
    assert {k: v for k, v in resource.items() if k.startswith("k8s.")} == {
        "k8s.pod.name": "$(POD_NAME)",
        "k8s.pod.uid": "$(POD_UID)",
        "k8s.namespace.name": "$(POD_NAMESPACE)",
        "k8s.node.name": "$(NODE_NAME)",
    }
    names = [e["name"] for e in model_container()["env"]]
    assert names.index("NODE_IP") < names.index("OTEL_EXPORTER_OTLP_ENDPOINT")
    for variable in ("POD_NAME", "POD_UID", "POD_NAMESPACE", "NODE_NAME"):
        assert names.index(variable) < names.index("OTEL_RESOURCE_ATTRIBUTES")


def test_model_service_probes_use_rest_model_service_health_routes():
    from rest_model_service.routes import router

    routes = {route.path for route in router.routes}
    container = model_container()
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        path = container[probe]["httpGet"]["path"]
        assert path in routes, f"{probe} {path} is not a rest-model-service route"
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/health/ready"


def test_model_service_resources_and_security_context():
    container = model_container()
    assert container["resources"]["limits"]["memory"]
    assert container["resources"]["requests"]["cpu"]
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert security["readOnlyRootFilesystem"] is True
