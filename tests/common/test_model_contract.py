"""The contract every model family keeps, tested once across the whole zoo.

Each family, built as homl builds it (schema → preparation → model), is a scikit-learn
estimator: it clones, cross-validates, predicts one value per row, and survives a save
and load through the model directory with identical predictions.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_score

from homl.data import infer_schema
from homl.models import SPECS, build_pipeline
from homl.registry import read_model_dir, write_model_dir

TASKS = ("regression", "binary", "multiclass")


def _table(task: str, n: int = 160, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "size": rng.lognormal(3, 1, n),
        "age": rng.normal(40, 12, n),
        "colour": rng.choice(["red", "green", "blue"], n),
        "latitude": rng.uniform(32, 42, n),
        "longitude": rng.uniform(-124, -114, n),
        "sold": rng.choice(pd.date_range("2024-01-01", periods=20).astype(str), n),  # days repeat
    })
    frame.loc[rng.choice(n, 10, replace=False), "age"] = np.nan
    signal = np.log(frame["size"]) + (frame["colour"] == "red") * 2 + rng.normal(0, 0.3, n)
    if task == "regression":
        return frame, signal.to_numpy() * 1000
    if task == "binary":
        return frame, np.where(signal > signal.median(), "yes", "no")
    return frame, pd.qcut(signal, 3, labels=["low", "mid", "high"]).astype(str).to_numpy()


def _for_family(spec, y: np.ndarray) -> np.ndarray:
    """The target shifted above zero for a family that models the log of the mean (it takes no other)."""
    return y - y.min() + 1.0 if spec.log_link else y


DEFAULT = {"prep:geo_neighbors": 5, "prep:date_values": True}
#: Categories handed to the model itself, for the families that split on them.
NATIVE = {"prep:categorical": "native", "prep:date_values": True}
CASES = [(spec, task, DEFAULT) for spec in SPECS for task in TASKS if spec.supports(task)]
CASES += [(spec, task, NATIVE) for spec in SPECS for task in TASKS if spec.supports(task) and spec.native_categories]


@pytest.mark.parametrize("spec, task, options", CASES,
                         ids=[f"{s.name}-{t}" + ("-native" if o is NATIVE else "") for s, t, o in CASES])
def test_family_is_a_well_behaved_estimator(spec, task, options, tmp_path):
    X, y = _table(task)
    y = _for_family(spec, y)
    schema = infer_schema(X)
    pipeline = build_pipeline(spec, task, schema, options)
    assert clone(pipeline).get_params()["prep__date_values"] is True

    scores = cross_val_score(pipeline, X, y, cv=3)
    assert np.all(np.isfinite(scores))

    pipeline.fit(X, y)
    new = X.iloc[::-1].head(25)
    prediction = pipeline.predict(new)
    assert prediction.shape == (25,)
    if task != "regression":
        proba = pipeline.predict_proba(new)
        assert proba.shape == (25, len(np.unique(y)))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
        assert set(prediction) <= set(np.unique(y))

    write_model_dir(tmp_path / "m", pipeline, {"family": spec.name})
    loaded, metadata = read_model_dir(tmp_path / "m")
    assert metadata["family"] == spec.name
    if task == "regression":  # parallel tree averaging may sum in another order
        np.testing.assert_allclose(loaded.predict(new), prediction, rtol=1e-12)
    else:
        np.testing.assert_array_equal(loaded.predict(new), prediction)


def _easy_table(task: str, n: int = 200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A strong linear signal plus a step, a column of noise and a column with no value at all."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "x": rng.uniform(-2, 2, n), "step": rng.uniform(-2, 2, n), "colour": rng.choice(["red", "blue"], n),
        "empty": np.full(n, np.nan),
    })
    signal = 2 * frame["x"] + 3 * (frame["step"] > 0) + rng.normal(0, 0.1, n)
    if task == "regression":
        return frame, signal.to_numpy()
    if task == "binary":
        return frame, np.where(signal > signal.median(), "yes", "no")
    return frame, pd.qcut(signal, 3, labels=["low", "mid", "high"]).astype(str).to_numpy()


#: Families that compute in float32: a row's prediction alone and among others agree to about 1e-7
#: (the matrix kernels differ with the batch's size), not to the last digit.
SINGLE_PRECISION = {"mlp"}


def _assert_same(actual: np.ndarray, expected: np.ndarray, task: str, family: str = "") -> None:
    if task == "regression":  # parallel tree averaging may sum in another order
        np.testing.assert_allclose(actual, expected, rtol=1e-6 if family in SINGLE_PRECISION else 1e-12)
    else:
        np.testing.assert_array_equal(actual, expected)


EASY_CASES = [(spec, task) for spec in SPECS for task in TASKS if spec.supports(task)]


@pytest.mark.parametrize("spec, task", EASY_CASES, ids=[f"{s.name}-{t}" for s, t in EASY_CASES])
def test_family_learns_an_easy_table_and_predicts_any_reasonable_input(spec, task):
    from sklearn.dummy import DummyClassifier, DummyRegressor

    X, y = _easy_table(task)
    y = _for_family(spec, y)
    train, test = slice(0, 150), slice(150, None)
    schema = infer_schema(X)
    pipeline = build_pipeline(spec, task, schema, seed=7).fit(X[train], y[train])
    new = X[test]
    prediction = pipeline.predict(new)

    # The same seed gives the same model.
    again = build_pipeline(spec, task, schema, seed=7).fit(X[train], y[train])
    _assert_same(again.predict(new), prediction, task, spec.name)

    # Well above the dummy baseline: the signal is strong and almost noiseless.
    dummy = (DummyRegressor() if task == "regression" else DummyClassifier()).fit(X[train], y[train])
    baseline, score = dummy.score(new, y[test]), pipeline.score(new, y[test])
    assert score >= (0.5 if task == "regression" else baseline + 0.2), (score, baseline)

    # Columns are found by name, in whatever order they come.
    _assert_same(pipeline.predict(new[list(reversed(new.columns))]), prediction, task, spec.name)
    # One row predicts as it does among others.
    single = pipeline.predict(new.iloc[[3]])
    assert single.shape == (1,)
    _assert_same(single, prediction[3:4], task, spec.name)
    # A column missing in every row is imputed, not an error.
    blank = pipeline.predict(new.assign(x=np.nan))
    assert blank.shape == prediction.shape
    if task == "regression":
        assert np.all(np.isfinite(blank))
