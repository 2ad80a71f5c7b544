"""Statistics of an exploration: one row per attribute, correlations with the target, flags.

Every statistic is computed defensively: a failure becomes a line in ``problems``
("what: could not compute (reason)") and an empty cell, never an exception. Whole-table
statistics are vectorised so that a table of 10,000 columns stays quick.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from homl.data import Schema

T = TypeVar("T")

#: Rows used for mutual information (k-nearest-neighbour estimates grow with n log n).
MI_ROWS = 3000
#: Attributes scored by mutual information at most (the best by rank correlation, then the rest).
MI_COLUMNS = 200
#: The most frequent value at the maximum this many times more often than the average value: a cap.
CAP_FACTOR = 3.0


def attempt(problems: list[str], what: str, compute: Callable[[], T], default: T) -> T:
    """``compute()``, or ``default`` with the failure recorded in ``problems``."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UserWarning)  # estimators' advice on the data: not for the report
            return compute()
    except Exception as error:  # a statistic that fails must not end the exploration
        reason = f"{type(error).__name__}: {error}".strip()
        problems.append(f"{what}: could not compute ({reason[:200]})")
        return default


def numeric_block(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """The columns that hold numbers, as floats (text numbers parsed, infinities made missing)."""
    kinds = {c.name: c.kind for c in schema.columns}
    columns = {}
    for name in df.columns:
        series = df[name]
        if pd.api.types.is_bool_dtype(series):
            continue
        if pd.api.types.is_numeric_dtype(series):
            columns[name] = series.astype(float)
        elif kinds.get(name) == "numeric":
            columns[name] = pd.to_numeric(series.astype(str).str.strip(), errors="coerce")
    block = pd.DataFrame(columns, index=df.index, columns=list(columns))
    return block.replace([np.inf, -np.inf], np.nan)


def attribute_table(df: pd.DataFrame, kinds: dict[str, str], block: pd.DataFrame,
                    problems: list[str]) -> pd.DataFrame:
    """Type, missing share, distinct count, min/max/mean/median, skew and outliers per attribute."""
    table = pd.DataFrame(index=pd.Index(list(df.columns), dtype=object))
    table["kind"] = [kinds.get(c, "?") for c in df.columns]
    table["missing"] = attempt(problems, "missing shares", lambda: df.isna().mean(), pd.Series(dtype=float))
    table["distinct"] = attempt(problems, "distinct counts", lambda: df.nunique(dropna=True), pd.Series(dtype=float))
    stats = attempt(problems, "numeric summaries", lambda: _numeric_stats(block), pd.DataFrame())
    for column in ("min", "max", "mean", "median", "skew", "outliers"):
        table[column] = stats[column] if column in stats else np.nan
    return table


def _numeric_stats(block: pd.DataFrame) -> pd.DataFrame:
    values = block.to_numpy(dtype=float)
    if values.size == 0:
        return pd.DataFrame(index=block.columns, columns=["min", "max", "mean", "median", "skew", "outliers"])
    q1, q3 = np.nanpercentile(values, [25, 75], axis=0)
    spread = 1.5 * (q3 - q1)
    outliers = ((values < q1 - spread) | (values > q3 + spread)).sum(axis=0)
    return pd.DataFrame({
        "min": np.nanmin(values, axis=0),
        "max": np.nanmax(values, axis=0),
        "mean": np.nanmean(values, axis=0),
        "median": np.nanmedian(values, axis=0),
        "skew": block.skew().to_numpy(dtype=float),
        "outliers": outliers.astype(float),
    }, index=block.columns)


def capped(block: pd.DataFrame) -> dict[str, tuple[str, float, int]]:
    """Columns piled up at their maximum (or minimum): ``{name: ("max"|"min", value, rows)}``.

    A census that records every value above 500,000 as 500,001 leaves a spike at the top:
    that value holds many times more rows than the average distinct value does.
    """
    found: dict[str, tuple[str, float, int]] = {}
    if block.empty:
        return found
    values = block.to_numpy(dtype=float)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        n_valid = np.isfinite(values).sum(axis=0)
        distinct = block.nunique().to_numpy()
        average = n_valid / np.maximum(distinct, 1)
        for end, reduce in (("max", np.nanmax), ("min", np.nanmin)):
            edge = reduce(values, axis=0)
            at_edge = (values == edge).sum(axis=0)
            hit = (distinct >= 10) & (at_edge >= 10) & (at_edge >= CAP_FACTOR * average)
            if end == "min":
                hit &= edge != 0  # many zeros are counts of nothing, not a floor
            for i in np.flatnonzero(hit):
                found.setdefault(block.columns[i], (end, float(edge[i]), int(at_edge[i])))
    return found


def target_numbers(y: pd.Series, task: str) -> pd.Series | None:
    """The target as numbers for correlations: itself, or 0/1 for two classes; None for several."""
    if task == "regression":
        return pd.to_numeric(y, errors="coerce").astype(float).replace([np.inf, -np.inf], np.nan)
    if task == "binary":
        classes = sorted(y.dropna().unique(), key=str)
        return y.map({classes[0]: 0.0, classes[-1]: 1.0}).astype(float)
    return None


def correlations(block: pd.DataFrame, categorical: pd.DataFrame, y: pd.Series, y_numbers: pd.Series | None,
                 task: str, problems: list[str], seed: int = 0) -> pd.DataFrame:
    """Pearson, Spearman and mutual information of every attribute with the target."""
    table = pd.DataFrame(index=pd.Index([*block.columns, *categorical.columns], dtype=object))
    if y_numbers is not None and not block.empty:
        table["pearson"] = attempt(problems, "Pearson correlations", lambda: block.corrwith(y_numbers), np.nan)
        ranks = y_numbers.rank()
        table["spearman"] = attempt(problems, "Spearman correlations", lambda: block.rank().corrwith(ranks), np.nan)
    else:
        table["pearson"] = table["spearman"] = np.nan
    order = table["spearman"].abs().sort_values(ascending=False).index.tolist() if len(table) else []
    chosen = order[:MI_COLUMNS]
    table["mutual_info"] = attempt(
        problems, "mutual information with the target",
        lambda: _mutual_info(block, categorical, y, task, chosen, seed), np.nan)
    if len(order) > MI_COLUMNS:
        problems.append(f"mutual information: computed for the {MI_COLUMNS} attributes with the strongest rank "
                        f"correlation, not for the other {len(order) - MI_COLUMNS}")
    return table


def _mutual_info(block: pd.DataFrame, categorical: pd.DataFrame, y: pd.Series, task: str,
                 chosen: list[Any], seed: int) -> pd.Series:
    from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

    if task == "regression":
        y = pd.to_numeric(y, errors="coerce").astype(float).replace([np.inf, -np.inf], np.nan)
    keep = y.notna()
    numbers = block[[c for c in chosen if c in block.columns]][keep]
    codes = categorical[keep].apply(lambda s: pd.Categorical(s.astype(str)).codes)
    frame = pd.concat([numbers, codes], axis=1)
    target = y[keep]
    if len(frame) > MI_ROWS:
        frame = frame.sample(MI_ROWS, random_state=seed)
        target = target.loc[frame.index]
    if len(frame) < 5:
        raise ValueError(f"{len(frame)} labelled rows; at least 5 are needed")
    if frame.shape[1] == 0:
        return pd.Series(dtype=float)
    filled = frame.fillna(frame.median()).fillna(0).to_numpy(dtype=float)
    discrete = np.asarray([c not in block.columns for c in frame.columns])
    if task == "regression":
        scores = mutual_info_regression(filled, target.to_numpy(dtype=float), discrete_features=discrete,
                                        random_state=seed)
    else:
        scores = mutual_info_classif(filled, target.astype(str).to_numpy(), discrete_features=discrete,
                                     random_state=seed)
    return pd.Series(scores, index=frame.columns)


def ratio_candidates(block: pd.DataFrame, heavy: list[str], y_numbers: pd.Series | None,
                     limit: int = 4) -> list[tuple[str, str, float | None, float | None]]:
    """Pairs of strongly related count-like columns whose ratio may say more than either.

    Returns ``(numerator, denominator, corr of the ratio with the target, corr of the numerator)``.
    """
    columns = heavy[:10]
    if len(columns) < 2:
        return []
    corr = block[columns].corr()
    pairs = sorted(((corr.iat[i, j], a, b) for i, a in enumerate(columns) for j, b in enumerate(columns)
                    if i < j and corr.iat[i, j] >= 0.7), reverse=True)[:limit]
    found = []
    for _, a, b in pairs:
        top, bottom = (a, b) if block[a].median() >= block[b].median() else (b, a)
        ratio_corr = own_corr = None
        if y_numbers is not None:
            with np.errstate(all="ignore"):
                ratio = (block[top] / block[bottom].where(block[bottom] != 0)).replace([np.inf, -np.inf], np.nan)
                ratio_corr = float(ratio.corr(y_numbers))
                own_corr = float(block[top].corr(y_numbers))
        found.append((top, bottom, ratio_corr, own_corr))
    if y_numbers is not None:  # the ratios that relate best to the target first
        found.sort(key=lambda pair: -abs(pair[2]) if pair[2] == pair[2] else 0)
    return found


def target_task(y: pd.Series) -> str:
    """Regression, binary or multiclass, read loosely: unlike fitting, exploring accepts rare classes."""
    values = y.dropna()
    if values.empty:
        raise ValueError(f"target column '{y.name}' has no values: every row is missing")
    n_unique = values.nunique()
    if n_unique < 2:
        raise ValueError(f"target column '{y.name}' holds a single value ({values.iloc[0]!r}): nothing to predict")
    if n_unique == 2:
        return "binary"
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    numbers = values.astype(float) if numeric else pd.to_numeric(values.astype(str), errors="coerce")
    if numbers.notna().all() and (n_unique > 10 or not np.all(np.mod(numbers, 1) == 0)):
        return "regression"
    if n_unique > max(50, 0.5 * len(values)):
        raise ValueError(f"target column '{y.name}' holds {n_unique:,} distinct values that are not numbers "
                         "(dates, text or IDs?): neither a quantity nor classes to correlate with")
    return "multiclass"
