"""Explicit-rating recommenders: predict the rating a user gives an item.

``X`` holds two integer columns, a user code and an item code (0, 1, ... given by the caller),
and ``y`` the ratings. A code that is negative or was not seen in ``fit`` is unknown (cold
start): its bias counts as zero, so an unknown user gets the item's baseline, an unknown item
the user's, and a pair of strangers the global mean. Every model also scores the whole
catalogue for a batch of users (:meth:`score_items`, for top-N lists) and may offer item
vectors for item-to-item similarity (:meth:`item_vectors`).

Fitted state is plain numpy arrays and numbers, so that a saved model loads without trusting
any other library's types.

>>> import numpy as np
>>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 2]])
>>> model = BiasRating(scale=(1, 5)).fit(X, [4.0, 3.0, 5.0, 4.5])
>>> model.score_items(np.array([0, 7])).shape
(2, 3)
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import LinearRegression
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from homl._estimator import fitting, fitting_around
from homl.data import per_user_split

_SCALE = [tuple, list, None]
#: Numbers held at once in the per-user (per-item) Gram matrices of :class:`FactorRating`.
_GRAM_BLOCK = 1 << 22


def rating_codes(X: Any) -> tuple[np.ndarray, np.ndarray]:
    """The user and item codes in ``X`` (two integer columns) as int64 arrays."""
    values = np.asarray(X)
    if values.ndim != 2 or values.shape[1] != 2:
        raise ValueError(f"X must have two columns, a user code and an item code; got shape {values.shape}")
    if values.dtype.kind not in "iub":
        try:
            numbers = values.astype(np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(f"X must hold integer user and item codes; got {values.dtype} values") from error
        bad = ~np.isfinite(numbers) | (numbers != np.round(numbers))
        if bad.any():
            row = int(np.flatnonzero(bad.any(axis=1))[0])
            raise ValueError(f"X must hold integer user and item codes; {int(bad.sum())} are not "
                             f"(first: row {row}, {values[row].tolist()})")
        values = numbers
    return values[:, 0].astype(np.int64), values[:, 1].astype(np.int64)


def check_ratings(y: Any, n_rows: int) -> np.ndarray:
    """``y`` as a float array of ``n_rows`` finite ratings, else a ValueError saying what is wrong."""
    ratings = np.asarray(y, dtype=np.float64).reshape(-1)
    if len(ratings) != n_rows:
        raise ValueError(f"y holds {len(ratings)} ratings but X has {n_rows} rows; expected one rating per row")
    if n_rows == 0:
        raise ValueError("no ratings to fit: X and y are empty")
    bad = ~np.isfinite(ratings)
    if bad.any():
        raise ValueError(f"the ratings y hold {int(bad.sum())} non-finite values (first: row "
                         f"{int(np.flatnonzero(bad)[0])}, {ratings[bad][0]}); expected finite numbers")
    return ratings


def known(codes: np.ndarray, n: int) -> np.ndarray:
    """Which codes were seen in fitting (``0 <= code < n``)."""
    return (codes >= 0) & (codes < n)


def lookup(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``values[codes]`` along the first axis, zero for unknown codes."""
    inside = known(codes, len(values))
    out = np.zeros((len(codes),) + values.shape[1:], dtype=values.dtype)
    out[inside] = values[codes[inside]]
    return out


