#!/usr/bin/env bash
# Create .venv-floors: the package, its test extra and the example model at the LOWEST versions that
# pyproject.toml allows for each direct dependency (uv's "lowest-direct" resolution), so the tests show
# that the declared floors work. Fast no-op when nothing it installs from has changed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-floors
STAMP=$VENV/.installed
UV=.venv/bin/uv  # installed by scripts/setup-python.sh (dev extra)
inputs_hash=$(cat pyproject.toml examples/insurance_charges_model/pyproject.toml otel_ml_logging/export/*.c "$0" | sha256sum | cut -d' ' -f1)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$inputs_hash" ]; then
  exit 0
fi
echo "setup-floors: installing otel-ml-logging[test] at its lowest declared versions into $VENV"
rm -rf "$VENV"
"$UV" venv -q --python .venv/bin/python "$VENV"
VIRTUAL_ENV=$VENV "$UV" pip install -q --resolution lowest-direct -e ".[test]" -e examples/insurance_charges_model
VIRTUAL_ENV=$VENV "$UV" pip list 2>/dev/null \
  | grep -E '^(opentelemetry-(api|sdk|instrumentation|instrumentation-logging|instrumentation-fastapi)|ml-base|fastapi|pydantic|orjson|rest-model-service|uvicorn) ' \
  | sed 's/^/setup-floors:   /'
echo "$inputs_hash" > "$STAMP"
