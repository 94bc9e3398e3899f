"""Background threads after ``fork()``: restarted in the child, for objects that are still alive.

A pre-forking server (gunicorn ``--preload``) imports the application, and so starts our threads,
before it forks its workers; threads do not survive a fork. Objects register here and their
``after_fork_in_child()`` runs in every child. The registry holds them weakly: registering keeps
nothing (an engine, its HTTP clients) alive, and one ``os.register_at_fork`` hook serves them all.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from typing import Protocol

_logger = logging.getLogger(__name__)


class RestartsAfterFork(Protocol):
    """Something with threads or sockets of its own to renew in a forked child."""

    def after_fork_in_child(self) -> None:
        """Start afresh in the child."""


_registered: weakref.WeakSet[RestartsAfterFork] = weakref.WeakSet()
_lock = threading.Lock()


def after_fork_in_child(owner: RestartsAfterFork) -> None:
    """Call ``owner.after_fork_in_child()`` in every forked child for as long as ``owner`` lives."""
    with _lock:
        _registered.add(owner)


def _run_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # the parent may have held it while forking
    for owner in list(_registered):
        try:
            owner.after_fork_in_child()
        except Exception:
            _logger.warning("otel_ml_logging: could not restart %r after fork", owner, exc_info=True)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_run_in_child)
