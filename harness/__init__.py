"""Development harness: launchers for the real components that tests, ``bench/`` and the demo run.

Not part of the shipped package. Modules by role: :mod:`harness.collector` (our ``otelcol-ml``),
:mod:`harness.elasticsearch` (one real node), :mod:`harness.gelf` (Graylog's codec and tshark as GELF
decoders), :mod:`harness.otlp_receiver` (an OTLP receiver the collector relays to),
:mod:`harness.model_service` (a rest-model-service app under ``opentelemetry-instrument``),
:mod:`harness.processes` (stopping them), :mod:`harness.ports` (free loopback ports) and
:mod:`harness.requirements` (skip locally, fail under CI when a component is missing).

Import it from the repository root (pytest's ``pythonpath``, ``python -m bench`` and
``scripts/demo.py`` put the root on ``sys.path``).
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
