"""Predictions at a fixed rate: :func:`paced` numbers them and sleeps between them."""

from __future__ import annotations

import time
from collections.abc import Iterator


def paced(rate: float, seconds: float, start: float, limit: int = 0) -> Iterator[int]:
    """Yield 0, 1, 2... at ``rate`` per second until ``seconds`` after ``start`` (a ``time.perf_counter()``).

    ``limit`` > 0 stops after that many numbers. Number ``n`` is due at ``start + n / rate``: a late
    one does not push the later ones back.
    """
    interval = 1.0 / rate
    next_at = start
    number = 0
    while time.perf_counter() - start < seconds and (limit == 0 or number < limit):
        yield number
        number += 1
        next_at += interval
        delay = next_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
