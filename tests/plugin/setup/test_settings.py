from __future__ import annotations

import logging

import pytest

from otel_ml_logging.setup.settings import Settings


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, {"traces": ("otlp_proto_grpc",), "logs": ("otlp_proto_grpc",), "metrics": ("otlp_proto_grpc",)}),
        ({"OTEL_LOGS_EXPORTER": "console"}, {"logs": ("console",)}),
        ({"OTEL_PYTHON_ID_GENERATOR": "random"}, {"id_generator": "random"}),
        ({}, {"id_generator": "otel_ml_logging"}),
        (
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
            {
                "traces": ("otlp_json",),
                "logs": ("otlp_json",),
                "metrics": ("otlp_proto_http",),
                "json_fast_path": True,
            },
        ),
        (
            {"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "http/json", "OTEL_LOGS_EXPORTER": "otlp,console"},
            {"logs": ("otlp_json", "console"), "traces": ("otlp_proto_grpc",), "json_fast_path": False},
        ),
        ({"OTEL_TRACES_EXPORTER": "none"}, {"traces": ()}),
        ({"OTEL_EXPERIMENTAL_RESOURCE_DETECTORS": "otel"}, {"detect_resource": False}),
        ({}, {"detect_resource": True}),
    ],
)
def test_env_defaults_and_http_json_routing(given, expected):
    environ = dict(given)
    settings = Settings.resolve(environ=environ)
    for name, value in expected.items():
        actual = settings.exporters[name] if name in ("traces", "metrics", "logs") else getattr(settings, name)
        assert actual == value, name
    assert environ == given  # read, never written


@pytest.mark.parametrize(
    ("arguments", "environ", "expected"),
    [
        ({"protocol": "http/protobuf"}, {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, ("otlp_proto_http",) * 3),
        ({}, {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, ("otlp_proto_http",) * 3),
        ({"exporter": "console"}, {"OTEL_TRACES_EXPORTER": "otlp"}, ("console",) * 3),
        ({"exporter": "none"}, {}, ((), (), ())),
        (
            {},
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"},
            ("otlp_proto_http", "otlp_proto_grpc", "otlp_proto_grpc"),
        ),
    ],
)
def test_explicit_argument_wins_over_the_specific_then_the_generic_variable(arguments, environ, expected):
    settings = Settings.resolve(environ=environ, **arguments)
    as_tuple = tuple(
        settings.exporters[s] if arguments.get("exporter") == "none" else settings.exporters[s][0]
        for s in ("traces", "metrics", "logs")
    )
    assert as_tuple == expected


def test_service_name_endpoint_and_queue_size_are_resolved_into_the_settings():
    settings = Settings.resolve(
        service_name="svc",
        endpoint="http://collector:4318/",
        protocol="http/json",
        resource_attributes={"deployment.environment.name": "test"},
        environ={"OTEL_ML_LOGGING_QUEUE_SIZE": "77"},
    )
    assert settings.resource_attributes == {"deployment.environment.name": "test", "service.name": "svc"}
    assert settings.endpoint_url("traces") == "http://collector:4318/v1/traces"
    assert settings.endpoint_url("metrics") == "http://collector:4318/v1/metrics"
    assert settings.engine.queue_size == 77
    assert (
        Settings.resolve(endpoint="http://collector:4317", environ={}).endpoint_url("logs") == "http://collector:4317"
    )
    assert Settings.resolve(environ={}).endpoint_url("logs") is None


def test_invalid_protocol_warns_once_and_falls_back_to_grpc(caplog):
    environ = {"OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"}
    with caplog.at_level(logging.WARNING):
        settings = Settings.resolve(environ=environ)
    assert settings.protocols == {"traces": "grpc", "metrics": "grpc", "logs": "grpc"}
    assert settings.exporters["traces"] == ("otlp_proto_grpc",)
    (warning,) = caplog.records
    assert "OTEL_EXPORTER_OTLP_PROTOCOL='carrier-pigeon' is not one of grpc" in warning.getMessage()


def test_invalid_queue_size_warns_and_keeps_the_default(caplog):
    with caplog.at_level(logging.WARNING):
        settings = Settings.resolve(environ={"OTEL_ML_LOGGING_QUEUE_SIZE": "-3"})
    assert settings.engine.queue_size == 32768
    assert "OTEL_ML_LOGGING_QUEUE_SIZE='-3' is not a positive integer" in caplog.text
