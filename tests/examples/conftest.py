"""Make the example model importable even when it is not pip-installed into the environment."""

import importlib.util
import sys
from pathlib import Path

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "insurance_charges_model"

if importlib.util.find_spec("insurance_charges_model") is None:
    sys.path.insert(0, str(EXAMPLE_DIR))
