"""Which distro and configurator ``opentelemetry-instrument`` runs when several are installed.

``opentelemetry-instrument`` loads the distro named by ``OTEL_PYTHON_DISTRO``, else the first
``opentelemetry_distro`` entry point it finds, and the configurator named by
``OTEL_PYTHON_CONFIGURATOR``, else the first ``opentelemetry_configurator`` entry point. "First"
follows the order in which the installed distributions are found, which nothing defines: with
``opentelemetry-distro`` installed next to this package, which set-up runs may change from one
installation to the next. This module mirrors that choice and says once, as a warning, which
distro and configurator run and how to choose.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from otel_ml_logging.pipeline.log_handlers import opentelemetry_handlers_only

_logger = logging.getLogger(__name__)

OURS = "otel_ml_logging"
GROUPS = (
    ("distro", "opentelemetry_distro", "OTEL_PYTHON_DISTRO"),
    ("configurator", "opentelemetry_configurator", "OTEL_PYTHON_CONFIGURATOR"),
)
AUTO_INSTRUMENTATION_MODULE = "opentelemetry.instrumentation.auto_instrumentation"

_warned = threading.Event()


@dataclass(frozen=True)
class Choice:
    """What ``opentelemetry-instrument`` picks in one entry-point group."""

    kind: str  # "distro" or "configurator"
    variable: str  # the variable that names the choice
    installed: tuple[str, ...]  # entry point names in the order they are found, with their package
    chosen: str | None  # the entry point name that runs (None: the variable names nothing installed)
    pinned: bool  # chosen by the variable

    @property
    def ambiguous(self) -> bool:
        """Several candidates and no variable: the first one found runs."""
        return len(self.installed) > 1 and not self.pinned


def _label(entry_point: EntryPoint) -> str:
    dist = getattr(entry_point, "dist", None)
    package = getattr(dist, "name", None)
    return f"{entry_point.name} ({package})" if package else entry_point.name


def startup_choices(
    environ: Mapping[str, str] = os.environ,
    find: Callable[[str], Iterable[EntryPoint]] = lambda group: entry_points(group=group),
) -> tuple[Choice, ...]:
    """Mirror ``opentelemetry-instrument``'s choice of distro and configurator."""
    choices = []
    for kind, group, variable in GROUPS:
        found = list(find(group))
        wanted = environ.get(variable) or None
        names = [entry_point.name for entry_point in found]
        chosen = wanted if wanted in names else None if wanted else (names[0] if names else None)
        choices.append(Choice(kind, variable, tuple(_label(e) for e in found), chosen, wanted is not None))
    return tuple(choices)


def ambiguity_warning(choices: Iterable[Choice]) -> str | None:
    """Return the warning for an undefined start-up, or None when each choice is unique or named."""
    choices = tuple(choices)
    ambiguous = [choice for choice in choices if choice.ambiguous]
    if not ambiguous:
        return None
    found = "; ".join(f"{choice.kind}s {', '.join(choice.installed)}" for choice in ambiguous)
    running = " and ".join(f"{choice.kind} {choice.chosen!r}" for choice in choices)
    variables = " and ".join(f"{choice.variable}={OURS}" for choice in choices)
    return (
        f"otel_ml_logging: several OpenTelemetry set-ups are installed ({found}); opentelemetry-instrument "
        f"runs the first one it finds, which depends on how the packages were installed. This process runs "
        f"{running}. Set {variables} to run this package's set-up (or name the other ones to run those)."
    )


def warn_if_ambiguous(environ: Mapping[str, str] = os.environ) -> str | None:
    """Log :func:`ambiguity_warning` once per process under ``opentelemetry-instrument``; return it."""
    if _warned.is_set() or AUTO_INSTRUMENTATION_MODULE not in sys.modules:
        return None
    _warned.set()
    try:
        message = ambiguity_warning(startup_choices(environ))
    except Exception:  # a broken entry point of another package must not stop the service
        _logger.debug("otel_ml_logging: could not list the installed distros", exc_info=True)
        return None
    if message is not None:
        _say(message)
    return message


def _say(message: str) -> None:
    """Log ``message``; also print it to stderr when only OpenTelemetry's logging bridge would get it."""
    _logger.warning("%s", message)  # no handler at all: logging's last resort prints it to stderr
    shown = _logger.isEnabledFor(logging.WARNING) and not _logger.disabled
    if _logger.hasHandlers() and (not shown or opentelemetry_handlers_only(_logger)):
        print(f"WARNING {_logger.name}: {message}", file=sys.stderr)
