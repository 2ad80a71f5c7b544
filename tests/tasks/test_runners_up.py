"""The search's next-best trials join the blends (configurations that err differently average
better than one alone) and the leaderboard, but not the two-layer stack, whose final model
refits every member."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline

from homl._progress import Progress
from homl.data import SplitStrategy
from homl.metrics import get_metric
from homl.select import Evaluation, make_folds
from homl.tasks.tabular import _with_ensembles


def _candidate(name: str, stage: str, folds, noise: np.ndarray) -> Evaluation:
    oof = folds.y + noise
    return Evaluation(name, {"stage": stage}, folds.score_folds(oof), 1.0, oof, stage=stage)


def test_runners_up_join_the_blends_and_the_leaderboard_but_not_the_two_layer_stack():
    rng = np.random.default_rng(0)
    n = 400
    X = pd.DataFrame({"a": rng.normal(size=n)})
    folds = make_folds(X, X.a.to_numpy() * 3, "regression", get_metric("rmse", "regression"), SplitStrategy(n_folds=4))
    best = _candidate("lightgbm", "tuned", folds, rng.normal(0, 1.0, n))
    other = _candidate("ridge", "short-list", folds, rng.normal(0, 3.0, n))
    runner = _candidate("lightgbm", "tuned #2", folds, rng.normal(0, 1.05, n))  # errs apart from the best
    second_layer_columns = []

    def build(spec, params, columns):
        second_layer_columns.append(list(columns))
        return make_pipeline(ColumnTransformer([("stacked", "passthrough", list(columns))]), Ridge())

    out = _with_ensembles([best, other], folds, Progress(), build, "regression", runners=[runner])

    assert runner in out and best in out and other in out
    stacking = next(e for e in out if e.name == "stacking")
    assert "lightgbm (tuned #2)" in stacking.params and stacking.mean < best.mean
    assert any(member is runner for member, _ in stacking.members)
    assert second_layer_columns and all(len(columns) == 2 for columns in second_layer_columns)  # best and other
