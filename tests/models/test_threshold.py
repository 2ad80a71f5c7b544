"""A decision threshold on homl's pipelines: ``predict`` follows it, the probabilities stay the model's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.ensemble import VotingClassifier
from sklearn.pipeline import Pipeline

from homl.data import infer_schema
from homl.models import DecisionThreshold, build_pipeline, get_spec, with_threshold
from homl.registry import FORMATS


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, np.ndarray]:
    """600 rows, a numeric and a text column, 15% "yes" labels."""
    X, y = make_classification(600, n_features=4, n_informative=3, n_redundant=0, weights=[0.85], random_state=0)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame["colour"] = np.where(X[:, 0] > 0, "red", "blue")
    return frame, np.where(y == 1, "yes", "no").astype(object)


def _pipeline(X: pd.DataFrame, family: str = "linear") -> Pipeline:
    return build_pipeline(get_spec(family), "binary", infer_schema(X))


def _assert_thresholded(model, plain, X: pd.DataFrame, threshold: float) -> None:
    """``model`` has ``plain``'s probabilities and says ``classes_[1]`` exactly where P(classes_[1]) >= threshold."""
    proba = model.predict_proba(X)
    np.testing.assert_array_equal(proba, plain.predict_proba(X))
    np.testing.assert_array_equal(model.classes_, ["no", "yes"])
    np.testing.assert_array_equal(model.predict(X) == "yes", proba[:, 1] >= threshold)


def test_a_fitted_pipeline_keeps_its_steps_and_probabilities_and_predicts_from_the_threshold(table):
    X, y = table
    plain = _pipeline(X).fit(X, y)
    # A threshold equal to one row's probability: that row reaches it.
    threshold = float(np.sort(plain.predict_proba(X)[:, 1])[-150])
    model = with_threshold(plain, threshold)
    _assert_thresholded(model, plain, X, threshold)
    assert (model.predict(X) == "yes").sum() == 150 > (plain.predict(X) == "yes").sum()
    assert [name for name, _ in model.steps] == ["schema", "prep", "model"]
    assert model.named_steps["prep"] is plain.named_steps["prep"]
    assert model[-1].estimator is plain[-1]
    np.testing.assert_array_equal(plain.predict(X), plain.classes_[plain.predict_proba(X).argmax(axis=1)])


def test_an_unfitted_pipeline_fits_as_before_then_predicts_from_the_threshold(table):
    X, y = table
    plain = _pipeline(X)
    model = with_threshold(plain, 0.25).fit(X, y)
    assert not hasattr(plain[-1], "coef_")  # the pipeline given is left unfitted
    refitted = clone(plain).fit(X, y)
    _assert_thresholded(model, refitted, X, 0.25)
    assert isinstance(model[-1], DecisionThreshold) and model[-1].n_features_in_ == refitted[-1].n_features_in_


def test_a_voting_ensemble_takes_the_threshold_on_its_averaged_probabilities(table):
    X, y = table
    linear, forest = _pipeline(X), _pipeline(X, "random_forest")
    ensemble = Pipeline([("schema", linear[0]), ("model", VotingClassifier(
        [("linear", linear[1:]), ("forest", forest[1:])], voting="soft", weights=[0.6, 0.4]))])
    plain = ensemble.fit(X, y)
    _assert_thresholded(with_threshold(plain, 0.3), plain, X, 0.3)


def test_the_threshold_survives_save_and_load_with_homls_trusted_types(table, tmp_path):
    X, y = table
    model = with_threshold(_pipeline(X, "lightgbm"), 0.2).fit(X, y)
    path = tmp_path / "model.skops"
    skops = FORMATS[".skops"]
    skops.dump(model, path)
    loaded = skops.load(path)
    assert isinstance(loaded[-1], DecisionThreshold) and loaded[-1].threshold == 0.2
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    _assert_thresholded(loaded, model, X, 0.2)


def test_a_prefitted_model_round_trips_too(table, tmp_path):
    X, y = table
    plain = _pipeline(X).fit(X, y)
    model = with_threshold(plain, 0.35)
    path = tmp_path / "prefit.skops"
    FORMATS[".skops"].dump(model, path)
    np.testing.assert_array_equal(FORMATS[".skops"].load(path).predict(X), model.predict(X))


def test_thresholds_outside_zero_one_and_models_of_more_classes_are_refused(table):
    X, y = table
    with pytest.raises(ValueError, match="threshold must be a probability between 0 and 1, got 1.5"):
        with_threshold(_pipeline(X), 1.5)
    three = np.where(X["a"] > 1, "maybe", y)
    with pytest.raises(ValueError, match=r"needs a binary classifier; the model has classes \['maybe', 'no', 'yes'\]"):
        with_threshold(_pipeline(X).fit(X, three), 0.3)
    with pytest.raises(ValueError, match="DecisionThreshold needs a target with two classes; y is multiclass"):
        with_threshold(_pipeline(X), 0.3).fit(X, three)
