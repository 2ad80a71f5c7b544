"""Framing (which task the target asks for) and the held-out test split."""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from homl.errors import ConfigError, SchemaError, TargetError

from ._strategy import time_order

REGRESSION = "regression"
BINARY = "binary"
MULTICLASS = "multiclass"
TASKS = (REGRESSION, BINARY, MULTICLASS)

#: An integer target with at most this many distinct values is read as classes.
MAX_INTEGER_CLASSES = 10


def check_target(df: pd.DataFrame, target: str) -> pd.Series:
    """Return the target column, refusing a missing or all-missing one with a clear message."""
    if target not in df.columns:
        names = {str(c).lower(): str(c) for c in df.columns}
        close = difflib.get_close_matches(target.lower(), list(names), n=1, cutoff=0.5)
        hint = f"; did you mean '{names[close[0]]}'?" if close else ""
        shown = ", ".join(f"'{c}'" for c in list(df.columns)[:12])
        raise TargetError(f"target column '{target}' not found{hint} (columns: {shown})")
    y = df[target]
    if y.notna().sum() == 0:
        raise TargetError(f"target column '{target}' has no values: every row is missing")
    return y


def detect_task(y: pd.Series, task: str | None = None) -> str:
    """Regression, binary or multiclass, from the target's values (``task`` overrides)."""
    values = y.dropna()
    name = y.name
    if task is not None:
        if task not in TASKS:
            raise ConfigError(f"unknown task '{task}'; expected one of {', '.join(TASKS)}")
        if task == REGRESSION and _to_number(values).isna().any():
            raise TargetError(f"target column '{name}' holds text, so it cannot be a regression target")
    n_unique = values.nunique()
    if n_unique < 2:
        raise TargetError(
            f"target column '{name}' has a single value ({values.iloc[0]!r}) in every labelled row: "
            "there is nothing to learn"
        )
    if task is None:
        numbers = _to_number(values)
        if numbers.isna().any() or pd.api.types.is_bool_dtype(values):
            task = BINARY if n_unique == 2 else MULTICLASS
        elif n_unique == 2:
            task = BINARY
        elif np.all(np.mod(numbers, 1) == 0) and n_unique <= MAX_INTEGER_CLASSES:
            task = MULTICLASS
        else:
            task = REGRESSION
    if task != REGRESSION:
        counts = values.value_counts()
        if task == BINARY and n_unique != 2:
            raise TargetError(f"target column '{name}' has {n_unique} classes; binary needs 2")
        if counts.min() < 2:
            rare = counts[counts < 2].index.tolist()
            raise TargetError(
                f"target column '{name}': class(es) {rare[:5]} appear only once; "
                "each class needs at least 2 rows to be learned and tested"
            )
    return task


def _to_number(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    return pd.to_numeric(values.astype(object), errors="coerce")


def split_train_test(
    df: pd.DataFrame,
    target: str,
    task: str,
    *,
    test_size: float = 0.2,
    seed: int = 42,
    group_by: str | None = None,
    time_column: str | None = None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Positions of the train and test rows, and a sentence that says how they were drawn.

    Stratified on the target (classes, or quantile bins of a numeric target, as the book
    does with income categories) unless rows are grouped or ordered in time. Positions are
    ascending, except with ``time_column``: then each part is in time order (stable), as
    every later split of time-ordered rows reads them.
    """
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    if not 0 < test_size < 1:
        raise ConfigError(f"test size must be between 0 and 1 (a share of the rows), got {test_size}")
    positions = np.arange(len(df))
    check_split_columns(df, group_by, time_column)
    if time_column is not None:
        order = time_order(df, time_column)
        n_test = max(1, int(round(len(df) * test_size)))
        return order[:-n_test], order[-n_test:], (
            f"the latest {test_size:.0%} of rows by '{time_column}' held out as the test set"
        )
    if group_by is not None:
        groups = df[group_by].astype(str).to_numpy()
        splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        train, test = next(splitter.split(positions, groups=groups))
        return np.sort(train), np.sort(test), (
            f"{test_size:.0%} of the '{group_by}' groups held out as the test set"
        )
    strata = stratification_labels(df[target], task)
    train, test = train_test_split(positions, test_size=test_size, random_state=seed, stratify=strata)
    how = "classes" if task != REGRESSION else "target quantile bins"
    return np.sort(train), np.sort(test), f"{test_size:.0%} test set, stratified on the {how} (seed {seed})"


def check_split_columns(df: pd.DataFrame, group_by: str | None, time_column: str | None) -> None:
    """Refuse a ``group_by`` or ``time_column`` column the data lacks."""
    for option, column in (("group_by", group_by), ("time_column", time_column)):
        if column is not None and column not in df.columns:
            raise SchemaError(f"{option} column '{column}' not found in the data")


def stratification_labels(y: pd.Series, task: str, bins: int = 5) -> np.ndarray | None:
    """Labels to stratify on: the classes, or ``bins`` quantile bins of a numeric target."""
    if task != REGRESSION:
        counts = y.value_counts()
        return y.to_numpy() if counts.min() >= 2 else None
    values = _to_number(y)
    labels = pd.qcut(values, q=bins, labels=False, duplicates="drop")
    return labels.to_numpy() if labels.nunique() > 1 else None
