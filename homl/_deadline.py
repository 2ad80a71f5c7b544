"""What the fit now running should know between its epochs: by when to end, and who watches them.

Selection and the final refits know their deadlines; a model whose training runs epoch by
epoch (a neural network) reads :func:`seconds_left` between epochs and stops when the next one
would not fit. Scopes nest: an inner deadline never extends an outer one.

A search that may stop a hopeless trial early watches its epochs: inside
:func:`watching_epochs`, such a model hands each epoch's held-out loss to
:func:`report_epoch`, and the watcher may raise to stop the fit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_DEADLINE: ContextVar[float | None] = ContextVar("homl_fit_deadline", default=None)
_WATCHER: ContextVar[Callable[[int, float], None] | None] = ContextVar("homl_epoch_watcher", default=None)


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



@contextmanager
def watching_epochs(watcher: Callable[[int, float], None] | None) -> Iterator[None]:
    """Fits inside the ``with`` block hand ``watcher(epoch, held_out_loss)`` each epoch (None: nobody watches)."""
    token = _WATCHER.set(watcher)
    try:
        yield
    finally:
        _WATCHER.reset(token)


def report_epoch(epoch: int, loss: float) -> None:
    """Tell the watcher in force (if any) the held-out loss after ``epoch`` (1 = the first); it may raise."""
    watcher = _WATCHER.get()
    if watcher is not None:
        watcher(epoch, loss)
