"""The contract every recommender keeps, tested once across ratings and implicit feedback.

Each model reads (user code, item code) pairs, is a scikit-learn estimator that clones and refuses
bad parameters, scores every item for a user as it scores the same pairs one by one, never fails
on a user or item it has not seen, and survives the model directory with identical scores.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from homl.models import (
    BiasRating,
    FactorRating,
    FeedbackALS,
    FeedbackBPR,
    FeedbackEmbeddings,
    ItemNeighbours,
    MeanRating,
    NeighbourRating,
    PopularItems,
    RatingBlend,
)
from homl.registry import read_model_dir, write_model_dir

RATING_MODELS = [
    MeanRating(), BiasRating(), FactorRating(n_factors=4, n_iter=5, random_state=0), NeighbourRating(k=10),
    NeighbourRating(k=10, user_based=True),
    RatingBlend([("biases", BiasRating()), ("factors", FactorRating(n_factors=4, n_iter=5, random_state=0))],
                random_state=0),
]
FEEDBACK_MODELS = [PopularItems(), ItemNeighbours(k=20), FeedbackALS(factors=8, iterations=5, random_state=0),
                   FeedbackBPR(factors=8, iterations=10, random_state=0),
                   FeedbackEmbeddings(dimensions=8, epochs=3, random_state=0)]
MODELS = RATING_MODELS + FEEDBACK_MODELS


def _log(n_users: int = 60, n_items: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Coded pairs with ratings from user and item biases and a rank-2 taste, about a third of the grid observed."""
    rng = np.random.default_rng(seed)
    users, items = np.nonzero(rng.random((n_users, n_items)) < 0.35)
    taste = rng.normal(size=(n_users, 2)) @ rng.normal(size=(2, n_items)) * 0.5
    taste += rng.normal(0, 0.5, (n_users, 1)) + rng.normal(0, 0.7, (1, n_items))
    ratings = np.clip(3 + taste[users, items] + rng.normal(0, 0.3, len(users)), 1, 5)
    return np.column_stack([users, items]), ratings


def _name(model) -> str:
    return type(model).__name__ + ("-users" if getattr(model, "user_based", False) else "")


@pytest.mark.parametrize("model", MODELS, ids=_name)
def test_recommender_scores_every_item_as_it_scores_pairs(model):
    X, y = _log()
    fitted = clone(model).fit(X, y)
    assert (fitted.n_users_, fitted.n_items_) == (60, 40)
    users = np.array([0, 5, 59])
    grid = fitted.score_items(users)
    assert grid.shape == (3, 40) and np.isfinite(grid).all()
    pairs = np.column_stack([np.repeat(users, 40), np.tile(np.arange(40), 3)])
    np.testing.assert_allclose(fitted.predict(pairs), grid.ravel(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("model", MODELS, ids=_name)
def test_recommender_never_fails_on_a_user_or_item_it_has_not_seen(model):
    X, y = _log()
    fitted = clone(model).fit(X, y)
    unknown = np.array([[60, 0], [-1, 3], [0, 40], [1000, 1000]])
    assert np.isfinite(fitted.predict(unknown)).all()
    assert np.isfinite(fitted.score_items(np.array([60, -1]))).all()


@pytest.mark.parametrize("model", MODELS, ids=_name)
def test_recommender_survives_the_model_directory(model, tmp_path):
    X, y = _log()
    fitted = clone(model).fit(X, y)
    loaded, _ = read_model_dir(write_model_dir(tmp_path / "m", fitted, {}, kind="recommend"))
    np.testing.assert_array_equal(loaded.predict(X[:50]), fitted.predict(X[:50]))
    np.testing.assert_array_equal(loaded.score_items(np.arange(5)), fitted.score_items(np.arange(5)))


@pytest.mark.parametrize("model", RATING_MODELS, ids=_name)
def test_rating_models_predict_within_the_scale_and_beat_the_mean(model):
    X, y = _log()
    train, test = np.arange(len(y)) % 5 != 0, np.arange(len(y)) % 5 == 0
    scaled = clone(model).set_params(scale=(1.0, 5.0)).fit(X[train], y[train])
    predicted = scaled.predict(X[test])
    assert predicted.min() >= 1.0 and predicted.max() <= 5.0
    if not isinstance(model, MeanRating):
        mean_error = np.sqrt(np.mean((y[train].mean() - y[test]) ** 2))
        assert np.sqrt(np.mean((predicted - y[test]) ** 2)) < mean_error
