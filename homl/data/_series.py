"""Read time series from a table: one regular series per id, as forecasters learn from them.

:func:`read_series` parses the time column, sorts the rows, aggregates duplicated timestamps, detects the
frequency, fills missing steps and values (never past the first or last target value), encodes covariates
and finds seasonal periods. Each fix is told as one
sentence in :attr:`SeriesTable.notes`; what cannot be fixed raises a :mod:`homl.errors` error naming the
table, column, row or series at fault and what was expected.

>>> import pandas as pd
>>> df = pd.DataFrame({"day": ["2024-01-03", "2024-01-01", "2024-01-02"], "sales": [3.0, 1.0, 2.0]})
>>> table = read_series(df, time="day", target="sales")
>>> table.data.freq, table.data.y[""].tolist()
('D', [1.0, 2.0, 3.0])
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset
from pandas.tseries.offsets import BaseOffset, Day, Tick, Week

from homl.errors import ConfigError, DataError, SchemaError, TargetError

from ._dates import guessed_formats
from ._readers import read_table
from ._series_frame import SINGLE_ID, SeriesData, future_index

AGGREGATES = ("mean", "sum")
#: Most categories a text covariate may have (each becomes a one-hot column).
MAX_CATEGORIES = 50
#: Autocorrelation (of the differenced series) above which a candidate period is kept outright.
MIN_SEASON_ACF = 0.2
MAX_LISTED = 5
YEARS = (1000, 3000)

_ID, _TIME, _Y = "\x00id", "\x00time", "\x00y"  # internal column names no table uses
_US = pd.Timedelta(microseconds=1)
_HOUR, _DAY, _WEEK = pd.Timedelta(hours=1), pd.Timedelta(days=1), pd.Timedelta(days=7)
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_WEEKDAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
_TZ_SUFFIX = r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})$"
_EXAMPLES = "e.g. 'h', '15min', 'D', 'B', 'W-SUN', 'MS', 'ME', 'QS', 'YS'"


@dataclass
class SeriesTable:
    """What :func:`read_series` made of a table.

    ``data``: the regular series. ``frame``: the same as a long table (the id column if any, the time
    column, the target, the encoded covariates), sorted by id and time. ``notes``: one sentence per fix
    applied. ``known_columns``/``past_columns``: the covariate columns as named in the table;
    ``categories``: for each text covariate, the categories its one-hot columns stand for;
    ``time_format``: the format text times were read with (None for other times).
    """

    data: SeriesData
    frame: pd.DataFrame
    id_column: str | None
    time_column: str
    notes: list[str] = field(default_factory=list)
    known_columns: tuple[str, ...] = ()
    past_columns: tuple[str, ...] = ()
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    time_format: str | None = None


@dataclass
class _Context:
    """The options of one read, for messages and per-series work."""

    label: str
    time: str
    target: str
    aggregate: str
    known: list[str]  # encoded covariate names
    past: list[str]
    sources: dict[str, str] = field(default_factory=dict)  # encoded covariate name -> its table column
    freq: str = ""
    given: bool = False  # freq given by the user, not detected


# ---------------------------------------------------------------- reading


def read_series(source: Any, *, time: str, target: str, id: str | None = None,
                known: Sequence[str] = (), past: Sequence[str] = (), freq: str | None = None,
                aggregate: str = "mean", name: str | None = None, query: str | None = None,
                categories: dict[str, Sequence[str]] | None = None) -> SeriesTable:
    """Read ``source`` (a file, database URL or DataFrame, see :func:`read_table`) as regular time series.

    ``time``: the time column; ``target``: the column to forecast; ``id``: the column naming each series
    (None: the table holds one series). ``known``: covariates known in advance (calendar flags, planned
    prices); ``past``: covariates only known up to now. ``freq``: a pandas frequency alias overriding the
    detected one. ``aggregate``: how rows sharing a timestamp are merged ("mean" or "sum"). ``name``
    names the table in messages. ``categories``: the categories of text covariates learned earlier
    (:attr:`SeriesTable.categories`), to encode newer rows of the same series alike (unseen ones: all 0).
    """
    label = name or (f"'{source}'" if isinstance(source, (str, PathLike)) else "the table")
    time, target = _name(time, "time"), _name(target, "target")
    id = None if id is None else _name(id, "id")
    known, past = _names(known, "known"), _names(past, "past")
    _check_options(time, target, id, known, past, aggregate)
    offset = _offset(freq) if freq is not None else None
    notes: list[str] = []
    df = read_table(source, query=query, notes=notes)
    roles = [(time, "time"), (target, "target"), *([(id, "id")] if id else []),
             *[(c, "known covariate") for c in known], *[(c, "past covariate") for c in past]]
    for column, role in roles:
        require_column(df, column, role, label)
    times, time_format = _parse_times(df[time], time, label, notes, None)
    work, categories, known_names, past_names = _long_table(df, label, times, target, id, known, past,
                                                            categories or {}, notes)
    sources = {f"{c}={cat}": c for c, cats in categories.items() for cat in cats}
    ctx = _Context(label, time, target, aggregate, known_names, past_names, sources)
    work = _merge_duplicates(_sort(work, df[id] if id else None, label, time, id, notes), ctx, notes)
    _check_series(work, ctx, id)
    if offset is None:
        ctx.freq = _detect_all(work)
        notes.append(f"{label}: frequency '{ctx.freq}' detected ({_describe(ctx.freq)})")
    else:
        ctx.freq, ctx.given = _canonical(offset.freqstr), True
    parts = _regularise_all(work, ctx, notes)
    data = _series_data(parts, ctx, notes)
    frame = _frame(parts, ctx, id)
    return SeriesTable(data, frame, id, time, notes, tuple(known), tuple(past), categories, time_format)


def _name(column: Any, role: str) -> str:
    """A column name as tables name columns (text: ``7`` names the column ``'7'``); ConfigError for None."""
    if column is None:
        raise ConfigError(f"{role}= must name a column of the table; got None")
    return column if isinstance(column, str) else str(column)


def _names(columns: Sequence[str] | str, role: str) -> list[str]:
    if isinstance(columns, str):
        return [columns]
    names = list(columns)
    if any(c is None for c in names):
        raise ConfigError(f"{role}= must list column names, got {names!r}")
    return [_name(c, role) for c in names]


def _check_options(time: str, target: str, id: str | None, known: list[str], past: list[str],
                   aggregate: str) -> None:
    if aggregate not in AGGREGATES:
        raise ConfigError(f"aggregate='{aggregate}' is not known; expected one of {', '.join(AGGREGATES)}")
    roles: dict[str, str] = {}
    for column, role in [(time, "time"), (target, "target"), (id, "id"), *[(c, "known") for c in known],
                         *[(c, "past") for c in past]]:
        if column is None:
            continue
        if column in roles:
            raise ConfigError(f"column '{column}' is given as both {roles[column]} and {role}; "
                              "expected each column in one role")
        roles[column] = role


def _offset(freq: str) -> BaseOffset:
    """The pandas offset of a frequency alias, or ConfigError."""
    try:
        offset = to_offset(freq)
    except (ValueError, TypeError) as e:
        renamed = re.search(r"Please use '([^']+)' instead", str(e))
        hint = f" (pandas now spells it '{renamed.group(1)}')" if renamed else ""
        raise ConfigError(f"freq='{freq}' is not a pandas frequency alias{hint}; expected {_EXAMPLES}") from e
    if offset is None or offset.n < 1:
        raise ConfigError(f"freq='{freq}' is not a forward step; expected {_EXAMPLES}")
    return offset


def require_column(df: pd.DataFrame, column: str, role: str, label: str) -> None:
    """SchemaError when ``column`` is missing, suggesting the closest column name; ConfigError when
    no column is named (None)."""
    if column is None:
        raise ConfigError(f"{label}: no {role} column named (got None); expected a column name")
    if column in df.columns:
        return
    names = {str(c).lower(): str(c) for c in df.columns}
    close = difflib.get_close_matches(str(column).lower(), list(names), n=1, cutoff=0.5)
    hint = f"; did you mean '{names[close[0]]}'?" if close else ""
    shown = ", ".join(f"'{c}'" for c in list(df.columns)[:12]) + (", ..." if df.shape[1] > 12 else "")
    raise SchemaError(f"{label}: no column '{column}' (the {role} column){hint} (columns: {shown})")


def _long_table(df: pd.DataFrame, label: str, times: pd.DatetimeIndex, target: str, id: str | None,
                known: list[str], past: list[str], learned: dict[str, Sequence[str]],
                notes: list[str]) -> tuple[pd.DataFrame, dict[str, tuple[str, ...]], list, list]:
    """The rows as (id, time, target, encoded covariates), in table order."""
    work = pd.DataFrame({_ID: _ids(df[id], id, label) if id else SINGLE_ID, _TIME: times,
                         _Y: _numbers(df[target], target, "the target", label, TargetError)},
                        index=pd.RangeIndex(len(df)))
    categories: dict[str, tuple[str, ...]] = {}
    names: dict[str, list[str]] = {"known": [], "past": []}
    for role, columns in (("known", known), ("past", past)):
        for column in columns:
            values, what = df[column].reset_index(drop=True), f"a {role} covariate"
            if column in learned:
                encoded, cats = _encode_as(values, column, tuple(learned[column]), label, notes), tuple(learned[column])
            else:
                encoded, cats = _encode(values, column, what, label)
            if cats is not None:
                categories[column] = cats
            names[role] += list(encoded.columns)
            work = pd.concat([work, encoded], axis=1)
    return work, categories, names["known"], names["past"]


def _ids(values: pd.Series, column: str, label: str) -> np.ndarray:
    missing = values.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0]) + 1
        raise DataError(f"{label}: column '{column}' (the id) is empty on row {row}; expected an id on every row")
    if pd.api.types.is_float_dtype(values) and (values % 1 == 0).all():
        values = values.astype("int64")  # 3.0 -> "3"
    return values.astype(str).str.strip().to_numpy(dtype=object)


def _numbers(values: pd.Series, column: str, role: str, label: str, error: type[Exception]) -> np.ndarray:
    """A column as floats (empty cells NaN); ``error`` naming the first value that is not a number."""
    values = values.reset_index(drop=True)
    if pd.api.types.is_bool_dtype(values):
        return values.astype(float).to_numpy()
    numbers = pd.to_numeric(values, errors="coerce")
    bad = (numbers.isna() & values.notna()).to_numpy()
    if bad.any():
        row, n = int(np.flatnonzero(bad)[0]), int(bad.sum())
        raise error(f"{label}: column '{column}' ({role}) holds {values.iloc[row]!r} on row {row + 1}; "
                    f"expected numbers ({n} row{_s(n)} {'is' if n == 1 else 'are'} not)")
    numbers = numbers.astype(float).to_numpy()
    infinite = np.isinf(numbers)
    if infinite.any():
        row, n = int(np.flatnonzero(infinite)[0]), int(infinite.sum())
        raise error(f"{label}: column '{column}' ({role}) holds {numbers[row]} on row {row + 1}; "
                    f"expected finite numbers ({n} row{_s(n)} {'is' if n == 1 else 'are'} infinite)")
    return numbers


def _encode(values: pd.Series, column: str, role: str,
            label: str) -> tuple[pd.DataFrame, tuple[str, ...] | None]:
    """A covariate as float columns: numbers as they are, text as one-hot columns named ``column=category``."""
    if pd.api.types.is_datetime64_any_dtype(values):
        raise SchemaError(f"{label}: column '{column}' ({role}) holds dates; expected numbers or categories")
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return pd.DataFrame({column: values.astype(float)}), None
    numbers = pd.to_numeric(values, errors="coerce")
    bad = (numbers.isna() & values.notna()).to_numpy()
    if not bad.any():
        return pd.DataFrame({column: numbers.astype(float)}), None
    if bad.sum() <= 0.1 * values.notna().sum():  # numbers with a few stray words
        row = int(np.flatnonzero(bad)[0])
        raise SchemaError(f"{label}: column '{column}' ({role}) holds {values.iloc[row]!r} on row {row + 1} "
                          "among numbers; expected numbers only")
    text = values.astype(object).where(values.isna(), values.astype(str).str.strip())
    cats = tuple(sorted(text.dropna().unique()))
    if len(cats) > MAX_CATEGORIES:
        raise SchemaError(f"{label}: column '{column}' ({role}) has {len(cats)} distinct text values "
                          f"(e.g. {', '.join(map(repr, cats[:3]))}); expected numbers or at most {MAX_CATEGORIES} "
                          "categories")
    return _one_hot(text, column, cats), cats


def _encode_as(values: pd.Series, column: str, cats: tuple[str, ...], label: str, notes: list[str]) -> pd.DataFrame:
    """A text covariate one-hot encoded with categories learned earlier; unseen ones all 0, noted."""
    text = values.astype(object).where(values.isna(), values.astype(str).str.strip())
    unseen = sorted(set(text.dropna()) - set(cats))
    if unseen:
        shown = ", ".join(map(repr, unseen[:MAX_LISTED])) + (" ..." if len(unseen) > MAX_LISTED else "")
        notes.append(f"{label}: categories of '{column}' not seen in training ({shown}) encoded as all zeros")
    return _one_hot(text, column, cats)


def _one_hot(text: pd.Series, column: str, cats: tuple[str, ...]) -> pd.DataFrame:
    """One float column per category; rows with no value are NaN (filled later), unseen categories all 0."""
    encoded = pd.DataFrame({f"{column}={c}": (text == c).astype(float) for c in cats}, index=text.index)
    encoded.loc[text.isna().to_numpy()] = np.nan
    return encoded


# ---------------------------------------------------------------- time parsing


def parse_times(values: pd.Series, column: str, name: str, notes: list[str] | None = None, *,
                prefer: str | None = None) -> pd.DatetimeIndex:
    """Parse a time column into naive timestamps, one per row.

    Accepts datetimes (time zones converted to UTC), ISO strings, day/month/year strings (the day-first or
    month-first reading that parses every value, the more regularly spaced one if both do) and whole
    numbers between 1000 and 3000, read as years. ``prefer``: a format to use when it parses every value
    (the one the training table was read with). ``name`` names the table in messages; each conversion is
    told in ``notes``. Raises DataError naming the first empty or unparseable row and its value.
    """
    return _parse_times(values, column, name, notes if notes is not None else [], prefer)[0]


def _parse_times(values: pd.Series, column: str, name: str, notes: list[str],
                 prefer: str | None) -> tuple[pd.DatetimeIndex, str | None]:
    """:func:`parse_times`, with the format of text dates (None for other values)."""
    values = values.reset_index(drop=True)
    missing = values.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0]) + 1
        raise DataError(f"{name}: column '{column}' has no time on row {row}; expected a date or time on every row")
    fmt = None
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = pd.DatetimeIndex(values)
    elif pd.api.types.is_bool_dtype(values):
        raise DataError(f"{name}: column '{column}' holds true/false values; expected dates or times")
    elif pd.api.types.is_numeric_dtype(values):
        parsed = _years(values, column, name, notes)
    else:
        text = values.astype(str).str.strip()
        if text.str.fullmatch(r"\d{4}").all():
            parsed = _years(text.astype(int), column, name, notes)
        else:
            parsed, fmt = _parse_text(text, column, name, notes, prefer)
    if parsed.tz is not None:
        notes.append(f"{name}: times in '{column}' converted from {parsed.tz} to UTC (time zone dropped)")
        parsed = parsed.tz_convert("UTC").tz_localize(None)
    return parsed.as_unit("us"), fmt


def _years(values: pd.Series, column: str, name: str, notes: list[str]) -> pd.DatetimeIndex:
    numbers = values.astype(float)
    bad = ~((numbers % 1 == 0) & numbers.between(*YEARS)).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"{name}: column '{column}' holds the number {values.iloc[row]} on row {row + 1}; "
                        f"expected dates, or whole years between {YEARS[0]} and {YEARS[1]}")
    first = int(numbers.iloc[0])
    notes.append(f"{name}: numbers in '{column}' read as years ({first} as {first}-01-01)")
    return pd.DatetimeIndex(pd.to_datetime(numbers.astype(int).astype(str), format="%Y"))


def _parse_text(text: pd.Series, column: str, name: str, notes: list[str],
                prefer: str | None) -> tuple[pd.DatetimeIndex, str]:
    """Parse date strings, refusing an unparseable value and choosing between day-first and month-first."""
    utc = bool(text.str.contains(_TZ_SUFFIX, regex=True).any())
    attempts: list[tuple[str, pd.Series]] = []
    for fmt in [*([prefer] if prefer else []), "ISO8601", *guessed_formats(text), "mixed"]:
        parsed = _try_format(text, fmt, utc)
        if parsed is None:
            continue
        if fmt in (prefer, "ISO8601") and parsed.notna().all():
            return pd.DatetimeIndex(parsed), fmt
        attempts.append((fmt, parsed))
    full = [(fmt, p) for fmt, p in attempts if p.notna().all()]
    formats = [(fmt, p) for fmt, p in full if fmt != "mixed"] or full
    if formats:
        return _pick_reading(formats, column, name, notes)
    best = max((p for _, p in attempts), key=lambda p: p.notna().sum(), default=pd.Series(pd.NaT, index=text.index))
    row = int(np.flatnonzero(best.isna().to_numpy())[0])
    raise DataError(f"{name}: column '{column}' holds {text.iloc[row]!r} on row {row + 1}, which is not a date "
                    "or time; expected dates like 2001-01-31 or 01/31/2001 on every row")


def _try_format(text: pd.Series, fmt: str, utc: bool) -> pd.Series | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pd.to_datetime(text, format=fmt, errors="coerce", utc=utc)
    except (ValueError, TypeError, OverflowError):
        return None


def _pick_reading(full: list[tuple[str, pd.Series]], column: str, name: str,
                  notes: list[str]) -> tuple[pd.DatetimeIndex, str]:
    """Among readings parsing every value, keep the most regularly spaced one (month-first on a near tie);
    note which was kept."""
    distinct: list[tuple[str, pd.Series]] = []
    for fmt, parsed in full:
        if not any(parsed.equals(p) for _, p in distinct):
            distinct.append((fmt, parsed))
    if len(distinct) == 1:
        fmt, parsed = distinct[0]
        if "%d" in fmt and "%m" in fmt and not fmt.startswith("%Y"):
            notes.append(f"{name}: dates in '{column}' read as {fmt}, the only day and month order all values fit")
        return pd.DatetimeIndex(parsed), fmt
    scores = [_irregularity(pd.DatetimeIndex(p)) for _, p in distinct]
    close = [i for i, score in enumerate(scores) if score <= 1.1 * min(scores)]
    fmt, parsed = distinct[close[0]]  # month-first readings come first
    shown = "mixed formats" if fmt == "mixed" else fmt
    if len(close) > 1:
        notes.append(f"{name}: dates in '{column}' fit both day-first and month-first; read as {shown} "
                     "(write them as 2001-01-31 to be sure)")
    else:
        notes.append(f"{name}: dates in '{column}' read as {shown}, the reading that spaces them regularly")
    return pd.DatetimeIndex(parsed), fmt


def _irregularity(times: pd.DatetimeIndex) -> float:
    """Steps of the median spacing the span holds, per distinct timestamp (1 for regular times)."""
    unique = times.unique().sort_values()
    if len(unique) < 3:
        return 1.0
    step = _median_spacing(unique)
    return float((unique[-1] - unique[0]) / step + 1) / len(unique)


# ---------------------------------------------------------------- sorting and duplicates


def _sort(work: pd.DataFrame, raw_ids: pd.Series | None, label: str, time: str, id: str | None,
          notes: list[str]) -> pd.DataFrame:
    """Rows ordered by id (numbers as numbers) and time; noted when they were not."""
    try:
        codes = pd.factorize(raw_ids.reset_index(drop=True), sort=True)[0] if raw_ids is not None else None
    except TypeError:  # ids mixing numbers and text: order them as text
        codes = None
    if codes is None:
        codes = pd.factorize(work[_ID], sort=True)[0]
    order = np.lexsort((pd.DatetimeIndex(work[_TIME]).asi8, codes))
    if np.array_equal(order, np.arange(len(work))):
        return work
    by = f"{id}, {time}" if id else time
    notes.append(f"{label}: rows sorted by {by} (they were not in order)")
    return work.iloc[order].reset_index(drop=True)


def _merge_duplicates(work: pd.DataFrame, ctx: _Context, notes: list[str]) -> pd.DataFrame:
    """Rows sharing a series and a timestamp merged into one: target and past covariates by ``aggregate``,
    known covariates by their mean."""
    duplicated = work.duplicated([_ID, _TIME])
    if not duplicated.any():
        return work
    counts = work.loc[duplicated, _ID].value_counts(sort=False).to_dict()
    work = _aggregate(work, [_ID, _TIME], ctx)
    n = sum(counts.values())
    notes.append(f"{ctx.label}: {n} row{_s(n)} sharing a timestamp with an earlier row of the same series merged "
                 f"by {ctx.aggregate} of '{ctx.target}'{_per_series(counts)}")
    return work


def _aggregate(work: pd.DataFrame, keys: list[str], ctx: _Context) -> pd.DataFrame:
    """Group rows by ``keys``: target and past covariates by ``aggregate``, known covariates by their mean."""
    by_rule = [*([_Y] if ctx.aggregate == "mean" else []), *ctx.known, *(ctx.past if ctx.aggregate == "mean" else [])]
    summed = [] if ctx.aggregate == "mean" else [_Y, *ctx.past]
    grouped = work.groupby(keys, sort=False)  # rows are sorted already
    parts = [grouped[by_rule].mean()] if by_rule else []
    if summed:
        parts.append(grouped[summed].sum(min_count=1))
    merged = pd.concat(parts, axis=1)
    order = [c for c in work.columns if c in merged.columns]
    return merged[order].reset_index()


# ---------------------------------------------------------------- frequency


def detect_frequency(times: pd.DatetimeIndex) -> str:
    """The pandas frequency alias of regularly spaced ``times`` (unsorted and repeated times allowed).

    Uses :func:`pandas.infer_freq` when the times are exactly regular, else the median spacing: hourly
    ``"h"``, minute multiples ``"15min"``, daily ``"D"``, business days ``"B"`` (weekdays with weekend
    gaps), weekly ``"W-XXX"`` on the usual weekday, monthly ``"MS"``/``"ME"``, quarterly ``"QS"``/``"QE"``,
    yearly ``"YS"``/``"YE"`` (starts when the times are not all period ends).
    """
    unique = pd.DatetimeIndex(times).unique().sort_values()
    if len(unique) < 2:
        raise DataError(f"cannot detect a frequency from {len(unique)} distinct timestamp; expected at least 2")
    if len(unique) >= 3:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                inferred = pd.infer_freq(unique)
            except (ValueError, TypeError):
                inferred = None
        if inferred is not None:
            return _canonical(to_offset(inferred).freqstr)
    return _from_spacing(unique)


def _from_spacing(unique: pd.DatetimeIndex) -> str:
    """The frequency of the median spacing of sorted distinct times."""
    step = _median_spacing(unique)
    if step < 0.75 * _DAY:
        return _tick_alias(step)
    days = step / _DAY
    if days < 1.5:
        weekend_gaps = (pd.Series(unique).diff().dt.days == 3) & (unique.day_of_week == 0)
        return "B" if (unique.day_of_week < 5).all() and weekend_gaps.any() else "D"
    if days < 6:
        return f"{round(days)}D"
    weekday = _WEEKDAYS[Counter(unique.day_of_week).most_common(1)[0][0]]
    if days < 8:
        return f"W-{weekday}"
    if days < 27:
        weeks = round(days / 7)
        return f"{weeks}W-{weekday}" if abs(days - 7 * weeks) <= 1 else f"{round(days)}D"
    return _calendar_alias(unique, max(1, round(days / 30.4375)))


def _tick_alias(step: pd.Timedelta) -> str:
    seconds = max(1, round(step.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes = round(seconds / 60)
    if minutes % 60:
        return f"{minutes}min"
    return "h" if minutes == 60 else f"{minutes // 60}h"


def _calendar_alias(unique: pd.DatetimeIndex, months: int) -> str:
    """Monthly, quarterly or yearly alias: period ends when every time is a month end, else starts."""
    ends = bool(unique.is_month_end.all())
    month = Counter(unique.month).most_common(1)[0][0]
    if months % 12 == 0:
        n, base = months // 12, f"YE-{_MONTHS[month - 1]}" if ends else f"YS-{_MONTHS[month - 1]}"
    elif months % 3 == 0:
        anchor = (month - 1) % 3 + (10 if ends else 1)  # QE-OCT/NOV/DEC or QS-JAN/FEB/MAR
        n, base = months // 3, f"QE-{_MONTHS[anchor - 1]}" if ends else f"QS-{_MONTHS[anchor - 1]}"
    else:
        n, base = months, "ME" if ends else "MS"
    return _canonical(f"{n if n > 1 else ''}{base}")


def _canonical(freq: str) -> str:
    """Short aliases for the usual anchors: 'QS-JAN' -> 'QS', 'YE-DEC' -> 'YE', 'QS-OCT' -> 'QS'."""
    match = re.fullmatch(r"(\d*)(QS|QE|YS|YE)-([A-Z]{3})", freq)
    if not match:
        return freq
    n, kind, anchor = match.groups()
    month = _MONTHS.index(anchor) + 1
    if kind.startswith("Q"):
        month = (month - 1) % 3 + (10 if kind == "QE" else 1)
    default = 12 if kind.endswith("E") else 1
    return f"{n}{kind}" if month == default else f"{n}{kind}-{_MONTHS[month - 1]}"


def _describe(freq: str) -> str:
    offset = to_offset(freq)
    kind = type(offset).__name__
    words = {"Hour": "hourly", "Minute": "minutes", "Second": "seconds", "Day": "daily",
             "BusinessDay": "business days", "Week": "weekly", "MonthBegin": "monthly, month starts",
             "MonthEnd": "monthly, month ends", "QuarterBegin": "quarterly, quarter starts",
             "QuarterEnd": "quarterly, quarter ends", "YearBegin": "yearly, year starts",
             "YearEnd": "yearly, year ends"}
    word = words.get(kind, kind)
    return word if offset.n == 1 else f"every {offset.n} steps, {word}"


def _detect_all(work: pd.DataFrame) -> str:
    """The frequency most series have (ties: the one of the most rows)."""
    votes: Counter[str] = Counter()
    for _, times in work.groupby(_ID, sort=False)[_TIME]:
        votes[detect_frequency(pd.DatetimeIndex(times))] += len(times)
    return votes.most_common(1)[0][0]


def _fixed_step(offset: BaseOffset) -> pd.Timedelta | None:
    """The step of fixed-length frequencies (hours, minutes, days), None for calendar ones."""
    return pd.Timedelta(offset) if isinstance(offset, (Tick, Day)) else None


def _typical_step(offset: BaseOffset) -> pd.Timedelta:
    step = _fixed_step(offset)
    if step is not None:
        return step
    return pd.Series(pd.date_range("2001-01-01", periods=13, freq=offset)).diff().median()


# ---------------------------------------------------------------- regular grid


def _check_series(work: pd.DataFrame, ctx: _Context, id: str | None) -> None:
    """Refuse series of one timestamp or with no target value."""
    sizes = work.groupby(_ID, sort=False).size()
    short = sizes[sizes < 2]
    if len(short):
        where = f"series '{short.index[0]}' (column '{id}') has" if id else "the table has"
        raise DataError(f"{ctx.label}: {where} a single timestamp; expected at least 2 steps per series"
                        + (f" ({len(short)} series have one)" if len(short) > 1 else ""))
    empty = work.groupby(_ID, sort=False)[_Y].count()
    empty = empty[empty == 0]
    if len(empty):
        raise TargetError(f"{ctx.label}: {_series_name(empty.index[0])} has no value of '{ctx.target}'; "
                          "expected at least one number per series")


def _regularise_all(work: pd.DataFrame, ctx: _Context, notes: list[str]) -> dict[str, pd.DataFrame]:
    """Every series on its regular grid, with the fixes noted (summed over series)."""
    offset = to_offset(ctx.freq)
    parts: dict[str, pd.DataFrame] = {}
    kinds = ("moved", "merged", "trimmed", "filled", "target", "covariate")
    counts: dict[str, Counter[str]] = {k: Counter() for k in kinds}
    examples: dict[str, str] = {}
    for sid, part in work.groupby(_ID, sort=False):
        sid = str(sid)
        parts[sid], fixes, example = _regularise(part.drop(columns=_ID), sid, offset, ctx)
        for kind, n in fixes.items():
            if n:
                counts[kind][sid] = n
        if example and "moved" not in examples:
            examples["moved"] = example
    _note_fixes(counts, examples.get("moved", ""), ctx, notes)
    return parts


def _regularise(part: pd.DataFrame, sid: str, offset: BaseOffset,
                ctx: _Context) -> tuple[pd.DataFrame, dict[str, int], str]:
    """One series on its grid: timestamps snapped to steps, gaps filled; the count of each fix."""
    times = pd.DatetimeIndex(part[_TIME])
    bucket = ctx.given and _median_spacing(times) < 0.75 * _typical_step(offset)
    snapped = _snap(times, offset, bucket)
    moved = int((snapped != times).sum())
    example = f"{_when(times[snapped != times][0])} to {_when(snapped[snapped != times][0])}" if moved else ""
    merged = int(snapped.duplicated().sum())
    if merged and not ctx.given:
        _refuse_collision(times, snapped, sid, ctx)
    values = part.drop(columns=_TIME)
    if merged:
        values = _aggregate(values.assign(**{_TIME: snapped}), [_TIME], ctx).set_index(_TIME)
    else:
        values = values.set_index(snapped)
    values, trimmed = _trim(values, sid, ctx)
    grid = _grid(values.index, offset, sid, ctx)
    missing_target = int(values[_Y].isna().sum())
    missing_cov = int(values[ctx.known + ctx.past].isna().sum().sum())
    regular = values.reindex(grid)
    regular[_Y] = regular[_Y].interpolate(method="linear", limit_direction="both")
    covariates = ctx.known + ctx.past
    if covariates:
        _refuse_empty_covariate(regular[covariates], sid, ctx)
        regular[covariates] = regular[covariates].ffill().bfill()
    fixes = {"moved": moved, "merged": merged, "filled": len(grid) - len(values), "trimmed": trimmed,
             "target": missing_target, "covariate": missing_cov}
    return regular, fixes, example


def _trim(values: pd.DataFrame, sid: str, ctx: _Context) -> tuple[pd.DataFrame, int]:
    """The steps from the first to the last target value (no value is made up past either end)."""
    valid = np.flatnonzero(values[_Y].notna().to_numpy())
    kept = values.iloc[valid[0]: valid[-1] + 1]
    if len(kept) < 2:
        raise DataError(f"{ctx.label}: {_series_name(sid)} has a single value of '{ctx.target}' (at "
                        f"{_when(kept.index[0])}); expected at least 2 steps per series")
    return kept, len(values) - len(kept)


def _median_spacing(times: pd.DatetimeIndex) -> pd.Timedelta:
    """The (lower) median spacing of the distinct times: a spacing that occurs, not a mean of two."""
    spacing = np.sort(np.diff(times.unique().sort_values().as_unit("us").asi8))
    return pd.Timedelta(int(spacing[(len(spacing) - 1) // 2]), unit="us")


def _snap(times: pd.DatetimeIndex, offset: BaseOffset, bucket: bool) -> pd.DatetimeIndex:
    """Each time moved onto a step of ``offset``: the nearest step, or with ``bucket`` (a frequency coarser
    than the data) the step its period starts at (the period end for end-anchored and weekly frequencies)."""
    step = _fixed_step(offset)
    if step is not None:
        return _snap_fixed(times, step, bucket)
    days = times.normalize()
    base = offset.base
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # non-vectorised offsets warn about performance
        back = (days + base) - base  # rollback: the step at or before
        forward = (days - base) + base  # rollforward: the step at or after
    kind = type(offset).__name__
    if kind.endswith("End") or (bucket and isinstance(offset, Week)):
        on = forward
    elif kind.endswith("Begin") or bucket:
        on = back
    else:
        on = pd.DatetimeIndex(np.where(days - back <= forward - days, back, forward))
    on = pd.DatetimeIndex(on).as_unit("us")
    if offset.n > 1:  # steps of several periods: onto the grid started at the first time
        grid = pd.date_range(on.min(), on.max() + offset, freq=offset, unit="us")
        on = _onto(on, grid, bucket)
    return on


def _snap_fixed(times: pd.DatetimeIndex, step: pd.Timedelta, bucket: bool) -> pd.DatetimeIndex:
    """Times rounded to a grid of ``step``: aligned as most times are, or floored from midnight with ``bucket``."""
    ticks = times.as_unit("us").asi8
    size = step // _US
    if bucket:
        phase = 0
    else:
        phases, counts = np.unique(ticks % size, return_counts=True)
        phase = int(phases[np.argmax(counts)])
    shift = 0 if bucket else size // 2
    snapped = (ticks - phase + shift) // size * size + phase
    return pd.DatetimeIndex(snapped.astype("datetime64[us]"))


def _onto(times: pd.DatetimeIndex, grid: pd.DatetimeIndex, bucket: bool) -> pd.DatetimeIndex:
    """Each time moved to the grid step at or before it (``bucket``), or the nearest one."""
    before = np.clip(grid.searchsorted(times, side="right") - 1, 0, len(grid) - 1)
    if not bucket:
        after = np.clip(before + 1, 0, len(grid) - 1)
        closer = (grid[after] - times) < (times - grid[before])
        before = np.where(closer, after, before)
    return grid[before]


def _grid(steps: pd.DatetimeIndex, offset: BaseOffset, sid: str, ctx: _Context) -> pd.DatetimeIndex:
    """Every step from the first to the last; DataError when more than half would have no value."""
    first, last = steps.min(), steps.max()
    fixed = _fixed_step(offset)
    size = int((last - first) // fixed) + 1 if fixed is not None else None
    if size is None:
        grid = pd.date_range(first, last, freq=offset, unit="us")
        size = len(grid)
    if size - len(steps) > size / 2:
        average = pd.date_range(first, last, periods=len(steps), unit="us")  # the same span, evenly spaced
        suggestion = _from_spacing(average)
        hint = f" (its average spacing suggests freq='{suggestion}')" if suggestion != ctx.freq else ""
        how = "given" if ctx.given else "detected"
        raise DataError(f"{ctx.label}: {_series_name(sid)} has irregular spacing: at the {how} frequency "
                        f"'{ctx.freq}' {size - len(steps)} of its {size} steps would have no value; expected at "
                        f"most half to fill. Pass freq= a coarser frequency{hint}, or check the '{ctx.time}' column")
    return pd.date_range(first, last, freq=offset, unit="us") if fixed is not None else grid


def _refuse_collision(times: pd.DatetimeIndex, snapped: pd.DatetimeIndex, sid: str, ctx: _Context) -> None:
    """DataError for distinct timestamps falling on one step of a detected frequency."""
    clash = snapped[snapped.duplicated()][0]
    a, b = times[snapped == clash][:2]
    raise DataError(f"{ctx.label}: {_series_name(sid)} has irregular spacing: timestamps {_when(a)} and {_when(b)} "
                    f"are both nearest to the step {_when(clash)} of the detected frequency '{ctx.freq}'; expected "
                    f"one timestamp per step. Pass freq= (e.g. a coarser frequency) to merge them by {ctx.aggregate}")


def _refuse_empty_covariate(covariates: pd.DataFrame, sid: str, ctx: _Context) -> None:
    empty = covariates.columns[covariates.isna().all().to_numpy()]
    if len(empty):
        column = ctx.sources.get(empty[0], empty[0])
        raise SchemaError(f"{ctx.label}: column '{column}' has no value in {_series_name(sid)}; "
                          "expected at least one value per series to fill the others from")


def _note_fixes(counts: dict[str, Counter[str]], moved_example: str, ctx: _Context, notes: list[str]) -> None:
    label = ctx.label
    if n := sum(counts["moved"].values()):
        notes.append(f"{label}: {n} timestamp{_s(n)} moved onto the steps of '{ctx.freq}' (e.g. {moved_example})"
                     f"{_per_series(counts['moved'])}")
    if n := sum(counts["merged"].values()):
        notes.append(f"{label}: {n} row{_s(n)} merged into the step of '{ctx.freq}' they fall in, by "
                     f"{ctx.aggregate} of '{ctx.target}'{_per_series(counts['merged'])}")
    if n := sum(counts["trimmed"].values()):
        notes.append(f"{label}: {n} step{_s(n)} with no '{ctx.target}' before the first or after the last value "
                     f"left out{_per_series(counts['trimmed'])}")
    if n := sum(counts["filled"].values()):
        notes.append(f"{label}: {n} missing step{_s(n)} of '{ctx.freq}' filled (target interpolated linearly, "
                     f"covariates carried forward){_per_series(counts['filled'])}")
    if n := sum(counts["target"].values()):
        notes.append(f"{label}: {n} missing value{_s(n)} of '{ctx.target}' interpolated linearly"
                     f"{_per_series(counts['target'])}")
    if n := sum(counts["covariate"].values()):
        notes.append(f"{label}: {n} missing covariate value{_s(n)} filled from the nearest earlier (else later) "
                     f"step{_per_series(counts['covariate'])}")


# ---------------------------------------------------------------- results


def _series_data(parts: dict[str, pd.DataFrame], ctx: _Context, notes: list[str]) -> SeriesData:
    y = {sid: part[_Y].to_numpy(dtype=float) for sid, part in parts.items()}
    constant = [sid for sid, values in y.items() if np.ptp(values) == 0]
    if constant:
        shown = _series_name(constant[0]) + (f" and {len(constant) - 1} more" if len(constant) > 1 else "")
        notes.append(f"{ctx.label}: {shown} {'is' if len(constant) == 1 else 'are'} constant "
                     f"(e.g. always {y[constant[0]][0]:g})")
    seasons = detect_seasons(list(y.values()), ctx.freq)
    if seasons:
        s = "s" if len(seasons) > 1 else ""
        notes.append(f"{ctx.label}: seasonal period{s} of {', '.join(map(str, seasons))} steps found "
                     f"(main: {seasons[0]})")
    else:
        notes.append(f"{ctx.label}: no seasonal period found")
    return SeriesData(
        y=y, time={sid: pd.DatetimeIndex(part.index) for sid, part in parts.items()}, freq=ctx.freq,
        season=seasons[0] if seasons else 1, seasons=seasons,
        known={sid: part[ctx.known].to_numpy(dtype=float) for sid, part in parts.items()} if ctx.known else {},
        known_names=tuple(ctx.known),
        past={sid: part[ctx.past].to_numpy(dtype=float) for sid, part in parts.items()} if ctx.past else {},
        past_names=tuple(ctx.past), target=ctx.target,
    )


def _frame(parts: dict[str, pd.DataFrame], ctx: _Context, id: str | None) -> pd.DataFrame:
    frames = []
    for sid, part in parts.items():
        frame = part.rename(columns={_Y: ctx.target}).rename_axis(ctx.time).reset_index()
        frames.append(frame.assign(**{id: sid}) if id else frame)
    frame = pd.concat(frames, ignore_index=True)
    return frame[[*([id] if id else []), ctx.time, ctx.target, *ctx.known, *ctx.past]]


def _series_name(sid: str) -> str:
    return "the series" if sid == SINGLE_ID else f"series '{sid}'"


def _per_series(counts: dict[str, int]) -> str:
    """' (series 'a': 3, 'b': 1 and 4 more)', or '' for the single series of a table without ids."""
    if list(counts) in ([], [SINGLE_ID]):
        return ""
    shown = ", ".join(f"'{sid}': {n}" for sid, n in list(counts.items())[:MAX_LISTED])
    more = f" and {len(counts) - MAX_LISTED} more" if len(counts) > MAX_LISTED else ""
    return f" (series {shown}{more})"


def _when(stamp: pd.Timestamp) -> str:
    """A timestamp as people write it: the date alone at midnight."""
    return str(stamp.date()) if stamp == stamp.normalize() else str(stamp)


def _s(n: int) -> str:
    return "" if n == 1 else "s"


# ---------------------------------------------------------------- seasons


def detect_seasons(y: np.ndarray | Sequence[np.ndarray], freq: str, max_len: int | None = None) -> tuple[int, ...]:
    """Seasonal periods (in steps) of one series or several, main (shortest) first.

    Candidates follow the frequency (hourly: 24, 168; daily: 7, 365; business days: 5; weekly: 52;
    monthly: 12; quarterly: 4; minutes: an hour and a day of steps); ``max_len`` caps them. A candidate is
    kept when some series spans two full periods and the autocorrelation of the differenced series (the
    median over those series) at that lag is clearly positive: above ``MIN_SEASON_ACF`` and twice its
    spread on noise, or three times that spread and above both neighbouring lags.
    """
    single = isinstance(y, np.ndarray) and y.ndim == 1 or len(y) > 0 and np.isscalar(y[0])
    series = [np.asarray(y, dtype=float)] if single else [np.asarray(s, dtype=float) for s in y]
    kept = []
    for period in _candidates(freq):
        if max_len is not None and period > max_len:
            continue
        acfs = [a for s in series if len(s) >= 2 * period and (a := _acf(s, period)) is not None]
        if not acfs:
            continue
        at, before, after = np.median(np.array(acfs), axis=0)
        noise = 1.25 / np.sqrt(np.median([len(s) for s in series if len(s) >= 2 * period]))  # acf's spread
        if at > max(MIN_SEASON_ACF, 2 * noise) or (at > 3 * noise and at > before and at > after):
            kept.append(period)
    return tuple(kept)


def _candidates(freq: str) -> list[int]:
    """Candidate periods in steps for a frequency, shortest first."""
    offset = to_offset(freq)
    step = _fixed_step(offset)
    if step is not None:
        spans = [_HOUR, _DAY] if step < _HOUR else [_DAY, _WEEK] if step < _DAY else [_WEEK, 365 * _DAY]
        periods = [int(span // step) for span in spans if span % step == pd.Timedelta(0)]
    else:
        kind, n = type(offset).__name__, offset.n
        per = {"BusinessDay": 5, "Week": 52}.get(kind) or \
            (12 if "Month" in kind else 4 if "Quarter" in kind else 0)
        periods = [per // n] if per and per % n == 0 else []
    return sorted(p for p in set(periods) if p >= 2)


def _acf(y: np.ndarray, lag: int) -> np.ndarray | None:
    """Autocorrelation of the differenced series at ``lag - 1``, ``lag`` and ``lag + 1`` (None if flat)."""
    d = np.diff(y)
    d = d - d.mean()
    denom = float(d @ d)
    if denom == 0 or lag + 1 >= len(d):
        return None
    at = [float(d[:-k] @ d[k:]) / denom for k in (lag - 1, lag, lag + 1)]
    return np.array([at[1], at[0], at[2]])


# ---------------------------------------------------------------- forecasting ahead


def future_frame(table: SeriesTable, horizon: int) -> pd.DataFrame:
    """The id (if any) and time columns of the ``horizon`` steps after the end of every series."""
    _check_horizon(horizon)
    frames = []
    for sid in table.data.ids:
        times = future_index(table.data, sid, horizon)
        frame = pd.DataFrame({table.time_column: times})
        if table.id_column:
            frame.insert(0, table.id_column, sid)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def known_future(table_or_data: SeriesTable | SeriesData, future: Any, horizon: int, *, time: str | None = None,
                 id: str | None = None, name: str | None = None,
                 notes: list[str] | None = None) -> dict[str, np.ndarray]:
    """The known covariates of the ``horizon`` steps after every series, shape ``(horizon, len(known_names))``.

    ``future``: a table (anything :func:`read_table` reads) with the id and time columns and the known
    covariate columns for those steps; rows of other steps are ignored. Text covariates get the one-hot
    columns learned at read time (an unseen category: all zeros, noted). Empty when the series have no
    known covariates. ``time``/``id`` name the columns when ``table_or_data`` is a :class:`SeriesData`.
    """
    _check_horizon(horizon)
    table = table_or_data if isinstance(table_or_data, SeriesTable) else None
    data = table.data if table else table_or_data
    if not data.known_names:
        return {}
    notes = notes if notes is not None else []
    time = time or (table.time_column if table else None)
    id = id or (table.id_column if table else None)
    if time is None:
        raise ConfigError("known_future needs time= naming the time column of the future table")
    if id is None and data.ids != (SINGLE_ID,):
        raise ConfigError(f"known_future needs id= naming the id column: there are {len(data.ids)} series")
    if future is None:
        raise ConfigError(_needed(data, table, horizon, time, id))
    label = name or (f"'{future}'" if isinstance(future, (str, PathLike)) else "the future table")
    df = read_table(future, notes=notes)
    for column, role in [(time, "time"), *([(id, "id")] if id else [])]:
        require_column(df, column, role, label)
    layout = _layout(data.known_names, table, df.columns)
    for column in layout:
        require_column(df, column, "known covariate", label)
    parsed = parse_times(df[time], time, label, notes, prefer=table.time_format if table else None)
    times = _snap(parsed, to_offset(data.freq), bucket=False)
    ids = _ids(df[id], id, label) if id else np.full(len(df), SINGLE_ID, dtype=object)
    encoded = _encode_future(df, layout, label, notes).set_index(times)
    return {sid: _align(encoded[ids == sid], data, sid, horizon, label, notes) for sid in data.ids}


def _check_horizon(horizon: int) -> None:
    if not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ConfigError(f"horizon={horizon!r}; expected a whole number of steps, at least 1")


def _layout(names: tuple[str, ...], table: SeriesTable | None,
            columns: pd.Index) -> dict[str, tuple[str, ...] | None]:
    """Each known covariate column with its categories (None for numbers), in the order of ``names``."""
    if table is not None:
        return {c: table.categories.get(c) for c in table.known_columns}
    layout: dict[str, tuple[str, ...] | None] = {}
    for known_name in names:
        column, _, category = known_name.partition("=")
        if known_name in columns or not category:
            layout[known_name] = None
        else:
            layout[column] = (*(layout.get(column) or ()), category)
    return layout


def _needed(data: SeriesData, table: SeriesTable | None, horizon: int, time: str, id: str | None) -> str:
    columns = list(table.known_columns) if table else list(_layout(data.known_names, None, pd.Index([])))
    sid = data.ids[0]
    steps = future_index(data, sid, horizon)
    span = f"{_when(steps[0])} to {_when(steps[-1])}" + (f" for series '{sid}'" if sid != SINGLE_ID else "")
    listed = ", ".join(f"'{c}'" for c in [*([id] if id else []), time, *columns])
    return (f"the known covariates ({', '.join(columns)}) are needed for the next {horizon} steps of each series: "
            f"pass a future table with columns {listed}, one row per series and step ({span})")


def _encode_future(df: pd.DataFrame, layout: dict[str, tuple[str, ...] | None], label: str,
                   notes: list[str]) -> pd.DataFrame:
    """The future's known covariates as the float columns they had at read time."""
    parts = []
    for column, cats in layout.items():
        values = df[column].reset_index(drop=True)
        if cats is None:
            parts.append(pd.DataFrame({column: _numbers(values, column, "a known covariate", label, DataError)}))
        else:
            parts.append(_encode_as(values, column, cats, label, notes))
    return pd.concat(parts, axis=1)


