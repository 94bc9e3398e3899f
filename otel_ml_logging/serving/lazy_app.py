"""A module attribute ``app`` built on first access, so that importing the module builds nothing.

uvicorn imports ``package.module`` and then reads ``app``; building the models (and reading
``REST_CONFIG``) waits until then, and happens once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def lazy_app(module: str, build: Callable[[], Any]) -> Callable[[str], Any]:
    """Return a module ``__getattr__`` that builds ``app`` with ``build()`` on first access."""
    built: list[Any] = []
    lock = threading.Lock()

    def module_getattr(name: str) -> Any:
        if name != "app":
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        with lock:
            if not built:
                built.append(build())
        return built[0]

    return module_getattr
