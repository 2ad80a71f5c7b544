"""Ranking quality of recommendations: each user's top k against the items they took later.

``recommended`` is a (users, >= k) array of item codes, best first, -1 where there is nothing;
``relevant[u]`` holds the held-out item codes of user u (negative codes are ignored, repeats count
once). Users with no relevant item are left out of the averages; an item recommended twice
to a user counts once. Gains are binary.

>>> import numpy as np
>>> scores = ranking_scores(np.array([[3, 1, -1]]), [np.array([1, 2])], k=3, n_items=4)
>>> scores["precision@3"], scores["recall@3"]
(0.3333333333333333, 0.5)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from homl.errors import ConfigError
from homl.models import top_n


def top_items(scores: np.ndarray, n: int, exclude: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` best item codes of each row of ``scores`` (users x items), best first, and their scores.

    Each row's ``exclude[u]`` items (e.g. those the user already took) are left out; where fewer
    than ``n`` items are left, the codes are padded with -1 and the scores with NaN.
    """
    _check_k(n, "n")
    scores = np.array(scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ConfigError(f"scores must be a matrix of users x items; got shape {scores.shape}")
    if exclude is not None:
        if len(exclude) != len(scores):
            raise ConfigError(f"got {len(exclude)} lists of items to exclude for {len(scores)} rows of scores")
        rows, items = _flatten(exclude)
        inside = (items >= 0) & (items < scores.shape[1])
        scores[rows[inside], items[inside]] = -np.inf
    return top_n(scores, n)


def ranking_scores(recommended: np.ndarray, relevant: list[np.ndarray], *, k: int, n_items: int) -> dict[str, float]:
    """Mean precision, recall, MAP, NDCG and hit rate at ``k`` over users with relevant items,
    and the coverage: the share of the ``n_items`` catalogue in anybody's top ``k``.

    MAP divides each user's precision sum by min(k, relevant); NDCG's ideal ranking holds
    min(k, relevant) hits. Keys name ``k``: ``precision@10``... Averages are NaN without users.
    """
    table = per_user_ranking(recommended, relevant, k=k)
    top = _top(recommended, k)
    shown = np.unique(top[(top >= 0) & (top < n_items)])
    means = {name: float(table[name].mean()) if len(table) else float("nan")
             for name in (f"precision@{k}", f"recall@{k}", f"map@{k}", f"ndcg@{k}")}
    means[f"hit_rate@{k}"] = float(table[f"hit@{k}"].mean()) if len(table) else float("nan")
    means[f"coverage@{k}"] = len(shown) / n_items if n_items > 0 else float("nan")
    return means


def per_user_ranking(recommended: np.ndarray, relevant: list[np.ndarray], *, k: int) -> pd.DataFrame:
    """One row per user with relevant items: ``user`` (its row in ``recommended``), ``precision@k``,
    ``recall@k``, ``map@k``, ``ndcg@k`` and ``hit@k`` (k as given, e.g. ``ndcg@10``)."""
    top = _top(recommended, k)
    if len(relevant) != len(top):
        raise ConfigError(f"got relevant items for {len(relevant)} users and recommendations for {len(top)}")
    hits, counts = _hits(top, relevant)
    users = np.flatnonzero(counts > 0)
    hits, counts = hits[users], counts[users].astype(np.float64)
    found = hits.sum(axis=1)
    ranks = np.arange(1, k + 1)
    discount = 1.0 / np.log2(ranks + 1)
    ideal = np.cumsum(discount)[np.minimum(counts, k).astype(np.int64) - 1]
    precision_at = np.cumsum(hits, axis=1) / ranks
    return pd.DataFrame({
        "user": users,
        f"precision@{k}": found / k,
        f"recall@{k}": found / counts,
        f"map@{k}": (precision_at * hits).sum(axis=1) / np.minimum(counts, k),
        f"ndcg@{k}": (hits * discount).sum(axis=1) / ideal,
        f"hit@{k}": (found > 0).astype(np.float64),
    })


def _check_k(k: int, name: str) -> None:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ConfigError(f"{name} must be a whole number of at least 1; got {k!r}")


def _top(recommended: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` columns as int64, padded with -1 where fewer are given."""
    _check_k(k, "k")
    top = np.asarray(recommended)
    if top.ndim != 2:
        raise ConfigError(f"recommended must be a matrix of users x ranked item codes; got shape {top.shape}")
    top = top[:, :k].astype(np.int64)
    if top.shape[1] < k:
        top = np.hstack([top, np.full((len(top), k - top.shape[1]), -1, dtype=np.int64)])
    return top


def _flatten(lists: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers and items of a list of item arrays, flattened."""
    arrays = [np.asarray(items, dtype=np.int64).ravel() for items in lists]
    sizes = np.fromiter(map(len, arrays), dtype=np.int64, count=len(arrays))
    items = np.concatenate(arrays) if arrays else np.empty(0, dtype=np.int64)
    return np.repeat(np.arange(len(arrays)), sizes), items


def _hits(top: np.ndarray, relevant: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Whether each recommended item is relevant (first showing only), and each user's distinct relevant items."""
    rows, items = _flatten(relevant)
    keep = items >= 0
    rows, items = rows[keep], items[keep]
    base = int(max(items.max(initial=0), top.max(initial=0))) + 1
    wanted = np.unique(rows * base + items)
    counts = np.bincount(wanted // base, minlength=len(top))
    keys = np.arange(len(top))[:, None] * base + top
    order = np.argsort(top, axis=1, kind="stable")
    ranked = np.take_along_axis(top, order, axis=1)
    repeat = np.zeros_like(top, dtype=bool)
    np.put_along_axis(repeat, order[:, 1:], ranked[:, 1:] == ranked[:, :-1], axis=1)
    hits = np.isin(keys, wanted) & (top >= 0) & ~repeat
    return hits.astype(np.float64), counts
