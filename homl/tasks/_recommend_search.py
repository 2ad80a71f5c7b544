"""Choosing a recommender: candidates per form, each scored on held-out interactions within the time limit.

Explicit ratings are scored by RMSE on held-out pairs; implicit feedback by NDCG@k of each user's
top k (items seen in training left out) against the items they went on to pick. Candidates come in
rounds: the first setting of every family, then the second..., so a short time limit still sees
every family; the network comes last, and trains for the time left. For ratings, a blend of the best setting of each family that beats the biases is
weighed on their validation predictions last.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from homl._progress import Progress
from homl.errors import ConfigError

from ._recommender import top_unseen


@dataclass
class Candidate:
    """A model to try: its family, a readable name, a factory of a fresh estimator, and its fitting
    time relative to the other settings of its family (to guess whether it ends in time)."""

    family: str
    name: str
    make: Callable[[], Any]
    cost: float = 1.0


@dataclass
class Trial:
    """A candidate's validation scores, how long its fit took, and (ratings) its validation predictions."""

    candidate: Candidate
    scores: dict[str, float]
    seconds: float
    predictions: np.ndarray | None = None


#: Families of each form, in the order tried; the baselines are always scored.
RATING_FAMILIES = ("mean", "biases", "factors", "item_neighbours", "user_neighbours")
FEEDBACK_FAMILIES = ("popular", "als", "item_neighbours", "bpr", "embeddings")
BASELINES = {True: ("mean", "biases"), False: ("popular",)}
#: Families tried after every round of the others: a network trains as long as the time left allows.
LAST = ("embeddings",)


def candidates(explicit: bool, families: list[str] | str | None, *, seed: int,
               scale: tuple[float, float] | None, threads: int) -> list[Candidate]:
    """Every candidate of the form in the order tried: the baselines, then rounds of the families'
    settings (``families``, a list or names separated by commas, limits them; the baselines are always there)."""
    if isinstance(families, str):
        families = [f.strip() for f in families.split(",") if f.strip()]
    known = RATING_FAMILIES if explicit else FEEDBACK_FAMILIES
    unknown = [f for f in families or () if f not in known]
    if unknown:
        raise ConfigError(f"unknown recommender model(s) {', '.join(map(repr, unknown))} for "
                          f"{'ratings' if explicit else 'implicit feedback'}; expected some of {', '.join(known)}")
    baselines = BASELINES[explicit]
    chosen = [f for f in known if f not in baselines and (not families or f in families)]
    settings = _rating_settings(seed, scale) if explicit else _feedback_settings(seed, threads)
    chosen = [f for f in chosen if settings[f] and f not in LAST]
    rounds = max((len(settings[f]) for f in chosen), default=0)
    ordered = [settings[f][r] for r in range(rounds) for f in chosen if r < len(settings[f])]
    late = [c for f in LAST if f in known and (not families or f in families) for c in settings.get(f, [])]
    return [settings[f][0] for f in baselines] + ordered + late


def _rating_settings(seed: int, scale: tuple[float, float] | None) -> dict[str, list[Candidate]]:
    from homl.models import BiasRating, FactorRating, MeanRating, NeighbourRating

    def factors(n: int, **settings: Any) -> Candidate:
        return Candidate("factors", f"Matrix factorisation ({n} factors)",
                         lambda: FactorRating(n_factors=n, **settings, random_state=seed, scale=scale),
                         cost=(n / 50) ** 2 * settings.get("n_iter", 10) / 10)

    def neighbours(users: bool, k: int, **settings: Any) -> Candidate:
        family = "user_neighbours" if users else "item_neighbours"
        return Candidate(family, f"{'User' if users else 'Item'} neighbours (k={k})",
                         lambda: NeighbourRating(k=k, user_based=users, **settings, scale=scale))

    return {
        "mean": [Candidate("mean", "Mean rating", lambda: MeanRating(scale=scale))],
        "biases": [Candidate("biases", "User and item biases",
                             lambda: BiasRating(reg_user=5.0, reg_item=3.0, n_iter=25, scale=scale))],
        "factors": [factors(50), factors(100, n_iter=8), factors(30)],
        "item_neighbours": [neighbours(False, 40), neighbours(False, 20)],
        "user_neighbours": [neighbours(True, 30, damping=0.1), neighbours(True, 40)],
    }


