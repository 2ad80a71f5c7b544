"""CatBoost as a model family: fitted through homl's pipeline, stopped early, saved safely, threaded."""

import os

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

import homl
from homl.data import infer_schema
from homl.models import (
    SPECS,
    CatBoostClassification,
    CatBoostRegression,
    EarlyStopping,
    build_pipeline,
    candidates_for,
    get_spec,
)
from homl.registry import MODEL_FILE, is_trusted_type

pytest.importorskip("catboost", reason="CatBoost is an optional extra: pip install 'homl[catboost]'")

TASKS = ("regression", "binary", "multiclass")


def _table(task: str, n: int = 1200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Two numbers and a colour; the target is one number plus a step for red, a little noise."""
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], n)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "colour": colour})
    signal = 2 * X["a"] + 2 * (X["colour"] == "red") + rng.normal(0, 0.3, n)
    if task == "regression":
        return X, signal.to_numpy()
    if task == "binary":
        return X, np.where(signal > signal.median(), "yes", "no")
    return X, pd.qcut(signal, 3, labels=["low", "mid", "high"]).astype(str).to_numpy()


def _fitted(task: str, params: dict | None = None, **options):
    X, y = _table(task)
    pipeline = build_pipeline(get_spec("catboost"), task, infer_schema(X), params, **options)
    return pipeline.fit(X.iloc[:1000], y[:1000]), X.iloc[1000:], y[1000:]


def test_catboost_is_offered_for_every_supervised_task_after_xgboost():
    names = [spec.name for spec in SPECS]
    assert names.index("catboost") == names.index("xgboost") + 1
    assert get_spec("catboost").label == "CatBoost"
    for task in TASKS:
        assert "catboost" in [spec.name for spec in candidates_for(task)]


@pytest.mark.parametrize("categorical", ["auto", "native"])
@pytest.mark.parametrize("task", TASKS)
def test_pipeline_learns_the_signal(task, categorical):
    pipeline, X_new, y_new = _fitted(task, {"prep:categorical": categorical}, threads=1)
    prediction = pipeline.predict(X_new)
    assert prediction.shape == (len(X_new),)
    if task == "regression":
        assert pipeline.score(X_new, y_new) > 0.9  # R² on a near-noiseless signal
    else:
        assert set(prediction) <= set(y_new) and np.mean(prediction == y_new) > 0.8
        proba = pipeline.predict_proba(X_new)
        assert proba.shape == (len(X_new), len(np.unique(y_new)))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        np.testing.assert_array_equal(pipeline.classes_[proba.argmax(axis=1)], prediction)


def test_native_categories_reach_catboost_as_categorical_features():
    pipeline, X_new, _ = _fitted("regression", {"prep:categorical": "native"}, threads=1)
    model = pipeline[-1].estimator_
    assert model.cat_features_ == [2]  # a, b, then the colour's category column
    assert model._booster.get_cat_feature_indices() == [2]
    # An unseen colour and a missing one are categories CatBoost has no statistics for, not errors.
    odd = pipeline.predict(X_new.head(2).assign(colour=["purple", None]))
    assert np.all(np.isfinite(odd))


def test_early_stopping_keeps_only_the_rounds_the_held_out_rows_ask_for():
    pipeline, _, _ = _fitted("regression", {"learning_rate": 0.3}, threads=1)
    stopper = pipeline[-1]
    assert isinstance(stopper, EarlyStopping) and stopper.estimator_.iterations == 1000
    assert 0 < stopper.best_iteration_ < 300  # an easy problem: a few hundred rounds at most
    assert stopper.estimator_.tree_count_ == stopper.best_iteration_ + 1  # the best round is what predicts


def test_evaluation_rows_of_labels_training_never_saw_are_left_out():
    X, y = _table("multiclass", n=600)
    odd = np.where(np.arange(100) < 10, "unheard", y[500:])
    model = CatBoostClassification(iterations=200, n_jobs=1).fit(
        X[["a", "b"]].iloc[:500], y[:500], eval_set=[(X[["a", "b"]].iloc[500:], odd)], early_stopping_rounds=20)
    assert list(model.classes_) == ["high", "low", "mid"] and model.tree_count_ < 200


def test_fitting_and_saving_write_nothing_in_the_working_directory(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    pipeline, X_new, _ = _fitted("binary", threads=1)
    pipeline.predict(X_new)
    homl.TabularModel(pipeline, infer_schema(X_new), "binary").save(tmp_path / "model")
    assert os.listdir(work) == []  # no catboost_info/ folder, no snapshot


@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_saved_model_loads_with_trusted_types_only_and_predicts_the_same(task, tmp_path):
    pipeline, X_new, _ = _fitted(task, {"prep:categorical": "native"}, threads=1)
    X, _ = _table(task)
    homl.TabularModel(pipeline, infer_schema(X), task).save(tmp_path / "model")

    types = skops.io.get_untrusted_types(file=tmp_path / "model" / MODEL_FILE)
    kind = "Regression" if task == "regression" else "Classification"
    assert f"homl.models._catboost.CatBoost{kind}" in types
    assert all(is_trusted_type(t) for t in types), types
    assert not any(t.startswith("catboost.") for t in types)  # the booster travels as cbm bytes

    loaded = homl.load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.predict(X_new), pipeline.predict(X_new))
    if task != "regression":
        np.testing.assert_array_equal(loaded.predict_proba(X_new), pipeline.predict_proba(X_new))


def test_threads_reach_catboost():
    default = build_pipeline(get_spec("catboost"), "regression", infer_schema(_table("regression")[0]))
    assert default[-1].estimator.n_jobs == os.cpu_count()
    pipeline, _, _ = _fitted("regression", threads=1)
    model = pipeline[-1].estimator_
    assert model.n_jobs == 1 and model._booster.get_param("thread_count") == 1


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_bad_parameters_and_inputs_are_named():
    X, y = _table("regression", n=300)
    with pytest.raises(InvalidParameterError, match=r"'depth' parameter of CatBoostRegression must be an int in the "
                                                    r"range \[1, 16\]\. Got 0 instead"):
        CatBoostRegression(depth=0).fit(X[["a", "b"]], y)
    table = X.assign(colour=X["colour"].astype("category"))
    model = CatBoostRegression(iterations=20, n_jobs=1).fit(table, y)
    with pytest.raises(ValueError, match=r"fitted on a DataFrame with category columns \['colour'\]; expected a "
                                         r"DataFrame with them"):
        model.predict(table[["a", "b"]].assign(colour=0.0).to_numpy())
    with pytest.raises(ValueError, match="column 'colour' held categories in fitting; got dtype"):
        model.predict(X.assign(colour=1.0))
    with pytest.raises(ValueError, match="needs at least two classes in y; got one class, 'yes'"):
        CatBoostClassification(iterations=20).fit(X[["a", "b"]], np.full(300, "yes"))


_SMALL = {"min_rows": 20, "min_held_out": 5}


@parametrize_with_checks([
    CatBoostRegression(iterations=20, n_jobs=1),
    CatBoostClassification(iterations=20, n_jobs=1),
    EarlyStopping(CatBoostClassification(iterations=20, n_jobs=1), **_SMALL),
])
def test_sklearn_check(estimator, check):
    check(estimator)
