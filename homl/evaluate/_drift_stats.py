"""One column's reference summary, and the comparison of new values with it: bins, PSI, KS and chi-square.

A numeric column (and a date as seconds since 1970, a text as its length in characters) keeps
its quantiles, its exact ECDF at them and its counts in decile bins; a categorical or yes/no
column keeps the counts of its most frequent values. Nothing in a summary is a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from homl.data import numbers_from_text
from homl.errors import ConfigError

NUMERIC, CATEGORICAL, BOOLEAN, DATETIME, TEXT = "numeric", "categorical", "boolean", "datetime", "text"
KINDS = (NUMERIC, CATEGORICAL, BOOLEAN, DATETIME, TEXT)
#: Kinds compared by their values' distribution (a date as seconds, a text as its length).
NUMERIC_LIKE = (NUMERIC, DATETIME, TEXT)
#: Added to every bin's share before PSI, so that an empty bin gives a large but finite term.
EPSILON = 1e-4
MISSING, OTHER, UNSEEN = "(missing)", "(other)", "(unseen)"
KS, CHI2 = "Kolmogorov-Smirnov", "chi-square"
#: Fewest rows a bin is expected to hold on each side for chi-square; sparser bins are pooled.
SPARSE = 1.0
#: A named value is a PSI bin of its own from this many reference rows and this share of them.
PSI_MIN_COUNT, PSI_MIN_SHARE = 10, 0.01

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


# ---------------------------------------------------------------- values


def numeric_values(series: pd.Series, kind: str) -> np.ndarray:
    """Floats of a numeric-like column (NaN where missing or infinite): dates as seconds, texts as lengths."""
    if kind == DATETIME:
        times = pd.to_datetime(series, errors="coerce", format="mixed", utc=True).dt.tz_localize(None)
        # Microseconds hold every year from 1 to 9999, where nanoseconds overflow past 2262.
        moments = times.to_numpy(dtype="datetime64[us]")
        values = np.where(np.isnat(moments), np.nan, moments.astype("int64") / 1e6)
    elif kind == TEXT:
        lengths = series.astype(object).map(lambda v: len(str(v)) if pd.notna(v) else np.nan)
        values = lengths.to_numpy(dtype=float, na_value=np.nan)
    elif pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=float, na_value=np.nan)
    else:
        values = numbers_from_text(series).to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isfinite(values), values, np.nan)


def category_labels(series: pd.Series, kind: str) -> pd.Series:
    """The values of a categorical or yes/no column as text (None where missing), alike in both tables:
    2 and 2.0 read as '2', and a yes/no value as 'true' or 'false'."""
    present = series.notna().to_numpy()
    codes, uniques = pd.factorize(series[present].astype(object))
    names = [_label(v) for v in uniques]
    if kind == BOOLEAN:
        names = [_yes_no(v) for v in names]
    labels = np.full(len(series), None, dtype=object)
    labels[present] = np.asarray(names, dtype=object)[codes] if len(names) else []
    return pd.Series(labels, index=series.index, name=series.name, dtype=object)


def _label(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, float, np.number)):
        number = float(value)
        return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    return str(value)


def _yes_no(value: str) -> str:
    lowered = value.strip().lower()
    return "true" if lowered in _TRUE else "false" if lowered in _FALSE else value


# ---------------------------------------------------------------- the reference


def summarise_column(series: pd.Series, kind: str, *, quantiles: int, max_categories: int) -> dict[str, Any]:
    """The JSON-able summary of one column (see :func:`homl.evaluate.reference_summary`)."""
    if kind not in KINDS:
        raise ConfigError(f"column '{series.name}' has kind '{kind}'; expected one of {', '.join(KINDS)}")
    if kind in NUMERIC_LIKE:
        return _numeric_summary(numeric_values(series, kind), kind, quantiles)
    return _category_summary(category_labels(series, kind), kind, max_categories)


def _numeric_summary(values: np.ndarray, kind: str, quantiles: int) -> dict[str, Any]:
    present = np.sort(values[np.isfinite(values)])
    summary: dict[str, Any] = {"kind": kind, "rows": len(values), "missing": int(len(values) - len(present))}
    summary["missing_share"] = summary["missing"] / len(values) if len(values) else 0.0
    summary["present"] = len(present)
    if not len(present):
        return {**summary, "min": None, "max": None, "mean": None, "std": None, "quantiles": [],
                "ecdf_values": [], "ecdf": [], "edges": [], "bin_counts": []}
    levels = np.linspace(0, 1, quantiles + 1)
    points = np.quantile(present, levels)
    distinct = np.unique(points)
    edges = np.unique(np.quantile(present, np.linspace(0.1, 0.9, 9)))
    edges = edges[edges < present[-1]]  # an interval above the maximum would always be empty
    return {
        **summary,
        "min": float(present[0]), "max": float(present[-1]),
        "mean": float(present.mean()), "std": float(present.std()),
        "quantiles": points.tolist(),
        "ecdf_values": distinct.tolist(),
        "ecdf": (np.searchsorted(present, distinct, side="right") / len(present)).tolist(),
        "edges": edges.tolist(),
        "bin_counts": np.bincount(np.searchsorted(edges, present, side="left"), minlength=len(edges) + 1).tolist(),
    }


def _category_summary(labels: pd.Series, kind: str, max_categories: int) -> dict[str, Any]:
    counts = _ordered_counts(labels)
    pooled = max(len(counts) - max_categories, 0)
    if pooled:
        # The most frequent of many values, chosen by their counts in a sample, are flattered by it:
        # fresh rows would seem to move to the tail (a ticket seen 4 times in 480 rows is not that
        # common). So the named values are chosen on one half of the rows and counted on the other.
        half = np.random.default_rng(0).random(len(labels)) < 0.5
        named = _ordered_counts(labels[half]).index[:max_categories]
        pooled = len(counts.index.difference(named))
        labels = labels[~half]
        counted = labels.value_counts()
        counts = pd.Series({name: int(counted.get(name, 0)) for name in named}, dtype=int)
    missing = int(labels.isna().sum())
    present = int(labels.notna().sum())
    return {
        "kind": kind, "rows": len(labels), "missing": missing,
        "missing_share": missing / len(labels) if len(labels) else 0.0, "present": present,
        "counts": {str(k): int(v) for k, v in counts.items()},
        "other": present - int(counts.sum()), "pooled": pooled,
    }


def _ordered_counts(labels: pd.Series) -> pd.Series:
    """Counts of the present values, most frequent first, ties in a stable order."""
    counts = labels.dropna().value_counts(sort=True)
    return counts.iloc[np.lexsort((counts.index.astype(str), -counts.to_numpy()))]


# ---------------------------------------------------------------- the comparison


@dataclass
class Comparison:
    """New values of one column set against its reference summary: the raw statistics, uncorrected."""

    bins: list[str]
    reference_counts: np.ndarray
    current_counts: np.ndarray
    psi: float
    chi2: tuple[float, float]            # statistic, p-value
    ks: tuple[float, float] | None       # numeric-like with values on both sides
    missing_reference: float
    missing_current: float
    out_of_range: float | None = None
    unseen: float | None = None
    wasserstein: float | None = None
    medians: tuple[float, float] | None = None   # reference, current
    stds: tuple[float, float] | None = None

    @property
    def tests(self) -> int:
        return 1 + (self.ks is not None)

    def shares(self, counts: np.ndarray) -> list[float]:
        total = counts.sum()
        return (counts / total).tolist() if total else [0.0] * len(counts)


def compare_column(summary: dict[str, Any], series: pd.Series) -> Comparison:
    """Compare the values of ``series`` with the column's reference ``summary``."""
    if summary["kind"] in NUMERIC_LIKE:
        return _compare_numeric(summary, numeric_values(series, summary["kind"]))
    return _compare_categories(summary, category_labels(series, summary["kind"]))


