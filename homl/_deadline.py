"""The time by which the fit now running should end, for models that can stop training early.

Selection and the final refits know their deadlines; a model whose training runs epoch by
epoch (a neural network) reads :func:`seconds_left` between epochs and stops when the next one
would not fit. Scopes nest: an inner deadline never extends an outer one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_DEADLINE: ContextVar[float | None] = ContextVar("homl_fit_deadline", default=None)


@contextmanager
def fit_deadline(deadline: float | None) -> Iterator[None]:
    """Fits inside the ``with`` block should end by ``deadline`` (a ``time.monotonic()`` value; None: no limit)."""
    outer = _DEADLINE.get()
    chosen = deadline if outer is None else outer if deadline is None else min(outer, deadline)
    token = _DEADLINE.set(chosen)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def seconds_left() -> float | None:
    """Seconds before the fit deadline now in force (negative once passed), or None without one."""
    deadline = _DEADLINE.get()
    return None if deadline is None else deadline - time.monotonic()
