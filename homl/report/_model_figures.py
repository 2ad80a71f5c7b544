"""Figures of the model report, drawn from the plain data of ``diagnostics.json``.

Each function takes lists and numbers and returns a :class:`matplotlib.figure.Figure`
(never pyplot, so nothing global is touched and no display is needed).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

BLUE, ORANGE, GREY, RED = "#1d3557", "#e76f51", "#8d99ae", "#c1121f"


def _figure(width: float = 6.4, height: float = 4.0) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def leaderboard(board: pd.DataFrame, metric: str) -> Figure:
    """CV mean ± std per candidate, best at the top; fit time beside it."""
    board = board.iloc[::-1]
    fig = Figure(figsize=(8, 0.8 + 0.32 * len(board)), layout="constrained")
    score, cost = fig.subplots(1, 2, sharey=True, width_ratios=(3, 1.2))
    labels = [f"{m} ({s})" for m, s in zip(board["model"], board["stage"])]
    y = np.arange(len(board))
    colors = [GREY if s == "baseline" else BLUE for s in board["stage"]]
    score.barh(y, board["cv_mean"], xerr=board["cv_std"], color=colors, capsize=3)
    score.set_yticks(y, labels)
    score.set_xlabel(f"cross-validated {metric} (mean ± std)")
    cost.barh(y, board["fit_time"], color=ORANGE)
    cost.set_xlabel("fit time (s)")
    return fig


def learning_curve(curve: dict[str, Any], metric: str) -> Figure:
    fig, ax = _figure()
    points = pd.DataFrame(curve["points"])
    for kind, color, label in (("train", ORANGE, "training"), ("valid", BLUE, "validation")):
        mean, std = points[f"{kind}_mean"], points[f"{kind}_std"]
        ax.plot(points["size"], mean, "o-", color=color, label=label)
        ax.fill_between(points["size"], mean - std, mean + std, color=color, alpha=0.15)
    ax.axhline(curve["baseline"], color=GREY, linestyle="--", label="baseline")
    ax.set_xlabel("training rows")
    ax.set_ylabel(metric)
    ax.set_title(f"Learning curves: {curve['model']}")
    ax.legend()
    return fig


def epoch_curves(epochs: dict[str, Any]) -> Figure:
    """A network's training and validation loss per epoch, the epoch whose weights were kept marked."""
    fig, ax = _figure()
    numbers = np.arange(1, len(epochs["loss"]) + 1)
    ax.plot(numbers, epochs["loss"], label="training loss")
    if epochs.get("val_loss"):
        ax.plot(numbers, epochs["val_loss"], label="validation loss (held-out rows)")
    ax.axvline(epochs["best_epoch"], color="grey", linestyle=":", label=f"weights kept: epoch {epochs['best_epoch']}")
    ax.set(xlabel="epoch", ylabel="loss", yscale="log" if min(epochs["loss"]) > 0 else "linear")
    ax.legend()
    return fig


def validation_curve(curve: dict[str, Any], metric: str) -> Figure:
    fig, ax = _figure()
    points = pd.DataFrame(curve["points"])
    x = points["value"] if curve["numeric"] else np.arange(len(points))
    for kind, color, label in (("train", ORANGE, "training"), ("valid", BLUE, "validation")):
        mean, std = points[f"{kind}_mean"], points[f"{kind}_std"]
        ax.errorbar(x, mean, yerr=std, fmt="o-", color=color, label=label, capsize=3)
    if curve["numeric"]:
        if curve["log"]:
            ax.set_xscale("log")
        if curve["current"] is not None:
            ax.axvline(curve["current"], color=RED, linestyle=":", label=f"chosen: {curve['current']:.4g}")
    else:
        ax.set_xticks(x, [str(v) for v in points["value"]])
    ax.set_xlabel(curve["param"])
    ax.set_ylabel(metric)
    ax.set_title(f"Validation curve: {curve['model']}")
    ax.legend()
    return fig


def tuning_history(families: dict[str, Any], metric: str, greater_is_better: bool) -> Figure:
    """Each trial's CV score against seconds since the search began, per family, with the best so far."""
    fig, ax = _figure(7, 4)
    starts = [datetime.fromisoformat(t["start"]) for f in families.values() for t in f["trials"] if t["start"]]
    origin = min(starts) if starts else None
    for name, family in families.items():
        done = [t for t in family["trials"] if t["value"] is not None and t["start"]]
        if not done or origin is None:
            continue
        ended = sorted(((datetime.fromisoformat(t["start"]) - origin).total_seconds() + (t["seconds"] or 0),
                        t["value"]) for t in done)
        when, values = [w for w, _ in ended], np.array([v for _, v in ended])
        best = np.maximum.accumulate(values) if greater_is_better else np.minimum.accumulate(values)
        line = ax.plot(when, values, "o", alpha=0.5, label=f"{name} trials")[0]
        ax.step(when, best, where="post", color=line.get_color(), label=f"{name} best so far")
    ax.set_xlabel("seconds since the search began (trial end)")
    ax.set_ylabel(f"CV {metric}")
    ax.legend(fontsize="small")
    return fig


