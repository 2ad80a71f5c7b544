"""One reading for a column of dates written as text: 03/04/2021 is the 3rd of April in a column
that also holds 25/12/2021, and the 4th of March in one that holds 12/25/2021."""

from __future__ import annotations

import warnings

import pandas as pd
from pandas.tseries.api import guess_datetime_format

#: The share of a column's dates a format must read to be the column's format.
FORMAT_SHARE = 0.95


def date_format(text: pd.Series) -> str | None:
    """The format that reads at least ``FORMAT_SHARE`` of the dates in ``text``: ISO 8601, else one
    pandas guesses from the values, month-first before day-first; None where no one format does
    (each value is then read on its own)."""
    sample = text.dropna().astype(str).str.strip().head(2000)
    if sample.empty:
        return None
    for fmt in ["ISO8601", *guessed_formats(sample)]:
        if _read(sample, fmt).notna().mean() >= FORMAT_SHARE:
            return fmt
    return None


def read_dates(values: pd.Series, fmt: str | None) -> pd.Series:
    """``values`` as naive UTC timestamps (NaT where unreadable): in format ``fmt`` first, and each
    value it cannot read on its own."""
    parsed = _read(values, fmt or "mixed")
    rest = parsed.isna() & values.notna()
    if fmt is not None and rest.any():
        parsed[rest] = _read(values[rest], "mixed")
    return parsed.dt.tz_localize(None)


def _read(values: pd.Series, fmt: str) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns when a value does not follow the format
        try:
            return pd.to_datetime(values, errors="coerce", format=fmt, utc=True)
        except (ValueError, TypeError, OverflowError):  # a format pandas cannot use on these values
            return pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")


def guessed_formats(text: pd.Series) -> list[str]:
    """Formats pandas guesses from a sample of the values, month-first guesses before day-first ones."""
    formats: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns when a day-first guess reads month-first
        for dayfirst in (False, True):
            for value in text.drop_duplicates().head(20):
                fmt = guess_datetime_format(value, dayfirst=dayfirst)
                if fmt and fmt not in formats:
                    formats.append(fmt)
    return formats
