"""Implicit-feedback recommenders on a generated purchase log with taste groups."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from homl.data import per_user_split
from homl.errors import ConfigError, DataError, SchemaError, TargetError
from homl.evaluate._ranking import ranking_scores, top_items
from homl.models._feedback import FeedbackALS, FeedbackBPR, ItemNeighbours, PopularItems
from homl.models._feedback_neural import FeedbackEmbeddings

N_USERS, N_ITEMS, GROUPS = 300, 200, 5
POPULAR = np.arange(0, 50, 5)  # ten items, two of each group, taken by many users

MODELS = {
    "popular": lambda: PopularItems(),
    "bm25": lambda: ItemNeighbours(k=30, num_threads=1),
    "cosine": lambda: ItemNeighbours(k=30, measure="cosine", num_threads=1),
    "tfidf": lambda: ItemNeighbours(k=30, measure="tfidf", num_threads=1),
    "als": lambda: FeedbackALS(factors=16, random_state=0, num_threads=1),
    "bpr": lambda: FeedbackBPR(factors=16, learning_rate=0.01, random_state=0, num_threads=1),
    "embeddings": lambda: FeedbackEmbeddings(dimensions=16, epochs=30, random_state=0),
}


def purchases(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(user, item) pairs and counts: each user buys mostly in their group (its popular items
    likelier), plus a few of the popular items and a little noise."""
    rng = np.random.default_rng(seed)
    pairs = []
    for user in range(N_USERS):
        own = np.arange(user % GROUPS, N_ITEMS, GROUPS)
        taste = 1.0 / np.arange(1, len(own) + 1)
        bought = rng.choice(own, size=rng.integers(8, 16), replace=False, p=taste / taste.sum())
        extra = np.r_[rng.choice(POPULAR, size=3, replace=False), rng.integers(0, N_ITEMS, size=1)]
        pairs += [(user, item) for item in np.unique(np.r_[bought, extra])]
    X = np.array(pairs)
    return X, rng.integers(1, 4, size=len(X)).astype(float)


@pytest.fixture(scope="module")
def log() -> tuple[np.ndarray, np.ndarray]:
    return purchases()


@pytest.fixture(scope="module")
def fitted(log) -> dict:
    X, y = log
    return {name: make().fit(X, y) for name, make in MODELS.items()}


def precision_at_10(model, X: np.ndarray, y: np.ndarray) -> float:
    train, test = per_user_split(X[:, 0], 0.25, seed=0)
    model.fit(X[train], y[train])
    def items_of(rows): return [X[rows][X[rows][:, 0] == u, 1] for u in range(N_USERS)]
    recommended, _ = top_items(model.score_items(np.arange(N_USERS)), 10, items_of(train))
    return ranking_scores(recommended, items_of(test), k=10, n_items=N_ITEMS)["precision@10"]


@pytest.mark.parametrize("name", ["bm25", "cosine", "tfidf", "als", "bpr"])
def test_learns_tastes_better_than_popularity(log, name):
    X, y = log
    baseline = precision_at_10(PopularItems(), X, y)
    assert precision_at_10(MODELS[name](), X, y) > 1.4 * baseline  # about 0.18 against 0.11


@pytest.mark.parametrize("name", MODELS)
def test_unknown_users_get_the_popularity_ranking(fitted, name):
    model, popular = fitted[name], fitted["popular"]
    scores = model.score_items(np.array([-1, N_USERS, 10**6]))
    assert np.array_equal(scores, np.tile(popular.popularity_, (3, 1)))
    pairs = np.array([[-3, 4], [N_USERS + 2, 7]])
    assert np.array_equal(model.predict(pairs), popular.predict(pairs))


@pytest.mark.parametrize("name", MODELS)
def test_score_items_matches_predict(fitted, name):
    model = fitted[name]
    users = np.array([0, 7, 7, 299, -1, 42])
    pairs = np.column_stack([users, np.array([0, 3, 150, 199, 5, 42])])
    table = model.score_items(users)
    assert table.shape == (6, N_ITEMS)
    assert np.allclose(model.predict(pairs), table[np.arange(6), pairs[:, 1]], rtol=1e-5, atol=1e-6)
    assert np.array_equal(model.predict(pd.DataFrame(pairs, columns=["user", "item"])), model.predict(pairs))


@pytest.mark.parametrize("name", MODELS)
def test_unknown_items_score_zero(fitted, name):
    assert np.array_equal(fitted[name].predict(np.array([[0, -1], [1, N_ITEMS]])), [0.0, 0.0])


