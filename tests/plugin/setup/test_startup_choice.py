from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from otel_ml_logging.setup.startup_choice import ambiguity_warning, startup_choices

OURS_DISTRO = EntryPoint("otel_ml_logging", "otel_ml_logging.setup.distro:MLLoggingDistro", "opentelemetry_distro")
THEIR_DISTRO = EntryPoint("distro", "opentelemetry.distro:OpenTelemetryDistro", "opentelemetry_distro")
OURS_CONF = EntryPoint("otel_ml_logging", "otel_ml_logging.setup.distro:MLLoggingConfigurator", "x")
THEIR_CONF = EntryPoint("configurator", "opentelemetry.distro:OpenTelemetryConfigurator", "x")


def finder(distros, configurators):
    return lambda group: distros if group == "opentelemetry_distro" else configurators


@pytest.mark.parametrize(
    ("distros", "configurators", "environ", "runs", "warns"),
    [
        ([OURS_DISTRO], [OURS_CONF], {}, ("otel_ml_logging", "otel_ml_logging"), False),
        ([OURS_DISTRO, THEIR_DISTRO], [OURS_CONF, THEIR_CONF], {}, ("otel_ml_logging", "otel_ml_logging"), True),
        ([THEIR_DISTRO, OURS_DISTRO], [THEIR_CONF, OURS_CONF], {}, ("distro", "configurator"), True),
        (
            [THEIR_DISTRO, OURS_DISTRO],
            [THEIR_CONF, OURS_CONF],
            {"OTEL_PYTHON_DISTRO": "otel_ml_logging", "OTEL_PYTHON_CONFIGURATOR": "otel_ml_logging"},
            ("otel_ml_logging", "otel_ml_logging"),
            False,
        ),
        ([THEIR_DISTRO, OURS_DISTRO], [THEIR_CONF, OURS_CONF], {"OTEL_PYTHON_DISTRO": "otel_ml_logging"}, None, True),
        ([OURS_DISTRO], [OURS_CONF], {"OTEL_PYTHON_DISTRO": "missing"}, (None, "otel_ml_logging"), False),
    ],
    ids=["only-ours", "ours-first", "theirs-first", "both-named", "half-named", "named-missing"],
)
def test_choice_mirrors_opentelemetry_instrument(distros, configurators, environ, runs, warns):
    choices = startup_choices(environ, finder(distros, configurators))
    if runs is not None:
        assert tuple(choice.chosen for choice in choices) == runs
    message = ambiguity_warning(choices)
    assert (message is not None) == warns
    if message:
        assert "OTEL_PYTHON_DISTRO=otel_ml_logging and OTEL_PYTHON_CONFIGURATOR=otel_ml_logging" in message
        chosen = " and ".join(f"{c.kind} {c.chosen!r}" for c in choices)
        assert f"This process runs {chosen}." in message
