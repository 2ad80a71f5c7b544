"""Framing (which task the target asks for) and the held-out test split."""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from homl.errors import ConfigError, SchemaError, TargetError

from ._numbers import numbers_from_text
from ._schema import _mostly_dates
from ._strategy import time_order

REGRESSION = "regression"
BINARY = "binary"
MULTICLASS = "multiclass"
TASKS = (REGRESSION, BINARY, MULTICLASS)

#: An integer target with at most this many distinct values is read as classes.
MAX_INTEGER_CLASSES = 10
#: A class with fewer rows is not split in proportion: the test rows leave it two training rows.
MIN_STRATIFIED_CLASS = 5


def check_target(df: pd.DataFrame, target: str) -> pd.Series:
    """Return the target column, refusing a missing or all-missing one with a clear message."""
    if not isinstance(target, str) or not target:
        raise ConfigError(f"the target must be the name of a column, got {target!r}")
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
        value = values.iloc[0] if len(values) else None
        shown = value.item() if isinstance(value, np.generic) else value  # 2.5, not np.float64(2.5)
        raise TargetError(
            f"target column '{name}' has a single value ({shown!r}) in every labelled row: "
            "there is nothing to learn"
        )
    if task is None:
        numbers = _to_number(values)
        if pd.api.types.is_datetime64_any_dtype(values) or (
                numbers.isna().any() and _mostly_dates(values.astype(str))):
            raise TargetError(f"target column '{name}' holds dates: homl predicts numbers or classes; to predict "
                              "what comes next in time, forecast a numeric column with `homl forecast`")
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
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float)
    return numbers_from_text(values)


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
    n_test = int(np.ceil(test_size * len(df)))
    if n_test >= len(df):
        raise ConfigError(f"a test size of {test_size} leaves no training rows among the {len(df)} rows")
    strata = stratification_labels(df[target], task, fits=(n_test, len(df) - n_test))
    how = "classes" if task != REGRESSION else "target quantile bins"
    # A class of a few rows could lose all but one to the test rows: then no fold could learn it.
    rare = task != REGRESSION and df[target].astype(str).value_counts().min() < MIN_STRATIFIED_CLASS
    if (strata is None or rare) and task != REGRESSION:
        test = _test_keeping_classes(df[target].astype(str).to_numpy(), n_test, seed)
        why = f"a class has fewer than {MIN_STRATIFIED_CLASS} rows" if rare else "too few rows to stratify on the classes"
        return np.setdiff1d(positions, test), test, f"{len(test)} test rows drawn at random (seed {seed}), " \
            f"keeping at least 2 training rows of every class: {why}"
    train, test = train_test_split(positions, test_size=test_size, random_state=seed, stratify=strata)
    if strata is None:
        return np.sort(train), np.sort(test), f"{test_size:.0%} test set, drawn at random (seed {seed}): " \
            f"too few rows to stratify on the {how}"
    return np.sort(train), np.sort(test), f"{test_size:.0%} test set, stratified on the {how} (seed {seed})"


def _test_keeping_classes(labels: np.ndarray, n_test: int, seed: int, keep: int = 2) -> np.ndarray:
    """Up to ``n_test`` positions drawn at random, leaving ``keep`` rows of every class to train on."""
    left = pd.Series(labels).value_counts().to_dict()
    test = []
    for position in np.random.default_rng(seed).permutation(len(labels)):
        if len(test) == n_test:
            break
        if left[labels[position]] > keep:
            left[labels[position]] -= 1
            test.append(position)
    return np.sort(np.asarray(test, dtype=int))


def check_split_columns(df: pd.DataFrame, group_by: str | None, time_column: str | None) -> None:
    """Refuse a ``group_by`` or ``time_column`` column the data lacks."""
    for option, column in (("group_by", group_by), ("time_column", time_column)):
        if column is not None and column not in df.columns:
            raise SchemaError(f"{option} column '{column}' not found in the data")


def stratification_labels(y: pd.Series, task: str, bins: int = 5,
                          fits: tuple[int, ...] = ()) -> np.ndarray | None:
    """Labels to stratify on: the classes, or up to ``bins`` quantile bins of a numeric target.

    None where no stratification holds: a class (or bin) with a single row, or more of them than
    rows in one of the parts whose sizes ``fits`` gives (a split's test and training rows)."""
    def usable(labels: pd.Series) -> bool:
        counts = labels.value_counts()
        return len(counts) > 1 and counts.min() >= 2 and all(len(counts) <= n for n in fits)

    if task != REGRESSION:
        labels = y.astype(str)  # classes of mixed types (1 and 'a') cannot be sorted
        return labels.to_numpy() if usable(labels) else None
    values = _to_number(y)
    for q in range(bins, 1, -1):
        labels = pd.qcut(values, q=q, labels=False, duplicates="drop")
        if usable(labels):
            return labels.to_numpy()
    return None
