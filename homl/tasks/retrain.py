"""Retrain a registered model on fresh data, and promote the new version only if it is better.

``retrain(name, fresh)`` fits again with the settings the production version was fitted with
(target, task, metric, time limit, families, splits, preparation), on the fresh rows (and the
``old`` rows, optionally only the latest ``window``), except a holdout drawn from the fresh rows.
Old and new versions then predict that holdout, and a paired bootstrap over its rows says how
often the new one scores better: the new version is always registered, and promoted to
``production`` when it wins on at least ``confidence`` of the resamples (or with ``force``).
The old version stays in the registry, for a rollback with ``homl registry promote``.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from homl.data import read_table, require_column, split_train_test
from homl.errors import ConfigError, DataError
from homl.metrics import PairedComparison, format_score, get_metric, paired_bootstrap

if TYPE_CHECKING:
    from homl._progress import Progress

    from .tabular import FitResult

#: Exit codes of ``homl retrain``: the new version promoted, or registered but kept out of production.
PROMOTED, KEPT_OUT = 0, 3
#: The fewest fresh labelled rows the holdout may have: fewer cannot tell two models apart.
MIN_HOLDOUT_ROWS = 20


@dataclass
class RetrainResult:
    """The versions compared on the fresh holdout, and whether the new one went into production."""

    name: str
    old_version: int
    new_version: int
    comparison: PairedComparison
    promoted: bool
    reason: str
    training_rows: int
    fit: FitResult
    #: The new version's directory in the registry's store.
    model_dir: Path

    @property
    def exit_code(self) -> int:
        """0 when the new version was promoted, 3 when it was registered but not promoted."""
        return PROMOTED if self.promoted else KEPT_OUT


def retrain(
    name: str,
    fresh: Any,
    *,
    registry: str | None = None,
    old: Any = None,
    window: int | None = None,
    holdout: float = 0.2,
    time_limit: float | None = None,
    confidence: float = 0.95,
    force: bool = False,
    seed: int = 42,
    progress: Progress | None = None,
) -> RetrainResult:
    """Fit ``name`` again on ``fresh`` rows (plus ``old`` ones), register it, promote it if better."""
    import homl
    from homl.registry import Registry

    if not 0 < holdout < 1:
        raise ConfigError(f"--holdout {holdout:g}: expected the share of fresh rows held out, between 0 and 1")
    if window is not None and window < 1:
        raise ConfigError(f"--window {window}: expected the number of latest rows to train on, at least 1")
    opened = Registry(registry)
    record = opened.get(name)
    current = homl.load(opened.path(name, record.version))
    if current.kind != "supervised":
        raise ConfigError(f"{name} is a {current.kind} model; retrain is for models fitted with `homl fit`")
    meta, target, task = current.metadata, current.target, current.task
    settings = dict(meta.get("settings") or {})
    frame = _labelled(fresh, target, "fresh")
    time_column = settings.get("time_column") if settings.get("time_column") in frame.columns else None
    group_by = settings.get("group_by") if settings.get("group_by") in frame.columns else None
    train, test, _ = split_train_test(frame, target, task, test_size=holdout, seed=seed, group_by=group_by,
                                      time_column=time_column)
    if len(test) < MIN_HOLDOUT_ROWS:
        raise DataError(f"the fresh rows give a holdout of {len(test)} labelled rows; at least {MIN_HOLDOUT_ROWS} "
                        "are needed to compare the versions (more fresh rows, or a larger --holdout)")
    parts = ([_labelled(old, target, "old")] if old is not None else []) + [frame.iloc[train]]
    training = pd.concat(parts, ignore_index=True)
    if window is not None and len(training) > window:
        training = (training.sort_values(time_column, kind="stable") if time_column else training).tail(window)
    folder = Path(tempfile.mkdtemp(prefix=f"homl-retrain-{name}-"))
    try:
        result = homl.fit(
            training, target, task=task, metric=meta.get("metric"),
            time_limit=time_limit or meta.get("time_limit", 300), test_size=settings.get("test_size", 0.2),
            cv=settings.get("cv", 5), seed=seed, group_by=group_by, time_column=time_column,
            gap=settings.get("gap", 0), models=settings.get("models"), tune=settings.get("tune", True),
            ensemble=settings.get("ensemble", True), refit_full=settings.get("refit_full", True),
            bagging=settings.get("bagging", True), epochs=settings.get("epochs"),
            exportable=settings.get("exportable", False),
            prep={k.split(":", 1)[-1]: v for k, v in (meta.get("prep") or {}).items()} or None,
            output=folder / "model", progress=progress)
        held = frame.iloc[test]
        comparison = compare_on(current, result.tabular, held, seed=seed)
        added = opened.add(folder / "model", name, description=f"retrained on {len(training):,} rows; "
                           f"{comparison.metric} on {comparison.n_rows:,} fresh holdout rows "
                           f"{format_score(comparison.score_b)} (version {record.version}: {format_score(comparison.score_a)})")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    wins = comparison.b_wins >= confidence and comparison.improvement > 0
    verdict = (f"version {added.version} scores {comparison.metric} {format_score(comparison.score_b)} against "
               f"{format_score(comparison.score_a)} for version {record.version} on {comparison.n_rows:,} fresh holdout "
               f"rows, better on {comparison.b_wins:.0%} of the bootstrap resamples ({confidence:.0%} needed)")
    promoted = wins or force
    if promoted:
        opened.promote(name, added.version)
        reason = verdict + ("; promoted" if wins else "; promoted because --force was given")
    else:
        reason = verdict + f"; not promoted: version {record.version} stays in production (--force promotes it)"
    return RetrainResult(name, record.version, added.version, comparison, promoted, reason, len(training), result,
                         added.path)


def compare_on(old: Any, new: Any, rows: pd.DataFrame, *, seed: int = 42) -> PairedComparison:
    """Old and new models of one target scored on the same labelled ``rows`` with a paired bootstrap."""
    metric = get_metric(new.metadata.get("metric"), new.task)
    target = new.target
    if new.task == "regression":
        y = pd.to_numeric(rows[target], errors="coerce").to_numpy(dtype=float)
        return paired_bootstrap(metric, y, old.predict(rows), new.predict(rows), seed=seed)
    classes = list(dict.fromkeys([*old.classes.tolist(), *new.classes.tolist()]))
    by_text = {str(c): c for c in classes}
    y = np.array([by_text.get(str(v), v) for v in rows[target]], dtype=object)
    unknown = ~np.isin(y, np.array(classes, dtype=object))
    if unknown.any():  # a class neither version knows: both predict it with probability 0
        classes += sorted({str(v) for v in y[unknown]})
    order = np.array(classes, dtype=object)
    return paired_bootstrap(metric, y, _probabilities(old, rows, classes), _probabilities(new, rows, classes),
                            order, seed=seed)


def _probabilities(model: Any, rows: pd.DataFrame, classes: list[Any]) -> np.ndarray:
    """The model's class probabilities with a column per class of ``classes`` (0 for classes it never saw)."""
    proba = model.predict_proba(rows)
    out = np.zeros((len(rows), len(classes)))
    position = {str(c): j for j, c in enumerate(classes)}
    for j, label in enumerate(model.classes):
        out[:, position[str(label)]] = proba[:, j]
    return out


def _labelled(source: Any, target: str, role: str) -> pd.DataFrame:
    """The rows of ``source`` whose target is known; errors naming the table when there are none."""
    frame = source if isinstance(source, pd.DataFrame) else read_table(source)
    where = f"the {role} rows" if isinstance(source, pd.DataFrame) else str(source)
    if not len(frame):
        raise DataError(f"{where}: no rows")
    require_column(frame, target, "target", where)
    labelled = frame[frame[target].notna()].reset_index(drop=True)
    if not len(labelled):
        raise DataError(f"{where}: every value of the target '{target}' is missing")
    return labelled
