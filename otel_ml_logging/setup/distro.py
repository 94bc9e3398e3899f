"""Entry points for ``opentelemetry-instrument``: the distro and the configurator.

With this package installed, ``opentelemetry-instrument uvicorn rest_model_service.main:app``
exports traces, metrics and logs by OTLP, instruments FastAPI and bridges stdlib logging,
configured only by the standard ``OTEL_*`` environment variables.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]
from opentelemetry.sdk._configuration import _BaseConfigurator

from otel_ml_logging.serving.prefork import exit_cleanly_in_uvicorn_workers
from otel_ml_logging.setup.exit_signal import exit_on_sigterm
from otel_ml_logging.setup.providers import initialize_sdk
from otel_ml_logging.setup.settings import Settings
from otel_ml_logging.setup.startup_choice import warn_if_ambiguous


class MLLoggingDistro(BaseDistro):  # type: ignore[misc]
    """The distro of ``opentelemetry-instrument``.

    Its defaults (OTLP for all three signals, our id generator and resource detector) are resolved
    by the configurator, without writing ``os.environ``.
    """

    ran = False  # whether opentelemetry-instrument ran this distro in this process

    def _configure(self, **kwargs: Any) -> None:
        type(self).ran = True
        warn_if_ambiguous()  # another distro or configurator installed too: say which runs


class MLLoggingConfigurator(_BaseConfigurator):
    """Sets up the SDK from :meth:`Settings.resolve` (``OTEL_*`` variables and our defaults)."""

    def _configure(self, **kwargs: Any) -> None:
        warn_if_ambiguous()
        version = kwargs.get("auto_instrumentation_version")
        if initialize_sdk(Settings.resolve(), auto_instrumentation_version=version):
            exit_on_sigterm()
            exit_cleanly_in_uvicorn_workers()  # gunicorn's uvicorn workers reset SIGTERM after the fork
