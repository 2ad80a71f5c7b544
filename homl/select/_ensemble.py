"""Ensembles built from out-of-fold predictions: voting, a stacked weighted blend, two layers.

Voting averages fixed members, and the stacked blend learns its weights on the other
folds' rows before it is scored on a fold's rows. Only rows some fold validates are read
(time-ordered folds leave the first block of rows without any). The two-layer stack's
second model is cross-validated on the same folds, from the members' out-of-fold
predictions beside the table's columns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from homl.models import stack_columns, with_stack_features

from ._cv import Evaluation, Folds, OutOfTime, cross_validate

#: The name of the two-layer stack among the candidates.
LAYERED = "layered_stack"


def _blend(oofs: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    return sum(w * o for w, o in zip(weights, oofs)) / weights.sum()


def greedy_weights(oofs: list[np.ndarray], folds: Folds, rows: np.ndarray, rounds: int = 25) -> np.ndarray:
    """Forward selection with replacement (Caruana et al. 2004) of members on ``rows``.

    The result is a non-negative weight per member: a stacking meta-model constrained to a
    convex combination, which cannot over-fit the way a free linear model can.
    """
    metric, y, classes = folds.metric, folds.y[rows], folds.classes
    counts = np.zeros(len(oofs))
    current = None
    for _ in range(rounds):
        best, best_loss = None, np.inf
        for j, oof in enumerate(oofs):
            n = counts.sum()
            candidate = oof[rows] if current is None else (current * n + oof[rows]) / (n + 1)
            loss = metric.loss(metric(y, candidate, classes))
            if loss < best_loss:
                best, best_loss = j, loss
        n = counts.sum()
        current = oofs[best][rows] if current is None else (current * n + oofs[best][rows]) / (n + 1)
        counts[best] += 1
    return counts / counts.sum()


def voting(members: list[Evaluation], folds: Folds, max_members: int = 5) -> Evaluation | None:
    """Equal-weight average of the best 2..``max_members`` candidates; the best size wins."""
    ranked = sorted(members, key=lambda e: folds.metric.loss(e.mean))[:max_members]
    best = None
    for k in range(2, len(ranked) + 1):
        chosen = ranked[:k]
        weights = np.ones(k)
        scores = folds.score_folds(_blend([e.oof for e in chosen], weights))
        candidate = _ensemble("voting", chosen, weights, scores)
        if best is None or folds.metric.better(candidate.mean, best.mean):
            best = candidate
    return best


def stacking(members: list[Evaluation], folds: Folds) -> Evaluation | None:
    """Weighted blend whose weights are learned out of fold (nested), then on every row.

    With repeated folds one draw is enough to nest over: the out-of-fold predictions are the
    means of every draw already (and each fold's weights cost a greedy search)."""
    if len(members) < 2:
        return None
    oofs = [e.oof for e in members]
    scores = []
    for _, valid in folds.one_draw:
        others = np.setdiff1d(folds.validated, valid)  # by rows: repeated folds validate each row again
        weights = greedy_weights(oofs, folds, others)
        scores.append(folds.metric(folds.y[valid], _blend([o[valid] for o in oofs], weights), folds.classes))
    weights = greedy_weights(oofs, folds, folds.validated)
    kept = [(e, w) for e, w in zip(members, weights) if w > 0]
    if len(kept) < 2:
        return None
    return _ensemble("stacking", [e for e, _ in kept], np.array([w for _, w in kept]), scores)


def layered(members: list[Evaluation], folds: Folds, build_second: Callable[[list[str]], Any], *,
            second: str, deadline: float | None = None) -> Evaluation | None:
    """A second layer (``build_second(new_columns)``, the ``second`` family) learning from the
    table's columns and the ``members``' out-of-fold predictions, cross-validated on ``folds``.

    A row's first-layer predictions come from models that never saw it, though they saw the
    other folds' rows that validate the second layer: the small optimism AutoGluon's stacks
    accept too. A refit fits each member once (their out-of-fold predictions are these). None
    when the folds keep time order (the first block has no out-of-fold predictions), fewer
    than two members, or no time for it.
    """
    usable = [e for e in members if e.oof is not None and not np.isnan(e.oof).any()]
    if len(usable) < 2 or folds.strategy.kind == "time":
        return None
    names = [f"{e.name}_{i}" for i, e in enumerate(usable)]
    X = with_stack_features(folds.X, names, [e.oof for e in usable], folds.classes)
    second_folds = dataclasses.replace(folds, X=X, keep_models=False)
    try:
        evaluation = cross_validate(LAYERED, build_second(stack_columns(names, folds.classes)), second_folds,
                                    deadline=deadline)
    except OutOfTime:
        return None
    weights = np.full(len(usable), 1 / len(usable))
    evaluation.params = {"second layer": second, "first layer": [e.name for e in usable]}
    evaluation.stage = "ensemble"
    evaluation.members = list(zip(usable, weights))
    evaluation.extra_fit_time = evaluation.fit_time
    evaluation.fit_time = float(sum(e.fit_time for e in usable) + evaluation.fit_time)
    evaluation.models = None
    return evaluation


def _ensemble(name: str, chosen: list[Evaluation], weights: np.ndarray, scores: list[float]) -> Evaluation:
    weights = weights / weights.sum()
    # A family may enter twice, tuned and at its defaults: name the stage where it does.
    names = [e.name for e in chosen]
    params = {
        (f"{e.name} ({e.stage})" if names.count(e.name) > 1 else e.name): round(float(w), 4)
        for e, w in zip(chosen, weights)
    }
    fit_time = float(sum(e.fit_time for e in chosen))
    oof = _blend([e.oof for e in chosen], weights)
    return Evaluation(name, params, scores, fit_time, oof, stage="ensemble", members=list(zip(chosen, weights)))