def _feedback_settings(seed: int, threads: int) -> dict[str, list[Candidate]]:
    from homl.models import FeedbackALS, FeedbackBPR, FeedbackEmbeddings, ItemNeighbours, PopularItems

    def als(name: str, **settings: Any) -> Candidate:
        return Candidate("als", f"ALS ({name})", lambda: FeedbackALS(**settings, random_state=seed, num_threads=threads),
                         cost=(settings.get("factors", 64) / 64) ** 2)

    def neighbours(name: str, **settings: Any) -> Candidate:
        return Candidate("item_neighbours", f"Item neighbours ({name})",
                         lambda: ItemNeighbours(**settings, num_threads=threads))

    def bpr(name: str, **settings: Any) -> Candidate:
        return Candidate("bpr", f"BPR ({name})", lambda: FeedbackBPR(**settings, random_state=seed, num_threads=threads),
                         cost=settings.get("iterations", 100) / 100)

    return {
        "popular": [Candidate("popular", "Most popular", PopularItems)],
        "als": [als("64 factors"), als("128 factors", factors=128),
                als("64 factors, alpha 1, reg 30", alpha=1.0, regularization=30.0)],
        "item_neighbours": [neighbours("BM25, k1 3, b 0.1", bm25_k1=3.0, bm25_b=0.1), neighbours("BM25"),
                            neighbours("TF-IDF, k 50", measure="tfidf", k=50), neighbours("cosine", measure="cosine")],
        "bpr": [bpr("64 factors"), bpr("64 factors, 300 iterations", learning_rate=0.002, iterations=300)],
        "embeddings": [Candidate("embeddings", "Embeddings and softmax (64 dimensions)",
                                 lambda: FeedbackEmbeddings(dimensions=64, random_state=seed))] if _has_keras() else [],
    }


def _has_keras() -> bool:
    """Whether the neural recommender can train here (the ``deep`` extra: Keras and PyTorch)."""
    from importlib.util import find_spec

    return find_spec("keras") is not None and find_spec("torch") is not None


def blend_trial(trials: list[Trial], truth: np.ndarray, users: np.ndarray, *, seed: int,
                scale: tuple[float, float] | None) -> Trial | None:
    """A blend of the best setting of each rating family that beats the biases, when there are two such.

    Its non-negative weights and intercept are fitted on the members' validation predictions; its
    validation score is cross-fitted (weights from one half of the users score the other half, and the
    other way round), so it is not flattered by weights chosen on the rows it is scored on. Fitting it
    costs its members' fits.
    """
    from homl.models import RatingBlend

    baseline = min((t.scores["rmse"] for t in trials if t.candidate.family == "biases"), default=np.inf)
    best: dict[str, Trial] = {}
    for trial in trials:
        family, rmse = trial.candidate.family, trial.scores["rmse"]
        if family in ("mean", "biases") or trial.predictions is None or not rmse < baseline:
            continue
        if family not in best or rmse < best[family].scores["rmse"]:
            best[family] = trial
    if len(best) < 2:
        return None
    members = sorted(best.values(), key=lambda t: t.scores["rmse"])
    columns = np.column_stack([t.predictions for t in members])
    half = np.random.default_rng(seed).random(int(users.max()) + 1)[users] < 0.5
    crossed = np.empty(len(truth))
    for side in (half, ~half):
        crossed[~side] = _weigh(columns[side], truth[side]).predict(columns[~side])
    if scale is not None:
        crossed = np.clip(crossed, *scale)
    line = _weigh(columns, truth)
    weights = {t.candidate.family: float(w) for t, w in zip(members, line.coef_)}
    names = " + ".join(f"{t.candidate.name} ({weights[t.candidate.family]:.2f})" for t in members)
    candidate = Candidate("blend", f"Blend of {names}",
                          lambda: RatingBlend([(t.candidate.family, t.candidate.make()) for t in members],
                                              weights=weights, intercept=float(line.intercept_), scale=scale))
    errors = crossed - truth
    scores = {"rmse": float(np.sqrt(np.mean(errors ** 2))), "mae": float(np.mean(np.abs(errors)))}
    return Trial(candidate, scores, sum(t.seconds for t in members))


def _weigh(columns: np.ndarray, truth: np.ndarray) -> Any:
    from sklearn.linear_model import LinearRegression

    return LinearRegression(positive=True).fit(columns, truth)


def timed_fit(candidate: Candidate, X: np.ndarray, y: np.ndarray, deadline: float | None = None) -> tuple[Any, float]:
    """A fresh estimator of ``candidate`` fitted on the coded pairs ``X`` with their ratings or strengths
    ``y``, and the seconds it took; a network trains until ``deadline`` (a ``time.monotonic()`` value) at most."""
    from homl._deadline import fit_deadline

    started = _time.monotonic()
    with fit_deadline(deadline):
        model = candidate.make().fit(X, y)
    return model, _time.monotonic() - started


#: Most users whose top k are ranked to score a model (a seeded sample beyond it).
MAX_RANKED_USERS = 20_000
#: Share of the time limit for trying the models; the rest scores the chosen one and refits it.
SEARCH_SHARE = 0.7


