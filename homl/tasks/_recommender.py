"""The fitted recommender a model directory keeps: the chosen scorer with the names of its users and
items, what each user has already seen, and how popular each item is.

Users and items are found by name (read as text, see :func:`homl.data.identifiers`). A user or
item never seen in training is a cold start: the scorer falls back to what it knows (the item's
average rating, the most popular items) and every output row says so in ``cold_start``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from homl.data import identifiers

#: Users scored at a time when ranking every item for them (a block of users × items in memory).
USER_BATCH = 1000
#: How ``cold_start`` reads for each combination of an unknown user and an unknown item.
COLD = {(False, False): "", (True, False): "user", (False, True): "item", (True, True): "user and item"}


class Recommender(BaseEstimator):
    """A scorer of (user code, item code) pairs with the names behind the codes (built by :meth:`build`).

    The fitted state is plain lists and arrays, so it saves with skops like every homl model.
    """

    @classmethod
    def build(cls, scorer: Any, users: pd.Index, items: pd.Index, pairs: np.ndarray, *,
              explicit: bool, scale: tuple[float, float] | None = None,
              item_names: list[str] | None = None, attributes: Any = None) -> Recommender:
        """Wrap ``scorer`` (fitted on the coded ``pairs``) with the labels of its codes; ``attributes``
        (an :class:`~homl.tasks._item_attributes.AttributeBiases`) adds the items known only from
        an items table, rated by what their attributes predict."""
        self = cls()
        self.extra_items_ = list(attributes.labels) if attributes is not None else []
        self.extra_names_ = attributes.names if attributes is not None else None
        self.extra_bias_ = np.asarray(attributes.biases if attributes is not None else [], dtype=float)
        self.scorer_ = scorer
        self.users_ = [str(u) for u in users]
        self.items_ = [str(i) for i in items]
        self.item_names_ = item_names
        self.explicit_ = bool(explicit)
        self.scale_ = None if scale is None else (float(scale[0]), float(scale[1]))
        order = np.lexsort((pairs[:, 1], pairs[:, 0]))
        counts = np.bincount(pairs[:, 0], minlength=len(users))
        self.seen_indptr_ = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.seen_indices_ = pairs[order, 1].astype(np.int64)
        self.item_users_ = np.bincount(pairs[:, 1], minlength=len(items)).astype(np.int64)
        return self

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_lookup", None)  # a cache, rebuilt on first use
        return state

    # ------------------------------------------------------------ look-ups

    def codes(self, values: Any, what: str) -> np.ndarray:
        """The codes of user (``what="user"``) or item labels; -1 for a label never seen in training."""
        lookup = self.__dict__.setdefault("_lookup", {})
        if what not in lookup:
            lookup[what] = pd.Index(self.users_ if what == "user" else self.items_ + self.extra_items_)
        labels = identifiers(values if isinstance(values, pd.Series) else pd.Series(values))
        return lookup[what].get_indexer(labels.fillna("").astype(str))

    def seen(self, user: int) -> np.ndarray:
        """The item codes the user with code ``user`` interacted with in training."""
        return self.seen_indices_[self.seen_indptr_[user]:self.seen_indptr_[user + 1]]

    def item_label(self, code: int) -> str:
        return self.items_[code]

    def item_name(self, code: int) -> str:
        """How a person knows the item: its name from the item table, else its identifier."""
        if code >= len(self.items_):
            extra = code - len(self.items_)
            return self.extra_names_[extra] if self.extra_names_ else self.extra_items_[extra]
        return self.item_names_[code] if self.item_names_ else self.items_[code]

    def is_rated(self, code: int) -> bool:
        """Whether the item with ``code`` was in the log (not only in the items table)."""
        return 0 <= code < len(self.items_)

    # ------------------------------------------------------------ predictions

    def score_pairs(self, users: Any, items: Any) -> tuple[np.ndarray, np.ndarray]:
        """Each pair's predicted rating (explicit) or score, and its ``cold_start`` text."""
        u, i = self.codes(users, "user"), self.codes(items, "item")
        described = i >= len(self.items_)  # known only from the items table: its attributes say how it rates
        scores = np.asarray(self.scorer_.predict(np.column_stack([u, np.where(described, -1, i)])), dtype=float)
        if described.any():
            scores[described] += self.extra_bias_[i[described] - len(self.items_)]
            if self.scale_ is not None:
                scores = np.clip(scores, *self.scale_)
        new_item = (i < 0) | described
        cold = np.array([COLD[key] for key in zip((u < 0).tolist(), new_item.tolist())], dtype=object)
        return scores, cold

    def top(self, users: Any, n: int, *, exclude_seen: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ``n`` best item codes (-1 when fewer are left), their scores, and whether each user is new.

        Ratings are ranked before they are held to the scale (clipped ratings tie at the top) and
        shown after."""
        codes = self.codes(users, "user")
        none = np.empty(0, np.int64)

        def scored(block: np.ndarray) -> np.ndarray:
            return self.scorer_.score_items(block, clip=False) if self.explicit_ else self.scorer_.score_items(block)

        best, scores = top_unseen(scored, codes, n, lambda u: self.seen(u) if u >= 0 and exclude_seen else none)
        if self.scale_ is not None:
            scores = np.clip(scores, *self.scale_)
        return best, scores, codes < 0

    def similar(self, item: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` items most like the item with code ``item``: codes and similarities.

        A model of implicit feedback says itself (the cosine of its item factors, or its item
        neighbours); for ratings, items are alike when the same users rated them (the cosine of
        their columns of the user × item grid), which reads better than the cosine of rating factors.
        """
        if hasattr(self.scorer_, "similar_items"):
            codes, scores = self.scorer_.similar_items(np.array([item]), n)
            kept = codes[0] >= 0
            return codes[0][kept], scores[0][kept]
        similarity = self._co_occurrence(item)
        similarity[item] = -np.inf
        well_known = self.item_users_ >= min(3, int(self.item_users_.max()))
        similarity[~well_known] = -np.inf  # one user's items say little about what is alike
        order = np.argsort(-similarity, kind="stable")[:n]
        order = order[np.isfinite(similarity[order])]
        return order, similarity[order]

    def _co_occurrence(self, item: int) -> np.ndarray:
        """Cosine between the item's users and every other item's users."""
        from scipy import sparse

        n_users = len(self.seen_indptr_) - 1
        matrix = sparse.csr_matrix((np.ones(len(self.seen_indices_)), self.seen_indices_, self.seen_indptr_),
                                   shape=(n_users, len(self.items_))).tocsc()
        common = np.asarray((matrix.T @ matrix[:, item]).todense()).ravel()
        norms = np.sqrt(self.item_users_.astype(float))
        return common / np.maximum(norms * norms[item], 1e-12)


def top_unseen(score_items: Callable[[np.ndarray], np.ndarray], users: np.ndarray, n: int,
               seen: Callable[[int], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each user code's ``n`` best item codes (-1 when fewer are left) and their scores, leaving out
    ``seen(user)``; ``score_items`` scores ``USER_BATCH`` users at a time."""
    from homl.evaluate import top_items

    best = np.full((len(users), n), -1, dtype=np.int64)
    scores = np.full((len(users), n), np.nan)
    for start in range(0, len(users), USER_BATCH):
        block = users[start:start + USER_BATCH]
        best[start:start + len(block)], scores[start:start + len(block)] = top_items(
            score_items(block), n, [seen(int(u)) for u in block])
    return best, scores
