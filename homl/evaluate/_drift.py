"""Data drift: whether new rows still look like the rows a model was trained on, column by column.

The reference rows are kept as a small JSON-able summary (:func:`reference_summary`), never as
rows; :func:`check_drift` sets a new table against it. Each column gets a test (Kolmogorov-Smirnov
on the values and chi-square on binned counts, missing values included, for numbers; chi-square
for categories), Bonferroni-corrected over every test made, and an effect size, the population
stability index (PSI). Large samples make tiny shifts significant and small samples make PSI noisy,
so a column drifts only when both agree; when one alone does, it is a warning.

>>> ref = pd.DataFrame({"x": np.arange(1000.0)})
>>> check_drift(reference_summary(ref, {"x": "numeric"}), ref + 500).drifted
['x']
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from homl.errors import DataError

from ._drift_stats import (
    CATEGORICAL,
    CHI2,
    DATETIME,
    KS,
    MISSING,
    NUMERIC,
    TEXT,
    UNSEEN,
    Comparison,
    compare_column,
    summarise_column,
)

#: Status of a feature, worst first (the table's order).
STATUSES = ("drift", "warn", "ok", "too few rows")


@dataclass(frozen=True)
class DriftThresholds:
    """When a column counts as shifted: PSI levels, the family-wise significance, the fewest rows judged."""

    psi_warn: float = 0.1  # PSI "moderate shift"
    psi_drift: float = 0.25  # PSI "major shift"
    alpha: float = 0.05  # family-wise significance; Bonferroni over the tests made
    min_rows: int = 30  # fewer current rows: status "too few rows", never drift


@dataclass
class FeatureDrift:
    """How one column's new values compare with the reference."""

    name: str
    kind: str
    status: str  # "ok", "warn", "drift" or "too few rows"
    psi: float
    test: str  # "Kolmogorov-Smirnov" or "chi-square": the test that gave the p-value
    statistic: float
    p_value: float  # Bonferroni-corrected, capped at 1
    reason: str
    missing_reference: float
    missing_current: float
    out_of_range: float | None = None  # numeric: share of current values outside [reference min, max]
    unseen: float | None = None  # categorical: share of current values among no reference category
    wasserstein: float | None = None  # numeric: W1 distance over the reference std (0 if the std is 0)
    bins: list[str] = field(default_factory=list)
    reference_shares: list[float] = field(default_factory=list)
    current_shares: list[float] = field(default_factory=list)


@dataclass
class DriftResult:
    """Every column's comparison, and the rows on each side."""

    features: list[FeatureDrift]
    reference_rows: int
    current_rows: int
    thresholds: DriftThresholds

    @property
    def drifted(self) -> list[str]:
        return [f.name for f in self.features if f.status == "drift"]

    @property
    def status(self) -> str:
        """"drift" if any column drifted, else "warn" if any is a warning, else "ok"."""
        found = {f.status for f in self.features}
        return "drift" if "drift" in found else "warn" if "warn" in found else "ok"

    def table(self) -> pd.DataFrame:
        """One row per feature, drifted first, then by PSI."""
        order = sorted(self.features, key=lambda f: (STATUSES.index(f.status), -f.psi))
        return pd.DataFrame(
            [{"feature": f.name, "kind": f.kind, "status": f.status, "PSI": round(f.psi, 4), "test": f.test,
              "p-value": f.p_value, "Wasserstein": None if f.wasserstein is None else round(f.wasserstein, 4),
              "missing (ref → cur)": f"{_share(f.missing_reference)} → {_share(f.missing_current)}",
              "out of range": _share(f.out_of_range), "unseen": _share(f.unseen), "reason": f.reason}
             for f in order],
            columns=["feature", "kind", "status", "PSI", "test", "p-value", "Wasserstein", "missing (ref → cur)",
                     "out of range", "unseen", "reason"])

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "drifted": self.drifted, "reference_rows": self.reference_rows,
                "current_rows": self.current_rows, "thresholds": asdict(self.thresholds),
                "features": [asdict(f) for f in self.features]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftResult:
        return cls([FeatureDrift(**f) for f in data["features"]], data["reference_rows"], data["current_rows"],
                   DriftThresholds(**data["thresholds"]))


