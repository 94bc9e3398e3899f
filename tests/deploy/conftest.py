"""Shared paths and helpers of the deployment tests."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
COMPOSE_DIR = DEPLOY / "compose"
KIBANA_DIR = DEPLOY / "kibana"

# deploy/kibana is a directory of scripts, not a package; make its modules importable.
if str(KIBANA_DIR) not in sys.path:
    sys.path.insert(0, str(KIBANA_DIR))

_VARIABLE = re.compile(
    r"\$(?:\$|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}"
    r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a compose ``.env`` file (KEY=VALUE lines, # comments)."""
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path}: malformed line {line!r}"
        env[key.strip()] = value.strip()
    return env


def interpolate(value: Any, env: Mapping[str, str], missing: set[str]) -> Any:
    """Apply compose variable interpolation to every string in ``value``; collect unset names."""
    if isinstance(value, dict):
        return {interpolate(k, env, missing): interpolate(v, env, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, missing) for v in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("braced") or match.group("plain")
        op, arg = match.group("op"), match.group("arg") or ""
        if name in env and (env[name] != "" or op not in (":-", ":?")):
            return env[name]
        if op in (":-", "-"):
            return arg
        missing.add(name)
        return ""

    return _VARIABLE.sub(replace, value)


def load_compose() -> tuple[dict[str, Any], dict[str, Any], set[str]]:
    """Return (raw compose file, compose file interpolated with .env, variables .env lacks)."""
    raw = yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text())
    missing: set[str] = set()
    resolved = interpolate(raw, read_env_file(COMPOSE_DIR / ".env"), missing)
    return raw, resolved, missing
