"""Fixtures of the security suite: a generated PKI and the collector binary."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.collector import build_collector
from harness.tls import TLSFiles, make_tls_files


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """CA, server (localhost/127.0.0.1) and client certificates, generated for this test session."""
    return make_tls_files(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def collector_binary() -> Path:
    """The built ``otelcol-ml`` (a no-op when it is up to date)."""
    return build_collector()