@pytest.mark.parametrize("name", MODELS)
def test_similar_items_never_the_item_itself(fitted, name):
    items = np.arange(N_ITEMS)
    codes, scores = fitted[name].similar_items(items, 8)
    assert codes.shape == scores.shape == (N_ITEMS, 8)
    assert not (codes == items[:, None]).any()
    assert np.isnan(scores[codes == -1]).all() and np.isfinite(scores[codes >= 0]).all()
    assert (np.diff(np.where(codes >= 0, scores, -np.inf), axis=1) <= 1e-9).all()  # best first
    unknown, _ = fitted[name].similar_items(np.array([-1, N_ITEMS]), 3)
    assert (unknown == -1).all()


@pytest.mark.parametrize("name", ["als", "bpr", "bm25", "popular"])
def test_similar_items_share_the_group(fitted, name):
    items = np.arange(50, N_ITEMS, 7)  # none of the popular ones
    codes, _ = fitted[name].similar_items(items, 5)
    found = codes >= 0
    same = (codes % GROUPS == items[:, None] % GROUPS) & found
    assert same.sum() / found.sum() > 0.7


def test_item_vectors(fitted):
    assert fitted["popular"].item_vectors() is None and fitted["bm25"].item_vectors() is None
    assert fitted["als"].item_vectors().shape == (N_ITEMS, 16)
    assert fitted["bpr"].item_vectors().shape == (N_ITEMS, 16)  # without the bias column


@pytest.mark.parametrize("name", MODELS)
def test_clone_keeps_parameters_not_state(fitted, name):
    model = fitted[name]
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "n_items_")


@pytest.mark.parametrize("name", MODELS)
def test_skops_round_trip(fitted, name, tmp_path):
    model, path = fitted[name], tmp_path / "model.skops"
    skops.io.dump(model, path)
    untrusted = skops.io.get_untrusted_types(file=path)
    assert all(kind.split(".")[0] in {"homl", "numpy", "builtins"} for kind in untrusted), untrusted
    loaded = skops.io.load(path, trusted=untrusted)
    users = np.array([0, 5, -1])
    assert np.array_equal(loaded.score_items(users), model.score_items(users))
    assert np.array_equal(loaded.similar_items(np.arange(20), 4)[0], model.similar_items(np.arange(20), 4)[0])


@pytest.mark.parametrize("make, params", [
    (ItemNeighbours, {"k": 0}), (ItemNeighbours, {"measure": "jaccard"}), (ItemNeighbours, {"bm25_b": 2.0}),
    (FeedbackALS, {"factors": 0}), (FeedbackALS, {"alpha": -1.0}), (FeedbackALS, {"weighting": "square"}),
    (FeedbackBPR, {"learning_rate": 0.0}), (FeedbackBPR, {"iterations": 1.5}),
])
def test_bad_parameters_are_named(make, params):
    with pytest.raises(InvalidParameterError, match=next(iter(params))):
        make(**params).fit(np.array([[0, 0], [1, 1]]))


def test_bad_input_explains(log):
    with pytest.raises(SchemaError, match="2 columns"):
        PopularItems().fit(np.zeros((4, 3), dtype=int))
    with pytest.raises(DataError, match="row 1"):
        PopularItems().fit(np.array([[0, 0], [1.5, 1]]))
    with pytest.raises(DataError, match="0 or more"):
        PopularItems().fit(np.array([[0, 0], [-1, 1]]))
    with pytest.raises(TargetError, match="row 0"):
        PopularItems().fit(np.array([[0, 0], [1, 1]]), [-1, 1])
    with pytest.raises(TargetError, match="3 interaction strengths for 2"):
        PopularItems().fit(np.array([[0, 0], [1, 1]]), [1, 1, 1])


def test_popularity_counts_distinct_users_then_strength():
    X = np.array([[0, 0], [0, 0], [0, 0], [1, 1], [2, 1], [3, 2], [4, 2]])
    model = PopularItems().fit(pd.DataFrame(X, columns=["user", "item"]), [1, 1, 5, 1, 1, 2, 1])
    assert model.n_users_ == 5 and model.n_items_ == 3
    assert list(np.argsort(-model.popularity_)) == [2, 1, 0]  # item 0: one user, however many times


def test_missing_implicit_asks_for_the_extra(monkeypatch, log):
    monkeypatch.setitem(sys.modules, "implicit.cpu.als", None)
    with pytest.raises(ConfigError, match=r"homl\[recommend\]"):
        FeedbackALS().fit(*log)
