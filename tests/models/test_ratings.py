"""Explicit-rating recommenders: they learn a low-rank rating matrix, fall back on biases for
strangers, score whole catalogues as they predict pairs, and follow the scikit-learn contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import clone
from sklearn.model_selection import cross_val_score
from sklearn.utils._param_validation import InvalidParameterError

from homl.models import _rating_neighbours
from homl.models._rating_neighbours import NeighbourRating
from homl.models._ratings import BiasRating, FactorRating, MeanRating, RatingBlend

N_USERS, N_ITEMS = 200, 150


def _blend() -> RatingBlend:
    return RatingBlend([("bias", BiasRating()), ("factor", FactorRating(n_factors=5, random_state=0)),
                        ("items", NeighbourRating()), ("users", NeighbourRating(user_based=True))], random_state=0)


MODELS = {
    "mean": MeanRating,
    "bias": BiasRating,
    "factor": lambda: FactorRating(n_factors=5, random_state=0),
    "item-knn": NeighbourRating,
    "user-knn": lambda: NeighbourRating(user_based=True, k=20),
    "blend": _blend,
}
ALL = pytest.mark.parametrize("name", list(MODELS))


@pytest.fixture(scope="module")
def ratings() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train and test rows of a rank-3 rating matrix, 30% observed, with noise, on a 1-5 scale."""
    rng = np.random.default_rng(0)
    users, items = rng.normal(size=(N_USERS, 3)), rng.normal(size=(N_ITEMS, 3))
    full = 3.0 + users @ items.T * 0.6 + rng.normal(0, 0.5, N_USERS)[:, None] + rng.normal(0, 0.5, N_ITEMS)
    rows, cols = np.nonzero(rng.random((N_USERS, N_ITEMS)) < 0.3)
    y = np.clip(full[rows, cols] + rng.normal(0, 0.3, len(rows)), 1, 5)
    X = np.column_stack([rows, cols])
    test = rng.random(len(y)) < 0.2
    return X[~test], y[~test], X[test], y[test]


@pytest.fixture(scope="module")
def fitted(ratings) -> dict[str, object]:
    X, y, _, _ = ratings
    return {name: make().fit(X, y) for name, make in MODELS.items()}


def _rmse(model, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((model.predict(X) - y) ** 2)))


@ALL
def test_models_beat_the_mean_on_held_out_rows(name, fitted, ratings):
    _, _, X_test, y_test = ratings
    if name != "mean":
        assert _rmse(fitted[name], X_test, y_test) < 0.9 * _rmse(fitted["mean"], X_test, y_test)


@pytest.mark.parametrize("name", ["factor", "blend"])
def test_factors_and_the_blend_beat_the_biases(name, fitted, ratings):
    _, _, X_test, y_test = ratings
    assert _rmse(fitted[name], X_test, y_test) < 0.9 * _rmse(fitted["bias"], X_test, y_test)


def test_the_blend_weighs_its_members_and_lends_the_factor_vectors(fitted):
    blend = fitted["blend"]
    assert set(blend.weights_) == {"bias", "factor", "items", "users"}
    assert all(w >= 0 for w in blend.weights_.values()) and blend.weights_["factor"] > 0
    np.testing.assert_array_equal(blend.item_vectors(), blend.members_[1][1].item_vectors())
    assert fitted["factor"].item_vectors().shape == (N_ITEMS, 5)
    assert fitted["bias"].item_vectors() is None


def test_unknown_codes_fall_back_to_the_biases(fitted):
    model = fitted["bias"]
    X = np.array([[-1, 4], [N_USERS + 3, 4], [7, -2], [7, N_ITEMS], [-1, N_ITEMS + 1]])
    expected = [model.mean_ + model.item_bias_[4]] * 2 + [model.mean_ + model.user_bias_[7]] * 2 + [model.mean_]
    np.testing.assert_allclose(model.predict(X), expected)


