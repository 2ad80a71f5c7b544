"""Weighted means of forecasters, chosen on their backtest points (Caruana et al.'s ensemble selection,
as AutoGluon's time-series ensembles do it).

The weights come from forward selection with replacement: each round adds the forecaster whose
inclusion makes the mean forecast's scaled absolute error (MASE) on the backtest points lowest,
so weights are multiples of ``1 / rounds``, non-negative and summing to one: a blend that cannot
over-fit the way freely estimated weights do. Equal means of the best few were measured too; on
monthly series they did slightly worse, and weights chosen fold by fold (nested) worse still.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._backtest import Backtest, score_points

#: Rounds of forward selection: weights are multiples of 1 / ROUNDS.
ROUNDS = 20


def selection_weights(forecasts: np.ndarray, actual: np.ndarray, scale: np.ndarray, rounds: int = ROUNDS) -> np.ndarray:
    """Forward selection with replacement: a weight per row of ``forecasts`` (models × points),
    non-negative and summing to one, for the lowest mean of ``|actual - blend| / scale``."""
    counts = np.zeros(len(forecasts))
    total = np.zeros(forecasts.shape[1])
    for n in range(rounds):
        losses = np.mean(np.abs(actual - (total + forecasts) / (n + 1)) / scale, axis=1)
        best = int(np.argmin(losses))
        counts[best] += 1
        total += forecasts[best]
    return counts / counts.sum()


def blend_backtest(tests: list[Backtest], rounds: int = ROUNDS) -> Backtest | None:
    """The backtest of the weighted mean of ``tests`` chosen by :func:`selection_weights` on their
    points (those with finite scores and the same points as the best), or None when fewer than two
    models get a weight. Its name joins the members' names with "+", best first; ``weights`` match."""
    ranked = sorted((t for t in tests if np.isfinite(t.scores["mase"])), key=lambda t: t.scores["mase"])
    same = [t for t in ranked if ranked and _aligned(t.points, ranked[0].points)]
    if len(same) < 2:
        return None
    forecasts = np.vstack([t.points["forecast"].to_numpy(dtype=float) for t in same])
    points = same[0].points
    weights = selection_weights(forecasts, points["actual"].to_numpy(dtype=float),
                                points["scale"].to_numpy(dtype=float), rounds)
    kept = np.flatnonzero(weights > 0)
    if len(kept) < 2:
        return None
    blended = points.copy()
    blended["forecast"] = weights[kept] @ forecasts[kept]
    members = [same[i] for i in kept]
    return Backtest("+".join(t.name for t in members), blended, score_points(blended),
                    sum(t.fit_seconds for t in members), members[0].folds,
                    weights=[float(weights[i]) for i in kept])


def _aligned(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Whether two tables of forecast points score the same points, in the same order."""
    return len(a) == len(b) and bool(np.array_equal(a["fold"].to_numpy(), b["fold"].to_numpy())) and bool(
        np.array_equal(a["actual"].to_numpy(), b["actual"].to_numpy(), equal_nan=True))
