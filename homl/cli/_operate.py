"""Operating a model in use: ``homl feedback``, ``homl monitor`` and ``homl retrain``."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated

import typer

from homl import HomlError

from ._options import Mlflow, MlflowExperiment, Seed, Verbose, log_run, run_training
from ._render import console, frame_table, out

RegistryUrl = Annotated[str | None, typer.Option("--registry", envvar="HOML_REGISTRY", show_envvar=True,
                                                 help="Registry database URL (default: a SQLite file in ~/.homl).")]
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def feedback(
    name: Annotated[str, typer.Argument(help="The registered model the outcomes are for.")],
    labels: Annotated[str, typer.Argument(help="Table of outcomes: request_id (from the server's answers), row (its position in the request; 0 if absent) and the target column.")],
    label: Annotated[str | None, typer.Option(help="The column holding the outcomes (default: the model's target).")] = None,
    registry: RegistryUrl = None,
) -> None:
    """Feed back true outcomes of logged predictions, for `homl monitor`'s live performance."""
    from homl.tasks.feedback import feed_back

    count = feed_back(name, labels, registry=registry, label=label)
    replaced = f" ({count.replaced:,} replaced earlier ones)" if count.replaced else ""
    out.print(f"{count.stored:,} outcomes stored for {name}{replaced}", markup=False)
    if count.unmatched:
        first = count.first_unmatched
        console.print(f"{count.unmatched:,} outcomes match no logged prediction and were left out (first: request "
                      f"{first[0]!r}, row {first[1]})", markup=False, highlight=False)