@ALL
def test_unknown_codes_give_finite_predictions_and_the_baseline_row(name, fitted):
    model = fitted[name]
    X = np.array([[-1, 4], [N_USERS + 3, 4], [7, -2], [7, N_ITEMS], [-1, N_ITEMS + 1]])
    assert np.isfinite(model.predict(X)).all()
    row = model.score_items(np.array([-1]))[0]
    np.testing.assert_allclose(row[[4]], model.predict(X[:1]))


@ALL
def test_score_items_rows_are_the_predictions_of_every_item(name, fitted):
    model = fitted[name]
    users = np.array([0, 13, 199, -1, 5000])
    scores = model.score_items(users)
    assert scores.shape == (len(users), model.n_items_)
    pairs = np.column_stack([np.repeat(users, N_ITEMS), np.tile(np.arange(N_ITEMS), len(users))])
    np.testing.assert_allclose(scores.ravel(), model.predict(pairs), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("user_based", [False, True])
def test_neighbours_predict_the_same_in_small_batches(user_based, fitted, ratings, monkeypatch):
    model = fitted["user-knn" if user_based else "item-knn"]
    X = ratings[2]
    predictions, scores = model.predict(X), model.score_items(np.arange(30))
    monkeypatch.setattr(_rating_neighbours, "_BLOCK", 64)
    np.testing.assert_allclose(model.predict(X), predictions, rtol=1e-12)
    np.testing.assert_allclose(model.score_items(np.arange(30)), scores, rtol=1e-12)


@ALL
def test_scale_clips_predictions_and_scores(name, ratings):
    X, y, X_test, _ = ratings
    model = clone(MODELS[name]()).set_params(scale=(2.5, 3.5)).fit(X, y)
    predictions, scores = model.predict(X_test), model.score_items(np.arange(10))
    assert predictions.min() >= 2.5 and predictions.max() <= 3.5
    assert scores.min() >= 2.5 and scores.max() <= 3.5
    if name != "mean":
        assert {2.5, 3.5} <= set(np.round(predictions, 6))


@ALL
def test_clone_and_cross_validation_work_on_a_table(name, ratings):
    X, y, _, _ = ratings
    frame = pd.DataFrame(X, columns=["user", "item"])
    scores = cross_val_score(clone(MODELS[name]()), frame, y, cv=3, scoring="neg_root_mean_squared_error")
    assert np.isfinite(scores).all() and (scores < 0).all()


@ALL
def test_saved_models_load_with_the_same_predictions(name, fitted, ratings, tmp_path):
    model, X_test = fitted[name], ratings[2]
    path = tmp_path / f"{name}.skops"
    sio.dump(model, path)
    loaded = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))
    np.testing.assert_array_equal(loaded.score_items(np.arange(5)), model.score_items(np.arange(5)))


@pytest.mark.parametrize("model", [
    FactorRating(n_factors=0), FactorRating(reg=0.0), NeighbourRating(k=0), NeighbourRating(similarity="msd"),
    BiasRating(reg_user=-1.0), RatingBlend([("bias", BiasRating())], validation_share=1.0),
], ids=repr)
def test_bad_parameters_raise_sklearn_errors(model, ratings):
    with pytest.raises(InvalidParameterError):
        model.fit(*ratings[:2])


@ALL
def test_bad_ratings_raise_errors_that_name_the_problem(name, ratings):
    X, y, _, _ = ratings
    model = MODELS[name]()
    with pytest.raises(ValueError, match=f"y holds {len(y) - 1} ratings but X has {len(y)} rows"):
        model.fit(X, y[:-1])
    bad = y.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="1 non-finite values"):
        model.fit(X, bad)


def test_bad_codes_and_scales_raise_errors_that_name_the_problem(ratings):
    X, y, _, _ = ratings
    with pytest.raises(ValueError, match="two columns"):
        BiasRating().fit(X[:, :1], y)
    with pytest.raises(ValueError, match="integer user and item codes"):
        BiasRating().fit(X + 0.5, y)
    with pytest.raises(ValueError, match="low < high"):
        BiasRating(scale=(5, 1)).fit(X, y)
    with pytest.raises(ValueError, match="unique"):
        RatingBlend([("a", BiasRating()), ("a", MeanRating())]).fit(X, y)
