"""Several target columns forecast together, as the book's bus and rail ridership.

The table is stacked: each target becomes a series of its own (one per target and id), in a
series column, its values in a value column, every target column kept beside them as a past
covariate. So each series reads the recent values of all the others, and the models learning
across series (lags, networks) learn every target at once; the forecast is unstacked back into
a column per target, with its interval bounds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from homl.errors import ConfigError, TargetError

#: Between an id and a target name in a stacked series' name.
SEPARATOR = " / "


def column_option(value: Any, option: str, *, required: bool = True) -> str | None:
    """A column named by option ``option`` as tables name it: text (``7`` names the column ``'7'``);
    ConfigError for None when ``required``."""
    if value is None:
        if required:
            raise ConfigError(f"{option}= must name a column of the table; got None")
        return None
    return value if isinstance(value, str) else str(value)


def target_names(target: str | Sequence[str]) -> list[str]:
    """The target columns: one name, a comma-separated string of names, or a list of them."""
    if target is None:
        raise ConfigError("target= must name the column to forecast; got None")
    if isinstance(target, str):
        names = [t.strip() for t in target.split(",")]
    elif isinstance(target, Iterable):
        names = [str(column_option(t, "target")).strip() for t in target]
    else:  # one column named by a number
        names = [str(target)]
    names = [n for n in names if n]
    if not names:
        raise ConfigError("target must name at least one column")
    if len(set(names)) < len(names):
        raise ConfigError(f"target names a column twice: {', '.join(names)}")
    return names


def free_name(columns: Iterable[str], wanted: str) -> str:
    """``wanted``, or ``wanted`` followed by underscores until no column of the table has that name."""
    taken = {str(c) for c in columns}
    while wanted in taken:
        wanted += "_"
    return wanted


def check_numbers(frame: pd.DataFrame, targets: Sequence[str], label: str) -> None:
    """A TargetError naming the first target value that is not a number (its column and row), as the
    stacked value column would only say it less clearly."""
    for target in targets:
        if target not in frame.columns or pd.api.types.is_bool_dtype(frame[target]):
            continue
        values = frame[target].reset_index(drop=True)
        bad = (pd.to_numeric(values, errors="coerce").isna() & values.notna()).to_numpy()
        if bad.any():
            row = int(bad.nonzero()[0][0])
            raise TargetError(f"{label}: column '{target}' (a target) holds {values.iloc[row]!r} on row {row + 1}; "
                              f"expected numbers ({int(bad.sum())} row(s) are not)")


def stack(frame: pd.DataFrame, targets: Sequence[str], by: str | None, series: str, value: str) -> pd.DataFrame:
    """One block of rows per target: ``series`` names the target (and id), ``value`` holds its
    values; every original column is kept, the targets included (as covariates)."""
    blocks = []
    for target in targets:
        block = frame.copy()
        names = target if by is None else frame[by].astype(str) + SEPARATOR + target
        block.insert(0, series, names)
        block[value] = frame[target] if target in frame.columns else float("nan")
        blocks.append(block)
    return pd.concat(blocks, ignore_index=True)


def unstack(long: pd.DataFrame, targets: Sequence[str], by: str | None, series: str, value: str,
            time: str) -> pd.DataFrame:
    """The stacked forecast back to one row per id and time, a column per target (the point
    forecast, named after it) followed by its interval bounds (``<target>_lower_80``...)."""
    bounds = [c for c in long.columns if c not in (series, value, time)]
    names = long[series].astype(str)
    pieces = []
    for target in targets:
        if by is None:
            rows, keys = long[names == target], [time]
        else:
            suffix = SEPARATOR + target
            rows = long[names.str.endswith(suffix)]
            rows, keys = rows.assign(**{by: rows[series].astype(str).str[: -len(suffix)]}), [by, time]
        renamed = {value: target, **{b: f"{target}_{b}" for b in bounds}}
        pieces.append(rows[[*keys, value, *bounds]].rename(columns=renamed).set_index(keys))
    return pd.concat(pieces, axis=1).reset_index()
