"""Splits of interaction logs by user: each user keeps part of their interactions for training.

A recommender is judged on what it does for the users it knows, so every user's interactions
are split, not the users. A user with a single interaction keeps it in training: there is
nothing to hold out. With times, each user's latest interactions are held out (what comes
next is what a recommender is asked for); otherwise a random share.
"""

from __future__ import annotations

import numpy as np

from homl.errors import ConfigError


def per_user_split(users: np.ndarray, share: float = 0.2, *, seed: int = 0,
                   times: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row positions ``(train, test)``: about ``share`` of each user's rows held out (at least one for a
    user with two or more, never all); the latest ones when ``times`` are given. Both sorted."""
    if not 0.0 < share < 1.0:
        raise ConfigError(f"the share of each user's interactions held out must be between 0 and 1; got {share!r}")
    users = np.asarray(users)
    order, starts, counts = _groups(users, seed, times)
    held = np.clip(np.rint(counts * share).astype(np.int64), 1, None)
    held = np.where(counts >= 2, np.minimum(held, counts - 1), 0)
    position = np.arange(len(users)) - np.repeat(starts, counts)  # rank of each row inside its user's group
    in_test = position >= np.repeat(counts - held, counts)  # the last `held` of each group: latest, or random
    test = np.sort(order[in_test])
    train = np.sort(order[~in_test])
    return train, test


def per_user_folds(users: np.ndarray, n_folds: int = 5, *, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n_folds`` pairs of row positions ``(train, test)``: each user's rows are shuffled and dealt to the
    folds in turn, so each fold holds about ``1/n_folds`` of every user's rows. A user with fewer rows than
    folds is held out in some folds only, and one with a single row always trains."""
    if not isinstance(n_folds, (int, np.integer)) or n_folds < 2:
        raise ConfigError(f"n_folds must be a whole number of at least 2; got {n_folds!r}")
    users = np.asarray(users)
    order, starts, counts = _groups(users, seed, None)
    position = np.arange(len(users)) - np.repeat(starts, counts)
    offset = np.random.default_rng(seed).integers(0, n_folds, size=len(counts))  # spread small users' folds
    fold = (position + np.repeat(offset, counts)) % n_folds
    single = np.repeat(counts < 2, counts)
    folds = []
    for k in range(n_folds):
        in_test = (fold == k) & ~single
        folds.append((np.sort(order[~in_test]), np.sort(order[in_test])))
    return folds


def _groups(users: np.ndarray, seed: int, times: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row positions grouped by user (each group in random order, or by time), each group's start and size."""
    rng = np.random.default_rng(seed)
    shuffle = rng.permutation(len(users))
    if times is None:
        order = shuffle[np.argsort(_codes(users)[shuffle], kind="stable")]
    else:
        times = np.asarray(times)[shuffle]  # ties in time broken at random
        order = shuffle[np.lexsort((times, _codes(users)[shuffle]))]
    _, starts, counts = np.unique(_codes(users)[order], return_index=True, return_counts=True)
    return order, starts, counts


def _codes(users: np.ndarray) -> np.ndarray:
    return np.unique(users, return_inverse=True)[1].ravel()
