"""README's Layout names files that exist: the data path a newcomer follows is the code's."""

from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def _layout_paths() -> list[str]:
    readme = (REPO_ROOT / "README.md").read_text()
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    paths = []
    for cell in re.findall(r"`([^`\s]+)`", layout):
        if ("/" in cell or cell.endswith(".py")) and not cell.startswith("/") and "<" not in cell:
            paths.append(cell)
    return paths


def test_every_file_of_the_layout_exists():
    paths = _layout_paths()
    assert len(paths) > 30  # the data path table is there
    package = REPO_ROOT / "otel_ml_logging"
    missing = []
    for path in paths:
        candidates = [REPO_ROOT / path, package / path]  # short forms name files inside the package
        if not any(candidate.exists() for candidate in candidates):
            missing.append(path)
    assert missing == []
