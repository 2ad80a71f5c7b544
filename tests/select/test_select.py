"""Cross-validation under a deadline, and honest ensembles."""

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import Ridge

from homl.data import SplitStrategy
from homl.metrics import get_metric
from homl.select import Evaluation, OutOfTime, cross_validate, make_folds, stacking, voting


def _folds(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = X.a * 2 + X.b + rng.normal(0, 0.1, n)
    return make_folds(X, y.to_numpy(), "regression", get_metric("rmse", "regression"), SplitStrategy(n_folds=4))


def test_cross_validate_keeps_out_of_fold_predictions():
    folds = _folds()
    evaluation = cross_validate("ridge", Ridge(), folds)
    assert evaluation.oof.shape == (400,) and not np.isnan(evaluation.oof).any()
    assert evaluation.mean < 0.2 and len(evaluation.fold_scores) == 4


def test_cross_validate_stops_before_a_deadline_it_cannot_meet():
    with pytest.raises(OutOfTime):
        cross_validate("ridge", Ridge(), _folds(), deadline=time.monotonic() + 1.0, fold_estimate=5.0)


class _Slow(Ridge):
    """A ridge whose every fit takes ``seconds``; ``fits`` counts the fits of all its clones."""

    fits = 0

    def __init__(self, seconds=0.2):
        super().__init__()
        self.seconds = seconds

    def fit(self, X, y, sample_weight=None):
        type(self).fits += 1
        time.sleep(self.seconds)
        return super().fit(X, y, sample_weight)


def test_a_model_whose_folds_cannot_all_fit_its_share_stops_after_the_first(monkeypatch):
    monkeypatch.setattr(_Slow, "fits", 0)
    started = time.monotonic()
    with pytest.raises(OutOfTime, match="3 fold\\(s\\) left"):
        # Each fold fits well before the deadline, but the four of them do not fit the share.
        cross_validate("slow", _Slow(0.3), _folds(), deadline=started + 10, all_folds_by=started + 0.8)
    assert _Slow.fits == 1  # the first fold measured the cost; no second fold was started


def _candidate(name, folds, noise, seed):
    rng = np.random.default_rng(seed)
    oof = folds.y + rng.normal(0, noise, len(folds.y))
    return Evaluation(name, {}, folds.score_folds(oof), 0.1, oof)


def test_blends_of_independent_errors_beat_their_members():
    folds = _folds()
    members = [_candidate(f"m{i}", folds, 1.0, i) for i in range(4)]
    vote, stack = voting(members, folds), stacking(members, folds)
    best = min(m.mean for m in members)
    assert vote.mean < best and stack.mean < best
    assert stack.stage == "ensemble" and abs(sum(w for _, w in stack.members) - 1) < 1e-9


def test_stacking_gives_a_useless_member_no_weight():
    folds = _folds()
    good = [_candidate("good1", folds, 0.5, 1), _candidate("good2", folds, 0.5, 2)]
    bad = cross_validate("dummy", DummyRegressor(), folds)
    stack = stacking([*good, bad], folds)
    assert "dummy" not in stack.params
