"""SIGTERM → ``SystemExit``, so that exit handlers flush telemetry and print the delivery report."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType


def exit_on_sigterm(exit_code: int | None = None) -> bool:
    """Turn SIGTERM into ``SystemExit(143)`` so exit handlers flush telemetry; False if not installed.

    Kubernetes stops pods with SIGTERM; its default action kills the process without running
    ``atexit``, so queued spans and log records, and the delivery report, would be lost. uvicorn
    re-raises the signal after its graceful shutdown, which then lands here. Only installed from
    the main thread and when nobody else handles SIGTERM. ``exit_code``: the exit status (default 143).
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return False

    def _exit(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sys.exit(128 + signum if exit_code is None else exit_code)

    signal.signal(signal.SIGTERM, _exit)
    return True
