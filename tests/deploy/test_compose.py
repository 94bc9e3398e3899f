"""deploy/compose: valid against the Compose Specification schema and following STYLE.md (Deployment)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from harness.elasticsearch import ES_VERSION
from tests.deploy.conftest import COMPOSE_DIR, REPO_ROOT, SCHEMAS, interpolate, load_compose, read_env_file

ONE_SHOTS = {"setup", "traffic"}
GO_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")


def compose_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text())
    checker = jsonschema.FormatChecker()
    checker.checks("duration")(lambda value: not isinstance(value, str) or bool(GO_DURATION.match(value)))
    return jsonschema.Draft202012Validator(schema, format_checker=checker)


def test_compose_file_is_valid_against_the_compose_spec_schema():
    _, compose, _ = load_compose()
    errors = sorted(compose_validator().iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_schema_check_rejects_an_invalid_compose_file():
    _, compose, _ = load_compose()
    compose["services"]["collector"]["depends_on"]["setup"]["condition"] = "service_ready"
    compose["services"]["kibana"]["healthcheck"]["interval"] = "ten seconds"
    errors = list(compose_validator().iter_errors(compose))
    assert len(errors) >= 2


def test_every_variable_is_defined_in_env_file():
    _, _, missing = load_compose()
    assert not missing, f"variables used in compose.yaml but not set in .env: {sorted(missing)}"


ES_NODE_POM = REPO_ROOT / "tools" / "elasticsearch" / "pom.xml"
GRAYLOG_HARNESS_POM = REPO_ROOT / "tools" / "graylog-gelf-harness" / "pom.xml"


def test_images_are_pinned_in_env_file():
    env = read_env_file(COMPOSE_DIR / ".env")
    images = {k: v for k, v in env.items() if k.endswith("_IMAGE")}
    assert images
    for key, image in images.items():
        tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
        assert tag not in ("", "latest"), f"{key}={image} is not pinned to a version"
    # the demo runs the Elasticsearch version the tests run (harness/elasticsearch.py), Kibana the same
    assert env["ELASTICSEARCH_IMAGE"].rsplit(":", 1)[1] == ES_VERSION
    assert f"<es.version>{ES_VERSION}</es.version>" in ES_NODE_POM.read_text()  # the jars the test node runs
    assert env["KIBANA_IMAGE"].rsplit(":", 1)[1] == ES_VERSION
    # Graylog: the release whose GELF codec the tests run (tools/graylog-gelf-harness/pom.xml), 6.3+
    codec = re.search(r"<graylog.version>([^<]+)</graylog.version>", GRAYLOG_HARNESS_POM.read_text())
    assert codec
    assert env["GRAYLOG_IMAGE"].rsplit(":", 1)[1] == codec.group(1)
    assert tuple(int(part) for part in codec.group(1).split(".")[:2]) >= (6, 3)


def test_images_and_ports_come_from_env_file():
    raw, _, _ = load_compose()
    for name, service in raw["services"].items():
        assert str(service["image"]).startswith("${"), f"{name}: image must come from .env"
        for port in service.get("ports", []):
            assert str(port).startswith("${"), f"{name}: host port {port} not in .env"


def test_long_running_services_have_healthchecks_and_every_service_a_memory_limit():
    _, compose, _ = load_compose()
    for name, service in compose["services"].items():
        assert service.get("mem_limit") or service.get("deploy", {}).get("resources", {}).get("limits"), name
        if name not in ONE_SHOTS:
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
            assert not service["healthcheck"].get("disable"), name


def test_dependencies_wait_for_health_or_completion():
    _, compose, _ = load_compose()
    for name, service in compose["services"].items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on must use the long form with conditions"
        for dependency, spec in depends_on.items():
            expected = "service_completed_successfully" if dependency in ONE_SHOTS else "service_healthy"
            assert spec.get("condition") == expected, f"{name} -> {dependency}: {spec}"
    order = compose["services"]
    assert "setup" in order["collector"]["depends_on"], "templates must be installed before data arrives"
    assert "model-service" in order["traffic"]["depends_on"]


def test_collector_uses_the_split_config_files_merged_with_repeated_config():
    _, compose, _ = load_compose()
    collector = compose["services"]["collector"]
    configs = [arg.split("=", 1)[1] for arg in collector["command"] if arg.startswith("--config=")]
    assert len(configs) >= 3
    mounts = {v.split(":")[1]: v.split(":")[0] for v in collector["volumes"] if v.startswith("../")}
    for config in configs:
        assert config in mounts, f"{config} is not mounted from the repository"
    env = collector["environment"]
    for key in (
        "ELASTICSEARCH_ENDPOINT",
        "GELF_ENDPOINT",
        "OTLP_GRPC_ENDPOINT",
        "HEALTH_CHECK_ENDPOINT",
        "COLLECTOR_STORAGE_DIR",
    ):
        assert env.get(key), key
    assert env["GELF_ENDPOINT"].startswith("udp://graylog:")


def test_collector_config_files_referenced_from_compose_exist():
    _, compose, _ = load_compose()
    missing = []
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                path = (COMPOSE_DIR / source).resolve()
                if not path.is_file():
                    missing.append(f"{name}: {path.relative_to(REPO_ROOT)}")
    assert not missing, f"files mounted by compose.yaml do not exist: {missing}"


def test_build_contexts_and_dockerfiles_exist():
    _, compose, _ = load_compose()
    for name, service in compose["services"].items():
        if "build" not in service:
            continue
        context = (COMPOSE_DIR / service["build"]["context"]).resolve()
        dockerfile = context / service["build"].get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: {dockerfile} missing"


def test_model_service_environment():
    _, compose, _ = load_compose()
    env = compose["services"]["model-service"]["environment"]
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://collector:4317"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc"
    assert env["OTEL_SERVICE_NAME"]
    assert "service.version=" in env["OTEL_RESOURCE_ATTRIBUTES"]
    assert env["REST_CONFIG"]


def test_traffic_generator_sends_forty_predictions_with_five_errors():
    _, compose, _ = load_compose()
    command = compose["services"]["traffic"]["command"]
    args = dict(zip(command[3::2], command[4::2], strict=False))
    count, every = int(args["--count"]), int(args["--error-every"])
    assert (count, count // every) == (40, 5)


@pytest.mark.parametrize(
    "dockerfile",
    ["collector/Dockerfile", "deploy/model-service/Dockerfile", "deploy/setup/Dockerfile"],
)
def test_dockerfiles_are_labelled_and_run_as_non_root(dockerfile: str):
    text = (REPO_ROOT / dockerfile).read_text()
    final_stage = text.rsplit("\nFROM ", 1)[-1]
    assert "org.opencontainers.image.source" in final_stage
    users = re.findall(r"^USER\s+(\S+)", final_stage, flags=re.MULTILINE)
    assert users, f"{dockerfile}: no USER in the final stage"
    assert not users[-1].startswith(("root", "0")), f"{dockerfile}: final USER {users}"


def test_collector_dockerfile_builds_with_ocb_and_ships_distroless():
    text = (REPO_ROOT / "collector" / "Dockerfile").read_text()
    assert "go.opentelemetry.io/collector/cmd/builder@" in text
    assert "--config=builder-config.yaml" in text
    assert "distroless/static" in text
    assert ":nonroot" in text
    # ocb's version is derived from the otlpreceiver pin of builder-config.yaml (see the Dockerfile).
    pattern = re.search(r"sed -n 's#\.\*(?P<module>[^ ]+) ", text)
    assert pattern, "the Dockerfile must derive the ocb version from builder-config.yaml"
    builder = yaml.safe_load((REPO_ROOT / "collector" / "builder-config.yaml").read_text())
    modules = {
        m["gomod"].split()[0]
        for section in ("receivers", "processors", "exporters", "extensions")
        for m in builder.get(section, [])
    }
    assert pattern.group("module") in modules


def test_model_service_dockerfile_starts_with_zero_code_instrumentation():
    text = (REPO_ROOT / "deploy" / "model-service" / "Dockerfile").read_text()
    assert '"opentelemetry-instrument", "uvicorn", "rest_model_service.main:app"' in text
    assert Path(REPO_ROOT / "examples" / "insurance_charges_model" / "rest_config.yaml").is_file()


# --- compose.kafka.yaml: the two-tier stack with a Kafka buffer, as an override file ---------------


def merge_compose(base: Any, override: Any, key: str = "") -> Any:
    """``docker compose -f base -f override`` for the keys used here (mappings merged, command replaced,
    volumes merged by mount target)."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {k: merge_compose(base.get(k), v, k) if k in base else v for k, v in {**base, **override}.items()}
    if key == "volumes" and isinstance(base, list) and isinstance(override, list):
        by_target = {v.split(":")[1]: v for v in base} | {v.split(":")[1]: v for v in override}
        return list(by_target.values())
    return override


