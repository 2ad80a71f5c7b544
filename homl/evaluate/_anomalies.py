"""Why a row is unusual, in words, and how well anomaly scores find known anomalies, as plain data.

A row's reason names the attributes furthest from the training rows: a number outside the range
of 90 % of the training rows, ranked by its robust z-score (distance from the median in scaled
median absolute deviations), said with that range ("Amount 2,125 (most rows 1.0 to 210)"); a category by how rare its value is
("Gender = X: 0.2 % of rows").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from homl.data import Schema

#: A number this many robust standard deviations from the median is named as unusual.
UNUSUAL_Z = 3.0
#: A category level this rare among the training rows is named as unusual.
RARE_SHARE = 0.01
#: Attributes named in a row's reason.
REASON_ATTRIBUTES = 3
#: Points kept on the precision-recall curve saved for the report.
CURVE_POINTS = 200


def reason_statistics(frame: pd.DataFrame, schema: Schema) -> dict[str, Any]:
    """What reasons are read against: each numeric column's median, scale and usual range, each
    category's level shares. Plain data, saved with the model."""
    numeric = {}
    for column in schema.names("numeric", "boolean"):
        values = pd.to_numeric(frame[column], errors="coerce").astype(float).dropna()
        if values.empty:
            continue
        median = float(values.median())
        scale = 1.4826 * float((values - median).abs().median())
        if scale == 0:
            scale = float(values.std(ddof=0)) or 1.0
        numeric[column] = {"median": median, "scale": scale, "low": float(values.quantile(0.05)),
                           "high": float(values.quantile(0.95))}
    categorical = {}
    for column in schema.names("categorical"):
        shares = frame[column].astype("string").fillna("(missing)").value_counts(normalize=True)
        categorical[column] = {str(level): float(share) for level, share in shares.items()}
    return {"numeric": numeric, "categorical": categorical}


def row_reasons(frame: pd.DataFrame, statistics: dict[str, Any]) -> list[str]:
    """One sentence a row: its most unusual attributes, or that none stands out on its own."""
    parts: list[list[tuple[float, str]]] = [[] for _ in range(len(frame))]
    for column, stats in statistics["numeric"].items():
        if column not in frame:
            continue
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        z = np.abs(values - stats["median"]) / stats["scale"]
        outside = (values < stats["low"]) | (values > stats["high"])  # a skewed column's long side is not unusual
        for row in np.flatnonzero((np.nan_to_num(z) >= UNUSUAL_Z) & outside):
            parts[row].append((z[row], f"{column} {_number(values[row])} (most rows {_number(stats['low'])} to "
                                       f"{_number(stats['high'])})"))
    for column, shares in statistics["categorical"].items():
        if column not in frame:
            continue
        levels = frame[column].astype("string").fillna("(missing)").to_numpy()
        for row, level in enumerate(levels):
            share = shares.get(str(level), 0.0)
            if share < RARE_SHARE:
                what = "a value never seen in training" if share == 0 else f"{share:.1%} of rows"
                # ranked beside numbers as if a level at RARE_SHARE were UNUSUAL_Z deviations out, rarer ones further
                weight = UNUSUAL_Z * RARE_SHARE / max(share, 1e-3)
                parts[row].append((weight, f"{column} = {level} ({what})"))
    reasons = []
    for found in parts:
        found.sort(key=lambda item: -item[0])
        reasons.append("; ".join(text for _, text in found[:REASON_ATTRIBUTES])
                       or "no single attribute is unusual: the combination is")
    return reasons


def _number(value: float) -> str:
    if not np.isfinite(value):
        return "missing"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def label_scores(labels: np.ndarray, scores: np.ndarray, flagged: np.ndarray) -> dict[str, Any]:
    """PR AUC, ROC AUC, precision and recall at the threshold, and the PR curve, of anomaly
    ``scores`` (higher = more anomalous) against known ``labels`` (1 = anomaly)."""
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

    precision, recall, _ = precision_recall_curve(labels, scores)
    keep = np.unique(np.linspace(0, len(precision) - 1, min(CURVE_POINTS, len(precision))).astype(int))
    hits = int((flagged & (labels == 1)).sum())
    return {
        "pr_auc": float(average_precision_score(labels, scores)),
        "roc_auc": float(roc_auc_score(labels, scores)),
        "precision": hits / int(flagged.sum()) if flagged.any() else 0.0,
        "recall": hits / int((labels == 1).sum()),
        "anomalies": int((labels == 1).sum()),
        "flagged": int(flagged.sum()),
        "curve": {"precision": precision[keep].tolist(), "recall": recall[keep].tolist()},
    }


def threshold_for(labels: np.ndarray, scores: np.ndarray, *, precision: float | None = None,
                  recall: float | None = None) -> float | None:
    """The score threshold reaching a target ``precision`` (with the most recall) or ``recall``
    (with the most precision) on labelled rows; None when the target cannot be reached."""
    from sklearn.metrics import precision_recall_curve

    p, r, thresholds = precision_recall_curve(labels, scores)
    p, r = p[:-1], r[:-1]  # the last point has no threshold
    if precision is not None:
        ok = np.flatnonzero(p >= precision)
        return None if ok.size == 0 else float(thresholds[ok[np.argmax(r[ok])]])
    ok = np.flatnonzero(r >= recall)
    return None if ok.size == 0 else float(thresholds[ok[np.argmax(p[ok])]])
