"""Model selection that cannot see the future (``time_column``) or a row's own group (``group_by``).

The traps are tables where shuffled folds flatter every model many times over: a target
that wanders over time, and a target set per group with a feature that names the group.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

import homl
from homl import select
from homl.data import SplitStrategy, coerce_frame, infer_schema
from homl.errors import ConfigError
from homl.metrics import get_metric
from homl.models import EarlyStopping, build_pipeline, get_spec
from homl.tasks._finish import final_estimator

RMSE = get_metric("rmse", "regression")
FAST = {"time_limit": 20, "models": ["linear", "lightgbm"], "tune": False, "ensemble": False}


@pytest.fixture(scope="module")
def walk():
    """3,000 days of a random walk, two noise columns, rows given in shuffled order."""
    rng = np.random.default_rng(0)
    n = 3000
    frame = pd.DataFrame({"date": pd.date_range("2010-01-01", periods=n, freq="D"), "a": rng.normal(size=n),
                          "b": rng.normal(size=n), "y": np.cumsum(rng.normal(size=n))})
    return frame.sample(frac=1, random_state=1).reset_index(drop=True)


@pytest.fixture(scope="module")
def stores():
    """200 stores of 15 rows, each with its own level, and a numeric code that names the store."""
    rng = np.random.default_rng(0)
    store = np.repeat(np.arange(200), 15)
    level = rng.normal(0, 10, 200)
    frame = pd.DataFrame({"store": [f"s{i}" for i in store], "code": store * 7 % 211, "a": rng.normal(size=len(store)),
                          "y": level[store] + rng.normal(size=len(store))})
    return frame.sample(frac=1, random_state=1).reset_index(drop=True)


@pytest.fixture(scope="module")
def walk_fit(walk):
    return homl.fit(walk, "y", time_column="date", **FAST)


@pytest.fixture(scope="module")
def stores_fit(stores):
    return homl.fit(stores, "y", group_by="store", **FAST)


def _cv_and_test(result):
    board = result.leaderboard
    return float(board.loc[board.model == result.winner, "cv_mean"].iloc[0]), result.test_score.value


def _shuffled_cv_and_test(frame, result):
    """Default LightGBM on the same training rows: its shuffled 5-fold CV error and its test error."""
    test = result.test_rows - 1
    train = np.setdiff1d(np.arange(len(frame)), test)
    X, y = coerce_frame(frame.iloc[train], result.schema), frame.y.to_numpy()[train]
    pipeline = build_pipeline(get_spec("lightgbm"), "regression", result.schema)
    cv = select.cross_validate("lightgbm", pipeline, select.make_folds(X, y, "regression", RMSE)).mean
    fitted = select.fit_pipeline(pipeline, X, y)
    return cv, RMSE(frame.y.to_numpy()[test], fitted.predict(coerce_frame(frame.iloc[test], result.schema)))


def test_time_ordered_folds_score_the_future_as_the_test_set_does(walk_fit):
    cv, test = _cv_and_test(walk_fit)  # measured: 15.8 and 22.1
    assert test / cv < 3


def test_the_notes_say_how_the_folds_were_drawn(walk_fit):
    assert "cross-validation: 5 expanding-window folds by 'date'" in walk_fit.notes


def test_shuffled_folds_would_have_been_fooled_by_the_random_walk(walk, walk_fit):
    cv, test = _shuffled_cv_and_test(walk, walk_fit)  # measured: 1.4 and 13.7
    assert test > 5 * cv


def test_the_test_rows_are_numbered_in_the_input_after_sorting_by_time(walk, walk_fit):
    test = walk_fit.test_rows - 1
    assert walk.date.iloc[test].min() > walk.date.drop(index=test).max() and len(test) == 600


def test_grouped_folds_score_new_groups_as_the_test_set_does(stores_fit):
    cv, test = _cv_and_test(stores_fit)  # measured: 9.6 and 9.8
    assert 1 / 1.5 < test / cv < 1.5


def test_shuffled_folds_would_have_been_fooled_by_the_store_code(stores, stores_fit):
    cv, test = _shuffled_cv_and_test(stores, stores_fit)  # measured: 1.1 and 9.9
    assert test > 5 * cv


def _folds_seen(monkeypatch):
    """Make every fit search on a sample of 500 rows and keep the folds it builds."""
    seen = []
    make_folds = select.make_folds

    def spy(*args, **kwargs):
        seen.append(make_folds(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(select, "make_folds", spy)
    monkeypatch.setattr("homl.tasks.tabular.MIN_SEARCH_ROWS", 500)
    monkeypatch.setattr("homl.tasks.tabular.SEARCH_ROWS_PER_SECOND", 1)
    return seen


def test_with_a_time_column_the_search_sample_is_the_latest_training_rows(walk, monkeypatch):
    seen = _folds_seen(monkeypatch)
    result = homl.fit(walk, "y", time_column="date", time_limit=10, models=["linear"], tune=False, ensemble=False)
    train_dates = walk.date.drop(index=result.test_rows - 1).sort_values()
    assert list(seen[0].X["date"]) == list(train_dates.iloc[-500:])


def test_with_groups_the_search_sample_holds_whole_groups(stores, monkeypatch):
    seen = _folds_seen(monkeypatch)
    result = homl.fit(stores, "y", group_by="store", time_limit=10, models=["linear"], tune=False, ensemble=False)
    training = stores.drop(index=result.test_rows - 1)
    sample = pd.Series(seen[0].groups).value_counts()
    assert 0 < len(sample) < training.store.nunique()
    assert sample.equals(training.store.value_counts()[sample.index].rename("count"))


def _table(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    return X, (X.a * 2 + rng.normal(0, 0.5, n)).to_numpy()


def test_early_stopping_holds_out_the_latest_rows_in_time_order():
    X, y = _table()
    pipeline = build_pipeline(get_spec("lightgbm"), "regression", infer_schema(X), holdout="time").fit(X, y)
    assert np.array_equal(pipeline[-1].held_out_, np.arange(900, 1000))


def test_early_stopping_holds_out_whole_groups_given_through_the_pipeline():
    X, y = _table()
    groups = np.repeat(np.arange(50), 20)
    pipeline = build_pipeline(get_spec("lightgbm"), "regression", infer_schema(X), holdout="group")
    held = select.fit_pipeline(pipeline, X, y, groups=groups)[-1].held_out_
    assert set(np.bincount(groups[held])) <= {0, 20} and len(held) == 100


def test_groups_reach_the_xgboost_classifier_through_its_label_encoder():
    X, y = _table()
    groups = np.repeat(np.arange(50), 20)
    pipeline = build_pipeline(get_spec("xgboost"), "binary", infer_schema(X), holdout="group")
    stopper = select.fit_pipeline(pipeline, X, y > 0, groups=groups)[-1].estimator_
    assert isinstance(stopper, EarlyStopping) and set(np.bincount(groups[stopper.held_out_])) <= {0, 20}


def test_models_that_take_no_groups_are_fitted_without_them():
    X, y = _table()
    assert select.fit_pipeline(Ridge(), X, y, groups=np.arange(len(y))).coef_.shape == (2,)


def test_a_saved_ensemble_refits_with_groups_its_members_hold_out_random_rows():
    X, y = _table()
    schema = infer_schema(X)
    members = [(select.Evaluation(name, {}, [1.0], 0.1), 0.5) for name in ("lightgbm", "ridge")]
    winner = select.Evaluation("voting", {}, [1.0], 0.2, members=members)
    build = lambda spec, params: build_pipeline(spec, "regression", schema, params, holdout="group")  # noqa: E731
    ensemble = select.fit_pipeline(final_estimator(winner, build, "regression"), X, y, groups=np.arange(len(y)) // 20)
    assert ensemble.predict(X.head(3)).shape == (3,)


def test_ensembles_read_only_the_rows_time_ordered_folds_validate():
    X, y = _table(600)
    folds = select.make_folds(X, y, "regression", RMSE, SplitStrategy.from_options(time_column="t", n_folds=3))
    noise = np.random.default_rng(1)
    members = []
    for name in ("a", "b", "c"):
        oof = folds.empty_oof()
        oof[folds.validated] = y[folds.validated] + noise.normal(0, 1, len(folds.validated))
        members.append(select.Evaluation(name, {}, folds.score_folds(oof), 0.1, oof))
    assert np.isnan(folds.empty_oof()).sum() == 600 and len(folds.validated) == 450
    for blend in (select.voting(members, folds), select.stacking(members, folds)):
        assert np.all(np.isfinite(blend.fold_scores)) and blend.mean < min(m.mean for m in members)


def test_a_gap_without_a_time_column_is_refused(walk):
    with pytest.raises(ConfigError, match="only applies with a time_column"):
        homl.fit(walk, "y", gap=7, time_limit=10)
