#!/usr/bin/env bash
# Create .venv and install the package, its test/dev extras and the example model.
# Fast no-op when nothing it installs from has changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.installed
# the C sources too: an editable install compiles them in place, and a change needs a rebuild
inputs_hash=$(cat pyproject.toml examples/insurance_charges_model/pyproject.toml otel_ml_logging/export/*.c | sha256sum | cut -d' ' -f1)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$inputs_hash" ]; then
  exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup-python: creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
echo "setup-python: installing otel-ml-logging[dev] and the example model into $VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[dev]" -e examples/insurance_charges_model
echo "$inputs_hash" > "$STAMP"