def load_kafka_stack() -> dict[str, Any]:
    _, compose, _ = load_compose()
    missing: set[str] = set()
    overlay = interpolate(
        yaml.safe_load((COMPOSE_DIR / "compose.kafka.yaml").read_text()), read_env_file(COMPOSE_DIR / ".env"), missing
    )
    assert not missing, f"variables of compose.kafka.yaml not set in .env: {sorted(missing)}"
    return dict(merge_compose(compose, overlay))


def test_kafka_stack_is_valid_against_the_compose_spec_schema():
    stack = load_kafka_stack()
    errors = sorted(compose_validator().iter_errors(stack), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


@pytest.mark.parametrize("service", ["agent", "collector"])
def test_kafka_stack_runs_the_repository_config_files_unchanged(service: str):
    definition = load_kafka_stack()["services"][service]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in definition["volumes"] if v.startswith("../")}
    for arg in definition["command"]:
        path = arg.split("=", 1)[1]
        name = path.rsplit("/", 1)[1]
        assert mounts[path] == f"../../collector/{name}", f"{service}: {path} is not collector/{name}"
        assert (REPO_ROOT / "collector" / name).is_file()


def test_kafka_stack_routes_the_model_service_through_agent_and_kafka():
    services = load_kafka_stack()["services"]
    assert services["model-service"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://agent:4317"
    assert services["agent"]["environment"]["KAFKA_BROKERS"] == services["collector"]["environment"]["KAFKA_BROKERS"]
    assert "--config=/etc/otelcol-ml/config.kafka.gateway.yaml" in services["collector"]["command"]
    for name in ("agent", "collector"):
        assert services[name]["depends_on"]["kafka"]["condition"] == "service_healthy"
