"""The zoo's declarations: one source of truth for families, spaces and wrappers."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from homl.data import infer_schema
from homl.errors import ConfigError
from homl.models import (
    SPECS,
    EarlyStopping,
    LabelEncoded,
    RowCap,
    build_pipeline,
    candidates_for,
    get_spec,
    prep_space,
    tunable_space,
)


def test_the_issue_families_are_all_declared():
    names = {spec.name for spec in SPECS}
    assert names >= {
        "linear", "ridge", "lasso", "elastic_net", "poly_ridge", "sgd", "knn", "linear_svm", "svm",
        "decision_tree", "random_forest", "extra_trees", "adaboost", "hist_gb", "lightgbm", "xgboost",
    }
    assert len(names) == len(SPECS)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_declared_dimension_reaches_the_estimator(spec):
    """A parameter in a space that no estimator of the family has would be searched for nothing."""
    reached = set()
    for task in spec.tasks:
        reached |= set(tunable_space(spec, task))
    assert reached == set(spec.space)
    offered = prep_space(spec, True, True, True, has_repeated_dates=True)
    for seed in spec.seeds:
        assert {name for name in seed if not name.startswith("prep:")} <= set(spec.space)
        assert all(name in offered and value in offered[name] for name, value in seed.items() if name.startswith("prep:"))


def test_candidates_follow_the_task_and_refuse_unknown_families():
    regression = {s.name for s in candidates_for("regression")}
    binary = {s.name for s in candidates_for("binary")}
    assert "ridge" in regression and "ridge" not in binary and "lightgbm" in binary
    assert [s.name for s in candidates_for("binary", ["knn", "linear"])] == ["knn", "linear"]
    with pytest.raises(ConfigError, match="unknown model family 'gpt'"):
        get_spec("gpt")
    with pytest.raises(ConfigError, match="lasso cannot do binary"):
        candidates_for("binary", ["lasso"])


def test_prep_space_only_offers_what_the_table_has():
    forest, lightgbm = get_spec("random_forest"), get_spec("lightgbm")
    assert prep_space(forest, False, False, False) == {}
    assert set(prep_space(forest, True, True, True)) == {
        "prep:geo_clusters", "prep:geo_neighbors", "prep:ratios", "prep:categorical",
    }
    assert set(prep_space(forest, False, False, False, has_repeated_dates=True)) == {
        "prep:categorical", "prep:date_values"}
    # Native categories only for a family that splits on them itself.
    assert "native" not in prep_space(forest, False, False, True)["prep:categorical"].options
    assert "native" in prep_space(lightgbm, False, False, True)["prep:categorical"].options


def test_row_cap_fits_on_a_stratified_sample_and_keeps_all_classes():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 3))
    y = np.where(rng.random(5000) < 0.02, "rare", "common")
    capped = RowCap(LogisticRegression(), max_rows=500).fit(X, y)
    assert list(capped.classes_) == ["common", "rare"]
    assert capped.estimator_.n_features_in_ == 3 and capped.predict_proba(X[:4]).shape == (4, 2)


def test_label_encoded_maps_labels_back():
    X = np.arange(40, dtype=float).reshape(-1, 1)
    y = np.array(["low"] * 20 + ["high"] * 20)
    model = LabelEncoded(LogisticRegression()).fit(X, y)
    assert list(model.classes_) == ["high", "low"]
    assert model.predict(X[:1])[0] == "low" and model.predict(X[-1:])[0] == "high"


def test_a_family_whose_dependency_is_missing_is_left_out(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "xgboost" else real(name, *a))
    assert "xgboost" not in {s.name for s in candidates_for("regression")}
    with pytest.raises(ConfigError, match=r"xgboost needs xgboost: pip install 'homl\[xgboost\]'"):
        candidates_for("regression", ["xgboost"])
    from homl.models import missing_families

    assert missing_families() == ["XGBoost left out: pip install 'homl[xgboost]' to add it"]


@pytest.mark.parametrize("family", ["lightgbm", "xgboost"])
@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_boosters_stop_early_on_held_out_rows_and_predict_with_the_best_round(family, task):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(size=2000), "c": rng.choice(list("pqr"), 2000)})
    signal = X["a"] * 2 + (X["c"] == "p") + rng.normal(0, 1, 2000)  # simple: few rounds are enough
    y = signal.to_numpy() if task == "regression" else pd.qcut(signal, 3, labels=["lo", "mid", "hi"]).astype(str).to_numpy()
    schema = infer_schema(X)
    pipeline = build_pipeline(get_spec(family), task, schema, {"learning_rate": 0.3}).fit(X, y)
    stopper = pipeline[-1] if isinstance(pipeline[-1], EarlyStopping) else pipeline[-1].estimator_
    assert isinstance(stopper, EarlyStopping) and 0 < stopper.best_iteration_ < 200  # of up to 300 trees
    if task != "regression":
        assert set(pipeline.predict(X.head(50))) <= {"lo", "mid", "hi"}
    small = build_pipeline(get_spec(family), task, schema, {"n_estimators": 30}).fit(X.head(150), y[:150])
    assert small.predict(X.head(5)).shape == (5,)  # too few rows to hold any out: all 30 trees


@pytest.mark.parametrize("family", ["lightgbm", "xgboost", "catboost"])
@pytest.mark.parametrize("task", ["regression", "binary"])
def test_a_booster_given_its_rounds_grows_exactly_those_on_every_row(family, task):
    from homl.models import stopped_rounds, with_rounds

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=1500), "b": rng.normal(size=1500)})
    signal = X["a"] * 2 - X["b"] + rng.normal(0, 1, 1500)
    y = signal.to_numpy() if task == "regression" else np.where(signal > 0, "yes", "no")
    schema = infer_schema(X)
    stopped = build_pipeline(get_spec(family), task, schema, {"learning_rate": 0.3}, threads=1).fit(X, y)
    rounds = stopped_rounds(stopped)
    # The rounds the stopped booster predicts with: fewer than it may grow, as many as it keeps.
    assert rounds is not None and 0 < rounds < 300
    booster = stopped[-1].estimator_ if task == "regression" or family != "xgboost" else stopped[-1].estimator_.estimator_
    kept = {"lightgbm": lambda b: b.best_iteration_, "xgboost": lambda b: b.best_iteration + 1,
            "catboost": lambda b: b.tree_count_}[family](booster)
    assert rounds == kept

    refitted = with_rounds(build_pipeline(get_spec(family), task, schema, {"learning_rate": 0.3}, threads=1), rounds)
    refitted.fit(X, y)
    stopper = refitted[-1] if family != "xgboost" or task == "regression" else refitted[-1].estimator_
    assert isinstance(stopper, EarlyStopping) and stopper.rounds == rounds
    assert stopper.held_out_.size == 0 and stopped_rounds(refitted) == rounds  # every row, that many trees
    inner = stopper.estimator_
    grown = {"lightgbm": lambda b: b.booster_.num_trees(), "xgboost": lambda b: b.get_booster().num_boosted_rounds(),
             "catboost": lambda b: b.tree_count_}[family](inner)
    assert grown == rounds
    forest = build_pipeline(get_spec("random_forest"), task, schema)
    assert with_rounds(forest, rounds) is forest and not any(k.endswith("rounds") for k in forest.get_params())
    assert stopped_rounds(build_pipeline(get_spec("ridge" if task == "regression" else "linear"), task, schema)
                          .fit(X, y)) is None


def test_early_stopping_refuses_a_model_it_cannot_stop():
    X, y = np.random.default_rng(0).normal(size=(1200, 2)), np.arange(1200.0)
    with pytest.raises(TypeError, match="LightGBM and XGBoost"):
        EarlyStopping(LogisticRegression()).fit(X, y > 600)


def test_extrapolating_regressors_stay_within_the_training_targets_and_trees_are_left_alone():
    from homl.models import ClippedOutput, build_pipeline, get_spec

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.uniform(0, 10, 300), "b": rng.uniform(0, 10, 300)})
    frame["y"] = frame["a"] + frame["b"]
    schema = infer_schema(frame, "y")
    far = pd.DataFrame({"a": [10.0, 0.0], "b": [10.0, 0.0]})  # each value seen, never both at once: 20 and 0
    ridge = build_pipeline(get_spec("ridge"), "regression", schema, seed=0).fit(frame, frame["y"])
    assert isinstance(ridge[-1], ClippedOutput)
    np.testing.assert_allclose(ridge.predict(far), [frame["y"].max(), frame["y"].min()])
    tree = build_pipeline(get_spec("decision_tree"), "regression", schema, seed=0)
    assert not isinstance(tree[-1], ClippedOutput)
    trend = build_pipeline(get_spec("ridge"), "regression", schema, seed=0, holdout="time")
    assert not isinstance(trend[-1], ClippedOutput)  # a trend may rise past the training targets
