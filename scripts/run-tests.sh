#!/usr/bin/env bash
# Run every check CI runs; the components must already be installed (`make test` does that first).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s\n' "$*"; }

step "ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check otel_ml_logging harness tests bench scripts examples deploy

step "mypy (strict) otel_ml_logging"
.venv/bin/mypy

step "mdatagen: the generated files of our collector components match their metadata.yaml"
scripts/generate-collector.sh --check

for module in collector/gelfexporter collector/statuslogextension collector/shutdownguardextension; do
  step "go vet + go test: $module"
  (cd "$module" && go vet ./... && go test -count=1 ./...)
done

step "pytest: unit, integration, collector, deploy"
# Under CI a missing component fails instead of skipping (see tests/conftest.py).
.venv/bin/python -m pytest "$@"

step "pytest: plugin unit and zero-code tests at the lowest declared dependency versions (.venv-floors)"
.venv-floors/bin/python -m pytest -p no:cacheprovider tests/plugin tests/integration/test_zero_code_service.py
