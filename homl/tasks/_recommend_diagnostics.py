"""What a recommender's report draws, as plain values: the leaderboard, the ratings, how popular each
item is, the test metric per user, and a few users' recommendations and popular items' neighbours."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._recommender import Recommender

#: Users and items shown in the report's examples.
EXAMPLE_USERS, EXAMPLE_ITEMS, SHOWN = 3, 5, 5


def diagnostics_of(X: np.ndarray, y: np.ndarray, recommender: Recommender, board: pd.DataFrame,
                   per_user: list[float], metric: str, explicit: bool, seed: int) -> dict[str, Any]:
    """What the report draws: the leaderboard, ratings, popularity, per-user scores and examples."""
    popularity = np.sort(recommender.item_users_)[::-1]
    if len(popularity) > 20_000:
        popularity = popularity[np.unique(np.linspace(0, len(popularity) - 1, 2000).astype(int))]
    diagnostics: dict[str, Any] = {
        "leaderboard": board.to_dict("records"),
        "popularity": popularity.tolist(), "popularity_items": int(len(recommender.items_)),
        "per_user": {"metric": metric, "values": [float(v) for v in per_user]},
    }
    if explicit:
        counts = pd.Series(y).round(2).value_counts().sort_index()
        if len(counts) <= 20:
            diagnostics["ratings"] = {"values": counts.index.tolist(), "counts": counts.astype(int).tolist()}
    diagnostics["examples"] = _examples(X, y, recommender, seed)
    diagnostics["neighbours"] = [
        {"item": recommender.item_name(int(code)),
         "similar": [recommender.item_name(int(c)) for c in recommender.similar(int(code), SHOWN)[0]]}
        for code in np.argsort(-recommender.item_users_, kind="stable")[:EXAMPLE_ITEMS]
    ]
    return diagnostics


def _examples(X: np.ndarray, y: np.ndarray, recommender: Recommender, seed: int) -> list[dict[str, Any]]:
    """A few users with several interactions: what they liked most, and what they are recommended."""
    counts = np.bincount(X[:, 0])
    eligible = np.flatnonzero(counts >= 5) if (counts >= 5).any() else np.arange(len(counts))
    chosen = np.random.default_rng(seed).choice(eligible, min(EXAMPLE_USERS, len(eligible)), replace=False)
    best, _, _ = recommender.top([recommender.users_[u] for u in chosen], SHOWN)
    examples = []
    for user, recommended in zip(chosen, best):
        rows = np.flatnonzero(X[:, 0] == user)
        liked = rows[np.argsort(-y[rows], kind="stable")[:SHOWN]]
        examples.append({"user": recommender.users_[user],
                         "liked": [recommender.item_name(int(X[r, 1])) for r in liked],
                         "recommended": [recommender.item_name(int(c)) for c in recommended if c >= 0]})
    return examples
