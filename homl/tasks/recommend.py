"""Recommendation, end to end: read the log → hold out part of each user's interactions → try the
models within the time limit → score the chosen one once on the held-out part → refit on everything.

>>> import homl
>>> result = homl.recommend("ratings.csv", user="userId", item="movieId", rating="rating")  # doctest: +SKIP
>>> result.model.recommend(["414"], n=10)                                                 # doctest: +SKIP
>>> homl.load("models/movies").similar_items("356", n=5)                                  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import logging
import time as _time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from homl import data as hdata
from homl._progress import Progress
from homl.errors import ConfigError, DataError, ModelDirError, SchemaError

from ._kinds import ModelInfo
from ._model import check_output
from ._recommend_diagnostics import diagnostics_of
from ._recommend_search import (
    BASELINES,
    SEARCH_SHARE,
    Scorer,
    blend_trial,
    candidates,
    leaderboard,
    timed_fit,
    try_models,
)
from ._recommender import Recommender
from ._resume import data_hash
from ._targets import column_option
from ._unsupervised import UnsupervisedResult, saved_diagnostics

logger = logging.getLogger("homl")

#: Tables kept beside the model.
TABLES = ("leaderboard",)
#: Share of each user's training interactions held out to choose the model.
VALIDATION_SHARE = 0.2


class RecommendModel:
    """A fitted recommender with what it was trained on.

    ``predict_frame(pairs)`` gives each (user, item) row its predicted rating (named after the
    rating column) or, for implicit feedback, its ``score``, with ``cold_start`` saying when the user
    or the item was never seen in training. ``recommend(users, n)`` ranks the items each user has
    not seen yet; ``similar_items(item, n)`` finds the items most like one.
    """

    kind: ClassVar[str] = "recommend"

    def __init__(self, recommender: Recommender, metadata: dict[str, Any],
                 tables: dict[str, pd.DataFrame] | None = None, path: Path | None = None):
        self.recommender = recommender
        self.metadata = dict(metadata)
        self.tables = dict(tables or {})
        self.path = path

    @property
    def columns(self) -> dict[str, str | None]:
        return self.metadata["columns"]

    @property
    def explicit(self) -> bool:
        return self.metadata["form"] == "ratings"

    @property
    def leaderboard(self) -> pd.DataFrame | None:
        return self.tables.get("leaderboard")

    @property
    def output_column(self) -> str:
        """The prediction's column: the rating column's name, or ``score`` for implicit feedback."""
        return self.columns["rating"] if self.explicit else "score"

    # ------------------------------------------------------------ prediction

    def check(self, data: Any) -> tuple[pd.DataFrame, list[str]]:
        """The (user, item) pairs of ``data`` as text, and what was found (cold starts)."""
        frame, name = _table(data)
        user, item = self.columns["user"], self.columns["item"]
        for role, column in (("user", user), ("item", item)):
            hdata.require_column(frame, column, role, name)
        pairs = pd.DataFrame({"user": hdata.identifiers(frame[user]).to_numpy(),
                              "item": hdata.identifiers(frame[item]).to_numpy()}, index=frame.index)
        return pairs, []

    def predict_frame(self, data: Any, *, issues: list[str] | None = None) -> pd.DataFrame:
        """One row per input row, in input order: the predicted rating or score, and ``cold_start``."""
        pairs, found = self.check(data)
        scores, cold = self.recommender.score_pairs(pairs["user"], pairs["item"])
        out = pd.DataFrame({self.output_column: scores, "cold_start": cold}, index=pairs.index)
        found += _cold_issues(cold, self.explicit)
        _tell(found, issues)
        return out

    def recommend(self, users: Any = None, n: int = 10, *, issues: list[str] | None = None) -> pd.DataFrame:
        """The ``n`` best items for each user (every known user when ``users`` is None), leaving out the
        items each has seen: rows of user, item (as named in training), rank, score and ``cold_start``.
        ``users``: one user, a list of users, or a table of them (its user column, or its only column)."""
        n = _check_top(n)
        if users is None:
            users = pd.Series(self.recommender.users_)
        elif isinstance(users, (str, int)):
            users = pd.Series([users])
        else:
            users = self._user_column(users)
        labels = hdata.identifiers(pd.Series(users)).fillna("")
        best, scores, new = self.recommender.top(labels, n)
        rows = np.repeat(np.arange(len(labels)), n)
        ranks = np.tile(np.arange(1, n + 1), len(labels))
        codes, values = best.ravel(), scores.ravel()
        kept = codes >= 0
        rows, ranks, codes, values = rows[kept], ranks[kept], codes[kept], values[kept]
        out = pd.DataFrame({self.columns["user"]: labels.to_numpy()[rows],
                            self.columns["item"]: np.asarray(self.recommender.items_, dtype=object)[codes]})
        if self.recommender.item_names_:
            out[self.metadata.get("item_name") or "name"] = [self.recommender.item_name(c) for c in codes]
        out["rank"], out["score"] = ranks, values
        out["cold_start"] = np.where(new[rows], "user", "")
        if new.any():
            _tell([f"{int(new.sum()):,} user(s) never seen in training, e.g. {labels[new].iloc[0]!r}: given the items "
                   f"{'rated best' if self.explicit else 'most popular'} overall (cold_start = user)"], issues)
        return out.reset_index(drop=True)

    def similar_items(self, item: Any, n: int = 10) -> pd.DataFrame:
        """The ``n`` items most like ``item`` (as named in training): rows of item, rank and similarity."""
        n = _check_top(n)
        code = int(self.recommender.codes([item], "item")[0])
        if not self.recommender.is_rated(code):
            raise SchemaError(f"item {item!r} was not seen in training, so nothing is known of what it is like "
                              f"(the items are the values of '{self.columns['item']}')")
        codes, similarity = self.recommender.similar(code, n)
        out = pd.DataFrame({self.columns["item"]: np.asarray(self.recommender.items_, dtype=object)[codes]})
        if self.recommender.item_names_:
            out[self.metadata.get("item_name") or "name"] = [self.recommender.item_name(c) for c in codes]
        out["rank"] = np.arange(1, len(codes) + 1)
        out["similarity"] = similarity
        return out

    def _user_column(self, users: Any) -> pd.Series:
        """The users of a table (its user column, or its only column) or of a list."""
        if not isinstance(users, pd.DataFrame):
            return pd.Series(list(users))
        frame, name = users, "the table of users"
        column = self.columns["user"]
        if column in frame.columns:
            return frame[column]
        if frame.shape[1] == 1:
            return frame.iloc[:, 0]
        hdata.require_column(frame, column, "user", name)
        raise AssertionError  # _require raised

    # ------------------------------------------------------------ model directory

    def save(self, path: str | Path, *, overwrite: bool = False, files: dict[str, Path] | None = None) -> Path:
        from homl.registry import write_model_dir

        return write_model_dir(path, self.recommender, self.metadata, kind=self.kind, tables=self.tables or None,
                               files=files, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path) -> RecommendModel:
        from homl.registry import read_model_dir

        recommender, metadata = read_model_dir(path, kind=cls.kind)
        if "columns" not in metadata or not isinstance(recommender, Recommender):
            raise ModelDirError(f"{path}: the directory lacks what a recommender needs (its columns or its model)")
        tables = {name: pd.read_csv(Path(path) / f"{name}.csv") for name in TABLES
                  if (Path(path) / f"{name}.csv").exists()}
        return cls(recommender, metadata, tables, Path(path))

    def info(self) -> ModelInfo:
        meta = self.metadata
        columns = meta["columns"]
        what = (f"ratings '{columns['rating']}' of '{columns['item']}' by '{columns['user']}'" if self.explicit
                else f"which '{columns['item']}' each '{columns['user']}' picks (implicit feedback)")
        scores = meta.get("test_scores", {})
        baseline = meta.get("baseline_test_scores", {})
        shown = ", ".join(f"{k} {_num(v)} ({meta.get('baseline_name', 'baseline')}: {_num(baseline.get(k))})"
                          for k, v in scores.items() if not k.startswith("coverage"))
        lines = [f"task: recommend {what}",
                 f"model: {meta.get('model_name', '?')}",
                 f"test: {shown}" if shown else "test: not scored",
                 f"{meta.get('n_users', '?'):,} users, {meta.get('n_items', '?'):,} items, "
                 f"{meta.get('n_rows', '?'):,} interactions",
                 f"trained {meta.get('trained', '?')}, data sha256 {meta.get('data_sha256', '?')[:16]}…"]
        return ModelInfo(kind=self.kind, summary=lines, leaderboard=self.leaderboard, metric=meta.get("metric", ""),
                         versions=dict(meta.get("library_versions", {})))

    def report(self) -> Any:
        return self._build_report(self.metadata, saved_diagnostics(self.path))

    def _build_report(self, metadata: dict[str, Any], diagnostics: dict[str, Any] | None) -> Any:
        from homl.report.recommend import build_recommend_report

        return build_recommend_report(metadata, diagnostics)

    def __repr__(self) -> str:
        return f"RecommendModel(form={self.metadata.get('form')!r}, model={self.metadata.get('model_name')!r})"


@dataclass
class RecommendResult(UnsupervisedResult):
    """What ``recommend`` found: the model, the leaderboard of validation scores and the test scores
    (``predict_frame``, ``report`` and ``save`` as every result with diagnostics)."""

    model: RecommendModel
    leaderboard: pd.DataFrame
    test_scores: dict[str, float]
    baseline_test_scores: dict[str, float]
    diagnostics: dict[str, Any] = field(repr=False)
    notes: list[str] = field(default_factory=list)

    def recommend(self, users: Any = None, n: int = 10) -> pd.DataFrame:
        return self.model.recommend(users, n)

    def similar_items(self, item: Any, n: int = 10) -> pd.DataFrame:
        return self.model.similar_items(item, n)


# ---------------------------------------------------------------- the task


def recommend(
    data: Any,
    *,
    user: str,
    item: str,
    rating: str | None = None,
    time: str | None = None,
    scale: tuple[float, float] | None = None,
    items: Any = None,
    item_name: str | None = None,
    test_size: float = 0.2,
    top: int = 10,
    models: list[str] | None = None,
    time_limit: float = 60,
    output: str | Path | None = None,
    overwrite: bool = False,
    seed: int = 42,
    query: str | None = None,
    progress: Progress | None = None,
) -> RecommendResult:
    """Learn what each user will like from a log of who rated (``rating`` given) or picked what.

    ``test_size`` of each user's interactions (the latest ones when ``time`` names a time column)
    are held out to score the chosen model once; the models are compared on a further part of each
    user's training interactions: by RMSE for ratings, by NDCG@``top`` of each user's top ``top``
    for implicit feedback. ``models`` limits the families tried (ratings: ``factors``,
    ``item_neighbours``, ``user_neighbours``; implicit feedback: ``als``, ``item_neighbours``, ``bpr``,
    ``embeddings``); the baselines (mean rating and user/item biases, or the most popular items) are
    always scored. ``items``: a table with the item column and names (``item_name``, or
    its first text column) shown in the report and beside recommendations. The chosen model is then
    refit on every interaction.
    """
    from homl.models import free_cores

    progress = progress or Progress()
    started = _time.monotonic()
    user, item = str(column_option(user, "user")), str(column_option(item, "item"))
    rating, time = column_option(rating, "rating", required=False), column_option(time, "time", required=False)
    item_name = column_option(item_name, "item_name", required=False)
    if time_limit <= 0:
        raise ConfigError(f"time_limit must be positive; got {time_limit}")
    if not 0 < test_size < 1:
        raise ConfigError(f"test_size must be between 0 and 1 (a share of each user's interactions); got {test_size}")
    top = _check_top(top)
    if output is not None:
        check_output(Path(output), overwrite)
    progress.phase("reading the interactions")
    log = hdata.read_interactions(data, user=user, item=item, rating=rating, time=time, scale=scale, query=query)
    notes = list(log.notes)
    decisions: list[str] = []

    def say(message: str) -> None:
        decisions.append(message)
        progress.note(message)

    for note in notes:
        progress.note(note)
    frame = log.frame
    user_codes, user_labels = pd.factorize(frame["user"])
    item_codes, item_labels = pd.factorize(frame["item"])
    names, item_name, item_table = _item_names(items, item, item_name, item_labels, notes)  # before any training
    X = np.column_stack([user_codes, item_codes]).astype(np.int64)
    y = frame["rating"].to_numpy(dtype=float)
    times = frame["time"].to_numpy(dtype=float) if "time" in frame else None
    train, test = hdata.per_user_split(user_codes, test_size, seed=seed, times=times)
    if len(test) == 0:
        raise DataError(f"{log.name}: no user has two interactions, so none can be held out to test on; "
                        "a recommender learns from users with several")
    fit_at, check_at = hdata.per_user_split(user_codes[train], VALIDATION_SHARE, seed=seed + 1,
                                            times=None if times is None else times[train])
    fit_rows, check_rows = train[fit_at], train[check_at]
    scorer = Scorer(log.explicit, top, len(item_labels), seed)
    threads = free_cores()

    trials = try_models(candidates(log.explicit, models, seed=seed, scale=log.scale, threads=threads), scorer,
                         X, y, fit_rows, check_rows, started + SEARCH_SHARE * time_limit, say, progress)
    progress.end_phase()
    if log.explicit:
        blend = blend_trial(trials, y[check_rows], X[check_rows, 0], seed=seed, scale=log.scale)
        if blend is not None:
            trials.append(blend)
    if not trials:
        failed = [d for d in decisions if " failed and was left out: " in d or " skipped: " in d]
        first = f" (first: {failed[0]})" if failed else ""
        raise DataError(f"every recommender failed on {log.name}{first}")
    best = min(trials, key=lambda t: scorer.sort_key(t.scores))
    baseline = next((t for t in trials if t.candidate.family == BASELINES[log.explicit][-1]), best)
    choice = (f"{best.candidate.name} scores best on the held-out part of the training interactions "
              f"({scorer.metric} {best.scores[scorer.metric]:.4f}; {baseline.candidate.name}: "
              f"{baseline.scores[scorer.metric]:.4f})")
    say(choice)

    progress.phase("scoring the chosen model once on the test interactions")

    def allowance(share: float) -> float:
        """A deadline ``share`` of the time left away, but as far as the model's validation fit took at least."""
        left = started + time_limit - _time.monotonic()
        return _time.monotonic() + max(share * left, best.seconds)

    chosen, _ = timed_fit(best.candidate, X[train], y[train], allowance(0.5))
    test_scores, per_user = scorer.score(chosen, X, y, train, test, detail=True)
    base_model, _ = timed_fit(baseline.candidate, X[train], y[train])
    baseline_scores = scorer.score(base_model, X, y, train, test)[0]
    say(f"test ({len(test):,} held-out interactions): " + ", ".join(
        f"{k} {_num(v)} ({baseline.candidate.name}: {_num(baseline_scores[k])})" for k, v in test_scores.items()))

    progress.phase("refitting on every interaction")
    final = chosen
    if _time.monotonic() + best.seconds * 1.3 < started + time_limit:
        final, _ = timed_fit(best.candidate, X, y, allowance(1.0))
    else:
        say("the chosen model is kept as fitted without the test interactions: refitting on all of them "
            f"would not end within the time limit ({time_limit:g} s)")
    attributes = None
    if item_table is not None:
        attributes = _attributes(item_table, item, item_name, item_labels, X, y, log.explicit, seed, say)
    recommender = Recommender.build(final, user_labels, item_labels, X, explicit=log.explicit, scale=log.scale,
                                    item_names=names, attributes=attributes)
    board = leaderboard(trials, scorer)
    metadata = {
        "form": "ratings" if log.explicit else "implicit", "columns": log.columns, "scale": log.scale,
        "user": user, "item": item, "rating": rating,
        "item_name": item_name,
        "source": log.name, "n_rows": len(frame), "n_users": len(user_labels), "n_items": len(item_labels),
        "test_rows": len(test), "test_size": test_size, "k": top, "metric": scorer.metric,
        "model": best.candidate.family, "model_name": best.candidate.name, "choice": choice,
        "test_scores": test_scores, "baseline_test_scores": baseline_scores, "baseline_name": baseline.candidate.name,
        "winner": best.candidate.name,
        "test_score": {"metric": scorer.metric, "value": test_scores[scorer.metric], "n_rows": len(test)},
        "notes": notes + decisions, "data_sha256": data_hash(frame), "seed": seed, "time_limit": time_limit,
        "trained": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(_time.monotonic() - started, 1),
    }
    model = RecommendModel(recommender, metadata, {"leaderboard": board})
    diagnostics = diagnostics_of(X, y, recommender, board, per_user, scorer.metric, log.explicit, seed)
    result = RecommendResult(model, board, test_scores, baseline_scores, diagnostics, notes + decisions)
    progress.end_phase()
    if output is not None:
        result.save(output, overwrite=overwrite)
    return result