def monitor(
    model: Annotated[str, typer.Argument(help="A registered model (NAME or NAME@VERSION), or a model directory.")],
    current: Annotated[str | None, typer.Option(help="Rows to check (default: the registered model's logged predictions).")] = None,
    reference: Annotated[str | None, typer.Option(help="Training rows to compare with (default: the summary saved with the model).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="HTML report to write.")] = None,
    since: Annotated[str | None, typer.Option(help="Logged rows from this moment: 7d, 24h, 30m, or a date (2026-01-31).")] = None,
    until: Annotated[str | None, typer.Option(help="Logged rows before this moment (as --since).")] = None,
    version: Annotated[int | None, typer.Option(help="Only rows logged for this version.")] = None,
    window: Annotated[str | None, typer.Option(help="Time window of the live score, e.g. 1D or 7D (default: chosen from the rows).")] = None,
    psi_warn: Annotated[float, typer.Option("--psi-warn", help="PSI from which a shift is worth a look.")] = 0.1,
    psi_drift: Annotated[float, typer.Option("--psi-drift", help="PSI from which a shift is major.")] = 0.25,
    alpha: Annotated[float, typer.Option(help="Significance of the tests, over all features (Bonferroni).")] = 0.05,
    registry: RegistryUrl = None,
) -> None:
    """Check a model's current data for drift, and its live score once outcomes are known.

    Exits 1 when a feature or the predictions drifted or the live score dropped (for cron and CI
    alerts), 0 otherwise, 2 on bad input."""
    from homl.evaluate import DriftThresholds
    from homl.tasks.monitor import monitor as run_monitor

    if not 0 < alpha < 1 or not 0 < psi_warn <= psi_drift:
        raise HomlError("expected 0 < --alpha < 1 and 0 < --psi-warn <= --psi-drift")
    if output is not None and output.is_dir():
        raise HomlError(f"--output {output}: is a folder; expected the name of the HTML report to write")
    with console.status("comparing the current rows with the reference..."):
        result = run_monitor(model, current, reference=reference, registry=registry, since=_moment(since, "since"),
                             until=_moment(until, "until"), version=version, window=window,
                             thresholds=DriftThresholds(psi_warn=psi_warn, psi_drift=psi_drift, alpha=alpha))
    table = result.table()
    shown = table[[c for c in ("feature", "status", "PSI", "p-value", "reason") if c in table.columns]]
    out.print(frame_table(shown, f"Drift of {result.name}: {result.drift.current_rows:,} current rows against "
                                 f"{result.drift.reference_rows:,} reference rows", limit=30))
    if result.predictions is not None:
        out.print(f"predictions: {result.predictions.status} ({result.predictions.reason})", markup=False)
    if result.live is not None:
        out.print(f"live {result.live.metric}: {result.live.reason}", markup=False)
    for note in result.notes:
        console.print(f"· {note}", markup=False, highlight=False)
    if output is not None:
        result.report(output)
        out.print(f"report: {output}", markup=False)
    if result.alerts:
        for alert in result.alerts:
            out.print(f"[bold red]alert:[/bold red] {alert}", highlight=False)
        raise typer.Exit(1)
    if result.status == "too few rows":
        out.print(f"[bold yellow]too few rows[/bold yellow]: {result.drift.current_rows:,} current rows are too few "
                  f"to judge drift (at least {result.drift.thresholds.min_rows} are needed)", highlight=False)
        return
    live = result.live
    judged = live is not None and live.reference is not None and (live.windows["status"] != "too few rows").any()
    holds = " and the live score holds" if judged else ""
    out.print(f"[bold green]{result.status}[/bold green]: no feature drifted{holds}", highlight=False)


def retrain(
    name: Annotated[str, typer.Argument(help="The registered model to fit again.")],
    fresh: Annotated[str, typer.Argument(help="Fresh labelled rows (the target column included).")],
    old: Annotated[str | None, typer.Option(help="Earlier rows to train on as well.")] = None,
    window: Annotated[int | None, typer.Option(min=1, help="Train on the latest ROWS rows only (by the model's time column, else table order).")] = None,
    holdout: Annotated[float, typer.Option(help="Share of the fresh rows both versions are compared on.")] = 0.2,
    time_limit: Annotated[float | None, typer.Option("--time-limit", help="Seconds for the fit (default: the model's own).")] = None,
    force: Annotated[bool, typer.Option(help="Promote the new version even if it is not better.")] = False,
    seed: Seed = 42,
    registry: RegistryUrl = None,
    mlflow: Mlflow = None,
    mlflow_experiment: MlflowExperiment = "homl",
    verbose: Verbose = False,
) -> None:
    """Fit a registered model again on fresh rows; promote the new version only if it beats the old.

    Exits 0 when the new version was promoted, 3 when it was registered but kept out of production,
    2 on bad input."""
    from homl.metrics import format_score
    from homl.tasks.retrain import retrain as run_retrain

    result = run_training(lambda progress: run_retrain(
        name, fresh, registry=registry, old=old, window=window, holdout=holdout, time_limit=time_limit,
        force=force, seed=seed, progress=progress), verbose=verbose)
    c = result.comparison
    out.print(f"{c.metric} on {c.n_rows:,} fresh holdout rows: version {result.old_version} {format_score(c.score_a)}, "
              f"version {result.new_version} {format_score(c.score_b)} (improvement {format_score(c.improvement)}, 95% CI "
              f"{format_score(c.low)} to {format_score(c.high)})", markup=False)
    style = "bold green" if result.promoted else "bold yellow"
    out.print(f"[{style}]{'promoted' if result.promoted else 'kept out'}[/{style}]: {result.reason}", highlight=False)
    log_run(result.fit, result.model_dir, mlflow, mlflow_experiment, run_name=f"{name} version {result.new_version}")
    raise typer.Exit(result.exit_code)


def _moment(text: str | None, option: str) -> datetime | None:
    """``7d``/``24h``/``30m``/``2w`` before now, or a date or time, in UTC."""
    if text is None:
        return None
    span = _SPAN.match(text)
    if span:
        try:
            return datetime.now(timezone.utc) - timedelta(**{_UNITS[span[2]]: float(span[1])})
        except OverflowError:
            raise HomlError(f"--{option} {text!r}: reaches back before the year 1; expected a span such as 30m, "
                            "24h, 7d or 2w") from None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise HomlError(f"--{option} {text!r}: expected a span before now (30m, 24h, 7d, 2w) or a date "
                        "(2026-01-31, 2026-01-31T08:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

