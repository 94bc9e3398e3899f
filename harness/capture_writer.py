"""The fast writer of the capture bench and tests: N lines as fast as it can, timing itself.

Its stdout is a pipe drained by ``cat``, bare or under ``otel-ml-logging run``: what a container
runtime or a terminal gives a server.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness import REPO_ROOT

WRITER = REPO_ROOT / "bench" / "capture" / "writer.py"


@dataclass(frozen=True)
class WriterRun:
    """One run of the writer: its own write time, the wall time, and what it (or the capture) wrote to stderr."""

    write_s: float
    wall_s: float
    stderr: str


def run_writer(lines: int, wrapped: list[str], env: dict[str, str], workdir: Path, timeout: float) -> WriterRun:
    """Run the writer once, optionally under ``wrapped``; fail with its stderr when it exits non-zero."""
    result = workdir / f"writer-{time.monotonic_ns()}.txt"
    started = time.monotonic()
    with subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL) as drain:
        done = subprocess.run(
            [*wrapped, sys.executable, str(WRITER), str(lines), str(result)],
            env=env,
            stdout=drain.stdin,
            stderr=subprocess.PIPE,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert drain.stdin is not None
        drain.stdin.close()
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"writer failed ({done.returncode}): {done.stderr}")
    return WriterRun(float(result.read_text()), wall, done.stderr)