def fit_biases(users: np.ndarray, items: np.ndarray, ratings: np.ndarray, mean: float, n_users: int,
               n_items: int, *, reg_user: float, reg_item: float, n_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """User and item biases around ``mean`` by alternating regularised least squares (Koren's baselines)."""
    user_count = np.bincount(users, minlength=n_users)
    item_count = np.bincount(items, minlength=n_items)
    user_bias = np.zeros(n_users)
    item_bias = np.zeros(n_items)
    for _ in range(n_iter):
        item_bias = np.bincount(items, ratings - mean - user_bias[users], n_items) / (reg_item + item_count)
        user_bias = np.bincount(users, ratings - mean - item_bias[items], n_users) / (reg_user + user_count)
    return user_bias, item_bias


class RatingModel(RegressorMixin, BaseEstimator):
    """The shared contract: codes checked, unknown codes fall back to biases, output clipped to ``scale``.

    A subclass learns in ``_fit(users, items, ratings)`` (``n_users_``, ``n_items_`` and ``mean_``
    are set before it runs) and predicts in ``_predict(users, items)`` and ``_score(users)``.
    """

    _parameter_constraints: dict[str, list[Any]] = {"scale": _SCALE}
    scale: tuple[float, float] | None

    @fitting
    def fit(self, X: Any, y: Any) -> RatingModel:
        return self._fit_rows(X, y)

    def _fit_rows(self, X: Any, y: Any) -> RatingModel:
        users, items = rating_codes(X)
        ratings = check_ratings(y, len(users))
        self._check_scale()
        if users.min() < 0 or items.min() < 0:
            raise ValueError("the user and item codes to fit must be 0 or more; "
                             f"found user {users.min()} and item {items.min()} at least")
        self.n_users_ = int(users.max()) + 1
        self.n_items_ = int(items.max()) + 1
        self.n_features_in_ = 2
        self.mean_ = float(ratings.mean())
        self._fit(users, items, ratings)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The predicted rating of each (user, item) row of ``X``."""
        check_is_fitted(self)
        users, items = rating_codes(X)
        return self._clip(self._predict(users, items))

    def score_items(self, users: Any, *, clip: bool = True) -> np.ndarray:
        """The predicted rating of every item (columns) for each user code (rows); with ``clip=False``
        not held to ``scale`` (what ranks items best: clipped ratings tie at the top)."""
        check_is_fitted(self)
        users = np.asarray(users, dtype=np.int64).reshape(-1)
        scores = self._score(users)
        return self._clip(scores) if clip else scores

    def item_vectors(self) -> np.ndarray | None:
        """One row per item code for item-to-item similarity; None for a model without such vectors."""
        return None

    def _check_scale(self) -> None:
        if self.scale is None:
            return
        if len(self.scale) != 2 or not all(isinstance(v, Real) for v in self.scale) or self.scale[0] >= self.scale[1]:
            raise ValueError(f"scale must be None or a pair (low, high) of numbers with low < high; got {self.scale!r}")

    def _clip(self, values: np.ndarray) -> np.ndarray:
        return values if self.scale is None else np.clip(values, *self.scale)

    def _fit(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray) -> None:
        raise NotImplementedError

    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _score(self, users: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class MeanRating(RatingModel):
    """The global mean rating, for every pair."""

    def __init__(self, scale: tuple[float, float] | None = None):
        self.scale = scale

    def _fit(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray) -> None:
        pass

    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return np.full(len(users), self.mean_)

    def _score(self, users: np.ndarray) -> np.ndarray:
        return np.full((len(users), self.n_items_), self.mean_)


class BiasRating(RatingModel):
    """Baseline estimates ``mean + b_u + b_i``, fitted by alternating regularised least squares.

    As Koren's baselines (Surprise's ``baseline_only`` with ALS): ``n_iter`` rounds, each setting
    the item biases, then the user biases, shrunk towards zero by ``reg_item`` and ``reg_user``.
    """

    _parameter_constraints = {
        "reg_user": [Interval(Real, 0, None, closed="left")],
        "reg_item": [Interval(Real, 0, None, closed="left")],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "scale": _SCALE,
    }

    def __init__(self, reg_user: float = 15.0, reg_item: float = 10.0, n_iter: int = 10,
                 scale: tuple[float, float] | None = None):
        self.reg_user = reg_user
        self.reg_item = reg_item
        self.n_iter = n_iter
        self.scale = scale

    def _fit(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray) -> None:
        self.user_bias_, self.item_bias_ = fit_biases(
            users, items, ratings, self.mean_, self.n_users_, self.n_items_,
            reg_user=self.reg_user, reg_item=self.reg_item, n_iter=self.n_iter)

    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.mean_ + lookup(self.user_bias_, users) + lookup(self.item_bias_, items)

    def _score(self, users: np.ndarray) -> np.ndarray:
        return self.mean_ + lookup(self.user_bias_, users)[:, None] + self.item_bias_[None, :]


class FactorRating(RatingModel):
    """Biased matrix factorisation ``mean + b_u + b_i + p_u . q_i``, fitted by alternating least squares.

    Each round solves every user's ``(p_u, b_u)`` in closed form with the items fixed, then every
    item's ``(q_i, b_i)``. The factors are shrunk by ``reg`` times the user's (item's) number of
    ratings (weighted-lambda, Zhou et al. 2008), the biases by ``reg_bias`` times it. The item biases
    start from Koren's baselines and the factors from small random numbers (``random_state``).
    """

    _parameter_constraints = {
        "n_factors": [Interval(Integral, 1, None, closed="left")],
        "reg": [Interval(Real, 0, None, closed="neither")],
        "reg_bias": [Interval(Real, 0, None, closed="neither")],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "init_std": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "scale": _SCALE,
    }

    def __init__(self, n_factors: int = 50, reg: float = 0.1, reg_bias: float = 0.1, n_iter: int = 10,
                 init_std: float = 0.1, random_state: int | None = None, scale: tuple[float, float] | None = None):
        self.n_factors = n_factors
        self.reg = reg
        self.reg_bias = reg_bias
        self.n_iter = n_iter
        self.init_std = init_std
        self.random_state = random_state
        self.scale = scale

    def _fit(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray) -> None:
        rng = check_random_state(self.random_state)
        _, item_bias = fit_biases(users, items, ratings, self.mean_, self.n_users_, self.n_items_,
                                  reg_user=15.0, reg_item=10.0, n_iter=10)
        item_side = np.column_stack([rng.normal(0, self.init_std, (self.n_items_, self.n_factors)), item_bias])
        by_user, by_item = _Groups(users, self.n_users_), _Groups(items, self.n_items_)
        residual = ratings - self.mean_
        for _ in range(self.n_iter):
            user_side = self._solve(by_user, items, residual, item_side)
            item_side = self._solve(by_item, users, residual, user_side)
        self.user_factors_, self.user_bias_ = user_side[:, :-1].copy(), user_side[:, -1].copy()
        self.item_factors_, self.item_bias_ = item_side[:, :-1].copy(), item_side[:, -1].copy()

    def _solve(self, groups: _Groups, others: np.ndarray, residual: np.ndarray, other_side: np.ndarray) -> np.ndarray:
        """Each row's factors and bias given the other side's: ridge regression of the residual ratings
        (less the other side's bias) on the other side's factors and a constant."""
        design = np.column_stack([other_side[others, :-1], np.ones(len(others))])
        penalty = np.append(np.full(self.n_factors, self.reg), self.reg_bias)
        return groups.ridge(design, residual - other_side[others, -1], penalty)

    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        dot = np.einsum("nk,nk->n", lookup(self.user_factors_, users), lookup(self.item_factors_, items))
        return self.mean_ + lookup(self.user_bias_, users) + lookup(self.item_bias_, items) + dot

    def _score(self, users: np.ndarray) -> np.ndarray:
        factors = lookup(self.user_factors_, users)
        return (self.mean_ + lookup(self.user_bias_, users)[:, None] + self.item_bias_[None, :]
                + factors @ self.item_factors_.T)

    def item_vectors(self) -> np.ndarray:
        check_is_fitted(self)
        return self.item_factors_


class _Groups:
    """Rows (ratings) grouped by a code, for one small ridge regression per code."""

    def __init__(self, codes: np.ndarray, n: int):
        self.order = np.argsort(codes, kind="stable")
        self.counts = np.bincount(codes, minlength=n)
        self.bounds = np.r_[0, np.cumsum(self.counts)]

    def ridge(self, design: np.ndarray, target: np.ndarray, penalty: np.ndarray) -> np.ndarray:
        """Per code, the solution of ``(D'D + count * diag(penalty)) w = D'target`` over its rows ``D``."""
        n, d = len(self.counts), design.shape[1]
        design, target = design[self.order], target[self.order]
        solution = np.zeros((n, d))
        step = max(1, _GRAM_BLOCK // (d * d))
        for start in range(0, n, step):  # blocks of codes keep the d x d matrices' memory bounded
            codes = np.arange(start, min(start + step, n))
            gram = np.zeros((len(codes), d, d))
            moment = np.zeros((len(codes), d))
            for code in codes[self.counts[codes] > 0]:  # a BLAS product per code
                part = slice(self.bounds[code], self.bounds[code + 1])
                gram[code - start] = design[part].T @ design[part]
                moment[code - start] = design[part].T @ target[part]
            gram[:, np.arange(d), np.arange(d)] += np.maximum(self.counts[codes], 1)[:, None] * penalty
            solution[codes] = np.linalg.solve(gram, moment[..., None])[..., 0]
        return solution


class RatingBlend(RatingModel):
    """A non-negative linear blend of rating models, weighted on a per-user holdout.

    Every member is fitted on the training rows less ``validation_share`` of each user's rows;
    the blend weights (non-negative) and an intercept are fitted on the held-out predictions;
    then the members are refitted on all rows. With ``weights`` (member name → weight) and
    ``intercept`` given, weighed elsewhere, the members are only fitted on all rows.
    """

    _parameter_constraints = {
        "members": [list],
        "validation_share": [Interval(Real, 0, 1, closed="neither")],
        "random_state": [Interval(Integral, 0, None, closed="left"), None],
        "scale": _SCALE,
        "weights": [dict, None],
        "intercept": [Real],
    }

    def __init__(self, members: list[tuple[str, Any]], validation_share: float = 0.2,
                 random_state: int | None = None, scale: tuple[float, float] | None = None,
                 weights: dict[str, float] | None = None, intercept: float = 0.0):
        self.members = members
        self.validation_share = validation_share
        self.random_state = random_state
        self.scale = scale
        self.weights = weights
        self.intercept = intercept

    @fitting_around
    def fit(self, X: Any, y: Any) -> RatingBlend:
        return self._fit_rows(X, y)  # the members validate their own parameters

    def _fit(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray) -> None:
        names = [name for name, _ in self._checked_members()]
        X = np.column_stack([users, items])
        if self.weights is not None:
            missing = sorted(set(names) - set(self.weights))
            if missing:
                raise ValueError(f"weights name no weight for the member(s) {missing}; they name {sorted(self.weights)}")
            self.weights_ = {name: float(self.weights[name]) for name in names}
            self.intercept_ = float(self.intercept)
            self.members_ = [(name, clone(model).fit(X, ratings)) for name, model in self.members]
            return
        train, held = per_user_split(users, self.validation_share, seed=self.random_state or 0)
        if len(held) == 0:
            raise ValueError("RatingBlend needs users with two or more ratings to hold some out; none has")
        columns = [clone(model).fit(X[train], ratings[train]).predict(X[held]) for _, model in self.members]
        line = LinearRegression(positive=True).fit(np.column_stack(columns), ratings[held])
        self.weights_ = {name: float(w) for name, w in zip(names, line.coef_)}
        self.intercept_ = float(line.intercept_)
        self.members_ = [(name, clone(model).fit(X, ratings)) for name, model in self.members]

    def _checked_members(self) -> list[tuple[str, Any]]:
        if not self.members or not all(isinstance(m, (tuple, list)) and len(m) == 2 for m in self.members):
            raise ValueError(f"members must be a non-empty list of (name, estimator) pairs; got {self.members!r}")
        names = [name for name, _ in self.members]
        if len(set(names)) != len(names):
            raise ValueError(f"the member names must be unique; got {names}")
        return list(self.members)

    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        X = np.column_stack([users, items])
        return self.intercept_ + sum(self.weights_[name] * model.predict(X) for name, model in self.members_)

    def _score(self, users: np.ndarray) -> np.ndarray:
        return self.intercept_ + sum(self.weights_[name] * model.score_items(users) for name, model in self.members_)

    def item_vectors(self) -> np.ndarray | None:
        check_is_fitted(self)
        for _, model in self.members_:
            vectors = model.item_vectors()
            if vectors is not None:
                return vectors
        return None
