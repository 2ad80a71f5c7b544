"""Implicit-feedback recommenders: from purchases, clicks or plays, rank what each user may want next.

- :class:`PopularItems`: the same ranking for everyone, by how many users took each item;
- :class:`ItemNeighbours`: items like those the user took (implicit's item-kNN: BM25, cosine, TF-IDF);
- :class:`FeedbackALS`: matrix factorisation by alternating least squares on confidences (Hu et al.);
- :class:`FeedbackBPR`: matrix factorisation by Bayesian personalised ranking.

All follow the contract of :class:`homl.models._feedback_base.FeedbackModel`: ``fit(X, y)`` on
(user code, item code) pairs and strengths, then ``predict``, ``score_items``, ``item_vectors``
and ``similar_items``. The last three fit with the implicit package (``pip install 'homl[recommend]'``),
imported only then, on its CPU code, BLAS held to one thread while it runs (as implicit asks).

>>> import numpy as np
>>> X = np.array([[0, 0], [0, 1], [1, 1], [2, 1], [2, 2]])
>>> int(PopularItems().fit(X).score_items(np.array([5])).argmax())  # an unknown user: the most taken item
1
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from numbers import Integral, Real
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval, StrOptions
from threadpoolctl import threadpool_limits

from ._feedback_base import FeedbackModel, from_parts, load_implicit, seed_of, sparse_parts

_THREADS = [Interval(Integral, 0, None, closed="left")]
_POSITIVE_INT = [Interval(Integral, 1, None, closed="left")]


class PopularItems(FeedbackModel):
    """Scores each item by the number of distinct users who took it (ties by total strength), for all users.

    ``similar_items`` gives the items most often taken together (cosine of the users who took them).
    """

    _parameter_constraints: dict[str, list[Any]] = {}

    def _learn(self, matrix: sp.csr_matrix) -> None:
        taken = matrix.copy()
        taken.data[:] = 1.0
        self.interactions_ = sparse_parts(taken)

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return np.tile(self.popularity_, (len(users), 1))

    def _pair_scores(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.popularity_[items]

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        taken = from_parts(self.interactions_, (self.n_users_, self.n_items_)).tocsc()
        norms = np.sqrt(np.asarray(taken.sum(axis=0)).ravel())
        unit = taken @ sp.diags(1.0 / np.where(norms > 0, norms, 1.0))
        block = (unit[:, items].T @ unit).toarray()
        return np.where(block > 0, block, -np.inf)  # never taken together: not similar


class ItemNeighbours(FeedbackModel):
    """Scores items by their similarity to the items the user took (item-based k nearest neighbours).

    ``k`` neighbours are kept per item, by ``measure``: ``"bm25"`` (users weighted by BM25 with
    ``bm25_k1`` and ``bm25_b``: heavy users and popular items count less), ``"cosine"`` or
    ``"tfidf"``. A user's score for an item is the sum, over the items they took (times the
    strength), of its similarity to that item. ``bm25_b`` is lower than in text search: on
    MovieLens 0.2 ranked best (0.75 no better than popularity).
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "k": _POSITIVE_INT,
        "measure": [StrOptions({"bm25", "cosine", "tfidf"})],
        "bm25_k1": [Interval(Real, 0, None, closed="left")],
        "bm25_b": [Interval(Real, 0, 1, closed="both")],
        "num_threads": _THREADS,
    }

    def __init__(self, k: int = 100, measure: str = "bm25", bm25_k1: float = 1.2, bm25_b: float = 0.2,
                 num_threads: int = 0) -> None:
        self.k = k
        self.measure = measure
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.num_threads = num_threads

    def _learn(self, matrix: sp.csr_matrix) -> None:
        neighbours = load_implicit("nearest_neighbours")
        with _quiet():
            if self.measure == "bm25":
                model = neighbours.BM25Recommender(K=self.k, K1=self.bm25_k1, B=self.bm25_b,
                                                   num_threads=self.num_threads)
            else:
                kind = neighbours.CosineRecommender if self.measure == "cosine" else neighbours.TFIDFRecommender
                model = kind(K=self.k, num_threads=self.num_threads)
            model.fit(matrix, show_progress=False)
        self.similarity_ = sparse_parts(model.similarity)
        self.interactions_ = sparse_parts(matrix)

    def _similarity(self) -> sp.csr_matrix:
        return from_parts(self.similarity_, (self.n_items_, self.n_items_))

    def _scores(self, users: np.ndarray) -> np.ndarray:
        taken = from_parts(self.interactions_, (self.n_users_, self.n_items_))
        return (taken[users] @ self._similarity()).toarray()

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        block = self._similarity()[items].toarray()
        return np.where(block > 0, block, -np.inf)  # outside the k neighbours: not similar


