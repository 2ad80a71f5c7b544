"""Cross-validation that keeps out-of-fold predictions and respects a deadline.

Every candidate is scored on the same folds, so out-of-fold predictions of different
models line up row by row and can be blended into ensembles without refitting. The folds
follow the fit's :class:`~homl.data.SplitStrategy`; rows no fold validates (the first block
of time-ordered folds) stay NaN in the out-of-fold predictions. With repeated folds a row's
out-of-fold prediction is the mean of its draws' (each from a model that never saw it), and
every candidate, single or ensemble, is scored on those means over one draw's folds.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from homl._deadline import fit_deadline, watching_epochs
from homl.data import SplitStrategy
from homl.metrics import Metric
from homl.models import fit_pipeline, predict_output, stopped_rounds

from ._prepared import PreparedFolds, shares_preparation


class OutOfTime(Exception):
    """The time budget ran out before the evaluation could finish."""


@dataclass
class Evaluation:
    """A candidate's cross-validation result."""

    name: str
    params: dict[str, Any]
    fold_scores: list[float]
    fit_time: float
    oof: np.ndarray | None = field(default=None, repr=False)
    stage: str = "short-list"
    members: list[tuple[Evaluation, float]] | None = field(default=None, repr=False)
    #: The pipelines fitted on each fold's training rows, when the folds keep them (see :class:`Folds`).
    models: list[Any] | None = field(default=None, repr=False)
    #: For an early-stopping booster: the median of the rounds it kept on the folds, which its
    #: final refit grows on every row (see :func:`homl.models.with_rounds`).
    rounds: int | None = None
    #: Seconds an ensemble's own fit takes beyond its members' (a second stacking layer's).
    extra_fit_time: float = 0.0

    @property
    def mean(self) -> float:
        return float(np.mean(self.fold_scores))

    @property
    def std(self) -> float:
        return float(np.std(self.fold_scores))

    def summary(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "stage": self.stage,
            "cv_mean": self.mean,
            "cv_std": self.std,
            "fit_time": self.fit_time,
            "params": self.params,
        }


