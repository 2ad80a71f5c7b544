"""Preparations fitted once per fold and shared by the candidates that prepare the same way."""

import dataclasses
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from homl.data import infer_schema
from homl.metrics import get_metric
from homl.models import build_pipeline, get_spec, predict_output
from homl.select import _prepared as prepared_module
from homl.select import cross_validate, make_folds


@pytest.fixture
def table():
    """400 rows: two numbers (one with gaps), a category with a target effect, a numeric target."""
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                          "city": rng.choice(["north", "south", "east", "west"], n)})
    frame.loc[rng.random(n) < 0.1, "b"] = np.nan
    y = frame.a * 2 + frame.city.map({"north": 1.0, "south": -1.0, "east": 0.5, "west": 0.0}) + rng.normal(0, 0.3, n)
    return frame, y.to_numpy(), infer_schema(frame.assign(y=y), "y")


def _folds(frame, y):
    return make_folds(frame, y, "regression", get_metric("rmse", "regression"))


def _pipeline(family, schema, **params):
    return build_pipeline(get_spec(family), "regression", schema, params, seed=0)


def _fold_models_by_hand(pipeline, folds):
    """Out-of-fold predictions from whole-pipeline fits, nothing shared."""
    oof = np.full(len(folds.y), np.nan)
    for train, valid in folds.splits:
        model = clone(pipeline).fit(folds.X.iloc[train], folds.y[train])
        oof[valid] = predict_output(model, folds.X.iloc[valid], None)
    return oof


def test_families_that_prepare_alike_share_each_folds_preparation_and_score_as_alone(table):
    frame, y, schema = table
    folds = _folds(frame, y)
    folds.keep_models = True
    forest = cross_validate("random_forest", _pipeline("random_forest", schema), folds)
    tree = cross_validate("decision_tree", _pipeline("decision_tree", schema), folds)
    for forest_model, tree_model in zip(forest.models, tree.models):
        assert forest_model.named_steps["prep"] is tree_model.named_steps["prep"]
        assert forest_model.named_steps["model"] is not tree_model.named_steps["model"]
    np.testing.assert_allclose(tree.oof, _fold_models_by_hand(_pipeline("decision_tree", schema), folds))
    # A fold model is a whole pipeline: it predicts raw rows as its fold's predictions did.
    _, valid = folds.splits[0]
    np.testing.assert_allclose(tree.models[0].predict(frame.iloc[valid]), tree.oof[valid])


def test_another_preparation_is_fitted_for_itself(table):
    frame, y, schema = table
    folds = _folds(frame, y)
    folds.keep_models = True
    trees = cross_validate("decision_tree", _pipeline("decision_tree", schema), folds)
    scaled = cross_validate("ridge", _pipeline("ridge", schema), folds)  # linear models scale their inputs
    onehot = cross_validate("tree", _pipeline("decision_tree", schema, **{"prep:categorical": "onehot"}), folds)
    assert trees.models[0].named_steps["prep"] is not scaled.models[0].named_steps["prep"]
    assert trees.models[0].named_steps["prep"] is not onehot.models[0].named_steps["prep"]
    np.testing.assert_allclose(scaled.oof, _fold_models_by_hand(_pipeline("ridge", schema), folds))


def test_folds_made_from_others_and_copies_in_other_processes_start_with_nothing_kept(table):
    frame, y, schema = table
    folds = _folds(frame, y)
    folds.keep_models = True
    first = cross_validate("decision_tree", _pipeline("decision_tree", schema), folds)
    other = dataclasses.replace(folds, X=frame.assign(a=-frame.a))
    again = cross_validate("decision_tree", _pipeline("decision_tree", schema), other)
    assert other.prepared is not folds.prepared
    assert again.models[0].named_steps["prep"] is not first.models[0].named_steps["prep"]
    copied = pickle.loads(pickle.dumps(folds))
    assert copied.prepared._kept == {} and folds.prepared._kept


def test_preparations_too_large_or_too_many_are_not_kept(table, monkeypatch):
    frame, y, schema = table
    folds = _folds(frame, y)
    for categorical in ("auto", "onehot", "ordinal", "target"):
        cross_validate("tree", _pipeline("decision_tree", schema, **{"prep:categorical": categorical}), folds)
    assert len(folds.prepared._kept) == prepared_module.KEPT_PREPARATIONS
    monkeypatch.setattr(prepared_module, "MAX_PREPARED_BYTES", 100)
    small = _folds(frame, y)
    evaluation = cross_validate("decision_tree", _pipeline("decision_tree", schema), small)
    assert small.prepared._kept == {}
    np.testing.assert_allclose(evaluation.oof, _fold_models_by_hand(_pipeline("decision_tree", schema), small))
