"""Schema inference: what each column of a table holds, and which columns a model can use.

The schema is decided once, on the training data, and saved with the model; new data
is checked and coerced against it (see ``_coerce.py``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._dates import date_format
from ._numbers import is_placeholder, numbers_from_text

NUMERIC = "numeric"
CATEGORICAL = "categorical"
BOOLEAN = "boolean"
DATETIME = "datetime"
TEXT = "text"
IDENTIFIER = "identifier"
CONSTANT = "constant"
EMPTY = "empty"
#: A usable column the task leaves out (free text, for distance-based segmentation).
EXCLUDED = "excluded"

#: Kinds a model can learn from; the others are dropped with a note.
USABLE_KINDS = (NUMERIC, CATEGORICAL, BOOLEAN, DATETIME, TEXT)

#: Categories kept in the schema to recognise unseen ones at predict time.
MAX_STORED_CATEGORIES = 2000

_TRUE = {"true", "t", "yes", "y"}
_FALSE = {"false", "f", "no", "n"}
_ID_NAME = re.compile(r"(^|[_\W])(id|uuid|guid|key|index|idx)$|^(id|uuid|guid)[_\W]|id$", re.I)


@dataclass
class ColumnInfo:
    """What homl knows of one column of the training table."""

    name: str
    kind: str
    dtype: str
    n_missing: int
    n_unique: int
    categories: list[str] | None = None
    reason: str = ""
    #: How a column of dates written as text is read (see :func:`homl.data._dates.date_format`);
    #: None: each value on its own.
    date_format: str | None = None

    @property
    def usable(self) -> bool:
        return self.kind in USABLE_KINDS


@dataclass
class Schema:
    """The columns of a training table, with the kind of each and the target's name."""

    columns: list[ColumnInfo]
    target: str | None = None
    n_rows: int = 0
    notes: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> ColumnInfo:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def features(self) -> list[ColumnInfo]:
        """The columns a model learns from, in table order."""
        return [c for c in self.columns if c.usable]

    @property
    def dropped(self) -> list[ColumnInfo]:
        return [c for c in self.columns if not c.usable]

    def names(self, *kinds: str) -> list[str]:
        """Names of the usable columns of the given kinds (all usable kinds if none given)."""
        kinds = kinds or USABLE_KINDS
        return [c.name for c in self.features if c.kind in kinds]

    def kinds(self) -> dict[str, str]:
        """Plain ``{column: kind}`` of the usable columns: what the preparation step needs."""
        return {c.name: c.kind for c in self.features}

    def with_numeric(self, names: list[str]) -> Schema:
        """A copy with numeric columns ``names`` added (values a model computes, such as a
        first stacking layer's predictions, given to the next one)."""
        added = [ColumnInfo(name, NUMERIC, "float64", 0, 0) for name in names if name not in self.kinds()]
        copy = Schema.from_dict(self.to_dict())
        copy.columns.extend(added)
        return copy

    def without(self, names: list[str], reason: str) -> Schema:
        """A copy whose columns ``names`` are left out of the features, each with ``reason`` (and a note)."""
        copy = Schema.from_dict(self.to_dict())
        for column in copy.columns:
            if column.name in names:
                column.kind, column.reason = EXCLUDED, reason
                copy.notes.append(f"column '{column.name}' dropped: {reason}")
        return copy

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "n_rows": self.n_rows,
            "columns": [asdict(c) for c in self.columns],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        """The schema :meth:`to_dict` wrote; a TypeError naming the field where ``data`` is not of that
        shape (a KeyError where it has no ``columns``)."""
        from numbers import Integral

        fields: dict[str, tuple[type | tuple[type, ...], str]] = {
            "name": (str, "text"), "kind": (str, "text"), "dtype": (str, "text"),
            "n_missing": (Integral, "a whole number"), "n_unique": (Integral, "a whole number"),
            "categories": ((list, tuple, type(None)), "a list of values or null"), "reason": (str, "text"),
            "date_format": ((str, type(None)), "text or null"),
            "target": ((str, type(None)), "text or null"), "n_rows": (Integral, "a whole number"),
            "notes": ((list, tuple), "a list"),
        }

        def expect(value: Any, key: str, where: str) -> None:
            types, expected = fields[key]
            if not isinstance(value, types) or (expected == "a whole number" and isinstance(value, bool)):
                shown = type(value).__name__ if isinstance(value, (dict, list)) else repr(value)
                raise TypeError(f"{where} '{key}' is {shown}; expected {expected}")

        if not isinstance(data, dict):
            raise TypeError(f"the schema is of type {type(data).__name__}; expected an object")
        if not isinstance(data["columns"], list):
            raise TypeError(f"the schema's 'columns' is of type {type(data['columns']).__name__}; expected a list")
        for key in ("target", "n_rows", "notes"):
            if key in data:
                expect(data[key], key, "the schema's")
        kinds = (*USABLE_KINDS, IDENTIFIER, CONSTANT, EMPTY, EXCLUDED)
        for i, column in enumerate(data["columns"]):
            if not isinstance(column, dict):
                raise TypeError(f"the schema's column {i} is of type {type(column).__name__}; expected an object")
            named = f" ({column['name']!r})" if isinstance(column.get("name"), str) else ""
            where = f"the schema's column {i}{named}"
            unknown = [k for k in column if k not in fields or k in ("target", "n_rows", "notes")]
            missing = [k for k in ("name", "kind", "dtype", "n_missing", "n_unique") if k not in column]
            if unknown or missing:
                found = [f"unknown field(s) {', '.join(map(repr, unknown))}"] if unknown else []
                found += [f"no {', '.join(map(repr, missing))}"] if missing else []
                raise TypeError(f"{where} has {' and '.join(found)}")
            for key, value in column.items():
                expect(value, key, f"{where}:")
            if column["kind"] not in kinds:
                raise TypeError(f"{where}: 'kind' is {column['kind']!r}; expected one of {', '.join(map(repr, kinds))}")
        return cls(
            columns=[ColumnInfo(**c) for c in data["columns"]],
            target=data.get("target"),
            n_rows=data.get("n_rows", 0),
            notes=list(data.get("notes", [])),
        )