@dataclass
class Folds:
    """Fixed folds over a table, with everything needed to score predictions on them.

    ``groups`` holds each row's group when the folds keep groups together: the fits are
    given them, so a booster holds out whole groups to stop early. With ``keep_models``
    each evaluation keeps its fold models (the final model may reuse them as its bag) unless
    they would take more than ``MAX_KEPT_BYTES``.
    """

    X: pd.DataFrame
    y: np.ndarray
    splits: list[tuple[np.ndarray, np.ndarray]]
    metric: Metric
    task: str
    classes: np.ndarray | None = None
    strategy: SplitStrategy = field(default_factory=SplitStrategy)
    groups: np.ndarray | None = None
    keep_models: bool = False
    #: Fitted preparations shared by the candidates that prepare the same way (never copied
    #: to folds made from these with other rows or columns).
    prepared: PreparedFolds = field(default_factory=PreparedFolds, init=False, repr=False, compare=False)

    @property
    def validated(self) -> np.ndarray:
        """Positions of the rows some fold validates: time-ordered folds never validate the first block."""
        return np.unique(np.concatenate([valid for _, valid in self.splits]))

    @property
    def one_draw(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The splits of the first draw of repeated folds (all of them otherwise): each row validated once."""
        return self.splits[: len(self.splits) // max(self.strategy.repeats, 1)]

    def empty_oof(self) -> np.ndarray:
        """Out-of-fold predictions before any fold: NaN, which rows no fold validates keep."""
        if self.classes is None:
            return np.full(len(self.y), np.nan)
        return np.full((len(self.y), len(self.classes)), np.nan)

    def score_folds(self, oof: np.ndarray) -> list[float]:
        """The metric of out-of-fold predictions on each fold of one draw (see :attr:`one_draw`)."""
        return [self.metric(self.y[valid], oof[valid], self.classes) for _, valid in self.one_draw]

    def fit(self, pipeline: Any, rows: np.ndarray) -> Any:
        """A fresh clone of ``pipeline`` fitted on the rows at positions ``rows``."""
        groups = None if self.groups is None else self.groups[rows]
        return fit_pipeline(clone(pipeline), self.X.iloc[rows], self.y[rows], groups=groups)

    def fit_fold(self, pipeline: Any, fold: int) -> tuple[Any, np.ndarray]:
        """``pipeline`` fitted on fold ``fold``'s training rows, and its predictions of the fold's
        validation rows. A preparation fitted on this fold before, for any candidate, is reused."""
        train, valid = self.splits[fold]
        if not shares_preparation(pipeline):
            model = self.fit(pipeline, train)
            return model, predict_output(model, self.X.iloc[valid], self.classes)

        def prepare() -> tuple[Any, Any, Any]:
            preparation = clone(pipeline)[:-1]
            train_rows = preparation.fit_transform(self.X.iloc[train], self.y[train])
            return preparation, train_rows, preparation.transform(self.X.iloc[valid])

        preparation, train_rows, valid_rows = self.prepared.get(pipeline, fold, prepare)
        name, model = pipeline.steps[-1]
        groups = None if self.groups is None else self.groups[train]
        fitted = fit_pipeline(clone(model), train_rows, self.y[train], groups=groups)
        whole = clone(pipeline)
        whole.steps = [*preparation.steps, (name, fitted)]
        return whole, predict_output(fitted, valid_rows, self.classes)


def make_folds(
    X: pd.DataFrame, y: np.ndarray, task: str, metric: Metric, strategy: SplitStrategy | None = None, *,
    groups: np.ndarray | None = None,
) -> Folds:
    """The ``strategy``'s folds over ``X`` (default: 5 shuffled folds), stratified on the classes."""
    strategy = strategy or SplitStrategy()
    strata = None if task == "regression" else y
    splits = strategy.folds(len(y), strata=strata, groups=groups)
    classes = None if task == "regression" else np.unique(y)
    return Folds(X, y, splits, metric, task, classes, strategy, groups)


def cross_validate(
    name: str,
    pipeline: Any,
    folds: Folds,
    *,
    params: dict[str, Any] | None = None,
    deadline: float | None = None,
    all_folds_by: float | None = None,
    fold_estimate: float | None = None,
    on_fold: Callable[[int, float], None] | None = None,
    shared_until: float | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
    fold_times: list[float] | None = None,
) -> Evaluation:
    """Fit and score ``pipeline`` on every fold; raise ``OutOfTime`` if it cannot finish in time.

    Before each fold the time it will take is estimated (``fold_estimate`` for the first
    one, then the folds seen so far): the next fold must end by ``deadline``, and all the
    folds left by ``all_folds_by`` (so a model too slow for its share stops after its first
    fold, not one fold short of the end); an estimate from a timing probe, which runs high,
    is not held against ``all_folds_by`` until a fold has been timed. ``on_fold(i, running_mean_loss)`` is called
    after each fold (searches prune with it), and ``on_epoch(epoch, held_out_loss)`` after each
    epoch of a network's training in the first fold (so a search prunes a network by its first epochs).

    Folds that must run whatever the time (a fallback) take ``shared_until`` instead: nothing is
    raised, and each fold is told the end of its even share of the time left (see
    :mod:`homl._deadline`), which a network heeds by stopping its epochs.

    Each fold's fit time is appended to ``fold_times`` (an empty list) as it is measured, so a caller learns
    them even from an evaluation that stops (out of time, pruned).
    """
    total, seen = np.zeros_like(folds.empty_oof()), np.zeros(len(folds.y))  # repeated folds: a mean per row
    probed = deadline is not None and fold_estimate is None
    if probed:
        fold_estimate = _probe(pipeline, folds, min(deadline, all_folds_by or deadline))
    fit_times: list[float] = [] if fold_times is None else fold_times
    scores: list[float] = []
    rounds: list[int | None] = []
    models: list[Any] | None = [] if folds.keep_models else None
    for i, (_, valid) in enumerate(folds.splits):
        expected = np.mean(fit_times) * 1.1 if fit_times else fold_estimate
        if expected is not None:
            now, left_folds = time.monotonic(), len(folds.splits) - i
            late = deadline is not None and now + expected > deadline
            # A probe's estimate runs high: against the share, only measured folds count.
            measured = bool(fit_times) or not probed
            over_share = all_folds_by is not None and measured and now + expected * left_folds > all_folds_by
            if late or over_share:
                left = max((deadline if late else all_folds_by) - now, 0.0)
                raise OutOfTime(
                    f"{left_folds} fold(s) left at about {expected:.1f} s each, {left:.1f} s of budget left"
                )
        start = time.monotonic()
        fold_end = deadline
        if shared_until is not None:
            fold_end = start + max(shared_until - start, 0.0) / (len(folds.splits) - i)
        with warnings.catch_warnings(), fit_deadline(fold_end), watching_epochs(on_epoch if i == 0 else None):
            warnings.simplefilter("ignore")
            model, predicted = folds.fit_fold(pipeline, i)
        fit_times.append(time.monotonic() - start)
        rounds.append(stopped_rounds(model))
        total[valid] += predicted
        seen[valid] += 1
        if models is not None:
            models.append(model)
            if i == 0 and _bytes(model) * len(folds.splits) > MAX_KEPT_BYTES:
                models = None  # a large forest's fold models are not worth their memory
        scores.append(folds.metric(folds.y[valid], predicted, folds.classes))
        if on_fold is not None:
            on_fold(i, float(np.mean([folds.metric.loss(s) for s in scores])))
    oof = folds.empty_oof()
    validated = seen > 0
    oof[validated] = total[validated] / (seen[validated] if oof.ndim == 1 else seen[validated, None])
    if len(folds.one_draw) < len(folds.splits):  # repeated folds: scored as the ensembles are
        scores = folds.score_folds(oof)
    kept_rounds = None if None in rounds else int(np.median(rounds))
    return Evaluation(name, dict(params or {}), scores, float(np.mean(fit_times)), oof, models=models,
                      rounds=kept_rounds)


#: Most memory the fold models of one evaluation may take to be kept.
MAX_KEPT_BYTES = 100 * 2**20


def _bytes(model: Any) -> float:
    """About how much memory a fitted model takes: its pickle's length (infinite if it cannot be pickled)."""
    import pickle

    try:
        return float(len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)))
    except Exception:  # a model that cannot be pickled cannot be kept and saved either
        return float("inf")


