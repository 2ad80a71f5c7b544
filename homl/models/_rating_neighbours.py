"""k nearest neighbours with baselines (as Surprise's KNNBaseline), on sparse matrices.

The rating of item ``i`` by user ``u`` is its baseline ``b_ui`` plus the similarity-weighted mean
residual ``r_uj - b_uj`` of the ``k`` items ``j`` most similar to ``i`` that ``u`` rated (users,
``user_based``). Similarities are cosines (or Pearson correlations) of the residuals, shrunk towards
zero when few users rated both items; only the ``n_stored`` most similar positive neighbours of
each item are kept, so memory stays bounded on large catalogues.

Below, the "anchor" is what has neighbours (the item, or the user when ``user_based``) and the
"other" is the rest of the pair. The residuals are kept by other (rows) and anchor (columns).
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval, StrOptions

from homl.models._ratings import _SCALE, RatingModel, fit_biases, known, lookup

#: Numbers held at once in a dense block of similarities, or in the neighbour lists expanded to predict.
_BLOCK = 1 << 22


class NeighbourRating(RatingModel):
    """Item-based (or ``user_based``) k-NN on baseline residuals, like Surprise's KNNBaseline.

    ``similarity``: ``"cosine"`` (of the residual vectors over all ratings, times ``n / (n + shrinkage)``
    for ``n`` co-rating users) or ``"pearson_baseline"`` (Surprise's: the correlation of residuals over
    the co-rating users, times ``(n - 1) / (n - 1 + shrinkage)``). A prediction uses the ``k`` most
    similar of the ``n_stored`` kept neighbours that the user rated (None keeps every positive
    similarity): ``b_ui + sum(s * residual) / (sum(s) + damping)``, so that a few weak neighbours move
    it little; none, and it is the baseline. The baselines are :class:`BiasRating`'s, less regularised
    by default (``reg_user``, ``reg_item``, ``n_iter``): that measured better on MovieLens.
    """

    _parameter_constraints = {
        "k": [Interval(Integral, 1, None, closed="left")],
        "user_based": ["boolean"],
        "shrinkage": [Interval(Real, 0, None, closed="left")],
        "similarity": [StrOptions({"pearson_baseline", "cosine"})],
        "n_stored": [Interval(Integral, 1, None, closed="left"), None],
        "reg_user": [Interval(Real, 0, None, closed="left")],
        "reg_item": [Interval(Real, 0, None, closed="left")],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "damping": [Interval(Real, 0, None, closed="left")],
        "scale": _SCALE,
    }

    def __init__(self, k: int = 40, user_based: bool = False, shrinkage: float = 100.0,
                 similarity: str = "cosine", n_stored: int | None = 200, reg_user: float = 5.0,
                 reg_item: float = 3.0, n_iter: int = 25, damping: float = 0.05,
                 scale: tuple[float, float] | None = None):
        self.k = k
        self.user_based = user_based
        self.shrinkage = shrinkage
        self.similarity = similarity
        self.n_stored = n_stored
        self.reg_user = reg_user
        self.reg_item = reg_item
        self.n_iter = n_iter
        self.damping = damping
        self.scale = scale

    def _fit(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray) -> None:
        self.user_bias_, self.item_bias_ = fit_biases(
            users, items, ratings, self.mean_, self.n_users_, self.n_items_,
            reg_user=self.reg_user, reg_item=self.reg_item, n_iter=self.n_iter)
        residual = ratings - self._baseline(users, items)
        anchors, others = (users, items) if self.user_based else (items, users)
        n_anchors, n_others = self._sizes()
        rated = sp.csr_matrix((np.ones(len(ratings)), (others, anchors)), shape=(n_others, n_anchors))
        residuals = sp.csr_matrix((residual, (others, anchors)), shape=(n_others, n_anchors))
        residuals.data /= rated.data  # a pair rated twice: the mean of its residuals
        rated.data[:] = 1.0
        residuals.sort_indices()
        self.residual_indptr_, self.residual_indices_ = residuals.indptr, residuals.indices.astype(np.int64)
        self.residual_data_ = residuals.data
        similar = self._similarities(residuals, rated)
        self.sim_indptr_, self.sim_indices_, self.sim_data_ = similar.indptr, similar.indices, similar.data

    def _sizes(self) -> tuple[int, int]:
        """The number of anchors and others."""
        return (self.n_users_, self.n_items_) if self.user_based else (self.n_items_, self.n_users_)

    def _baseline(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.mean_ + lookup(self.user_bias_, users) + lookup(self.item_bias_, items)

    def _similarities(self, residuals: sp.csr_matrix, rated: sp.csr_matrix) -> sp.csr_matrix:
        """The kept neighbours of each anchor (rows) and their similarities, computed by blocks of anchors."""
        n_anchors = residuals.shape[1]
        by_anchor, rated_by_anchor = residuals.T.tocsr(), rated.T.tocsr()
        squares = residuals.multiply(residuals).tocsr()
        norms = np.sqrt(np.asarray(squares.sum(axis=0)).ravel())
        keep = n_anchors - 1 if self.n_stored is None else min(self.n_stored, n_anchors - 1)
        step = max(1, _BLOCK // max(n_anchors, 1))
        rows, cols, sims = [], [], []
        for start in range(0, n_anchors, step):
            block = slice(start, min(start + step, n_anchors))
            common = (rated_by_anchor[block] @ rated).toarray()
            products = (by_anchor[block] @ residuals).toarray()
            if self.similarity == "pearson_baseline":
                own = (by_anchor[block].multiply(by_anchor[block]) @ rated).toarray()
                theirs = (rated_by_anchor[block] @ squares).toarray()
                shrink = np.maximum(common - 1, 0) / np.maximum(common - 1 + self.shrinkage, 1e-12)
            else:
                own, theirs = norms[block, None] ** 2, norms[None, :] ** 2
                shrink = common / np.maximum(common + self.shrinkage, 1e-12)
            with np.errstate(divide="ignore", invalid="ignore"):
                sim = np.where(common > 0, products / np.sqrt(own * theirs), 0.0)
            sim = np.nan_to_num(sim, nan=0.0, posinf=0.0, neginf=0.0) * shrink
            sim[np.arange(sim.shape[0]), np.arange(block.start, block.stop)] = 0.0
            row, col, value = _top_positive(sim, keep)
            rows.append(row + start)
            cols.append(col)
            sims.append(value)
        similar = sp.csr_matrix((np.concatenate(sims), (np.concatenate(rows), np.concatenate(cols))),
                                shape=(n_anchors, n_anchors))
        similar.sort_indices()
        return similar

    def _matrix(self, kind: str) -> sp.csr_matrix:
        """The stored similarities (``"sim"``) or residuals (``"residual"``) as a CSR matrix."""
        n_anchors, n_others = self._sizes()
        shape = (n_anchors, n_anchors) if kind == "sim" else (n_others, n_anchors)
        return sp.csr_matrix((getattr(self, f"{kind}_data_"), getattr(self, f"{kind}_indices_"),
                              getattr(self, f"{kind}_indptr_")), shape=shape)

    def _predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        baseline = self._baseline(users, items)
        anchors, others = (users, items) if self.user_based else (items, users)
        n_anchors, n_others = self._sizes()
        pairs = np.flatnonzero(known(anchors, n_anchors) & known(others, n_others))
        lengths = np.diff(self.sim_indptr_)[anchors[pairs]]
        keys = np.repeat(np.arange(n_others, dtype=np.int64), np.diff(self.residual_indptr_)) * n_anchors
        keys += self.residual_indices_
        for part in _batches(lengths, _BLOCK):
            chosen = pairs[part]
            owner, neighbour, sim = _expand(self.sim_indptr_, self.sim_indices_, self.sim_data_, anchors[chosen])
            wanted = others[chosen][owner] * n_anchors + neighbour
            found = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
            rated = keys[found] == wanted
            offset = _neighbour_mean(owner[rated], neighbour[rated], sim[rated],
                                     self.residual_data_[found[rated]], self.k, len(chosen), self.damping)
            baseline[chosen] += offset
        return baseline

    def _score(self, users: np.ndarray) -> np.ndarray:
        scores = self.mean_ + lookup(self.user_bias_, users)[:, None] + self.item_bias_[None, :]
        rows = np.flatnonzero(known(users, self.n_users_))
        if self.user_based:  # the user's neighbours, then the items each rated
            left, right = self._matrix("sim"), self._matrix("residual").T.tocsr()
        else:  # the items the user rated, then the items each is a neighbour of
            left, right = self._matrix("residual"), self._matrix("sim").T.tocsr()
        right_lengths = np.diff(right.indptr)
        per_entry = np.r_[0, np.cumsum(right_lengths[left.indices])]
        lengths = per_entry[left.indptr[users[rows] + 1]] - per_entry[left.indptr[users[rows]]]
        for part in _batches(lengths, _BLOCK, most=max(1, _BLOCK // max(self.n_items_, 1))):
            chosen = rows[part]
            owner, middle, left_value = _expand(left.indptr, left.indices, left.data, users[chosen])
            position, item, right_value = _expand(right.indptr, right.indices, right.data, middle)
            owner, left_value = owner[position], left_value[position]
            neighbour = middle[position]
            sim, residual = (left_value, right_value) if self.user_based else (right_value, left_value)
            group = owner * self.n_items_ + item
            offset = _neighbour_mean(group, neighbour, sim, residual, self.k, len(chosen) * self.n_items_, self.damping)
            scores[chosen] += offset.reshape(len(chosen), self.n_items_)
        return scores


def _top_positive(sim: np.ndarray, keep: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and value of each row's ``keep`` largest positive entries."""
    if keep < sim.shape[1]:
        cols = np.argpartition(-sim, keep - 1, axis=1)[:, :keep]
    else:
        cols = np.broadcast_to(np.arange(sim.shape[1]), sim.shape)
    values = np.take_along_axis(sim, cols, axis=1)
    rows = np.broadcast_to(np.arange(sim.shape[0])[:, None], cols.shape)
    positive = values > 0
    return rows[positive], cols[positive], values[positive]