def _compare_numeric(summary: dict[str, Any], values: np.ndarray) -> Comparison:
    present = np.sort(values[np.isfinite(values)])
    missing = len(values) - len(present)
    extra: dict[str, Any] = {}
    if summary["present"]:
        low, high = summary["min"], summary["max"]
        edges = np.asarray(summary["edges"], dtype=float)
        inside = present[(present >= low) & (present <= high)]
        reference = np.array([0, *summary["bin_counts"], 0])
        counts = np.array([int((present < low).sum()),
                           *np.bincount(np.searchsorted(edges, inside, side="left"), minlength=len(edges) + 1),
                           int((present > high).sum())])
        bins = interval_labels(summary)
    else:
        reference, counts, bins = np.array([0]), np.array([len(present)]), ["(any value)"]
    reference = np.append(reference, summary["missing"])
    counts = np.append(counts, missing)
    ks = None
    if summary["present"] and len(present):
        ks = _ks(summary, present)
        extra["out_of_range"] = float(np.mean((present < summary["min"]) | (present > summary["max"])))
        levels = np.linspace(0, 1, len(summary["quantiles"]))
        gap = np.abs(np.asarray(summary["quantiles"]) - np.quantile(present, levels))
        distance = float(np.sum((gap[1:] + gap[:-1]) / 2 * np.diff(levels)))
        extra["wasserstein"] = distance / summary["std"] if summary["std"] > 0 else 0.0
        extra["medians"] = (float(np.interp(0.5, levels, summary["quantiles"])), float(np.median(present)))
        extra["stds"] = (summary["std"], float(present.std()))
    return Comparison(bins + [MISSING], reference, counts, psi(reference, counts), chi_square(reference, counts), ks,
                      summary["missing_share"], missing / len(values) if len(values) else 0.0, **extra)