def _attributes(table: pd.DataFrame, item: str, item_name: str | None, labels: pd.Index, X: np.ndarray,
                y: np.ndarray, explicit: bool, seed: int, say: Any) -> Any:
    """What the items table's attributes predict of the items the log lacks (ratings only)."""
    from homl.models import BiasRating

    from ._item_attributes import attribute_biases

    if not explicit:
        say("the items table names the items; its attributes are used for ratings only (an item the log "
            "lacks ranks last for implicit feedback)")
        return None
    biases = BiasRating(reg_user=5.0, reg_item=3.0, n_iter=25).fit(X, y).item_bias_
    found, sentence = attribute_biases(table, item, item_name, labels, biases,
                                       np.bincount(X[:, 1], minlength=len(labels)), seed)
    say(sentence)
    return found


def _item_names(items: Any, item: str, item_name: str | None, labels: pd.Index,
                notes: list[str]) -> tuple[list[str] | None, str | None, pd.DataFrame | None]:
    """Each item's name from the ``items`` table (its ``item_name`` column, or its first text column),
    that column's name, and the table."""
    if items is None:
        if item_name is not None:
            raise ConfigError("item_name names a column of the items table; give the table too (items=...)")
        return None, None, None
    table, name = _table(items)
    hdata.require_column(table, item, "item", name)
    if item_name is None:
        texts = [c for c in table.columns if c != item and not pd.api.types.is_numeric_dtype(table[c])]
        if not texts:
            raise SchemaError(f"{name} has no text column to name the items by; name one with item_name")
        item_name = texts[0]
    hdata.require_column(table, item_name, "item name", name)
    found = pd.Series(table[item_name].astype(str).to_numpy(), index=hdata.identifiers(table[item]).to_numpy())
    found = found[~found.index.duplicated()]
    names = found.reindex(labels.astype(str))
    if names.isna().any():
        notes.append(f"{int(names.isna().sum()):,} item(s) have no name in {name}: shown by their identifier")
    return names.fillna(pd.Series(labels.astype(str), index=names.index)).tolist(), item_name, table


# ---------------------------------------------------------------- small helpers


def _table(data: Any) -> tuple[pd.DataFrame, str]:
    if isinstance(data, pd.DataFrame):
        return data, "the table"
    return hdata.read_table(data), f"'{data}'"


def _check_top(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ConfigError(f"the number of items to recommend must be a whole number of at least 1; got {n!r}")
    return int(n)


def _cold_issues(cold: np.ndarray, explicit: bool) -> list[str]:
    issues = []
    for what, fallback in (("user", "the item's average" if explicit else "the item's popularity"),
                           ("item", "the user's average (and the item's attributes, for an item of the items "
                                    "table)" if explicit else "the lowest score"),
                           ("user and item", "the overall average" if explicit else "the lowest score")):
        n = int((cold == what).sum())
        if n:
            subject = {"user": "a user", "item": "an item", "user and item": "a user and an item"}[what]
            issues.append(f"{n:,} row(s) with {subject} never seen in training (cold_start = {what}): "
                          f"predicted from {fallback}")
    return issues


def _tell(found: list[str], issues: list[str] | None) -> None:
    for issue in found:
        logger.warning(issue)
    if issues is not None:
        issues.extend(found)


def _num(value: Any) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.4g}"
