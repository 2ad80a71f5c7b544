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


DEFAULT = {"prep:geo_neighbors": 5, "prep:date_values": True}
#: Categories handed to the model itself, for the families that split on them.
NATIVE = {"prep:categorical": "native", "prep:date_values": True}
CASES = [(spec, task, DEFAULT) for spec in SPECS for task in TASKS if spec.supports(task)]
CASES += [(spec, task, NATIVE) for spec in SPECS for task in TASKS if spec.supports(task) and spec.native_categories]


@pytest.mark.parametrize("spec, task, options", CASES,
                         ids=[f"{s.name}-{t}" + ("-native" if o is NATIVE else "") for s, t, o in CASES])
def test_family_is_a_well_behaved_estimator(spec, task, options, tmp_path):
    X, y = _table(task)
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
