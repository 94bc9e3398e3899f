"""The http/json exporters read OTEL_EXPORTER_OTLP_* like the SDK's: headers, CA and client certificates."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from opentelemetry.util.re import parse_env_headers

from harness.tls import TLSFiles, make_tls_files
from otel_ml_logging.export.otlp_json import client_from_env, parse_headers

HEADER_CASES = [
    "Authorization=Bearer%20abc",
    "authorization=Bearer abc",
    "X-Tenant=a%2Cb,x-other=1",
    "Api-Key=k=v==, second = two ",
    "%41uth=x%3Dy",
    "",
    "single=",
]


@pytest.mark.parametrize("raw", HEADER_CASES)
def test_headers_parse_as_the_sdk_does(raw: str) -> None:
    assert parse_headers(raw) == dict(parse_env_headers(raw, liberal=True))


def test_bearer_token_is_percent_decoded() -> None:
    assert parse_headers("Authorization=Bearer%20s3cr%2Ct") == {"authorization": "Bearer s3cr,t"}


def test_a_malformed_entry_is_ignored_without_logging_its_text(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        headers = parse_headers("x-ok=1,Authorization: Bearer TOPSECRET", "OTEL_EXPORTER_OTLP_LOGS_HEADERS")
    assert headers == {"x-ok": "1"}
    assert "OTEL_EXPORTER_OTLP_LOGS_HEADERS: entry 2" in caplog.text
    assert "TOPSECRET" not in caplog.text


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return make_tls_files(tmp_path_factory.mktemp("pki"))


def test_signal_variables_win_over_generic_ones(
    pki: TLSFiles, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = str(tmp_path / "missing.pem")
    environ = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "https://127.0.0.1:4318",
        "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20generic",
        "OTEL_EXPORTER_OTLP_LOGS_HEADERS": "authorization=Bearer%20logs",
        "OTEL_EXPORTER_OTLP_CERTIFICATE": missing,
        "OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE": str(pki.ca_cert),
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": missing,
        "OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE": str(pki.client_cert),
        "OTEL_EXPORTER_OTLP_CLIENT_KEY": missing,
        "OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY": str(pki.client_key),
    }
    with caplog.at_level(logging.WARNING):
        client = client_from_env("LOGS", "/v1/logs", environ)
    assert caplog.text == ""  # the generic (missing) files were not used
    assert client._headers["authorization"] == "Bearer logs"
    with caplog.at_level(logging.WARNING):
        client_from_env("TRACES", "/v1/traces", environ)
    assert "missing.pem" in caplog.text  # TRACES falls back to the generic variables


def test_an_unusable_client_certificate_warns_and_does_not_stop_start_up(
    pki: TLSFiles, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    environ = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "https://127.0.0.1:4318",
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": str(pki.client_cert),
        "OTEL_EXPORTER_OTLP_CLIENT_KEY": str(pki.server_key),  # not the certificate's key
    }
    with caplog.at_level(logging.WARNING):
        client_from_env("LOGS", "/v1/logs", environ)
    assert "client certificate" in caplog.text
    assert str(pki.client_cert) in caplog.text
