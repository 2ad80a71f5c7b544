"""Cross-validation under a deadline, and honest ensembles."""

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import Ridge

from homl.data import SplitStrategy
from homl.metrics import get_metric
from homl.select import Evaluation, OutOfTime, cross_validate, keep_models_of, make_folds, stacking, voting


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



class _TimeAware(_Slow):
    """A slow ridge that notes the seconds its fit was told it had (see homl._deadline)."""

    told: list = []

    def fit(self, X, y, sample_weight=None):
        from homl._deadline import seconds_left

        type(self).told.append(seconds_left())
        return super().fit(X, y, sample_weight)


def test_folds_that_must_run_share_the_time_left_and_are_never_stopped(monkeypatch):
    monkeypatch.setattr(_TimeAware, "told", [])
    started = time.monotonic()
    evaluation = cross_validate("slow", _TimeAware(0.3), _folds(), shared_until=started + 0.5)
    assert len(evaluation.fold_scores) == 4  # the last folds run past the time, none is dropped
    first, *_, last = _TimeAware.told
    assert 0.1 < first <= 0.125 and last <= 0.0  # a quarter of the 0.5 s; nothing left for the last

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


def test_repeated_folds_average_each_rows_predictions_and_stacking_still_blends_honestly():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    y = (X.a * 2 + X.b + rng.normal(0, 0.1, 200)).to_numpy()
    folds = make_folds(X, y, "regression", get_metric("rmse", "regression"), SplitStrategy(n_folds=4, repeats=2))
    folds.keep_models = True
    evaluation = cross_validate("ridge", Ridge(), folds)
    assert len(evaluation.models) == 8 and len(evaluation.fold_scores) == 4  # scored on the means, one draw
    row = 0
    predictions = [m.predict(X.iloc[[row]])[0] for m, (_, valid) in zip(evaluation.models, folds.splits) if row in valid]
    assert len(predictions) == 2 and evaluation.oof[row] == pytest.approx(np.mean(predictions))
    good = [_candidate("good1", folds, 0.5, 1), _candidate("good2", folds, 0.5, 2)]
    stack = stacking([*good, cross_validate("dummy", DummyRegressor(), folds)], folds)
    assert len(stack.fold_scores) == 4 and stack.mean < min(g.mean for g in good)  # nested over one draw
    assert stack.params.get("dummy", 0.0) < 0.1  # the mean of the targets is of little use


def test_folds_that_keep_models_hand_back_the_fold_models_that_made_the_out_of_fold_predictions():
    folds = _folds()
    assert cross_validate("ridge", Ridge(), folds).models is None  # not kept unless asked
    folds.keep_models = True
    evaluation = cross_validate("ridge", Ridge(), folds)
    assert len(evaluation.models) == len(folds.splits)
    for model, (_, valid) in zip(evaluation.models, folds.splits):
        np.testing.assert_allclose(model.predict(folds.X.iloc[valid]), evaluation.oof[valid])


def test_only_the_best_evaluations_keep_their_fold_models():
    folds = _folds()
    folds.keep_models = True
    metric = folds.metric
    evaluations = [cross_validate(f"ridge{alpha}", Ridge(alpha=alpha), folds) for alpha in (0.1, 1e4, 1.0)]
    keep_models_of(evaluations, metric, 2)
    assert [e.models is not None for e in evaluations] == [True, False, True]  # the heavily penalised one is worst


class _SlowSpec:
    """Enough of a ``ModelSpec`` for the short-list: a ridge whose fits take ``seconds``."""

    def __init__(self, name, seconds, anchor=False):
        self.name, self.label, self.seconds, self.anchor = name, name, seconds, anchor


def test_an_anchor_family_goes_first_and_may_run_past_the_short_list_share():
    from homl._progress import Progress
    from homl.select import shortlist

    folds = _folds()
    specs = [_SlowSpec("quick", 0.0), _SlowSpec("anchor", 0.15, anchor=True)]
    started = time.monotonic()
    # Four folds of 0.15 s: more than the 0.3 s short-list, within the anchor's 5 s.
    results = shortlist(specs, lambda spec: _Slow(spec.seconds), folds, deadline=started + 0.3,
                        anchor_deadline=started + 5, progress=Progress())
    assert [e.name for e in results][0] == "anchor" and len(results[0].fold_scores) == 4
    plain = shortlist([_SlowSpec("plain", 0.15)], lambda spec: _Slow(spec.seconds), folds,
                      deadline=time.monotonic() + 0.3, progress=Progress())
    assert plain == []  # without the anchor's deadline the same family is skipped


def test_fold_models_too_large_for_their_memory_budget_are_not_kept(monkeypatch):
    from homl.select import _cv

    folds = _folds()
    folds.keep_models = True
    monkeypatch.setattr(_cv, "MAX_KEPT_BYTES", 100)  # smaller than any pickled ridge
    evaluation = cross_validate("ridge", Ridge(), folds)
    assert evaluation.models is None and evaluation.oof is not None and len(evaluation.fold_scores) == 4


def test_an_early_stopping_booster_records_the_median_of_its_fold_rounds_and_other_models_none():
    from lightgbm import LGBMRegressor

    from homl.models import EarlyStopping

    folds = _folds(n=1200)
    booster = EarlyStopping(LGBMRegressor(n_estimators=400, learning_rate=0.3, verbose=-1, n_jobs=1))
    folds.keep_models = True
    evaluation = cross_validate("lightgbm", booster, folds)
    kept = [model.rounds_ for model in evaluation.models]
    assert evaluation.rounds == int(np.median(kept)) and 0 < evaluation.rounds < 400
    assert cross_validate("ridge", Ridge(), folds).rounds is None


def test_an_anchor_too_slow_for_its_share_is_short_listed_with_the_trees_that_fit():
    from lightgbm import LGBMRegressor

    from homl._progress import Progress
    from homl.models import EarlyStopping
    from homl.select import shortlist

    folds = _folds()
    slow = EarlyStopping(LGBMRegressor(n_estimators=100_000, learning_rate=1e-4, n_jobs=1, verbose=-1),
                         patience=20, patience_share=100.0)  # would grow for minutes
    started = time.monotonic()
    results = shortlist([_SlowSpec("anchor", 0.0, anchor=True)], lambda spec: slow, folds,
                        deadline=started + 0.2, anchor_deadline=started + 2, progress=Progress())
    assert time.monotonic() - started < 10
    assert [e.name for e in results] == ["anchor"] and np.isfinite(results[0].fold_scores).all()
    assert 20 <= results[0].rounds < 100_000
