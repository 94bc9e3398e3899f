"""Entry points for ``opentelemetry-instrument``: the distro and the configurator.

With this package installed, ``opentelemetry-instrument uvicorn rest_model_service.main:app``
exports traces, metrics and logs by OTLP, instruments FastAPI and bridges stdlib logging,
configured only by the standard ``OTEL_*`` environment variables.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]
from opentelemetry.sdk._configuration import _BaseConfigurator

from otel_ml_logging.setup.providers import apply_env_defaults, exit_on_sigterm, initialize_sdk
from otel_ml_logging.setup.startup_choice import warn_if_ambiguous


class MLLoggingDistro(BaseDistro):  # type: ignore[misc]
    """Defaults: OTLP for all three signals, and our resource detector."""

    def _configure(self, **kwargs: Any) -> None:
        warn_if_ambiguous()  # another distro or configurator installed too: say which runs
        apply_env_defaults()


class MLLoggingConfigurator(_BaseConfigurator):
    """The SDK's environment-driven set-up with delivery accounting and prediction-aware logging."""

    def _configure(self, **kwargs: Any) -> None:
        warn_if_ambiguous()
        if initialize_sdk(**kwargs):
            exit_on_sigterm()
