"""The collector listens on localhost unless a deployment asks for more, explicitly.

Static: every endpoint a shipped collector config listens on defaults to ``localhost`` (or
127.0.0.1); compose and the Kubernetes gateway values set ``0.0.0.0`` through the variables.
Dynamic: ``otelcol-ml`` started with the shipped files and none of those variables binds only
loopback addresses (read from ``/proc``: the sockets the process owns that are listening).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness import REPO_ROOT
from harness.processes import stop_process

COLLECTOR = REPO_ROOT / "collector"
SHIPPED = sorted(COLLECTOR.glob("config*.yaml"))
LISTEN_VARIABLES = ("OTLP_GRPC_ENDPOINT", "OTLP_HTTP_ENDPOINT", "HEALTH_CHECK_ENDPOINT")
DEFAULT = re.compile(r"^\$\{env:(?P<var>[A-Z_]+):-(?P<host>[^:}]+):(?P<port>\d+)\}$")


def listening_endpoints(config: dict[str, Any]) -> dict[str, str]:
    """``{path: endpoint}`` of every server endpoint: receiver protocols and extensions."""
    found: dict[str, str] = {}
    for name, receiver in (config.get("receivers") or {}).items():
        for protocol, settings in ((receiver or {}).get("protocols") or {}).items():
            if settings and "endpoint" in settings:
                found[f"receivers::{name}::protocols::{protocol}"] = str(settings["endpoint"])
        if receiver and "endpoint" in receiver:
            found[f"receivers::{name}"] = str(receiver["endpoint"])
    for name, extension in (config.get("extensions") or {}).items():
        if extension and "endpoint" in extension:
            found[f"extensions::{name}"] = str(extension["endpoint"])
    return found


def test_every_shipped_listener_defaults_to_localhost() -> None:
    endpoints = {
        f"{path.name}: {key}": value
        for path in SHIPPED
        for key, value in listening_endpoints(yaml.safe_load(path.read_text(encoding="utf-8"))).items()
    }
    assert len(endpoints) >= 3, endpoints  # otlp grpc + http, health_check
    for where, value in endpoints.items():
        match = DEFAULT.match(value)
        assert match, f"{where}: {value!r} is not ${{env:VAR:-localhost:PORT}}"
        assert match["host"] in ("localhost", "127.0.0.1"), f"{where} defaults to {match['host']}"


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


COMPOSE_COLLECTORS = [("compose.yaml", "collector"), ("compose.kafka.yaml", "agent")]
HELM_VALUES = sorted((REPO_ROOT / "deploy" / "kubernetes").glob("values-*.yaml"))


@pytest.mark.parametrize(("file", "service"), COMPOSE_COLLECTORS)
def test_compose_opens_the_collector_explicitly(file: str, service: str) -> None:
    environment = _load(REPO_ROOT / "deploy" / "compose" / file)["services"][service]["environment"]
    for name in LISTEN_VARIABLES:
        assert str(environment.get(name)).startswith("0.0.0.0:"), f"{file} {service}: {name}={environment.get(name)}"


@pytest.mark.parametrize("values", HELM_VALUES, ids=lambda p: p.name)
def test_helm_values_open_the_collector_explicitly(values: Path) -> None:
    env = {e["name"]: e.get("value") for e in _load(values)["extraEnvs"]}
    for name in LISTEN_VARIABLES:
        assert str(env.get(name)).startswith("0.0.0.0:"), f"{values.name}: {name}={env.get(name)}"


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _listening(pid: int) -> list[tuple[str, int]]:
    """(address hex, port) of the TCP sockets of ``pid`` in LISTEN state (IPv4 and IPv6)."""
    inodes = _socket_inodes(pid)
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:
                address, port = local.split(":")
                found.append((address, int(port, 16)))
    return found


LOOPBACK_HEX = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1


@pytest.mark.integration
def test_collector_with_shipped_defaults_binds_loopback_only(collector_binary: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in LISTEN_VARIABLES and not k.startswith("COLLECTOR_METRICS")}
    env["COLLECTOR_STORAGE_DIR"] = str(tmp_path / "storage")
    args = [
        str(collector_binary),
        "--config",
        str(COLLECTOR / "config.yaml"),
        "--config",
        str(COLLECTOR / "config.debug.yaml"),
    ]
    log = tmp_path / "otelcol.log"
    with log.open("wb") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        ports: list[tuple[str, int]] = []
        while time.monotonic() < deadline and process.poll() is None:
            ports = _listening(process.pid)
            if {4317, 4318, 13133} <= {port for _, port in ports}:
                break
            time.sleep(0.2)
        assert process.poll() is None, (
            f"otelcol-ml exited (ports in use by another collector?):\n{log.read_text()[-3000:]}"
        )
    finally:
        stop_process(process, 10)
    print(f"\nlisteners with the shipped defaults: {sorted(ports, key=lambda p: p[1])}")
    assert {4317, 4318, 13133, 8888} <= {port for _, port in ports}, ports
    assert all(address in LOOPBACK_HEX for address, _ in ports), ports
