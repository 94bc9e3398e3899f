"""Development harness: launchers for the real components that tests, ``bench/`` and the demo run.

Not part of the shipped package. Modules by role: :mod:`harness.collector` (our ``otelcol-ml``),
:mod:`harness.collector_process` (one that can be killed and restarted, on a chosen loopback address),
:mod:`harness.elasticsearch` (one real node), :mod:`harness.elasticsearch_cluster` (N nodes forming
a cluster), :mod:`harness.kafka` (a KRaft broker), :mod:`harness.dns` (a name with several A records
for gRPC round-robin), :mod:`harness.load_generator` (a model pod: predictions through the plugin and
its container log file), :mod:`harness.gelf` (Graylog's codec and tshark as GELF
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
