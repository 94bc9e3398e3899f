"""deploy/kubernetes values for the upstream ``opentelemetry-collector`` chart: valid, and pods that can do their job.

The chart itself cannot be fetched here (no registry serves it), so these tests hold the values to
the chart's vendored ``values.schema.json`` and to the rules of the chart's templates at the pinned
version that decide whether the pods work (read from ``templates/_pod.tpl``, ``statefulset.yaml``,
``service.yaml``, ``clusterrole.yaml`` of that tag):

- ``--config=/conf/relay.yaml`` is the ConfigMap key ``relay``; other files need their own mount;
- the container runs as uid 0 for ``presets.logsCollection.storeCheckpoints`` only when
  ``securityContext`` is empty; the preset mounts /var/log/pods read-only and /var/lib/otelcol;
- ``presets.kubernetesAttributes`` creates the ClusterRole k8sattributes needs and, in daemonset
  mode, the ``K8S_NODE_NAME`` variable;
- ``mode: statefulset`` takes ``statefulset.volumeClaimTemplates``; ``service.clusterIP: None``
  makes the Service headless.

The collector files the values reference are run through the real ``otelcol-ml validate``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.conftest import DEPLOY, REPO_ROOT, SCHEMAS

K8S_DIR = DEPLOY / "kubernetes"
COLLECTOR = REPO_ROOT / "collector"
CHART_VERSION = "0.170.0"
CONFIGMAP = K8S_DIR / "otelcol-ml-config.yaml"
OVERLAY_DIR = "/conf-overlays"
BASE_VALUES = {"agent": "values-agent.yaml", "gateway": "values-gateway.yaml"}
# (values files given to helm in order, the role)
RELEASES = [
    (["values-agent.yaml"], "agent"),
    (["values-agent.yaml", "values-agent-kafka.yaml"], "agent"),
    (["values-gateway.yaml"], "gateway"),
    (["values-gateway.yaml", "values-gateway-kafka.yaml"], "gateway"),
]


def load(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((K8S_DIR / name).read_text()))


def merge_values(base: Any, over: Any) -> Any:
    """Helm's merge of values: maps deep-merged, lists and scalars replaced, null deletes a key."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = merge_values(base.get(key), value)
        return out
    return over


def merged(files: list[str]) -> dict[str, Any]:
    """Values as helm merges ``-f a -f b``: maps deep-merged, lists and scalars replaced."""

    values: dict[str, Any] = {}
    for name in files:
        values = merge_values(values, load(name))
    return values


def with_chart_defaults(values: dict[str, Any]) -> dict[str, Any]:
    """What helm validates against the schema: the chart's own values.yaml with ours merged over it."""
    defaults = yaml.safe_load((SCHEMAS / f"opentelemetry-collector-{CHART_VERSION}.values.yaml").read_text())
    return merge_values(defaults, values)


def env_of(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in values.get("extraEnvs", [])}


def config_files(values: dict[str, Any]) -> list[Path]:
    """The collector files the pod runs with, in order: relay (= config.yaml), then the overlays."""
    files = [COLLECTOR / "config.yaml"]
    for arg in values["command"]["extraArgs"]:
        path = arg.removeprefix("--config=")
        assert path.startswith(OVERLAY_DIR + "/"), arg
        files.append(COLLECTOR / path.rsplit("/", 1)[1])
    return files


def release_id(release: tuple[list[str], str]) -> str:
    return "+".join(release[0])


# -- schema ----------------------------------------------------------------------------------------


def values_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / f"opentelemetry-collector-{CHART_VERSION}.values.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("release", RELEASES, ids=release_id)
def test_values_are_valid_for_the_chart(release: tuple[list[str], str]):
    errors = list(values_validator().iter_errors(with_chart_defaults(merged(release[0]))))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_values_schema_rejects_invalid_values():
    values = with_chart_defaults(load("values-agent.yaml"))
    values["mode"] = "sidecar"
    values["image"]["name"] = "x"
    assert len(list(values_validator().iter_errors(values))) >= 2


def test_readmes_pin_the_chart_version_of_the_vendored_schema():
    texts = [(DEPLOY / "README.md").read_text()] + [p.read_text() for p in K8S_DIR.glob("values-*.yaml")]
    versions = {v for text in texts for v in re.findall(r"opentelemetry-collector --version (\S+)", text)}
    assert versions == {CHART_VERSION}


