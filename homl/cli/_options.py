"""What every training command shares: its options, declared once, and how it runs.

A training command (``fit``, and later ``segment``, ``anomalies``, ``forecast``...) takes these
options under the same names and runs its library call through :func:`run_training`, which
draws the progress bars on standard error and closes them however the call ends::

    @app.command()
    def segment(source: str, time_limit: TimeLimit = 60, seed: Seed = 42, verbose: Verbose = False) -> None:
        result = run_training(lambda progress: homl.segment(source, time_limit=time_limit, seed=seed,
                                                            progress=progress), verbose=verbose)
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from ._render import RichProgress, console

if TYPE_CHECKING:
    from homl import Progress

T = TypeVar("T")

TimeLimit = Annotated[float, typer.Option("--time-limit", help="Seconds for the whole run.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed: the same data and seed give the same model.")]
Output = Annotated[
    Path | None, typer.Option("--output", "-o", help="Model directory to write (default: models/<table name>).")
]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace a model already in the output directory.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Explain each decision (columns, models, budget).")]
Query = Annotated[str | None, typer.Option(help="SQL query or table name, with a SQLAlchemy URL source.")]


def setup_logging(verbose: bool) -> None:
    """homl's messages on standard error: warnings always, each decision with ``verbose``."""
    logger = logging.getLogger("homl")
    logger.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.propagate = False


def run_training(train: Callable[[Progress], T], *, verbose: bool) -> T:
    """``train(progress)`` with Rich progress bars (and its notes when ``verbose``), closed at the end."""
    setup_logging(verbose)
    progress = RichProgress(console, verbose=verbose)
    try:
        return train(progress)
    finally:
        progress.close()
