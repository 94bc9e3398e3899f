"""P4: the Go GELF exporter's UDP throughput per core (``go test -bench UDPExport -cpu 1``)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
EXPORTER_DIR = REPO_ROOT / "collector" / "gelfexporter"
_LINE = re.compile(r"^BenchmarkUDPExport/(\S+)\s+\d+\s+\d+ ns/op\s+([\d.]+) records/s", re.MULTILINE)


def measure(benchtime: str = "2s") -> dict[str, float]:
    """Records/s of each UDP compression variant of the benchmark, on one core."""
    go = shutil.which("go") or "/usr/local/go/bin/go"
    completed = subprocess.run(
        [go, "test", "-run", "^$", "-bench", "UDPExport", "-cpu", "1", "-benchtime", benchtime, "."],
        cwd=EXPORTER_DIR,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    results = {name: float(rate) for name, rate in _LINE.findall(completed.stdout)}
    if not results:
        raise RuntimeError(f"no BenchmarkUDPExport lines in:\n{completed.stdout}\n{completed.stderr}")
    return results