def try_models(tried: list[Candidate], scorer: Scorer, X: np.ndarray, y: np.ndarray, fit_rows: np.ndarray,
               check_rows: np.ndarray, deadline: float, say: Any, progress: Progress) -> list[Trial]:
    """Each candidate fitted on ``fit_rows`` and scored on ``check_rows``, skipped once ``deadline`` has
    passed or when its family's last fit says it would not end before it; a baseline is always tried."""
    progress.phase("trying the models", total=len(tried))
    trials: list[Trial] = []
    rate: dict[str, float] = {}  # the slowest seconds per unit of cost seen in each family
    for candidate in tried:
        guess = rate[candidate.family] * candidate.cost if candidate.family in rate else 0.0
        baseline = candidate.family in BASELINES[scorer.explicit]
        if not baseline and _time.monotonic() + guess > deadline:
            say(f"{candidate.name} skipped: it would not end within the time limit")
            progress.advance(1, candidate.name)
            continue
        try:
            model, took = timed_fit(candidate, X[fit_rows], y[fit_rows], deadline)
            predictions = model.predict(X[check_rows]) if scorer.explicit else None
            scores = (scorer.rating_scores(predictions, y[check_rows]) if scorer.explicit
                      else scorer.score(model, X, y, fit_rows, check_rows)[0])
        except (ValueError, RuntimeError, ArithmeticError, np.linalg.LinAlgError) as error:
            say(f"{candidate.name} failed and was left out: {error}")
            progress.advance(1, candidate.name)
            continue
        rate[candidate.family] = max(took / candidate.cost, rate.get(candidate.family, 0.0))
        trials.append(Trial(candidate, scores, took, predictions))
        progress.advance(1, f"{candidate.name}: {scorer.metric} {scores[scorer.metric]:.4f}")
    return trials


class Scorer:
    """How a form's models are scored on held-out interactions."""

    def __init__(self, explicit: bool, k: int, n_items: int, seed: int):
        self.explicit, self.k, self.n_items, self.seed = explicit, k, n_items, seed
        self.metric = "rmse" if explicit else f"ndcg@{k}"

    @staticmethod
    def rating_scores(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
        errors = predicted - truth
        return {"rmse": float(np.sqrt(np.mean(errors ** 2))), "mae": float(np.mean(np.abs(errors)))}

    def sort_key(self, scores: dict[str, float]) -> float:
        value = scores[self.metric]
        return (value if self.explicit else -value) if np.isfinite(value) else np.inf

    def score(self, model: Any, X: np.ndarray, y: np.ndarray, known: np.ndarray, held: np.ndarray, *,
              detail: bool = False) -> tuple[dict[str, float], list[float]]:
        """The scores of ``model`` (fitted on the ``known`` rows) on the ``held`` rows, and per user
        (when ``detail``): RMSE and MAE of ratings, or the ranking metrics of each user's top k."""
        if self.explicit:
            predicted = model.predict(X[held])
            per_user = []
            if detail:
                squared = pd.Series((predicted - y[held]) ** 2).groupby(X[held, 0]).mean()
                per_user = np.sqrt(squared.to_numpy()).tolist()
            return self.rating_scores(predicted, y[held]), per_user
        from homl.evaluate import per_user_ranking, ranking_scores

        users, relevant = _by_user(X[held])
        if len(users) > MAX_RANKED_USERS:
            keep = np.sort(np.random.default_rng(self.seed).choice(len(users), MAX_RANKED_USERS, replace=False))
            users, relevant = users[keep], [relevant[i] for i in keep]
        seen, none = _seen_lookup(X[known]), np.empty(0, np.int64)
        recommended = top_unseen(model.score_items, users, self.k, lambda u: seen.get(u, none))[0]
        scores = ranking_scores(recommended, relevant, k=self.k, n_items=self.n_items)
        per_user = per_user_ranking(recommended, relevant, k=self.k)[self.metric].tolist() if detail else []
        return {key: float(value) for key, value in scores.items()}, per_user


def _by_user(pairs: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The users of coded pairs and each one's items."""
    order = np.argsort(pairs[:, 0], kind="stable")
    users, starts = np.unique(pairs[order, 0], return_index=True)
    return users, np.split(pairs[order, 1], starts[1:])


def _seen_lookup(pairs: np.ndarray) -> dict[int, np.ndarray]:
    users, items = _by_user(pairs)
    return dict(zip(users.tolist(), items))


def leaderboard(trials: list[Trial], scorer: Scorer) -> pd.DataFrame:
    """Every model tried, best first: its name, its scores on the validation interactions, its fit seconds."""
    shown = ["rmse", "mae"] if scorer.explicit else [f"{m}@{scorer.k}" for m in ("ndcg", "precision", "recall",
                                                                                     "coverage")]
    rows = [{"name": t.candidate.name, **{m: t.scores[m] for m in shown}, "seconds": round(t.seconds, 2)}
            for t in sorted(trials, key=lambda t: scorer.sort_key(t.scores))]
    return pd.DataFrame(rows)
