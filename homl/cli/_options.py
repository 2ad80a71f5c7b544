"""What every training command shares: its options, declared once, and how it runs.

A training command (``fit``, and later ``segment``, ``anomalies``, ``forecast``...) takes these
options under the same names and runs its library call through :func:`run_training`, which
draws the progress bars on standard error and closes them however the call ends; :func:`log_run`
then logs it to MLflow when ``--mlflow`` (or ``MLFLOW_TRACKING_URI``) names a tracking server::

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
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from ._render import RichProgress, console, out

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


def _mlflow_installed(uri: str | None) -> str | None:
    """Refuse ``--mlflow`` before training, rather than after, when MLflow is not installed."""
    import importlib.util

    try:
        installed = importlib.util.find_spec("mlflow") is not None
    except (ImportError, ValueError):  # a module set to None in sys.modules, as when it is blocked
        installed = False
    if uri and not installed:
        raise typer.BadParameter("MLflow is not installed; install it with: pip install 'homl[mlflow]'")
    return uri


Mlflow = Annotated[str | None, typer.Option(
    "--mlflow", envvar="MLFLOW_TRACKING_URI", callback=_mlflow_installed,
    help="MLflow tracking URI (e.g. http://127.0.0.1:5000) to log the run to: settings, scores, leaderboard, "
         "report and model directory.")]
MlflowExperiment = Annotated[str, typer.Option(
    "--mlflow-experiment", envvar="MLFLOW_EXPERIMENT_NAME", help="MLflow experiment the run is logged in.")]


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


def log_run(result: Any, model_dir: Path | None, tracking_uri: str | None, experiment: str, *,
            run_name: str | None = None, report: Path | None = None) -> None:
    """Log the run to MLflow when a tracking URI was given (``--mlflow`` or ``MLFLOW_TRACKING_URI``), and say
    where; the run is named after the model directory unless ``run_name`` is given."""
    if not tracking_uri:
        return
    from homl.tasks import log_to_mlflow

    with console.status("logging the run to MLflow..."):
        run_id = log_to_mlflow(result, model_dir, tracking_uri, experiment, run_name, report=report)
    out.print(f"MLflow run {run_id} logged to {tracking_uri} (experiment '{experiment}')", markup=False,
              highlight=False, soft_wrap=True)
