"""Interaction logs: who rated, bought or played what, read and checked for a recommender.

A log has a user column, an item column and, for explicit feedback, a rating column; an optional
time column orders each user's interactions. Users and items are identifiers: they are read as
text (a whole number written ``7.0`` by a spreadsheet is the same user as ``7``), so a model
finds them again in any later file. Rows without a user or item are left out and said; repeated
(user, item) pairs become one (ratings averaged, or interactions counted as the pair's strength).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from homl.errors import ConfigError, DataError, SchemaError, TargetError

from ._readers import read_table
from ._series import _numbers, require_column

#: Column names of :attr:`Interactions.frame`.
USER, ITEM, RATING, TIME = "user", "item", "rating", "time"


@dataclass
class Interactions:
    """A checked interaction log: one row per (user, item) pair, with its rating or strength.

    ``frame`` has the columns ``user`` and ``item`` (text), ``rating`` (the rating, or for
    implicit feedback the number of times the pair occurred) and ``time`` when a time column was
    named (the latest time of the pair). ``columns`` maps those roles to the source's column names.
    """

    frame: pd.DataFrame
    columns: dict[str, str | None]
    explicit: bool
    scale: tuple[float, float] | None
    name: str
    notes: list[str] = field(default_factory=list)

    @property
    def n_users(self) -> int:
        return int(self.frame[USER].nunique())

    @property
    def n_items(self) -> int:
        return int(self.frame[ITEM].nunique())


def read_interactions(data: Any, *, user: str, item: str, rating: str | None = None, time: str | None = None,
                      scale: tuple[float, float] | None = None, query: str | None = None,
                      name: str | None = None) -> Interactions:
    """Read and check an interaction log (a DataFrame or anything :func:`read_table` reads).

    ``rating`` names the explicit ratings (implicit feedback without it); ``scale`` is their
    (lowest, highest) possible value, a rating outside it is an error naming its row (default: the
    range seen). Raises :class:`SchemaError` for a missing column (the closest name suggested),
    :class:`TargetError` for a rating that is not a number, :class:`DataError` when fewer than
    two users or two items are left.
    """
    for option, column in (("user", user), ("item", item)):
        if column is None:
            raise ConfigError(f"{option}= must name a column of the table; got None")
    user, item, rating, time = (c if c is None or isinstance(c, str) else str(c) for c in (user, item, rating, time))
    notes: list[str] = []
    frame = read_table(data, query=query, notes=notes)
    label = name or ("the table" if isinstance(data, pd.DataFrame) else f"'{data}'")
    roles = {USER: user, ITEM: item, RATING: rating, TIME: time}
    _check_roles(roles)
    for role, column in roles.items():
        if column is not None:
            require_column(frame, column, role, label)
    work = pd.DataFrame({USER: identifiers(frame[user]), ITEM: identifiers(frame[item])},
                        index=pd.RangeIndex(len(frame)))
    if rating is not None:
        work[RATING] = _numbers(frame[rating], rating, "the rating", label, TargetError)
    if time is not None:
        work[TIME] = _times(frame[time], time, label)
    work = _drop_incomplete(work, roles, label, notes)
    if rating is not None:
        scale = _check_scale(work[RATING].to_numpy(), rating, scale, label)
    work = _one_row_per_pair(work, rating is not None, notes)
    if work[USER].nunique() < 2 or work[ITEM].nunique() < 2:
        raise DataError(f"{label} has {work[USER].nunique()} user(s) and {work[ITEM].nunique()} item(s) with "
                        "interactions; recommending needs at least 2 of each (check the --user and --item columns)")
    return Interactions(work, {k: v for k, v in roles.items()}, rating is not None, scale, label, notes)


def identifiers(values: pd.Series) -> pd.Series:
    """Identifiers as text (None where missing), the same however the file typed them: whole numbers
    without ``.0``, surrounding spaces dropped."""
    values = values.reset_index(drop=True)
    present = values.notna().to_numpy()
    if pd.api.types.is_float_dtype(values):
        numbers = values.to_numpy(dtype=float)
        if np.all(numbers[present] == np.round(numbers[present])):
            values = pd.Series([int(v) if ok else None for v, ok in zip(numbers, present)], dtype=object)
    text = [str(v).strip() or None if ok else None for v, ok in zip(values.tolist(), present)]
    return pd.Series(text, dtype=object)


def _check_roles(roles: dict[str, str | None]) -> None:
    named = [c for c in roles.values() if c is not None]
    repeated = sorted({c for c in named if named.count(c) > 1})
    if repeated:
        raise ConfigError(f"column '{repeated[0]}' is given for more than one role "
                          f"({', '.join(r for r, c in roles.items() if c == repeated[0])}); each needs its own column")


def _times(values: pd.Series, column: str, label: str) -> np.ndarray:
    """Times as sortable numbers: numbers as they are (e.g. Unix seconds), dates and text as timestamps."""
    values = values.reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype(float).to_numpy()
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    bad = (parsed.isna() & values.notna()).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise SchemaError(f"{label}: column '{column}' (the time) holds {values.iloc[row]!r} on row {row + 1}; "
                          "expected dates, times or numbers")
    return ((parsed - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(dtype=float, na_value=np.nan)


def _drop_incomplete(work: pd.DataFrame, roles: dict[str, str | None], label: str,
                     notes: list[str]) -> pd.DataFrame:
    """Rows with a user, an item (and a rating, a time when named); the others left out and said."""
    missing = work.isna()
    incomplete = missing.any(axis=1)
    if incomplete.all():
        raise DataError(f"{label}: no row has a {', '.join(c for c in roles.values() if c)} value in every column")
    if incomplete.any():
        counts = ", ".join(f"'{roles[role]}' {int(n):,}" for role, n in missing.sum().items() if n)
        first = int(np.flatnonzero(incomplete.to_numpy())[0]) + 1
        notes.append(f"{int(incomplete.sum()):,} row(s) without a value in every named column left out "
                     f"(missing: {counts}; the first is row {first})")
        work = work[~incomplete]
    return work


def _check_scale(ratings: np.ndarray, column: str, scale: tuple[float, float] | None,
                 label: str) -> tuple[float, float]:
    if len(ratings) and ratings.min() == ratings.max():
        raise TargetError(f"{label}: column '{column}' (the rating) holds the one value {ratings[0]:g} on every row; "
                          "there is nothing to learn from a single rating value (expected at least two different "
                          "ratings; leave the rating out to learn from the interactions alone)")
    if scale is None:
        return float(ratings.min()), float(ratings.max())
    low, high = (float(v) for v in scale)
    if not low < high:
        raise ConfigError(f"the rating scale must go from a lower to a higher value; got {scale!r}")
    outside = (ratings < low) | (ratings > high)
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        raise TargetError(f"{label}: column '{column}' (the rating) holds {ratings[row]:g} on row {row + 1}, outside "
                          f"the stated scale {low:g} to {high:g} ({int(outside.sum()):,} rating(s) are)")
    return low, high


def _one_row_per_pair(work: pd.DataFrame, explicit: bool, notes: list[str]) -> pd.DataFrame:
    """One row per (user, item): ratings averaged, or the number of interactions as the strength."""
    grouped = work.groupby([USER, ITEM], sort=False)
    sizes = grouped.size()
    repeated = int((sizes > 1).sum())
    if explicit:
        pairs = grouped.agg(**{RATING: (RATING, "mean"), **({TIME: (TIME, "max")} if TIME in work else {})})
        if repeated:
            notes.append(f"{repeated:,} (user, item) pair(s) rated more than once: their ratings averaged")
    else:
        pairs = grouped[[TIME]].max() if TIME in work else pd.DataFrame(index=sizes.index)
        pairs[RATING] = sizes.astype(float)
        if repeated:
            notes.append(f"{repeated:,} (user, item) pair(s) occur more than once: each counted once, "
                         "with the number of times as its strength")
    return pairs.reset_index()[[USER, ITEM, RATING, *([TIME] if TIME in work else [])]]
