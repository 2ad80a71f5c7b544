"""Importances that never go missing: the model's own (traced back to the input columns, an
ensemble's members weighed by their weights), TreeSHAP of a booster, and permutation importance
as the refinement when there is time; each says which method it is."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import VotingRegressor
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline

from homl import models as zoo
from homl.data import infer_schema
from homl.evaluate import best_importance, diagnose
from homl.evaluate._diagnose import _permutation_importance
from homl.evaluate._importance import booster_leaves, own_importance, tree_shap

COLUMNS = ["signal", "second", "colour", "noise"]


def table(n: int = 800, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """``signal`` matters most, then ``colour`` (one-hot encoded) and ``second``; ``noise`` not at all."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"signal": rng.normal(size=n), "second": rng.normal(size=n),
                      "colour": rng.choice(["red", "blue", "green"], n), "noise": rng.normal(size=n)})
    y = 4 * X["signal"].to_numpy() + X["second"].to_numpy() + 1.5 * (X["colour"] == "red").to_numpy()
    return X, y + rng.normal(0, 0.1, n)


def family(name: str, X: pd.DataFrame):
    """``build(params)`` of a zoo family: the whole pipeline (schema, preparation, model)."""
    schema = infer_schema(X)
    trees = {"n_estimators": 200} if name in ("lightgbm", "xgboost") else {}
    return lambda params: zoo.build_pipeline(zoo.get_spec(name), "regression", schema, {**trees, **params},
                                             seed=0, threads=1)


def voting(X: pd.DataFrame, weights: tuple[float, float] = (0.7, 0.3)):
    """The winner as ``fit`` builds an ensemble: one schema step, then each member's preparation and model."""
    def build(params: dict) -> Pipeline:
        members = [family("lightgbm", X)(params), family("linear", X)(params)]
        ensemble = VotingRegressor([("lightgbm_0", members[0][1:]), ("linear_1", members[1][1:])],
                                   weights=list(weights))
        return Pipeline([("schema", members[0][0]), ("model", ensemble)])

    return build


def builder(case: str, X: pd.DataFrame):
    if case == "bagged":  # copies of LightGBM fitted on different folds, averaged
        return lambda params: zoo.bagged(family("lightgbm", X)(params), n_folds=3)
    return voting(X) if case == "voting" else family(case, X)


@pytest.mark.parametrize("case", ["lightgbm", "linear", "voting", "bagged"])
def test_importance_is_there_with_its_method_when_no_time_is_left(case: str, diagnose_input) -> None:
    X, y = table()
    inp = diagnose_input(X, y, "regression", builder(case, X))
    started = time.monotonic()
    out = diagnose(inp, started)  # the deadline has already passed
    assert time.monotonic() - started < 5
    assert out["permutation"] is None and out["treeshap"] is None
    own = out["own_importance"]
    assert own["method"] == "own" and own["ensemble"] == (case == "voting")
    assert own["kind"] == {"lightgbm": "split gain", "linear": "|coefficient|", "bagged": "split gain",
                           "voting": "split gain and |coefficient|"}[case]
    # Named by the input columns the user knows (one-hot levels summed into 'colour'), as shares.
    assert sorted(own["columns"]) == sorted(COLUMNS) and own["of"] == 4
    assert own["columns"][0] == "signal" and own["columns"][-1] == "noise"
    assert sum(own["values"]) == pytest.approx(1.0)
    best = best_importance(out)
    assert best["method"] == "own" and best["columns"] == own["columns"]


def test_an_ensemble_weighs_its_members_importances_by_their_weights(diagnose_input) -> None:
    X, y = table()
    inp = diagnose_input(X, y, "regression", voting(X, weights=(0.75, 0.25)))
    schema_step, ensemble = inp.model[0], inp.model[-1]

    def shares(model) -> dict[str, float]:
        found = own_importance(model, inp.X_test)
        return dict(zip(found["columns"], found["values"]))

    members = [shares(Pipeline([("schema", schema_step), ("member", m)])) for m in ensemble.estimators_]
    whole = shares(inp.model)
    for column in COLUMNS:
        assert whole[column] == pytest.approx(0.75 * members[0][column] + 0.25 * members[1][column])
    # The two members disagree, so the weights are what decides the result.
    assert abs(members[0]["colour"] - members[1]["colour"]) > 0.02