class _Factors(FeedbackModel):
    """A factorisation: score = user factors . item factors."""

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return self.user_factors_[users] @ self.item_factors_.T

    def _pair_scores(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return np.einsum("ij,ij->i", self.user_factors_[users], self.item_factors_[items])

    def item_vectors(self) -> np.ndarray:
        """The item factors (one row per item)."""
        return self.item_factors_

    def _keep(self, model: Any) -> None:
        self.user_factors_ = _numpy(model.user_factors)
        self.item_factors_ = _numpy(model.item_factors)


class FeedbackALS(_Factors):
    """Alternating least squares on confidences (Hu, Koren & Volinsky 2008), by implicit.

    Each interaction's confidence is ``1 + alpha * w``, where ``w`` is its strength
    (``weighting="linear"``), ``log1p`` of it (``"log"``), or its BM25 weight (``"bm25"``: heavy
    users and popular items count less); pairs never seen have confidence 1 and preference 0.
    The defaults measured best on MovieLens (strong ``regularization``: implicit does not scale it
    by the number of interactions, and a small one overfits the users with few).
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "factors": _POSITIVE_INT,
        "regularization": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "weighting": [StrOptions({"linear", "log", "bm25"})],
        "iterations": _POSITIVE_INT,
        "random_state": ["random_state"],
        "num_threads": _THREADS,
    }

    def __init__(self, factors: int = 64, regularization: float = 20.0, alpha: float = 0.5,
                 weighting: str = "bm25", iterations: int = 15, random_state: Any = None,
                 num_threads: int = 0) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.weighting = weighting
        self.iterations = iterations
        self.random_state = random_state
        self.num_threads = num_threads

    def _learn(self, matrix: sp.csr_matrix) -> None:
        als = load_implicit("cpu.als")
        confidence = self._weights(matrix)
        confidence.data = (1.0 + self.alpha * confidence.data).astype(np.float32)
        with _quiet():
            model = als.AlternatingLeastSquares(factors=self.factors, regularization=self.regularization, alpha=1.0,
                                                iterations=self.iterations, random_state=seed_of(self.random_state),
                                                num_threads=self.num_threads)
            model.fit(confidence, show_progress=False)
        self._keep(model)

    def _weights(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        if self.weighting == "bm25":
            weighted = load_implicit("nearest_neighbours").bm25_weight(matrix, K1=100, B=0.8)
            return sp.csr_matrix(weighted)
        weighted = matrix.astype(np.float64)
        if self.weighting == "log":
            weighted.data = np.log1p(weighted.data)
        return weighted


class FeedbackBPR(_Factors):
    """Bayesian personalised ranking (Rendle et al. 2009), by implicit: learns to rank each user's
    items above items sampled from those they did not take. Strengths are ignored (taken or not).

    The item factors end with the item's bias (the user factors with a 1), so scores include it;
    :meth:`item_vectors` leaves it out.
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "factors": _POSITIVE_INT,
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "regularization": [Interval(Real, 0, None, closed="left")],
        "iterations": _POSITIVE_INT,
        "random_state": ["random_state"],
        "num_threads": _THREADS,
    }

    def __init__(self, factors: int = 64, learning_rate: float = 0.005, regularization: float = 0.01,
                 iterations: int = 100, random_state: Any = None, num_threads: int = 0) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.random_state = random_state
        self.num_threads = num_threads

    def _learn(self, matrix: sp.csr_matrix) -> None:
        bpr = load_implicit("cpu.bpr")
        taken = matrix.astype(np.float32)
        taken.data[:] = 1.0
        with _quiet():
            model = bpr.BayesianPersonalizedRanking(factors=self.factors, learning_rate=self.learning_rate,
                                                    regularization=self.regularization, iterations=self.iterations,
                                                    random_state=seed_of(self.random_state),
                                                    num_threads=self.num_threads)
            model.fit(taken, show_progress=False)
        self._keep(model)

    def item_vectors(self) -> np.ndarray:
        """The item factors without the bias column."""
        return self.item_factors_[:, :-1]


@contextmanager
def _quiet() -> Iterator[None]:
    """BLAS on one thread (implicit checks it when a model is made, and threads its own loops),
    and implicit's notes on the sparse formats it converts hushed."""
    utils = load_implicit("utils")
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore", utils.ParameterWarning)
        yield


def _numpy(factors: Any) -> np.ndarray:
    """Factors as a float32 numpy array (implicit's GPU arrays copied to the host)."""
    if hasattr(factors, "to_numpy"):
        factors = factors.to_numpy()
    return np.ascontiguousarray(factors, dtype=np.float32)