def infer_schema(
    df: pd.DataFrame, target: str | None = None, *, max_onehot: int = 15
) -> Schema:
    """Decide the kind of every column of ``df`` (the target is described but never a feature).

    >>> schema = infer_schema(pd.DataFrame({"id": range(100), "x": [1.5, 2.0] * 50}))
    >>> [(c.name, c.kind) for c in schema.columns]
    [('id', 'identifier'), ('x', 'numeric')]
    """
    columns = []
    notes = []
    for name in df.columns:
        if name == target:
            continue
        info = _infer_column(df[name], name)
        if info.kind == CATEGORICAL and info.n_unique > max_onehot:
            info.reason = info.reason or f"{info.n_unique} levels: high-cardinality"
        if not info.usable:
            notes.append(f"column '{name}' dropped: {info.reason}")
        columns.append(info)
    return Schema(columns=columns, target=target, n_rows=len(df), notes=notes)


def _infer_column(series: pd.Series, name: str) -> ColumnInfo:
    values = series.dropna()
    n = len(series)
    n_missing = int(n - len(values))
    dtype = str(series.dtype)

    def info(kind: str, n_unique: int, reason: str = "", categories=None) -> ColumnInfo:
        return ColumnInfo(name, kind, dtype, n_missing, n_unique, categories, reason)

    if len(values) == 0:
        return info(EMPTY, 0, "every value is missing")
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = values[np.isfinite(values.astype(float))]
        if len(values) == 0:
            return info(EMPTY, 0, "every value is missing or infinite")
    n_unique = int(values.nunique())
    if n_unique == 1:
        value = values.iloc[0]
        return info(CONSTANT, 1, f"every value is {getattr(value, 'item', lambda: value)()!r}")
    if pd.api.types.is_bool_dtype(series) or _is_boolean_text(values):
        return info(BOOLEAN, n_unique)
    if pd.api.types.is_datetime64_any_dtype(series):
        return info(DATETIME, n_unique)
    if pd.api.types.is_numeric_dtype(series):
        if _looks_like_numeric_id(values, name, n):
            return info(IDENTIFIER, n_unique, "a unique integer per row (an identifier)")
        return info(NUMERIC, n_unique)

    text = values.astype(str)
    if _mostly_numbers(text):
        return info(NUMERIC, n_unique, "numbers stored as text")
    if _mostly_dates(text):
        column = info(DATETIME, n_unique)
        column.date_format = date_format(text)
        return column
    words = text.str.count(r"\s+") + 1
    if n_unique > 0.5 * len(text) and words.mean() >= 3:
        return info(TEXT, n_unique)
    if n_unique >= 0.9 * len(text) and len(text) >= 20:
        return info(IDENTIFIER, n_unique, f"{n_unique} distinct values in {len(text)} rows (ID-like)")
    categories = None
    if n_unique <= MAX_STORED_CATEGORIES:
        categories = sorted(text.unique().tolist())
    return info(CATEGORICAL, n_unique, categories=categories)


def _is_boolean_text(values: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(values):
        return False
    lowered = set(values.astype(str).str.strip().str.lower().unique())
    return len(lowered) == 2 and lowered <= (_TRUE | _FALSE) and bool(lowered & _TRUE)


def _looks_like_numeric_id(values: pd.Series, name: str, n_rows: int) -> bool:
    """A column of distinct integers that counts rows (1..n) or is named like an id."""
    if n_rows < 20 or values.nunique() < 0.98 * n_rows:
        return False
    as_float = values.astype(float)
    if not np.all(np.mod(as_float, 1) == 0):
        return False
    consecutive = as_float.max() - as_float.min() + 1 == len(values)
    return consecutive or bool(_ID_NAME.search(name))


def _mostly_numbers(text: pd.Series, share: float = 0.95) -> bool:
    """Whether nearly every value (placeholders such as '-' aside) reads as a number."""
    sample = text.head(5000)
    written = int((~is_placeholder(sample)).sum())
    return written > 0 and numbers_from_text(sample).notna().sum() >= share * written


def _mostly_dates(text: pd.Series, share: float = 0.95) -> bool:
    sample = text.head(2000)
    # A date needs a separator and a digit; plain words must not be parsed as dates.
    if not sample.str.contains(r"\d", regex=True).all():
        return False
    if not sample.str.contains(r"[-/:.]|\d{8}", regex=True).mean() >= share:
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed", utc=True)
    return parsed.notna().mean() >= share
