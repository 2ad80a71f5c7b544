"""The diagnostics, each on data where the right answer is known: importances and partial
dependence of a target built from known features, a leaked copy of the target, curves whose
shape follows from the model."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeRegressor

from homl.evaluate import diagnose, learning_verdict
from homl.evaluate._diagnose import (
    _leakage_warnings,
    _learning_curve,
    _partial_dependence,
    _permutation_importance,
    _single_feature_scores,
    _validation_curve,
    main_parameter,
)
from homl.models import FloatRange


def later(seconds: float = 120) -> float:
    """A deadline no step on these small tables comes near."""
    return time.monotonic() + seconds


def three_columns(n: int = 800, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x0": rng.normal(size=n), "x1": rng.normal(size=n), "x2": rng.normal(size=n)})


def linear(params: dict) -> LinearRegression:
    return LinearRegression(**params)


# ------------------------------------------------------------------ permutation importance


def test_permutation_importance_of_a_target_built_from_one_feature(diagnose_input) -> None:
    X = three_columns()
    y = 3 * X["x0"].to_numpy() + np.random.default_rng(1).normal(0, 0.1, len(X))
    result = _permutation_importance(diagnose_input(X, y, "regression", linear), None, later())
    assert result["columns"][0] == "x0"
    # Shuffling x0 leaves about sqrt(2) * 3 of RMSE; shuffling an unused column changes nothing.
    assert result["mean"][0] == pytest.approx(3 * np.sqrt(2), rel=0.15)
    assert np.abs(result["mean"][1:]).max() < 0.01
    assert result["rows"] == 200 and result["repeats"] == 5
    assert result["reference"] == pytest.approx(0.1, rel=0.2)


def test_permutation_importance_of_a_classifier_reads_the_drop_in_auc(diagnose_input) -> None:
    X = three_columns()
    y = np.where(X["x1"] + np.random.default_rng(2).normal(0, 0.1, len(X)) > 0, "yes", "no")
    inp = diagnose_input(X, y, "binary", lambda params: LogisticRegression(**params))
    result = _permutation_importance(inp, inp.model.classes_, later())
    assert result["columns"][0] == "x1"
    assert result["mean"][0] > 0.3  # from an AUC near 1 to about 0.5
    assert np.abs(result["mean"][1:]).max() < 0.01


# ------------------------------------------------------------------ partial dependence


def test_partial_dependence_of_y_equal_2x_rises_with_slope_2(diagnose_input) -> None:
    X = three_columns()[["x0", "x1"]].rename(columns={"x0": "x", "x1": "z"})
    y = 2 * X["x"].to_numpy()
    curves = _partial_dependence(diagnose_input(X, y, "regression", linear), None, ["x", "z"], later())
    by_feature = {curve["feature"]: curve for curve in curves}
    x, z = by_feature["x"], by_feature["z"]
    assert x["kind"] == "numeric" and len(x["grid"]) == 12
    assert np.all(np.diff(x["values"]) > 0)
    assert np.polyfit(x["grid"], x["values"], 1)[0] == pytest.approx(2.0, abs=1e-6)
    assert np.ptp(z["values"]) < 1e-6  # z is not used: a flat line


def test_partial_dependence_of_a_category_is_its_effect(diagnose_input) -> None:
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"x": rng.normal(size=600), "colour": rng.choice(["red", "blue", "green"], 600)})
    y = X["x"].to_numpy() + 5 * (X["colour"] == "red").to_numpy()

    def build(params: dict):
        encode = make_column_transformer((OneHotEncoder(), ["colour"]), remainder="passthrough")
        return make_pipeline(encode, LinearRegression(**params))

    (curve,) = _partial_dependence(diagnose_input(X, y, "regression", build), None, ["colour"], later())
    assert curve["kind"] == "categorical" and set(curve["grid"]) == {"red", "blue", "green"}
    values = dict(zip(curve["grid"], curve["values"]))
    assert values["red"] - values["blue"] == pytest.approx(5.0, abs=1e-6)
    assert values["green"] - values["blue"] == pytest.approx(0.0, abs=1e-6)


# ------------------------------------------------------------------ the leakage check


def leaky_table(task: str, n: int = 1200) -> tuple[pd.DataFrame, np.ndarray]:
    """``x`` half explains the target, ``noise`` not at all, ``leak`` is a copy of it."""
    rng = np.random.default_rng(4)
    x, noise = rng.normal(size=n), rng.normal(size=n)
    y = x + rng.normal(size=n)
    if task == "regression":
        return pd.DataFrame({"x": x, "noise": noise, "leak": y}), y
    label = np.where(y > 0, "yes", "no")
    return pd.DataFrame({"x": x, "noise": noise, "leak": np.where(label == "yes", "paid", "unpaid")}), label


@pytest.mark.parametrize("task", ["regression", "binary"])
def test_a_leaked_copy_of_the_target_is_flagged(task: str, diagnose_input) -> None:
    X, y = leaky_table(task)
    build = (lambda p: DecisionTreeRegressor(max_depth=4)) if task == "regression" else (
        lambda p: make_pipeline(make_column_transformer((OneHotEncoder(), ["leak"]), remainder="passthrough"),
                                LogisticRegression()))
    inp = diagnose_input(X, y, task, build)
    scores = _single_feature_scores(inp, ["x", "noise", "leak"], later())
    perfect, chance = (0.98, 0.05) if task == "regression" else (0.995, 0.6)  # R², or accuracy
    assert scores["leak"] >= perfect and scores["noise"] < chance
    assert scores["x"] < scores["leak"] - 0.1
    (warning,) = _leakage_warnings({"single_feature": scores}, inp)
    assert warning.startswith("'leak' alone predicts the target almost perfectly")


def test_a_feature_carrying_all_the_importance_is_flagged_and_a_shared_one_is_not(diagnose_input) -> None:
    X = three_columns()
    rng = np.random.default_rng(5)
    alone = diagnose_input(X, 3 * X["x0"].to_numpy() + rng.normal(0, 0.1, len(X)), "regression", linear)
    (warning,) = _leakage_warnings({"permutation": _permutation_importance(alone, None, later())}, alone)
    assert warning.startswith("'x0' carries 100% of the permutation importance")
    shared = diagnose_input(X, (X["x0"] + X["x1"]).to_numpy(), "regression", linear)
    assert _leakage_warnings({"permutation": _permutation_importance(shared, None, later())}, shared) == []


# ------------------------------------------------------------------ validation curve


def test_validation_curve_of_ridge_over_alpha(diagnose_input) -> None:
    X = three_columns()
    y = (X["x0"] - 2 * X["x1"]).to_numpy() + np.random.default_rng(6).normal(0, 0.3, len(X))
    inp = diagnose_input(X, y, "regression", lambda p: make_pipeline(StandardScaler(), Ridge(**p)),
                         params={"alpha": 0.5}, space={"alpha": FloatRange(1e-3, 1e3, log=True)})
    curve = _validation_curve(inp, {}, later())
    values = [point["value"] for point in curve["points"]]
    assert curve["param"] == "alpha" and curve["current"] == 0.5 and curve["log"] and curve["numeric"]
    assert values == sorted(values) and len(values) == 7 and 0.5 in values  # six of the grid, and the chosen
    assert curve["left_out"] == []
    train = [point["train_mean"] for point in curve["points"]]
    # More shrinkage never fits the training rows better, and the strongest is worse on new rows too.
    assert np.all(np.diff(train) >= -1e-9)
    assert curve["points"][-1]["valid_mean"] > 2 * curve["points"][0]["valid_mean"]


def test_validation_curve_varies_the_parameter_the_search_found_most_important(diagnose_input) -> None:
    space = {"alpha": FloatRange(1e-3, 1e3, log=True), "tol": FloatRange(1e-5, 1e-2, log=True)}
    inp = diagnose_input(three_columns(), np.arange(800.0), "regression", lambda p: Ridge(**p), space=space)
    assert main_parameter(inp, {}) == "alpha"  # no importances: the first parameter
    assert main_parameter(inp, {"model": {"importance": {"alpha": 0.1, "tol": 0.9}}}) == "tol"
    assert _validation_curve(inp, {"model": {"importance": {"alpha": 0.1, "tol": 0.9}}}, later())["param"] == "tol"


# ------------------------------------------------------------------ learning curves and their verdict


def curve(train: float, valid: float, previous_valid: float, baseline: float = 1.0) -> dict:
    points = [{"size": 100, "train_mean": train, "valid_mean": previous_valid},
              {"size": 200, "train_mean": train, "valid_mean": valid}]
    return {"points": points, "baseline": baseline}


@pytest.mark.parametrize(
    ("train", "valid", "verdict"),
    [(0.7, 0.75, "under-fitting (high bias)"), (0.05, 0.6, "over-fitting (high variance)"), (0.2, 0.25, "fine")],
)
def test_learning_curve_verdict_reads_bias_and_variance(train: float, valid: float, verdict: str) -> None:
    # RMSE against a baseline of 1: train and validation errors as shares of the baseline's.
    assert learning_verdict(curve(train, valid, valid), "rmse")["verdict"] == verdict
    assert "more data would likely help" not in learning_verdict(curve(train, valid, valid), "rmse")["advice"]
    assert "more data would likely help" in learning_verdict(curve(train, valid, valid + 0.2), "rmse")["advice"]


def test_learning_curve_verdict_of_a_higher_is_better_metric() -> None:
    # R² against a baseline of 0: errors are the way left to 1.
    assert learning_verdict(curve(0.99, 0.3, 0.3, baseline=0.0), "r2")["verdict"] == "over-fitting (high variance)"
    assert learning_verdict(curve(0.9, 0.88, 0.88, baseline=0.0), "r2")["verdict"] == "fine"


def test_no_learning_curve_gives_no_verdict() -> None:
    assert learning_verdict(None, "rmse") is None


def _quadratic(n: int = 900) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(7)
    x = rng.uniform(-3, 3, n)
    return pd.DataFrame({"x": x}), x**2 + rng.normal(0, 0.1, n)


def _noisy_line(n: int = 900, noise: float = 1.0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(8)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x}), 3 * x + rng.normal(0, noise, n)


@pytest.mark.parametrize(
    ("data", "build", "verdict"),
    [
        (_quadratic, linear, "under-fitting (high bias)"),  # a line through a parabola
        (_noisy_line, lambda p: DecisionTreeRegressor(random_state=0), "over-fitting (high variance)"),  # memorises
        (lambda: _noisy_line(noise=0.3), linear, "fine"),  # the right model
    ],
    ids=["line-on-parabola", "deep-tree-on-noise", "line-on-line"],
)
def test_learning_curve_of_a_real_fit_gets_the_books_verdict(data, build, verdict: str, diagnose_input) -> None:
    X, y = data()
    learned = _learning_curve(diagnose_input(X, y, "regression", build), later())
    assert [point["size"] for point in learned["points"]] == sorted(p["size"] for p in learned["points"])
    assert len(learned["points"]) == 5 and learned["folds"] == 3
    assert learning_verdict(learned, "rmse")["verdict"] == verdict


# ------------------------------------------------------------------ the whole run, before a deadline


def test_every_step_runs_when_there_is_time(diagnose_input) -> None:
    X = three_columns()
    inp = diagnose_input(X, 3 * X["x0"].to_numpy(), "regression", lambda p: make_pipeline(StandardScaler(), Ridge(**p)),
                         space={"alpha": FloatRange(1e-3, 1e3, log=True)})
    out = diagnose(inp, later())
    assert out["skipped"] == []
    for key in ("permutation", "learning_curve", "validation_curve", "partial_dependence", "single_feature"):
        assert out[key], key
    assert out["permutation"]["columns"][0] == "x0"
    features = [c["feature"] for c in out["partial_dependence"]]
    assert features[0] == "x0" and sorted(features) == ["x0", "x1", "x2"]  # the most important first
    assert out["verdict"]["verdict"] == "fine"


def test_every_costly_step_is_skipped_with_its_reason_when_there_is_none(diagnose_input) -> None:
    X = three_columns()
    out = diagnose(diagnose_input(X, X["x0"].to_numpy(), "regression", linear), time.monotonic())
    assert out["skipped"] == [f"{step}: no time left within the time limit" for step in
                              ("permutation importance", "learning curve", "partial dependence", "leakage check",
                               "validation curve")]
    assert all(out[key] is None for key in ("permutation", "learning_curve", "validation_curve",
                                            "partial_dependence", "single_feature"))
    assert out["verdict"] is None and out["leakage"] == []
    assert out["test"]["rows"] == 200  # the cheap facts are always there