# -- the collector files: one set, mounted, not re-typed ----------------------------------------------


def test_the_configmap_is_the_collector_files():
    result = subprocess.run(
        [sys.executable, str(K8S_DIR / "build_configmap.py"), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = yaml.safe_load(CONFIGMAP.read_text())["data"]
    for key, text in data.items():
        assert text == (COLLECTOR / ("config.yaml" if key == "relay" else key)).read_text(), key


@pytest.mark.parametrize("release", RELEASES, ids=release_id)
def test_every_config_file_is_mounted_from_the_configmap(release: tuple[list[str], str]):
    values = merged(release[0])
    configmap = yaml.safe_load(CONFIGMAP.read_text())
    assert values["configMap"] == {"create": False, "existingName": configmap["metadata"]["name"]}
    assert "config" not in values, "collector configuration must come from collector/, not be typed into values"
    volumes = {v["name"]: v for v in values["extraVolumes"]}
    mount = next(m for m in values["extraVolumeMounts"] if m["mountPath"] == OVERLAY_DIR)
    assert volumes[mount["name"]]["configMap"]["name"] == configmap["metadata"]["name"]
    for path in config_files(values)[1:]:
        assert path.name in configmap["data"], f"{path.name} is not in {CONFIGMAP.name}"


# -- agent -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("files", [r[0] for r in RELEASES if r[1] == "agent"], ids="+".join)
def test_agent_can_read_pod_logs_and_keep_checkpoints(files: list[str]):
    values = merged(files)
    assert values["mode"] == "daemonset"
    preset = values["presets"]["logsCollection"]
    assert preset["enabled"] is True
    assert preset["storeCheckpoints"] is True
    # chart: runAsUser 0 for storeCheckpoints only if securityContext is empty
    assert not values.get("securityContext"), (
        "a securityContext makes the chart run the agent as the image's non-root user"
    )
    assert not values.get("podSecurityContext", {}).get("runAsNonRoot"), (
        "runAsNonRoot forbids the uid 0 the agent needs"
    )
    env = env_of(values)
    # queue and file offsets on the hostPath the preset mounts (/var/lib/otelcol), not in the container
    assert env["COLLECTOR_STORAGE_DIR"]["value"].startswith("/var/lib/otelcol/")
    assert env["FILELOG_PODS_DIR"]["value"] == "/var/log/pods"  # the preset's read-only mount
    assert values["ports"]["otlp"]["hostPort"] == 4317


@pytest.mark.parametrize("files", [r[0] for r in RELEASES if r[1] == "agent"], ids="+".join)
def test_agent_has_k8sattributes_with_its_rbac_and_node_filter(files: list[str]):
    values = merged(files)
    assert values["presets"]["kubernetesAttributes"]["enabled"] is True  # ClusterRole + K8S_NODE_NAME
    assert COLLECTOR / "config.agent.k8s.yaml" in config_files(values)
    processor = yaml.safe_load((COLLECTOR / "config.agent.k8s.yaml").read_text())["processors"]["k8sattributes"]
    assert processor["filter"]["node_from_env_var"] == "K8S_NODE_NAME"


def test_agents_spread_over_the_gateway_pods():
    agent, gateway = load("values-agent.yaml"), load("values-gateway.yaml")
    target = env_of(agent)["GATEWAY_OTLP_ENDPOINT"]["value"]
    host = f"{gateway['fullnameOverride']}.observability.svc.cluster.local"
    assert target == f"dns:///{host}:{gateway['ports']['otlp']['servicePort']}"
    exporter = yaml.safe_load((COLLECTOR / "config.agent.yaml").read_text())["exporters"]["otlp_grpc/gateway"]
    assert exporter["balancer_name"] == "round_robin"
    assert gateway["service"]["clusterIP"] == "None", "a ClusterIP Service would hide the pods behind one address"


# -- gateway ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("files", [r[0] for r in RELEASES if r[1] == "gateway"], ids="+".join)
def test_gateway_is_a_statefulset_with_a_queue_volume_per_replica(files: list[str]):
    values = merged(files)
    assert values["mode"] == "statefulset"
    assert values["replicaCount"] >= 2
    claims = {c["metadata"]["name"] for c in values["statefulset"]["volumeClaimTemplates"]}
    mounts = {m["name"]: m["mountPath"] for m in values["extraVolumeMounts"]}
    storage_dir = env_of(values)["COLLECTOR_STORAGE_DIR"]["value"]
    assert [name for name, path in mounts.items() if path == storage_dir] == [next(iter(claims))]
    assert not any(v["name"] in claims for v in values["extraVolumes"]), "a shared volume would be one queue for all"
    # the volume is writable by the non-root collector
    assert values["podSecurityContext"]["fsGroup"] == values["podSecurityContext"]["runAsUser"]


@pytest.mark.parametrize("files", [r[0] for r in RELEASES if r[1] == "gateway"], ids="+".join)
def test_gateway_elasticsearch_ca_and_credentials_come_from_secrets(files: list[str]):
    values = merged(files)
    env = env_of(values)
    assert env["ELASTICSEARCH_ENDPOINT"]["value"].startswith("https://")
    assert "secretKeyRef" in env["ELASTICSEARCH_PASSWORD"]["valueFrom"]
    ca_dir, ca_file = env["ELASTICSEARCH_CA_FILE"]["value"].rsplit("/", 1)
    mount = next(m for m in values["extraVolumeMounts"] if m["mountPath"] == ca_dir)
    volume = next(v for v in values["extraVolumes"] if v["name"] == mount["name"])
    assert ca_file in {item["path"] for item in volume["secret"]["items"]}
    exporter = yaml.safe_load((COLLECTOR / "config.elasticsearch.yaml").read_text())["exporters"]["elasticsearch"]
    assert exporter["tls"]["ca_file"] == "${env:ELASTICSEARCH_CA_FILE:-}"


def test_kafka_values_only_add_to_the_base_values():
    for role, base_name in BASE_VALUES.items():
        base, kafka = load(base_name), load(f"values-{role}-kafka.yaml")
        args = kafka["command"]["extraArgs"]
        assert args[: len(base["command"]["extraArgs"])] == base["command"]["extraArgs"]
        assert env_of(kafka).items() >= env_of(base).items()
        assert "KAFKA_BROKERS" in env_of(kafka)


# -- the files the pods run, through the real collector ----------------------------------------------


def built_component_types() -> dict[str, set[str]]:
    """Component types of the otelcol-ml build, from collector/builder-config.yaml."""
    builder = yaml.safe_load((COLLECTOR / "builder-config.yaml").read_text())
    special = {
        "memorylimiter": "memory_limiter",
        "filestorage": "file_storage",
        "healthcheck": "health_check",
        "statuslog": "status_log",
        "shutdownguard": "shutdown_guard",
    }
    types: dict[str, set[str]] = {}
    for section, suffix in (
        ("receivers", "receiver"),
        ("processors", "processor"),
        ("exporters", "exporter"),
        ("extensions", "extension"),
    ):
        for module in builder.get(section, []):
            name = module["gomod"].split()[0].rstrip("/").rsplit("/", 1)[-1].removesuffix(suffix)
            types.setdefault(section, set()).add(special.get(name, name))
    types["exporters"] |= {"otlp_grpc", "otlp_http"}  # otlpexporter/otlphttpexporter's type names
    return types


@pytest.mark.parametrize("release", RELEASES, ids=release_id)
def test_values_only_use_components_of_the_otelcol_ml_build(release: tuple[list[str], str]):
    used: dict[str, set[str]] = {"receivers": set(), "processors": set(), "exporters": set(), "extensions": set()}
    for path in config_files(merged(release[0])):
        config = yaml.safe_load(path.read_text())
        for section in used:
            used[section] |= {name.split("/")[0] for name in config.get(section) or {}}
    built = built_component_types()
    missing = {s: sorted(used[s] - built.get(s, set())) for s in used if used[s] - built.get(s, set())}
    assert not missing, f"not in collector/builder-config.yaml: {missing}"


@pytest.mark.integration
@pytest.mark.parametrize("release", RELEASES, ids=release_id)
def test_the_pods_config_is_valid_for_otelcol_ml(release: tuple[list[str], str], tmp_path: Path):
    from harness.collector import build_collector

    values = merged(release[0])
    env = {e["name"]: e.get("value", "secret") for e in values["extraEnvs"]} | {"K8S_NODE_NAME": "node-1"}
    args = [str(build_collector()), "validate"]
    for path in config_files(values):
        args += ["--config", str(path)]
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