def keep_models_of(evaluations: list[Evaluation], metric: Metric, n: int) -> None:
    """Let go of the fold models of all but the ``n`` best ``evaluations`` (they hold memory)."""
    ranked = sorted((e for e in evaluations if e.models is not None), key=lambda e: metric.loss(e.mean))
    for evaluation in ranked[n:]:
        evaluation.models = None


#: Tables smaller than this are cross-validated without timing a probe first.
PROBE_MIN_ROWS = 3000


def _probe(pipeline: Any, folds: Folds, deadline: float) -> float | None:
    """Estimate a fold's fit time from fits on small shares of its rows.

    Without it, the first fold of a slow model could by itself overrun the whole budget.
    A fit on 10% of the rows, scaled up, is pessimistic (fixed costs get multiplied too),
    so when that estimate looks too slow a second fit on 20% separates the fixed cost
    from the per-row cost before the family is given up.
    """
    # Time-ordered folds grow one after another: probe the rows of the largest, estimate the mean one.
    train = max((t for t, _ in folds.splits), key=len)
    n_rows = int(np.mean([len(t) for t, _ in folds.splits]))
    if n_rows < PROBE_MIN_ROWS:
        return None
    with fit_deadline(deadline):
        return _probe_fits(pipeline, folds, deadline, train, n_rows)


def _probe_fits(pipeline: Any, folds: Folds, deadline: float, train: np.ndarray, n_rows: int) -> float:
    small = _timed_fit(pipeline, folds, train[: max(300, n_rows // 10)])
    estimate = small[1] * n_rows / small[0]
    if time.monotonic() + estimate * len(folds.splits) <= deadline:
        return estimate
    large = _timed_fit(pipeline, folds, train[: max(600, n_rows // 5)])
    per_row = max((large[1] - small[1]) / (large[0] - small[0]), 0.0)
    return max(large[1] + per_row * (n_rows - large[0]), large[1])


def _timed_fit(pipeline: Any, folds: Folds, rows: np.ndarray) -> tuple[int, float]:
    start = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        folds.fit(pipeline, rows)
    return len(rows), time.monotonic() - start


#: Share of an early-stopping booster's fold fit that does not grow with the rows: setting up,
#: binning, scoring the held-out rows every round and the rounds waited for after the best
#: (a refit grows only the rounds kept). Refits of CatBoost, LightGBM and XGBoost ensembles on
#: 20 to 35 times a fold's rows (400,000 and 1,000,000-row tables) took as long as a share of
#: 0.46 to 0.67 says, the lower on more rows; 0.4 keeps a margin.
BOOSTER_FIXED_SHARE = 0.4


#: A booster fitted on more rows than a fold's learns for longer: its refit grows the rounds
#: early stopping kept on the folds times (rows / fold rows) to this power. On held-out test
#: rows, LightGBM, XGBoost and CatBoost refits so grown beat the rounds as kept on every table
#: tried, from 1.25 times a fold's rows (a refit on all training rows) to 14 times (a search
#: on a sample of a large table). The best factor lay near the ratio itself for some, at or
#: below its square root for others (CatBoost, the largest table): the square root is safe.
ROUNDS_GROWTH_POWER = 0.5


def _fold_rows(folds: Folds) -> float:
    return float(np.mean([len(train) for train, _ in folds.splits]))


def rounds_growth(n_rows: int, folds: Folds) -> float:
    """How many times the rounds kept on the folds a booster refitted on ``n_rows`` rows should grow."""
    return max(1.0, n_rows / _fold_rows(folds)) ** ROUNDS_GROWTH_POWER


def refit_time(evaluation: Evaluation, n_rows: int, folds: Folds, growth: float = 1.0) -> float:
    """Seconds a refit of this candidate on ``n_rows`` rows should take (fits grow with rows:
    in proportion, or for an early-stopping booster all but its ``BOOSTER_FIXED_SHARE``, and
    that part also with the ``growth`` of its rounds, see :func:`rounds_growth`)."""
    ratio = max(1.0, n_rows / _fold_rows(folds))
    members = evaluation.members or [(evaluation, 1.0)]

    def grown(member: Evaluation) -> float:
        if not member.rounds:
            return member.fit_time * ratio
        return member.fit_time * (BOOSTER_FIXED_SHARE + (1.0 - BOOSTER_FIXED_SHARE) * ratio * growth)

    seconds = sum(grown(m) for m, _ in members)
    return float(seconds + evaluation.extra_fit_time * ratio)