def reference_summary(frame: pd.DataFrame, kinds: dict[str, str], *, quantiles: int = 100,
                      max_categories: int = 50) -> dict[str, Any]:
    """A JSON-able summary of the reference rows, per column of ``kinds`` (``{column: kind}``); never rows.

    ``{"rows": n, "columns": {name: {...}}}``: for a number (a date as seconds since 1970, a text as its
    length) the missing share, min, max, mean, std, ``quantiles`` + 1 quantiles, the exact ECDF at them and
    the counts in decile bins; for a category or yes/no value the counts of the ``max_categories`` most
    frequent values, the rest pooled as "other".
    """
    _require(frame, list(kinds), "the reference table")
    return {"rows": len(frame),
            "columns": {name: summarise_column(frame[name], kind, quantiles=quantiles, max_categories=max_categories)
                        for name, kind in kinds.items()}}


def check_drift(reference: dict[str, Any], current: pd.DataFrame, *,
                thresholds: DriftThresholds = DriftThresholds(), columns: list[str] | None = None) -> DriftResult:
    """Compare ``current`` with a :func:`reference_summary`, on its ``columns`` (all when ``None``).

    Extra columns in ``current`` are ignored.
    """
    if reference["rows"] < 2:
        raise DataError(f"the reference summary holds {reference['rows']} row(s); drift needs at least 2")
    if not len(current):
        raise DataError("the current table has no rows; drift needs rows to compare with the reference")
    names = list(reference["columns"]) if columns is None else list(columns)
    unknown = [n for n in names if n not in reference["columns"]]
    if unknown:
        raise DataError(f"column(s) {_names(unknown)} are not in the reference summary, which holds "
                        f"{_names(list(reference['columns']))}")
    _require(current, names, "the current table")
    compared = {n: compare_column(reference["columns"][n], current[n]) for n in names}
    tests = sum(c.tests for c in compared.values())
    features = [_feature(n, reference["columns"][n]["kind"], c, tests, len(current), thresholds)
                for n, c in compared.items()]
    return DriftResult(features, int(reference["rows"]), len(current), thresholds)


def summary_of_predictions(values: np.ndarray | pd.Series, task: str) -> dict[str, Any]:
    """The reference summary of a model's predictions, as the column "prediction": numbers for a
    regression, labels for a classification."""
    return reference_summary(_predictions(values), {"prediction": _prediction_kind(task)})


def check_prediction_drift(reference: dict[str, Any], values: np.ndarray | pd.Series, task: str,
                           thresholds: DriftThresholds = DriftThresholds()) -> FeatureDrift:
    """Compare new predictions with :func:`summary_of_predictions`; corrected only for the tests made on
    this one column (two for numbers, one for labels)."""
    if "prediction" not in reference.get("columns", {}):
        raise DataError("the reference holds no predictions; make it with summary_of_predictions")
    kind, expected = reference["columns"]["prediction"]["kind"], _prediction_kind(task)
    if kind != expected:
        raise DataError(f"the reference predictions are {kind}; a {task} model's predictions are {expected}")
    (feature,) = check_drift(reference, _predictions(values), thresholds=thresholds, columns=["prediction"]).features
    return feature


def _feature(name: str, kind: str, c: Comparison, tests: int, rows: int, thresholds: DriftThresholds) -> FeatureDrift:
    (statistic, p), test = c.chi2, CHI2
    if c.ks is not None and c.ks[1] <= p:
        (statistic, p), test = c.ks, KS
    p = min(1.0, p * tests)
    status = _status(c.psi, p, thresholds, kind, rows)
    return FeatureDrift(
        name=name, kind=kind, status=status, psi=c.psi, test=test, statistic=statistic, p_value=p,
        reason=_reason(c, kind, status, p, test, rows, thresholds), missing_reference=c.missing_reference,
        missing_current=c.missing_current, out_of_range=c.out_of_range, unseen=c.unseen, wasserstein=c.wasserstein,
        bins=c.bins, reference_shares=c.shares(c.reference_counts), current_shares=c.shares(c.current_counts))


def _status(psi: float, p: float, thresholds: DriftThresholds, kind: str, rows: int) -> str:
    if rows < thresholds.min_rows:
        return "too few rows"
    significant, material = p < thresholds.alpha, psi >= thresholds.psi_warn
    status = "drift" if significant and material else "warn" if significant or material else "ok"
    # A later period always has later dates: a date column alone never calls drift.
    return "warn" if kind == DATETIME and status == "drift" else status


