"""The recommender report: how well the chosen model predicts ratings or ranks items against a simple
baseline, the models tried, the shape of the data (ratings, long tail), how unequal the results are
across users, and a few recommendations and similar items to judge by eye.

Built from plain data only (the model's metadata and its saved diagnostics), so
``homl report MODEL_DIR`` rebuilds it without the training data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ._figures import BLUE, GREY, ORANGE, RED, WIDE, histogram, new_figure, short_text
from ._html import Report, Section
from ._html import num as _plain_num

#: Section titles, in order.
SECTIONS = ("Summary", "Leaderboard", "The data", "Results per user", "Example recommendations", "Similar items",
            "Notes")
#: Error metrics of predicted ratings; every ranking metric (precision@k, ndcg@k...) is better higher.
LOWER_IS_BETTER = ("rmse", "mae")
#: Example users shown, and items listed for each.
MAX_EXAMPLES, MAX_LISTED = 8, 10


def build_recommend_report(metadata: dict[str, Any], diagnostics: dict[str, Any] | None) -> Report:
    """The report of one recommender, from its metadata and diagnostics."""
    meta, diag = metadata or {}, diagnostics or {}
    user, item = meta.get("user", "user"), meta.get("item", "item")
    if meta.get("form") == "implicit":
        title = f"Recommendations: what '{user}' will pick among '{item}'"
    else:
        title = f"Recommendations: ratings of '{item}' by '{user}'"
    rows = f"{meta['n_rows']:,} rows" if isinstance(meta.get("n_rows"), int) else ""
    report = Report(title, " · ".join(str(p) for p in (meta.get("model_name"), rows, meta.get("source")) if p))
    _summary(report.section("Summary"), meta)
    _leaderboard(report.section("Leaderboard"), meta, diag.get("leaderboard"))
    _data(report.section("The data"), meta, diag)
    _per_user(report.section("Results per user"), meta, diag.get("per_user"))
    _examples(report.section("Example recommendations"), meta, diag.get("examples"))
    _neighbours(report.section("Similar items"), diag.get("neighbours"))
    _notes(report.section("Notes"), meta)
    return report


def _summary(section: Section, meta: dict[str, Any]) -> None:
    metric = meta.get("metric") or ("ndcg@10" if meta.get("form") == "implicit" else "rmse")
    test, base = meta.get("test_scores") or {}, meta.get("baseline_test_scores") or {}
    users, items, rows = meta.get("n_users"), meta.get("n_items"), meta.get("n_rows")
    density = _number(rows) / (_number(users) * _number(items)) if _number(users) and _number(items) else None
    cards: dict[str, Any] = {"users": _card(users), "items": _card(items), "interactions": _card(rows),
                             "density": _share(density)}
    baseline = meta.get("baseline_name") or "baseline"
    versus = f"the baseline ({baseline.lower()})" if meta.get("baseline_name") else "the baseline"
    cards[f"test {_label(metric)}"] = num(test.get(metric))
    cards[f"{baseline} {_label(metric)}"] = num(base.get(metric))
    gain = _gain(metric, test.get(metric), base.get(metric))
    cards["against the baseline"] = "-" if gain is None else f"{abs(gain):.0%} {'better' if gain >= 0 else 'worse'}"
    section.cards(cards)
    if meta.get("choice"):
        section.text(meta["choice"])
    if not test:
        section.note("Test scores were not saved with this model.")
        return
    if meta.get("form") == "implicit":
        reading = _implicit_reading(meta, test, base, versus)
    else:
        reading = _ratings_reading(meta, test, base, versus)
    if reading:
        section.text(reading)
    if density is not None:
        section.text(f"Density is the share of (user, item) pairs with an interaction: "
                     f"{_share(density)} of the grid is filled, the rest is what the model guesses.")


def _ratings_reading(meta: dict[str, Any], test: dict[str, Any], base: dict[str, Any], versus: str) -> str:
    metric = "mae" if _finite(test.get("mae")) else "rmse" if _finite(test.get("rmse")) else None
    if metric is None:
        return ""
    scale = meta.get("scale")
    on = f" on a {num(scale[0])} to {num(scale[1])} scale" if isinstance(scale, (list, tuple)) and len(scale) == 2 else ""
    held = f"the {int(meta['test_rows']):,} held-out ratings" if _finite(meta.get("test_rows")) else "held-out ratings"
    why = "" if metric == "mae" else ", a mean that weighs large misses more"
    text = f"On {held} the model is off by {num(test[metric])} on average{on} ({metric.upper()}{why})"
    gain = _gain(metric, test[metric], base.get(metric))
    if gain is not None:
        text += f", {abs(gain):.0%} {'better' if gain >= 0 else 'worse'} than {versus}, which scores {num(base[metric])}"
    text += "."
    if metric == "mae" and _finite(test.get("rmse")):
        text += f" Its RMSE, which weighs large misses more, is {num(test['rmse'])}"
        text += f" against {num(base['rmse'])}." if _finite(base.get("rmse")) else "."
    return text


def _implicit_reading(meta: dict[str, Any], test: dict[str, Any], base: dict[str, Any], versus: str) -> str:
    k = _k(meta)
    parts = []
    precision = test.get(f"precision@{k}")
    if _finite(precision):
        text = (f"Of the {k} items shown to each user, {_number(precision) * k:.2g} on average were items the user "
                f"went on to pick (precision@{k} {num(precision)})")
        other = base.get(f"precision@{k}")
        text += f", against {_number(other) * k:.2g} for {versus}." if _finite(other) else "."
        parts.append(text)
    for key, sentence in ((f"recall@{k}", "The lists hold {} of what a user went on to pick (recall@{})"),
                          (f"hit_rate@{k}", "{} of users find at least one of their picks in their list "
                                            "(hit rate@{})"),
                          (f"coverage@{k}", "Across all users the lists draw on {} of the items (coverage@{})")):
        if _finite(test.get(key)):
            other = base.get(key)
            against = f", against {_share(other)} for {versus}" if _finite(other) else ""
            parts.append(sentence.format(_share(test[key]), k) + against + ".")
    metric = meta.get("metric")
    if metric and metric.startswith("ndcg") and _finite(test.get(metric)):
        parts.append(f"NDCG@{k} ({num(test[metric])}) also rewards placing the picks near the top of the list: 1 "
                     "would put every pick first.")
    return " ".join(parts)


def _leaderboard(section: Section, meta: dict[str, Any], board: list[dict[str, Any]] | None) -> None:
    frame = pd.DataFrame(board or [])
    if frame.empty or "name" not in frame:
        section.note("The leaderboard was not saved with this model.")
        return
    metric = meta.get("metric") or ""
    lower = metric in LOWER_IS_BETTER
    section.text(f"Every model tried, scored on validation interactions by {_label(metric) or 'its metric'} "
                 f"({'lower' if lower else 'higher'} is better), best first; seconds to fit.")
    scores = [c for c in frame.columns if c not in ("name", "seconds")]
    ordered = ["name", *([metric] if metric in scores else []), *[c for c in scores if c != metric],
               *(["seconds"] if "seconds" in frame else [])]
    shown = frame[ordered].copy()
    for column in ordered[1:]:
        values = pd.to_numeric(shown[column], errors="coerce")
        shown[column] = values.round(1 if column == "seconds" else 4)
    section.table(shown.rename(columns={"name": "model", **{c: _label(c) for c in scores}}))
    if metric not in frame:
        section.note(f"The leaderboard holds no {_label(metric) or 'metric'} column to draw.")
        return
    fig, caption = _leaderboard_figure(frame, metric, meta)
    section.figure(fig, "leaderboard", caption)


def _leaderboard_figure(frame: pd.DataFrame, metric: str, meta: dict[str, Any]) -> tuple[Figure, str]:
    values = pd.to_numeric(frame[metric], errors="coerce").to_numpy(dtype=float)
    names = frame["name"].astype(str).tolist()
    chosen = meta.get("model_name") if meta.get("model_name") in names else names[0]
    baseline = str(meta.get("baseline_name") or "").lower()
    colours = [ORANGE if baseline and n.lower() == baseline else BLUE if n == chosen else GREY for n in names]
    fig, ax = new_figure((WIDE[0], max(2.5, 0.35 * len(names) + 1.2)))
    y = np.arange(len(names))[::-1]
    ax.barh(y, np.nan_to_num(values), color=colours)
    ax.set_yticks(y, [short_text(n, 45) for n in names], fontsize="small")
    for position, value in zip(y, values, strict=True):
        if np.isfinite(value):
            ax.text(value, position, f" {value:.3g}", va="center", fontsize="x-small")
    finite = values[np.isfinite(values)]
    caption = ""
    # Error metrics of good models differ by a few percent: from zero the bars would all look alike.
    if metric in LOWER_IS_BETTER and len(finite) and finite.min() > 0 and finite.min() / finite.max() > 0.5:
        low, high = finite.min(), finite.max()
        ax.set_xlim(max(0.0, low - 0.6 * (high - low) - 0.02 * high), high + 0.15 * (high - low) + 0.02 * high)
        caption = "The axis does not start at 0, so that close scores can be told apart."
    elif len(finite):
        ax.set_xlim(0, finite.max() * 1.15)
    handles = [Patch(color=BLUE, label="chosen"), Patch(color=GREY, label="other models")]
    if ORANGE in colours:
        handles.append(Patch(color=ORANGE, label="baseline"))
    fig.legend(handles=handles, fontsize="x-small", loc="outside lower center", ncols=len(handles), frameon=False)
    ax.set_xlabel(f"validation {_label(metric)} ({'lower' if metric in LOWER_IS_BETTER else 'higher'} is better)")
    ax.set_title("Models by validation score", fontsize="medium")
    return fig, caption


def _data(section: Section, meta: dict[str, Any], diag: dict[str, Any]) -> None:
    if meta.get("form") != "implicit":
        _ratings(section, meta, diag.get("ratings"))
    _long_tail(section, meta, diag.get("popularity"), diag.get("popularity_items"))


def _ratings(section: Section, meta: dict[str, Any], ratings: dict[str, Any] | None) -> None:
    if not isinstance(ratings, dict) or not ratings.get("values") or len(ratings["values"]) != len(ratings.get("counts") or []):
        section.note("The distribution of ratings was not saved with this model.")
        return
    values = np.asarray(ratings["values"], dtype=float)
    counts = np.asarray(ratings["counts"], dtype=float)
    if not counts.sum():
        section.note("The distribution of ratings was not saved with this model.")
        return
    mean = float((values * counts).sum() / counts.sum())
    section.text(f"Ratings average {num(mean)}; the most common is {num(values[counts.argmax()])} "
                 f"({counts.max() / counts.sum():.0%} of all ratings). Most people rate what they chose to watch or "
                 "buy, so ratings lean high and low ones are rare.")
    fig, ax = new_figure()
    gaps = np.diff(np.sort(values))
    width = 0.8 * (gaps.min() if len(gaps) else 1.0)
    ax.bar(values, counts, width=width, color=BLUE)
    ax.set_xlabel(str(meta.get("rating") or "rating"))
    ax.set_ylabel("ratings")
    ax.set_title("Distribution of ratings", fontsize="medium")
    section.figure(fig, "ratings")


def _long_tail(section: Section, meta: dict[str, Any], popularity: list[float] | None, n_items: Any) -> None:
    counts = np.asarray(popularity or [], dtype=float)
    counts = np.sort(counts[np.isfinite(counts)])[::-1]
    if not len(counts) or counts.sum() <= 0:
        section.note("The popularity of items was not saved with this model.")
        return
    n_items = int(n_items) if _finite(n_items) and n_items >= len(counts) else len(counts)
    # Points are spread evenly along the rank, so each stands for the same number of items.
    items_share = np.arange(1, len(counts) + 1) / len(counts)
    interactions_share = np.cumsum(counts) / counts.sum()
    marks = {level: float(items_share[np.searchsorted(interactions_share, level)]) for level in (0.5, 0.8)}
    text = (f"{_share(marks[0.8])} of the items make 80% of the interactions, and {_share(marks[0.5])} make half "
            f"(about {round(marks[0.8] * n_items):,} and {round(marks[0.5] * n_items):,} of {n_items:,} items).")
    once = float(np.mean(counts <= 1))
    if once > 0:
        text += (f" {_share(once)} of the items have a single interaction: too little for a model to place them, "
                 "so they are seldom recommended.")
    section.text(text)
    fig = Figure(figsize=(WIDE[0] + 1.5, 3.4), layout="constrained")
    left, right = fig.subplots(1, 2)
    left.plot(np.concatenate([[0], items_share]) * 100, np.concatenate([[0], interactions_share]) * 100, color=BLUE)
    left.plot([0, 100], [0, 100], color=GREY, lw=0.8, ls=":", label="all items alike")
    for (level, share), colour in zip(marks.items(), (ORANGE, RED), strict=True):
        left.plot([share * 100, share * 100, 0], [0, level * 100, level * 100], color=colour, lw=1, ls="--")
        left.annotate(f"{_share(share)} of items → {level:.0%}", (share * 100, level * 100), xytext=(6, -12),
                      textcoords="offset points", fontsize="x-small", color=colour)
    left.set_xlim(0, 100)
    left.set_ylim(0, 100)
    left.set_xlabel("% of items, most popular first")
    left.set_ylabel("% of all interactions")
    left.legend(fontsize="x-small", loc="lower right")
    left.set_title("Share of interactions", fontsize="medium")
    ranks = np.linspace(1, n_items, len(counts))
    right.plot(ranks, np.maximum(counts, 0.5), color=BLUE)
    right.set_yscale("log")
    right.set_xlabel(f"rank of '{meta.get('item') or 'item'}' by popularity")
    right.set_ylabel("interactions per item (log)")
    right.set_title("The long tail", fontsize="medium")
    caption = "Items left of the dashed lines take half and 80% of all interactions."
    if len(counts) < n_items:
        caption += f" Drawn from {len(counts):,} items evenly spaced along the rank."
    section.figure(fig, "long-tail", caption)


def _per_user(section: Section, meta: dict[str, Any], per_user: dict[str, Any] | None) -> None:
    per_user = per_user if isinstance(per_user, dict) else {}
    values = np.asarray(per_user.get("values") or [], dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        section.note("The results per user were not saved with this model.")
        return
    metric = per_user.get("metric") or meta.get("metric") or "score"
    mean, median = float(values.mean()), float(np.median(values))
    if metric in LOWER_IS_BETTER:
        low, high = np.percentile(values, [25, 90])
        text = (f"The chosen model's {_label(metric)} on each of the {len(values):,} test users: the mean is "
                f"{num(mean)}, the median {num(median)}. A quarter of the users have one under {num(low)}, but one in "
                f"ten is off by more than {num(high)}: users with few ratings or unusual tastes are the hardest.")
    else:
        zero = float(np.mean(values <= 0))
        text = (f"The chosen model's {_label(metric)} on each of the {len(values):,} test users: the mean is "
                f"{num(mean)}, the median {num(median)}.")
        if zero > 0:
            text += (f" For {_share(zero)} of the users none of the recommended items was one they picked "
                     f"({_label(metric)} 0); the mean is carried by the others.")
        best = float(np.mean(values >= 0.5))
        text += f" {_share(best)} of the users score 0.5 or more."
    section.text(text)
    fig = histogram(pd.Series(values), f"{_label(metric)} per test user", marks={f"mean {num(mean)}": mean})
    fig.axes[0].set_xlabel(_label(metric))
    fig.axes[0].set_ylabel("users")
    section.figure(fig, "per-user")


def _examples(section: Section, meta: dict[str, Any], examples: list[dict[str, Any]] | None) -> None:
    examples = [e for e in examples or [] if isinstance(e, dict)]
    if not examples:
        section.note("Example recommendations were not saved with this model.")
        return
    liked = "picked" if meta.get("form") == "implicit" else "rated highest"
    section.text(f"A few users: what they {liked}, beside the model's first recommendations "
                 "among the items they had not seen. Judge whether the right column follows from the left.")
    for example in examples[:MAX_EXAMPLES]:
        left = [str(v) for v in example.get("liked") or []][:MAX_LISTED]
        right = [str(v) for v in example.get("recommended") or []][:MAX_LISTED]
        length = max(len(left), len(right))
        if not length:
            continue
        section.heading(f"{meta.get('user', 'user')} {example.get('user', '?')}")
        section.table(pd.DataFrame({liked: left + [None] * (length - len(left)),
                                    "recommended": right + [None] * (length - len(right))}))


def _neighbours(section: Section, neighbours: list[dict[str, Any]] | None) -> None:
    lines = [f"{n.get('item', '?')} → {', '.join(str(s) for s in n['similar'][:MAX_LISTED])}"
             for n in neighbours or [] if isinstance(n, dict) and n.get("similar")]
    if not lines:
        section.note("Similar items were not saved with this model.")
        return
    section.text("The items the model places nearest to a few popular ones: a quick check that it learned "
                 "something sensible about what goes together.")
    section.bullets(lines)


def _notes(section: Section, meta: dict[str, Any]) -> None:
    notes = meta.get("notes")
    if notes is None:
        section.note("Notes on the data were not saved with this model.")
    elif notes:
        section.bullets([str(n) for n in notes])
    else:
        section.text("The data needed no changes: no duplicated or missing pairs were found.")
    trained, limit = meta.get("trained"), meta.get("time_limit")
    if trained or limit:
        parts = ([f"Trained {_when(trained)}"] if trained else []) + (
            [f"within a time limit of {limit} s"] if limit else [])
        section.text(" ".join(parts) + ".")


def num(value: Any) -> str:
    """A number for a sentence, or "-" when there is none."""
    return _plain_num(value) if _finite(value) else "-"


def _finite(value: Any) -> bool:
    try:
        return value is not None and not isinstance(value, bool) and bool(np.isfinite(float(value)))
    except (TypeError, ValueError):
        return False


def _number(value: Any) -> float:
    return float(value) if _finite(value) else 0.0


def _card(value: Any) -> Any:
    return value if _finite(value) else "-"


def _share(value: float | None) -> str:
    """A share as a percentage with two significant digits (0.017%, 1.7%, 17%)."""
    if value is None or not _finite(value):
        return "-"
    percent = 100 * float(value)
    return f"{percent:.2g}%" if percent < 10 else f"{percent:.0f}%"


def _when(stamp: Any) -> str:
    try:
        return f"{pd.Timestamp(stamp):%Y-%m-%d %H:%M %Z}".strip()
    except (TypeError, ValueError):
        return str(stamp)


def _gain(metric: str, model: Any, baseline: Any) -> float | None:
    """How much better the model is than the baseline, as a share of the baseline (negative: worse)."""
    if not _finite(model) or not _finite(baseline) or float(baseline) == 0:
        return None
    change = (float(model) - float(baseline)) / abs(float(baseline))
    return -change if metric in LOWER_IS_BETTER else change


def _k(meta: dict[str, Any]) -> int:
    if _finite(meta.get("k")):
        return int(meta["k"])
    _, _, tail = str(meta.get("metric") or "").partition("@")
    return int(tail) if tail.isdecimal() else 10


def _label(metric: str) -> str:
    return metric.upper() if metric in LOWER_IS_BETTER else metric