def _align(rows: pd.DataFrame, data: SeriesData, sid: str, horizon: int, label: str,
           notes: list[str]) -> np.ndarray:
    """One series' future rows on its next ``horizon`` steps; DataError naming the missing steps."""
    steps = future_index(data, sid, horizon)
    if rows.index.duplicated().any():
        raise DataError(f"{label}: {_series_name(sid)} has several rows at "
                        f"{_when(rows.index[rows.index.duplicated()][0])}; expected one row per series and step")
    missing = steps.difference(rows.index)
    if len(missing):
        shown = ", ".join(map(_when, missing[:3])) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise DataError(f"{label}: no row for {_series_name(sid)} at {shown}; expected the known covariates for "
                        f"each of the next {horizon} steps ({_when(steps[0])} to {_when(steps[-1])})")
    aligned = rows.reindex(steps)[list(data.known_names)]
    if aligned.isna().any().any():
        n = int(aligned.isna().any(axis=1).sum())
        notes.append(f"{label}: {n} step{_s(n)} of {_series_name(sid)} with missing known covariates, "
                     "filled from the step before")
        last = pd.DataFrame(data.known[sid][-1:], columns=list(data.known_names))
        aligned = pd.concat([last, aligned], ignore_index=True).ffill().iloc[1:]
    return aligned.to_numpy(dtype=float)
