"""A test whose real component is missing skips locally with a loud reason and fails under CI.

Under CI (``CI=true``) ``make test`` installs every component first, so a missing one is a failure:
CI never passes by quietly not running something. ``tests/conftest.py`` turns any other skip into a
failure under CI as well.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest


def on_ci() -> bool:
    """Return True under CI (``CI=true``), where missing components are failures."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(component: str, reason: str) -> NoReturn:
    """Skip the current test naming ``component`` and why, or fail it under CI."""
    message = f"{component} unavailable: {reason}"
    if on_ci():
        pytest.fail(message + " (CI=true: missing components are failures)", pytrace=False)
    pytest.skip(message)


def require_executable(name: str, hint: str) -> str:
    """Return the path of executable ``name``, or skip/fail naming it and ``hint`` (how to install it)."""
    path = shutil.which(name)
    if path is None:
        unavailable(name, f"`{name}` is not on PATH ({hint})")
    return path