def test_a_model_without_importances_of_its_own_gives_none(diagnose_input) -> None:
    X, y = table(400)
    inp = diagnose_input(X, y, "regression", family("knn", X))
    assert own_importance(inp.model, inp.X_test) is None
    assert booster_leaves(inp.model, "knn") == []


@pytest.mark.parametrize(("name", "copies"), [("lightgbm", 1), ("xgboost", 1), ("bagged", 3)])
def test_treeshap_of_a_booster_ranks_the_input_columns(name: str, copies: int, diagnose_input) -> None:
    library = "lightgbm" if name == "bagged" else name
    pytest.importorskip(library)
    X, y = table()
    inp = diagnose_input(X, y, "regression", builder(name, X))
    shap = tree_shap(booster_leaves(inp.model, library), inp.X_test, time.monotonic() + 60)
    assert shap["method"] == "treeshap" and shap["library"] == library and shap["rows"] == 200
    assert shap["copies"] == copies
    assert shap["columns"][0] == "signal" and shap["columns"][-1] == "noise"
    # In units of the target: |4 * signal| averages 4 * sqrt(2 / pi) on standard normal values.
    assert shap["values"][0] == pytest.approx(4 * np.sqrt(2 / np.pi), rel=0.15)
    assert shap["values"][-1] < 0.05


def test_treeshap_of_an_ensemble_is_its_best_single_members(diagnose_input) -> None:
    X, y = table()
    inp = diagnose_input(X, y, "regression", voting(X))
    assert booster_leaves(inp.model, "linear") == []  # the best single model is no booster
    shap = tree_shap(booster_leaves(inp.model, "lightgbm"), inp.X_test, time.monotonic() + 60)
    assert shap["method"] == "treeshap_member" and shap["member"] == "lightgbm_0"


def test_with_time_permutation_importance_refines_and_comes_first(diagnose_input) -> None:
    X, y = table()
    inp = diagnose_input(X, y, "regression", family("lightgbm", X))
    inp.single = "lightgbm"
    out = diagnose(inp, time.monotonic() + 60)
    assert out["treeshap"]["method"] == "treeshap" and out["permutation"]["method"] == "permutation"
    assert out["permutation"]["of"] == 4 and out["permutation"]["ranked_by"] is None  # every column permuted
    best = best_importance(out)
    assert best["method"] == "permutation" and best["columns"][0] == "signal"
    assert best["values"] == out["permutation"]["mean"]
    # Partial dependence follows the best importance.
    assert out["partial_dependence"][0]["feature"] == "signal"


def test_old_diagnostics_without_methods_still_give_the_best_importance() -> None:
    old = {"permutation": None, "own_importance": {"kind": "importance", "names": ["num__a", "num__b"],
                                                   "values": [0.7, 0.3]}}
    best = best_importance(old)
    assert best["method"] == "own" and best["columns"] == ["num__a", "num__b"] and best["values"] == [0.7, 0.3]
    assert best_importance({"permutation": None, "own_importance": None}) is None


class SlowLinear(RegressorMixin, BaseEstimator):
    """A linear regression that takes ``seconds`` per prediction call, however few the rows."""

    def __init__(self, seconds: float = 0.03):
        self.seconds = seconds

    def fit(self, X, y):
        self.model_ = LinearRegression().fit(X, y)
        return self

    def predict(self, X):
        time.sleep(self.seconds)
        return self.model_.predict(X)


def test_permutation_importance_short_of_time_permutes_the_best_ranked_columns_first(diagnose_input) -> None:
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(400, 20)), columns=[f"c{i}" for i in range(20)])
    inp = diagnose_input(X, X.to_numpy() @ np.arange(20.0), "regression", lambda p: SlowLinear())
    ranking = ([f"c{i}" for i in reversed(range(20))], "own")
    # Two calls to time the model, then time for about a dozen of the 20 columns, one repeat each.
    result = _permutation_importance(inp, None, time.monotonic() + 0.45, ranking)
    done = len(result["columns"])
    assert 3 <= done < 20 and result["of"] == 20 and result["repeats"] == 1
    assert set(result["columns"]) == set(ranking[0][:done]) and result["ranked_by"] == "own"
    assert result["columns"][0] == "c19"  # the largest coefficient, and ranked first