def _compare_categories(summary: dict[str, Any], labels: pd.Series) -> Comparison:
    named = list(summary["counts"])
    present = labels.dropna()
    found = present.value_counts()
    counts = [int(found.get(name, 0)) for name in named]
    outside = int(len(present) - sum(counts))
    reference = list(summary["counts"].values())
    # With a pooled tail a value outside the named categories may be one of the tail's: it cannot be
    # called new, so it counts in "other"; with every category named it is unseen.
    pooled = summary["pooled"] > 0
    bins = named + [OTHER if pooled else UNSEEN, MISSING]
    reference += [summary["other"], summary["missing"]]
    counts += [outside, len(labels) - len(present)]
    reference, counts = np.array(reference), np.array(counts)
    unseen = None if pooled else (outside / len(present) if len(present) else 0.0)
    # PSI over many sparse bins grows with their number alone (about (bins - 1) × (1/n + 1/m) on
    # unchanged data): named values too rare to be a bin of their own are read as one, with the tail.
    rare = np.zeros(len(bins), dtype=bool)
    rare[:len(named)] = reference[:len(named)] < max(PSI_MIN_COUNT, PSI_MIN_SHARE * reference.sum())
    if rare.any():
        kept = ~rare
        kept[len(named)] = True  # the tail, or unseen values, keeps its own bin
        pooled_reference = np.append(reference[kept], reference[rare].sum())
        pooled_counts = np.append(counts[kept], counts[rare].sum())
        shift = psi(pooled_reference, pooled_counts)
    else:
        shift = psi(reference, counts)
    return Comparison(bins, reference, counts, shift, chi_square(reference, counts), None,
                      summary["missing_share"], float(counts[-1] / len(labels)) if len(labels) else 0.0, unseen=unseen)


def interval_labels(summary: dict[str, Any]) -> list[str]:
    """Names of a numeric column's bins: below the reference range, the decile intervals, above it."""
    fmt = _date_label(summary) if summary["kind"] == DATETIME else _short
    low, high, edges = summary["min"], summary["max"], summary["edges"]
    bounds = [low, *edges, high]
    middle = [f"{fmt(a)} – {fmt(b)}" if a != b else f"= {fmt(b)}" for a, b in zip(bounds[:-1], bounds[1:])]
    return [f"< {fmt(low)}", *middle, f"> {fmt(high)}"]


def _date_label(summary: dict[str, Any]) -> Any:
    span = summary["max"] - summary["min"]
    pattern = "%Y-%m-%d" if span >= 60 * 86400 else "%Y-%m-%d %H:%M"
    return lambda seconds: pd.Timestamp(seconds, unit="s").strftime(pattern)


def _short(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


# ---------------------------------------------------------------- statistics


def psi(reference: np.ndarray, current: np.ndarray, epsilon: float = EPSILON) -> float:
    """Population stability index of two bin count vectors: Σ (c − r)·ln(c/r) over smoothed shares."""
    if reference.sum() == 0 or current.sum() == 0:
        return 0.0
    r = (reference / reference.sum() + epsilon) / (1 + epsilon * len(reference))
    c = (current / current.sum() + epsilon) / (1 + epsilon * len(current))
    return float(np.sum((c - r) * np.log(c / r)))


def chi_square(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """Chi-square test of independence of the 2 × bins table (bins empty in both left out)."""
    from scipy.stats import chi2_contingency

    table = np.vstack([reference, current]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    table = _pool_sparse(table)
    if table.shape[1] < 2:
        return 0.0, 1.0
    result = chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def _pool_sparse(table: np.ndarray, least: float = SPARSE) -> np.ndarray:
    """The table with the bins where a side expects fewer than ``least`` rows pooled into one bin (and that
    one into the smallest other bin while it still falls short), so that chi-square's approximation holds."""
    smaller = table.sum(axis=1).min() / table.sum()  # the smaller side's share of all rows
    sparse = table.sum(axis=0) * smaller < least
    if not sparse.any():
        return table
    table = np.hstack([table[:, ~sparse], table[:, sparse].sum(axis=1, keepdims=True)])
    if table.shape[1] > 1 and table[:, -1].sum() * smaller < least:
        table[:, np.argmin(table[:, :-1].sum(axis=0))] += table[:, -1]
        table = table[:, :-1]
    return table


def _ks(summary: dict[str, Any], present: np.ndarray) -> tuple[float, float]:
    """Two-sample KS statistic at the reference's stored values, and its asymptotic p-value (as scipy's
    ``ks_2samp(method='asymp')``)."""
    from scipy.stats import kstwo

    points = np.asarray(summary["ecdf_values"], dtype=float)
    current = np.searchsorted(present, points, side="right") / len(present)
    below = np.searchsorted(present, summary["min"], side="left") / len(present)  # where the reference ECDF is 0
    d = float(max(below, np.max(np.abs(np.asarray(summary["ecdf"]) - current))))
    n, m = summary["present"], len(present)
    return d, float(np.clip(kstwo.sf(d, max(1, round(n * m / (n + m)))), 0, 1))
