"""Early stopping with a patience that grows with the best round, on every booster."""

from __future__ import annotations

import numpy as np
import pytest

from homl.models import EarlyStopping
from homl.models._stopping import Patience


def test_patience_waits_its_minimum_then_a_share_of_the_best_round():
    rule = Patience(patience=3, share=0.5)
    assert [rule.update(i, loss) for i, loss in enumerate([5.0, 4.0, 4.5, 4.5])] == [False] * 4
    assert rule.update(4, 4.5) is True  # three rounds after the best (round 1)

    rule = Patience(patience=3, share=0.5)
    for i in range(20):
        assert rule.update(i, 100.0 - i) is False  # best at round 19: wait max(3, 10) rounds
    assert rule.rounds_to_wait() == 10
    assert [rule.update(i, 200.0) for i in range(20, 30)] == [False] * 9 + [True]

    fixed = Patience(patience=3)
    for i in range(20):
        fixed.update(i, 100.0 - i)
    assert fixed.rounds_to_wait() == 3 and fixed.best_round == 19 and fixed.best_loss == 81.0


@pytest.mark.parametrize("patience, share", [(0, 0.0), (5, -0.1)])
def test_patience_refuses_a_rule_that_cannot_wait(patience, share):
    with pytest.raises(ValueError, match="patience must be at least 1|share must be 0 or more"):
        Patience(patience, share)


def _booster(family: str, task: str, trees: int):
    if family == "lightgbm":
        from lightgbm import LGBMClassifier, LGBMRegressor

        cls = LGBMRegressor if task == "regression" else LGBMClassifier
        return cls(n_estimators=trees, learning_rate=0.3, n_jobs=1, verbose=-1, random_state=0)
    if family == "xgboost":
        from xgboost import XGBClassifier, XGBRegressor

        cls = XGBRegressor if task == "regression" else XGBClassifier
        return cls(n_estimators=trees, learning_rate=0.3, n_jobs=1, random_state=0)
    from homl.models import CatBoostClassification, CatBoostRegression

    cls = CatBoostRegression if task == "regression" else CatBoostClassification
    return cls(iterations=trees, learning_rate=0.3, n_jobs=1, random_state=0)


def _validation_curve(family: str, model) -> np.ndarray:
    """The held-out loss after each round of a booster grown to the end."""
    if family == "lightgbm":
        return np.asarray(next(iter(model.evals_result_["valid_0"].values())))
    if family == "xgboost":
        return np.asarray(next(iter(model.evals_result()["validation_0"].values())))
    return np.asarray(next(iter(model._booster.get_evals_result()["validation"].values())))


def _data(task: str):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(1500, 4))
    signal = X[:, 0] * 2 + np.sin(3 * X[:, 1]) + rng.normal(0, 1, 1500)
    return X, (signal if task == "regression" else (signal > 0).astype(int))


@pytest.mark.parametrize("family", ["lightgbm", "xgboost", "catboost"])
@pytest.mark.parametrize("task", ["regression", "binary"])
def test_each_booster_stops_by_the_rule_and_predicts_with_its_best_round(family, task):
    X, y = _data(task)
    # A share so large the booster does not stop: it grows (nearly) every tree and keeps
    # the round with the lowest held-out loss of its whole curve.
    patient = EarlyStopping(_booster(family, task, 120), patience=5, patience_share=100.0).fit(X, y)
    curve = _validation_curve(family, patient.estimator_)
    assert len(curve) > patient.rounds_ + 50
    assert patient.rounds_ == int(np.argmin(curve)) + 1

    # A fixed patience stops where the curve has not improved for that many rounds.
    hasty = EarlyStopping(_booster(family, task, 120), patience=5, patience_share=0.0).fit(X, y)
    curve = _validation_curve(family, hasty.estimator_)
    best = hasty.rounds_ - 1
    assert curve[best] == curve.min() and len(curve) == min(best + 1 + 5, 120)
    assert hasty.predict(X[:7]).shape == (7,)
    if family == "xgboost":
        assert hasty.estimator_.get_params()["callbacks"] is None  # nothing of the fit is left to save


@pytest.mark.parametrize("family", ["lightgbm", "xgboost", "catboost"])
def test_each_booster_stops_at_the_fits_deadline_with_its_best_round_so_far(family):
    import time

    from homl._deadline import fit_deadline

    if family == "catboost":
        pytest.importorskip("catboost")
    X, y = _data("regression")
    with fit_deadline(time.monotonic() - 1):  # already passed: its patience's rounds, then stop
        late = EarlyStopping(_booster(family, "regression", 500), patience=8, patience_share=100.0).fit(X, y)
    curve = _validation_curve(family, late.estimator_)
    assert len(curve) == 8 and late.rounds_ == int(np.argmin(curve)) + 1
    assert np.isfinite(late.predict(X[:7])).all()
