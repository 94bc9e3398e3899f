"""deploy/kubernetes: manifests valid for Kubernetes (kubeconform, offline) and Helm values valid for the chart.

kubeconform and the Kubernetes JSON schemas come from scripts/fetch-deploy-validators.sh (Go module
proxy + the `kubernetes-validate` wheel from PyPI); the chart's values.schema.json is vendored under
tests/deploy/schemas (see the README there).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.conftest import DEPLOY, REPO_ROOT, SCHEMAS

K8S_DIR = DEPLOY / "kubernetes"
K8S_VERSION = os.environ.get("K8S_SCHEMA_VERSION", "1.31.0")
KUBECONFORM = REPO_ROOT / ".cache" / "bin" / "kubeconform"
K8S_SCHEMAS = REPO_ROOT / ".cache" / "kubernetes-json-schema" / f"v{K8S_VERSION}-standalone-strict"
CHART_VERSION = "0.130.1"
VALUES_FILES = ["values-agent.yaml", "values-gateway.yaml"]
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


def test_extra_manifests_of_the_gateway_values_are_valid(tmp_path: Path):
    values = yaml.safe_load((K8S_DIR / "values-gateway.yaml").read_text())
    path = tmp_path / "extra.yaml"
    path.write_text(yaml.safe_dump_all(values["extraManifests"]))
    result = kubeconform([path])
    assert result.returncode == 0, result.stdout + result.stderr


def model_container() -> dict[str, Any]:
    deployment = next(d for d in load_documents(K8S_DIR / "model-service.yaml") if d["kind"] == "Deployment")
    return deployment["spec"]["template"]["spec"]["containers"][0]


def test_model_service_downward_api_and_otel_env():
    env = {e["name"]: e for e in model_container()["env"]}
    field_paths = {
        name: env[name]["valueFrom"]["fieldRef"]["fieldPath"]
        for name in ("POD_NAME", "POD_NAMESPACE", "NODE_NAME", "NODE_IP")
    }
    assert field_paths == {
        "POD_NAME": "metadata.name",
        "POD_NAMESPACE": "metadata.namespace",
        "NODE_NAME": "spec.nodeName",
        "NODE_IP": "status.hostIP",
    }
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"] == "http://$(NODE_IP):4317"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"]["value"] == "grpc"
    assert env["OTEL_SERVICE_NAME"]["value"]
    assert env["REST_CONFIG"]["value"]
    # $(NODE_IP) only expands if NODE_IP is defined earlier in the list
    names = [e["name"] for e in model_container()["env"]]
    assert names.index("NODE_IP") < names.index("OTEL_EXPORTER_OTLP_ENDPOINT")


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


# --- Helm values -------------------------------------------------------------------------------


def values_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / f"opentelemetry-collector-{CHART_VERSION}.values.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("values_file", VALUES_FILES)
def test_helm_values_are_valid_for_the_chart(values_file: str):
    values = yaml.safe_load((K8S_DIR / values_file).read_text())
    errors = list(values_validator().iter_errors(values))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_values_schema_rejects_invalid_values():
    values = yaml.safe_load((K8S_DIR / "values-agent.yaml").read_text())
    values["mode"] = "sidecar"
    values["image"]["name"] = "x"
    assert len(list(values_validator().iter_errors(values))) >= 2


def test_readme_pins_the_chart_version_of_the_vendored_schema():
    readme = (DEPLOY / "README.md").read_text()
    versions = set(re.findall(r"opentelemetry-collector --version (\S+)", readme))
    assert versions == {CHART_VERSION}


def test_agent_is_a_daemonset_with_otlp_host_ports_and_filelog():
    values = yaml.safe_load((K8S_DIR / "values-agent.yaml").read_text())
    assert values["mode"] == "daemonset"
    assert values["ports"]["otlp"]["hostPort"] == 4317
    assert values["presets"]["logsCollection"]["enabled"] is True
    assert values["image"]["repository"].endswith("/otelcol-ml")
    assert values["command"]["name"] == "otelcol-ml"


def test_gateway_uses_the_repository_config_files_and_a_persistent_queue_volume():
    values = yaml.safe_load((K8S_DIR / "values-gateway.yaml").read_text())
    assert values["mode"] == "deployment"
    overlays = [a.split("=", 1)[1] for a in values["command"]["extraArgs"] if a.startswith("--config=")]
    mounted = {m["name"]: m["mountPath"] for m in values["extraVolumeMounts"]}
    volumes = {v["name"]: v for v in values["extraVolumes"]}
    for overlay in overlays:
        directory, name = overlay.rsplit("/", 1)
        volume = next(n for n, p in mounted.items() if p == directory)
        keys = {item["key"] for item in volumes[volume]["configMap"]["items"]}
        assert name in keys
        assert (REPO_ROOT / "collector" / name).is_file(), f"collector/{name} does not exist"
    assert (REPO_ROOT / "collector" / "config.yaml").is_file(), "collector/config.yaml does not exist"
    env = {e["name"]: e for e in values["extraEnvs"]}
    storage_dir = env["COLLECTOR_STORAGE_DIR"]["value"]
    assert mounted["storage"] == storage_dir
    claim = volumes["storage"]["persistentVolumeClaim"]["claimName"]
    assert claim in {m["metadata"]["name"] for m in values["extraManifests"] if m["kind"] == "PersistentVolumeClaim"}


def built_component_types() -> dict[str, set[str]]:
    """Component types of the otelcol-ml build, from collector/builder-config.yaml."""
    builder = yaml.safe_load((REPO_ROOT / "collector" / "builder-config.yaml").read_text())
    special = {"memorylimiter": "memory_limiter", "filestorage": "file_storage", "healthcheck": "health_check"}
    types: dict[str, set[str]] = {}
    for section, suffix in (
        ("receivers", "receiver"),
        ("processors", "processor"),
        ("exporters", "exporter"),
        ("extensions", "extension"),
    ):
        for module in builder.get(section, []):
            name = module.get("name") or module["gomod"].split()[0].rstrip("/").rsplit("/", 1)[-1]
            name = name.removesuffix(suffix)
            types.setdefault(section, set()).add(special.get(name, name))
    return types


def test_agent_values_only_use_components_of_the_otelcol_ml_build():
    """Every component the agent's final config uses (ours + chart defaults + presets) must be built in."""
    values = yaml.safe_load((K8S_DIR / "values-agent.yaml").read_text())
    config = values["config"]
    used: dict[str, set[str]] = {"receivers": set(), "processors": set(), "exporters": set(), "extensions": set()}
    for pipeline in config["service"]["pipelines"].values():
        for section in ("receivers", "processors", "exporters"):
            used[section] |= {c.split("/")[0] for c in pipeline.get(section, [])}
    used["extensions"].add("health_check")  # chart default, probed by the chart's liveness/readiness
    if values["presets"]["logsCollection"]["enabled"]:
        used["receivers"].add("filelog")
        if values["presets"]["logsCollection"].get("storeCheckpoints"):
            used["extensions"].add("file_storage")
    built = built_component_types()
    missing = {s: sorted(used[s] - built.get(s, set())) for s in used if used[s] - built.get(s, set())}
    assert not missing, f"not in collector/builder-config.yaml: {missing}"