def param_importance(families: dict[str, Any]) -> Figure:
    shown = {n: f["importance"] for n, f in families.items() if f["importance"]}
    fig = Figure(figsize=(4.2 * len(shown), 3.2), layout="constrained")
    for ax, (name, importance) in zip(np.atleast_1d(fig.subplots(1, len(shown))), shown.items()):
        names = list(importance)[::-1]
        ax.barh(names, [importance[n] for n in names], color=BLUE)
        ax.set_title(name)
        ax.set_xlabel("importance (fANOVA)")
    return fig


def predicted_vs_actual(y_true: np.ndarray, y_pred: np.ndarray, target: str) -> Figure:
    fig, ax = _figure(5.5, 5)
    ax.scatter(y_true, y_pred, s=6, alpha=0.35, color=BLUE)
    low, high = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    ax.plot([low, high], [low, high], color=RED, linestyle="--", label="perfect prediction")
    ax.set_xlabel(f"actual {target}")
    ax.set_ylabel(f"predicted {target}")
    ax.legend()
    return fig


def residuals(y_true: np.ndarray, y_pred: np.ndarray, target: str) -> Figure:
    fig, ax = _figure(6, 4)
    ax.scatter(y_pred, y_true - y_pred, s=6, alpha=0.35, color=BLUE)
    ax.axhline(0, color=RED, linestyle="--")
    ax.set_xlabel(f"predicted {target}")
    ax.set_ylabel("residual (actual − predicted)")
    return fig


def confusion(matrix: np.ndarray, classes: list[str], normalised: bool) -> Figure:
    size = min(2.5 + 0.45 * len(classes), 11)
    fig, ax = _figure(size + 1, size)
    image = ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1 if normalised else None)
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    if len(classes) <= 12:
        threshold = matrix.max() / 2
        for (i, j), v in np.ndenumerate(matrix):
            text = f"{v:.2f}" if normalised else f"{int(v)}"
            ax.text(j, i, text, ha="center", va="center", color="white" if v > threshold else "black", fontsize=8)
    ax.set_title("row-normalised (recall per class)" if normalised else "counts")
    return fig


def threshold_curve(thresholds: np.ndarray, precision: np.ndarray, recall: np.ndarray, chosen: float) -> Figure:
    fig, ax = _figure()
    ax.plot(thresholds, precision[:-1], color=BLUE, label="precision")
    ax.plot(thresholds, recall[:-1], color=ORANGE, label="recall")
    ax.axvline(chosen, color=RED, linestyle=":", label=f"chosen threshold {chosen:.2f}")
    ax.set_xlabel("decision threshold on p(positive)")
    ax.legend()
    return fig


def pr_curves(curves: list[tuple[str, np.ndarray, np.ndarray, float]]) -> Figure:
    fig, ax = _figure(5.5, 4.5)
    for label, recall, precision, ap in curves:
        ax.plot(recall, precision, label=f"{label} (AP {ap:.3f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.legend(fontsize="small")
    return fig


def roc_curves(curves: list[tuple[str, np.ndarray, np.ndarray, float]]) -> Figure:
    fig, ax = _figure(5.5, 4.5)
    for label, fpr, tpr, auc in curves:
        ax.plot(fpr, tpr, label=f"{label} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], color=GREY, linestyle="--", label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate (recall)")
    ax.legend(fontsize="small")
    return fig


def importance_bars(names: list[str], values: list[float], errors: list[float] | None, xlabel: str) -> Figure:
    names, values = names[:20][::-1], values[:20][::-1]
    errors = errors[:20][::-1] if errors is not None else None
    fig, ax = _figure(6.5, 0.8 + 0.3 * len(names))
    ax.barh(names, values, xerr=errors, color=BLUE, capsize=3)
    ax.axvline(0, color=GREY, linewidth=0.8)
    ax.set_xlabel(xlabel)
    return fig


def partial_dependence(curves: list[dict[str, Any]], target: str, task: str) -> Figure:
    fig = Figure(figsize=(4.2 * len(curves), 3.4), layout="constrained")
    for ax, curve in zip(np.atleast_1d(fig.subplots(1, len(curves))), curves):
        values = np.asarray(curve["values"], dtype=float)
        numeric = curve["kind"] == "numeric"
        x = np.asarray(curve["grid"], dtype=float) if numeric else np.arange(len(curve["grid"]))
        if task == "regression":
            ax.plot(x, values, "o-" if not numeric else "-", color=BLUE)
            ax.set_ylabel(f"average predicted {target}")
        elif task == "binary":
            ax.plot(x, values[:, 1], "o-" if not numeric else "-", color=BLUE)
            ax.set_ylabel(f"average p({target} = {curve['classes'][1]})")
        else:
            for j, label in list(enumerate(curve["classes"]))[:10]:
                ax.plot(x, values[:, j], "o-" if not numeric else "-", label=str(label))
            ax.set_ylabel("average probability")
            ax.legend(fontsize="x-small")
        if not numeric:
            ax.set_xticks(x, [str(v) for v in curve["grid"]], rotation=45, ha="right")
        ax.set_xlabel(curve["feature"])
    return fig