# ---------------------------------------------------------------- the sentence a person reads


def _reason(c: Comparison, kind: str, status: str, p: float, test: str, rows: int, t: DriftThresholds) -> str:
    if status == "too few rows":
        return f"Only {rows} current rows, fewer than {t.min_rows}: too few to judge."
    size = "major shift" if c.psi >= t.psi_drift else "moderate shift" if c.psi >= t.psi_warn else "no material shift"
    head = f"PSI {c.psi:.2f} ({size}) and {'KS' if test == KS else 'chi-square'} p {_p(p)}"
    changes = _changes(c, kind)
    text = f"{head}: {'; '.join(changes)}" if changes and status != "ok" else f"{head}: no material change"
    if kind == DATETIME and status != "ok":
        text += "; dates move on with time, so a later period always looks shifted (at most a warning)"
    return text + "."


def _changes(c: Comparison, kind: str) -> list[str]:
    """The most telling differences, as phrases, largest first (two at most)."""
    found: list[tuple[float, str]] = []
    gap = c.missing_current - c.missing_reference
    if abs(gap) >= 0.02:
        found.append((2 * abs(gap), f"missing values went from {_share(c.missing_reference)} to "
                                    f"{_share(c.missing_current)}"))
    if c.unseen is not None and c.unseen >= 0.01:
        found.append((2 * c.unseen, f"{_share(c.unseen)} of values are categories the reference never had"))
    if c.out_of_range is not None and c.out_of_range >= 0.01:
        found.append((2 * c.out_of_range, f"{_share(c.out_of_range)} of values lie outside the reference range"))
    if c.medians is not None and c.stds is not None and c.stds[0] > 0:
        (a, b), spread = c.medians, c.stds[0]
        if abs(b - a) >= 0.1 * spread:
            unit = " characters" if kind == TEXT else ""
            found.append((abs(b - a) / spread, f"the values moved {'up' if b > a else 'down'} "
                                               f"(median {_value(a, kind)} → {_value(b, kind)}{unit})"))
        ratio = c.stds[1] / spread
        if ratio >= 1.25 or ratio <= 0.8:
            stds = f"std {_value(spread, kind, True)} → {_value(c.stds[1], kind, True)}"
            found.append((abs(np.log(ratio)), f"the spread {'grew' if ratio > 1 else 'shrank'} ({stds})"))
    if kind not in (NUMERIC, DATETIME, TEXT):
        r, s = np.asarray(c.shares(c.reference_counts)), np.asarray(c.shares(c.current_counts))
        named = [i for i, b in enumerate(c.bins) if b not in (MISSING, UNSEEN)]
        if named:
            i = max(named, key=lambda j: abs(s[j] - r[j]))
            if abs(s[i] - r[i]) >= 0.02:
                found.append((2 * abs(s[i] - r[i]), f"'{c.bins[i]}' went from {_share(r[i])} to {_share(s[i])} "
                                                    "of rows"))
    found.sort(key=lambda item: -item[0])
    return [phrase for _, phrase in found[:2]] or ["the shape of the distribution changed"]


def _value(value: float, kind: str, spread: bool = False) -> str:
    if kind == DATETIME:
        if spread:
            return f"{value / 86400:.3g} days"
        return pd.Timestamp(value, unit="s").strftime("%Y-%m-%d")
    return f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:.3g}"


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}" if p < 0.1 else f"= {p:.2f}"


def _share(value: float | None) -> str:
    if value is None:
        return ""
    if value == 0 or value >= 0.1:
        return f"{value:.0%}"
    return f"{value:.1%}" if value >= 0.001 else "< 0.1%"


# ---------------------------------------------------------------- helpers


def _require(frame: pd.DataFrame, names: list[str], what: str) -> None:
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise DataError(f"{what} lacks column(s) {_names(missing)}; it has {_names(list(map(str, frame.columns)))}")


def _names(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return (shown + (f" and {len(names) - limit} more" if len(names) > limit else "")) or "none"


def _predictions(values: np.ndarray | pd.Series) -> pd.DataFrame:
    array = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if array.ndim != 1:
        raise DataError(f"predictions have shape {array.shape}; expected one value per row (predicted values or "
                        "labels, not class probabilities)")
    return pd.DataFrame({"prediction": array})


def _prediction_kind(task: str) -> str:
    return NUMERIC if task == "regression" else CATEGORICAL
