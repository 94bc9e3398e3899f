"""GELF exporter settings: explicit argument → OTEL_EXPORTER_GELF_* → default; bad values named."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from otel_ml_logging.export.gelf import GelfEndpoint, GelfExporterConfig, GelfMapping


@pytest.mark.parametrize(
    ("setting", "explicit", "variable", "env_value", "expected_env", "default"),
    [
        ("endpoint", "tcp://a:1", "ENDPOINT", "http://b:2", "http://b:2/gelf", "udp://localhost:12201"),
        ("compression", "zlib", "COMPRESSION", "NONE", "none", "gzip"),
        ("chunk_size", 8192, "CHUNK_SIZE", "512", 512, 1420),
        ("compression_threshold", 0, "COMPRESSION_THRESHOLD", "100", 100, 1420),
        ("timeout", 2.5, "TIMEOUT", "1500", 1.5, 10.0),
        ("queue_size", 7, "QUEUE_SIZE", "99", 99, 2048),
        ("certificate_file", "/x.pem", "CERTIFICATE", "/y.pem", "/y.pem", None),
        (
            "headers",
            {"A": "1"},
            "HEADERS",
            "X-Team=ml,Authorization=Basic%20eA==",
            {"X-Team": "ml", "Authorization": "Basic eA=="},
            {},
        ),
    ],
)
def test_precedence(
    setting: str, explicit: Any, variable: str, env_value: str, expected_env: Any, default: Any
) -> None:
    environ = {f"OTEL_EXPORTER_GELF_{variable}": env_value}

    def value(config: GelfExporterConfig) -> Any:
        got = getattr(config, setting)
        return got.url if isinstance(got, GelfEndpoint) else got

    explicit_expected = GelfEndpoint.parse(explicit).url if setting == "endpoint" else explicit
    assert value(GelfExporterConfig.resolve(environ=environ, **{setting: explicit})) == explicit_expected
    assert value(GelfExporterConfig.resolve(environ=environ)) == expected_env
    assert value(GelfExporterConfig.resolve(environ={})) == default


def test_mapping_from_environment() -> None:
    config = GelfExporterConfig.resolve(
        environ={
            "OTEL_EXPORTER_GELF_HOST_ATTRIBUTES": "k8s.pod.name, host.name",
            "OTEL_EXPORTER_GELF_INCLUDE_ATTRIBUTES": "ml.*,exception.type",
            "OTEL_EXPORTER_GELF_EXCLUDE_ATTRIBUTES": "ml.prediction.input.*",
            "OTEL_EXPORTER_GELF_INCLUDE_RESOURCE_ATTRIBUTES": "false",
            "OTEL_EXPORTER_GELF_MAX_ATTRIBUTE_VALUE_LENGTH": "1024",
        }
    )
    assert config.mapping == GelfMapping(
        host_attributes=("k8s.pod.name", "host.name"),
        include_attributes=("ml.*", "exception.type"),
        exclude_attributes=("ml.prediction.input.*",),
        include_resource_attributes=False,
        max_attribute_value_length=1024,
    )
    explicit = GelfMapping(max_attribute_value_length=5)
    assert (
        GelfExporterConfig.resolve(
            mapping=explicit, environ={"OTEL_EXPORTER_GELF_MAX_ATTRIBUTE_VALUE_LENGTH": "9"}
        ).mapping
        == explicit
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ENDPOINT", "ftp://graylog:21"),
        ("ENDPOINT", "udp://graylog"),
        ("ENDPOINT", "tcp://graylog:12201/path"),
        ("COMPRESSION", "lz4"),
        ("CHUNK_SIZE", "64"),
        ("CHUNK_SIZE", "9000"),
        ("CHUNK_SIZE", "big"),
        ("TIMEOUT", "-1"),
        ("QUEUE_SIZE", "0"),
        ("HEADERS", "novalue"),
        ("INCLUDE_RESOURCE_ATTRIBUTES", "maybe"),
        ("INCLUDE_ATTRIBUTES", "ml.*.name"),
        ("EXCLUDE_ATTRIBUTES", "*"),
        ("MAX_ATTRIBUTE_VALUE_LENGTH", "-5"),
    ],
)
def test_invalid_variable_warns_once_and_falls_back(
    variable: str, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"OTEL_EXPORTER_GELF_{variable}"
    with caplog.at_level(logging.WARNING, logger="otel_ml_logging.export.gelf"):
        config = GelfExporterConfig.resolve(environ={name: value})
    assert config == GelfExporterConfig.resolve(environ={})
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1, warnings
    assert name in warnings[0]
    assert repr(value) in warnings[0]


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("endpoint", "ftp://graylog:21", "endpoint: 'ftp://graylog:21': unsupported scheme 'ftp'"),
        ("endpoint", "udp://graylog", "endpoint: 'udp://graylog' must be udp://host:port"),
        ("compression", "lz4", "compression: 'lz4' is not one of gzip, zlib, none"),
        ("chunk_size", 64, "chunk_size: 64 is out of range [128, 8192]"),
        ("compression_threshold", -1, "compression_threshold: must not be negative"),
        ("timeout", 0, "timeout: must be a positive number of seconds"),
        ("queue_size", 0, "queue_size: must be at least 1"),
    ],
)
def test_invalid_argument_raises_naming_it(argument: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        GelfExporterConfig.resolve(environ={}, **{argument: value})


def test_invalid_mapping_raises_naming_the_setting() -> None:
    with pytest.raises(ValueError, match=re.escape("include_attributes: 'ml.*.x': `*` is only allowed at the end")):
        GelfMapping(include_attributes=("ml.*.x",))
    with pytest.raises(ValueError, match="max_attribute_value_length"):
        GelfMapping(max_attribute_value_length=-1)


@pytest.mark.parametrize(
    ("raw", "transport", "host", "port", "url"),
    [
        ("udp://graylog:12201", "udp", "graylog", 12201, "udp://graylog:12201"),
        ("TLS://10.0.0.5:12201", "tls", "10.0.0.5", 12201, "tls://10.0.0.5:12201"),
        ("http://graylog:12202", "http", "graylog", 12202, "http://graylog:12202/gelf"),
        ("https://graylog", "https", "graylog", 443, "https://graylog/gelf"),
        ("https://graylog:8443/api/gelf?x=1", "https", "graylog", 8443, "https://graylog:8443/api/gelf?x=1"),
        ("tcp://[::1]:12201", "tcp", "::1", 12201, "tcp://[::1]:12201"),
    ],
)
def test_endpoint_parsing(raw: str, transport: str, host: str, port: int, url: str) -> None:
    assert GelfEndpoint.parse(raw) == GelfEndpoint(transport, host, port, url)  # type: ignore[arg-type]