def _expand(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
            rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The entries of the given CSR rows: for each, the position of its row in ``rows``, its column and value."""
    starts = indptr[rows]
    counts = indptr[rows + 1] - starts
    owner = np.repeat(np.arange(len(rows)), counts)
    before = np.cumsum(counts) - counts
    positions = np.arange(int(counts.sum())) + np.repeat(starts - before, counts)
    return owner, indices[positions].astype(np.int64), data[positions]


def _neighbour_mean(group: np.ndarray, neighbour: np.ndarray, sim: np.ndarray, residual: np.ndarray,
                    k: int, n_groups: int, damping: float) -> np.ndarray:
    """Per group, the similarity-weighted mean residual of its ``k`` most similar neighbours (0 if none);
    ties go to the lower neighbour code."""
    sizes = np.bincount(group, minlength=n_groups)
    crowded = np.flatnonzero(sizes[group] > k)
    if len(crowded):  # only groups with more than k neighbours need sorting
        order = crowded[np.lexsort((neighbour[crowded], -sim[crowded], group[crowded]))]
        sorted_groups = group[order]
        first = np.r_[True, sorted_groups[1:] != sorted_groups[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
        dropped = order[np.arange(len(order)) - start >= k]
        sim = sim.copy()
        sim[dropped] = 0.0
    total = np.bincount(group, sim, minlength=n_groups)
    weighted = np.bincount(group, sim * residual, minlength=n_groups)
    return np.divide(weighted, total + damping, out=np.zeros(n_groups), where=total > 0)


def _batches(lengths: np.ndarray, limit: int, most: int | None = None) -> list[np.ndarray]:
    """Consecutive positions into ``lengths``, cut so that each batch's lengths sum to about ``limit``
    and it holds at most ``most`` positions."""
    if len(lengths) == 0:
        return []
    cuts = np.searchsorted(np.cumsum(lengths), np.arange(limit, int(lengths.sum()), limit))
    if most is not None:
        cuts = np.r_[cuts, np.arange(most, len(lengths), most)]
    return [part for part in np.split(np.arange(len(lengths)), np.unique(cuts)) if len(part)]
