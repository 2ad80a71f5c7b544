"""Shared ground of the implicit-feedback recommenders: the input contract, cold-start fallbacks, top-n.

Every model learns from pairs ``(user code, item code)``, codes ``0..n-1`` assigned by the caller,
with an optional strength per pair (how many times bought, played...; 1 by default). A code
negative or not seen in ``fit`` is unknown and never raises: an unknown user gets the popularity
ranking, an unknown item scores 0 (no one interacted with it).

Fitted state is plain numpy arrays and numbers, so models load through skops' trusted types:
a sparse matrix is kept as a dict of its ``indptr``/``indices``/``data`` arrays.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from homl._estimator import Estimator, fitting
from homl.errors import ConfigError, DataError, SchemaError, TargetError

#: Dense cells one block of scores may hold (about 160 MB of float64): larger requests go in blocks.
BLOCK_CELLS = 20_000_000


def interaction_codes(X: Any) -> tuple[np.ndarray, np.ndarray]:
    """User and item codes (int64) from an (n, 2) array-like or 2-column DataFrame."""
    values = np.asarray(X)
    if values.ndim != 2 or values.shape[1] != 2:
        raise SchemaError(f"interactions must be 2 columns (user code, item code); got shape {values.shape}")
    return _whole(values[:, 0], "user"), _whole(values[:, 1], "item")


def codes_of(values: Any, what: str) -> np.ndarray:
    """A 1-D array-like of codes as int64."""
    return _whole(np.asarray(values).ravel(), what)


def _whole(values: np.ndarray, what: str) -> np.ndarray:
    if values.dtype.kind in "iu":
        return values.astype(np.int64, copy=False)
    try:
        numbers = values.astype(np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{what} codes must be whole numbers; got values of type {values.dtype}") from None
    bad = ~np.isfinite(numbers) | (numbers != np.round(numbers))
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(f"{what} codes must be whole numbers; row {row} holds {values[row]!r}")
    return numbers.astype(np.int64)


def strengths(y: Any, n: int) -> np.ndarray:
    """Each interaction's strength: ``y`` checked (finite, not negative), or ones."""
    if y is None:
        return np.ones(n)
    try:
        values = np.asarray(y, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise TargetError("interaction strengths must be numbers (counts, plays...)") from None
    if len(values) != n:
        raise TargetError(f"got {len(values)} interaction strengths for {n} interactions")
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        row = int(np.argmax(bad))
        raise TargetError(f"interaction strengths must be finite and not negative; row {row} holds {values[row]!r}")
    return values


def sparse_parts(matrix: sp.spmatrix) -> dict[str, np.ndarray]:
    """A CSR matrix as plain arrays (rebuild it with :func:`from_parts`)."""
    matrix = sp.csr_matrix(matrix)
    return {"indptr": matrix.indptr.astype(np.int64), "indices": matrix.indices.astype(np.int32),
            "data": np.asarray(matrix.data, dtype=np.float64)}


def from_parts(parts: dict[str, np.ndarray], shape: tuple[int, int]) -> sp.csr_matrix:
    """The CSR matrix kept by :func:`sparse_parts`."""
    return sp.csr_matrix((parts["data"], parts["indices"], parts["indptr"]), shape=shape)


def top_n(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Column positions and values of each row's ``n`` highest scores, best first.

    ``-inf`` and NaN never rank: their places are padded with code -1 and score NaN.
    """
    scores = np.where(np.isnan(scores), -np.inf, np.asarray(scores, dtype=np.float64))
    rows, cols = scores.shape
    take = min(n, cols)
    codes = np.full((rows, n), -1, dtype=np.int64)
    values = np.full((rows, n), np.nan)
    if take == 0 or rows == 0:
        return codes, values
    best = np.argpartition(-scores, take - 1, axis=1)[:, :take] if take < cols else np.tile(np.arange(cols), (rows, 1))
    kept = np.take_along_axis(scores, best, axis=1)
    order = np.lexsort((best, -kept), axis=1)  # highest first; ties among those kept to the lower code
    best, kept = np.take_along_axis(best, order, axis=1), np.take_along_axis(kept, order, axis=1)
    allowed = np.isfinite(kept) | (kept == np.inf)
    codes[:, :take] = np.where(allowed, best, -1)
    values[:, :take] = np.where(allowed, kept, np.nan)
    return codes, values


def load_implicit(module: str) -> ModuleType:
    """``implicit.<module>``, or a ConfigError saying how to install it."""
    try:
        return importlib.import_module(f"implicit.{module}")
    except ImportError as error:
        raise ConfigError(f"implicit-feedback recommenders need the implicit package ({error}); "
                          "install it with: pip install 'homl[recommend]'") from error


def seed_of(random_state: Any) -> int | None:
    """An int seed for implicit (its own handling of a RandomState is broken)."""
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    return random_state


class FeedbackModel(Estimator):
    """Base of the implicit-feedback recommenders: ``fit`` on (user, item) pairs, then score items.

    A subclass learns in ``_learn(matrix)`` from the users x items CSR matrix of summed strengths
    and scores known users in ``_scores(users)``; ``_pair_scores`` and ``_item_similarity`` are
    optional (the defaults go through ``_scores`` and ``item_vectors``).
    """

    @fitting
    def fit(self, X: Any, y: Any = None) -> FeedbackModel:
        """Learns from interactions ``X`` (user code, item code) and their strengths ``y``."""
        users, items = interaction_codes(X)
        strength = strengths(y, len(users))
        if len(users) == 0:
            raise DataError("no interactions to learn from")
        if users.min() < 0 or items.min() < 0:
            raise DataError("user and item codes to learn from must be 0 or more; "
                            f"got {min(users.min(), items.min())}")
        self.n_users_, self.n_items_ = int(users.max()) + 1, int(items.max()) + 1
        matrix = sp.csr_matrix((strength, (users, items)), shape=(self.n_users_, self.n_items_))
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        buyers = np.bincount(matrix.indices, minlength=self.n_items_).astype(np.float64)
        total = np.asarray(matrix.sum(axis=0)).ravel()
        self.popularity_ = buyers + total / (total.max() + 1.0)  # distinct users, ties by total strength
        self._learn(matrix)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """A score for each (user, item) pair: higher is likelier, comparable within one user."""
        check_is_fitted(self)
        users, items = interaction_codes(X)
        out = np.zeros(len(users))  # unknown items: no one interacted with them
        item_known = (items >= 0) & (items < self.n_items_)
        user_known = (users >= 0) & (users < self.n_users_)
        cold = item_known & ~user_known
        out[cold] = self.popularity_[items[cold]]
        both = item_known & user_known
        if both.any():
            out[both] = self._pair_scores(users[both], items[both])
        return out

    def score_items(self, users: Any) -> np.ndarray:
        """Scores of every item (columns) for each user code (rows); unknown users get popularity."""
        check_is_fitted(self)
        users = codes_of(users, "user")
        out = np.empty((len(users), self.n_items_))
        known = (users >= 0) & (users < self.n_users_)
        out[~known] = self.popularity_
        if known.any():
            out[known] = self._scores(users[known])
        return out

    def item_vectors(self) -> np.ndarray | None:
        """One row per item for item-to-item similarity, or None where the model has none."""
        check_is_fitted(self)
        return None

    def similar_items(self, items: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Codes (-1 padding) and similarity scores (NaN padding) of the ``n`` items most like each item.

        Never the item itself; an unknown item gets padding only.
        """
        check_is_fitted(self)
        items = codes_of(items, "item")
        codes = np.full((len(items), n), -1, dtype=np.int64)
        scores = np.full((len(items), n), np.nan)
        known = np.flatnonzero((items >= 0) & (items < self.n_items_))
        step = max(1, BLOCK_CELLS // self.n_items_)
        for start in range(0, len(known), step):
            rows = known[start:start + step]
            block = np.array(self._item_similarity(items[rows]), dtype=np.float64)
            block[np.arange(len(rows)), items[rows]] = -np.inf
            codes[rows], scores[rows] = top_n(block, n)
        return codes, scores

    def _learn(self, matrix: sp.csr_matrix) -> None:
        raise NotImplementedError

    def _scores(self, users: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _pair_scores(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Scores of known pairs, read from the score rows of each distinct user, block by block."""
        distinct, inverse = np.unique(users, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(len(distinct) + 1))
        out = np.empty(len(users))
        step = max(1, BLOCK_CELLS // self.n_items_)
        for start in range(0, len(distinct), step):
            stop = min(start + step, len(distinct))
            block = np.asarray(self._scores(distinct[start:stop]))
            pairs = order[bounds[start]:bounds[stop]]
            out[pairs] = block[inverse[pairs] - start, items[pairs]]
        return out

    def _item_similarity(self, items: np.ndarray) -> np.ndarray:
        """Cosine similarity of ``items`` to every item, from :meth:`item_vectors`."""
        vectors = np.asarray(self.item_vectors(), dtype=np.float64)
        norms = np.linalg.norm(vectors, axis=1)
        unit = vectors / np.where(norms > 0, norms, 1.0)[:, None]
        return unit[items] @ unit.T
