"""Bring any table into the shape and types of a saved schema, saying what had to change.

Used on the training data and again on every table given to ``predict``, so a model sees
the same column types at both times. Nothing is dropped: a value that cannot be read as
its column's type becomes missing (and is reported by row), never a lost row.
"""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from homl._estimator import Transformer
from homl.errors import SchemaError

from ._dates import read_dates
from ._numbers import numbers_from_text
from ._schema import BOOLEAN, CATEGORICAL, DATETIME, NUMERIC, TEXT, Schema

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
_MAX_ROWS_NAMED = 5


def coerce_frame(
    df: pd.DataFrame, schema: Schema, *, issues: list[str] | None = None
) -> pd.DataFrame:
    """Return the schema's feature columns of ``df``, in order and with the schema's types.

    Raises ``SchemaError`` naming every required column that ``df`` lacks. Appends to
    ``issues`` one sentence per value that had to be treated as missing, per unseen
    category and per extra column.
    """
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"expected a table (pandas DataFrame), got {type(df).__name__}")
    if not all(isinstance(c, str) for c in df.columns):  # fitting named them so (see read_table)
        df = df.rename(columns=lambda c: str(c).strip())
    features = schema.features
    wanted = [c.name for c in features]
    missing = [name for name in wanted if name not in df.columns]
    if missing:
        raise SchemaError(_missing_message(missing, list(map(str, df.columns))))
    if issues is not None:
        known = {c.name for c in schema.columns} | {schema.target}
        extra = [str(c) for c in df.columns if c not in known]
        if extra:
            issues.append(f"ignored {len(extra)} column(s) the model does not use: {_names(extra)}")
    out = {}
    for column in features:
        out[column.name] = _coerce_column(df[column.name], column.kind, column.categories, issues, column.date_format)
    return pd.DataFrame(out, index=df.index)


def _coerce_column(
    series: pd.Series, kind: str, categories: list[str] | None, issues: list[str] | None,
    date_format: str | None = None,
) -> pd.Series:
    name = series.name
    if kind == NUMERIC:
        values = _to_number(series)
        _report_lost(series, values, name, "a number", issues)
        infinite = np.isinf(values.to_numpy(dtype=float, na_value=np.nan))
        if infinite.any():
            if issues is not None:
                issues.append(
                    f"column '{name}': {int(infinite.sum())} infinite value(s) treated as missing "
                    f"(rows {_rows(np.flatnonzero(infinite))})"
                )
            values = values.mask(infinite)
        return values.astype(float)
    if kind == BOOLEAN:
        values = _to_boolean(series)
        _report_lost(series, values, name, "true/false", issues)
        return values
    if kind == DATETIME:
        values = _to_datetime(series, date_format)
        _report_lost(series, values, name, "a date", issues)
        return values
    if kind == TEXT:
        return series.astype(object).where(series.notna(), "").astype(str)
    # Categorical: plain Python strings, missing kept as NaN for the imputer.
    present = series.notna().to_numpy()
    values = pd.Series(series.astype(str).to_numpy(dtype=object), index=series.index, name=name)
    values[~present] = np.nan
    if issues is not None and categories is not None:
        unseen = values.dropna()[~values.dropna().isin(set(categories))]
        if len(unseen):
            issues.append(
                f"column '{name}': {len(unseen)} value(s) never seen in training "
                f"(e.g. {unseen.iloc[0]!r}); encoded as unknown"
            )
    return values.astype(object)


def _to_number(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        return series.astype(float)
    if pd.api.types.is_numeric_dtype(series):
        return series.astype(float)
    return numbers_from_text(series)


def _to_boolean(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.astype(float)
    lowered = series.astype(object).map(lambda v: str(v).strip().lower() if pd.notna(v) else None)
    return lowered.map(lambda v: 1.0 if v in _TRUE else 0.0 if v in _FALSE else np.nan).astype(float)


def _to_datetime(series: pd.Series, date_format: str | None) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    # In the training column's format (day-first or month-first throughout), in UTC, then without
    # a zone: dates written with different offsets read as one column.
    return read_dates(series, date_format)


def _report_lost(
    raw: pd.Series, parsed: pd.Series, name: Any, expected: str, issues: list[str] | None
) -> None:
    """Say which rows held a value that could not be read (the row is kept, the value is missing)."""
    if issues is None:
        return
    lost = np.flatnonzero(raw.notna().to_numpy() & parsed.isna().to_numpy())
    if len(lost):
        first = raw.iloc[lost[0]]
        issues.append(
            f"column '{name}': {len(lost)} value(s) are not {expected} and were treated as "
            f"missing (rows {_rows(lost)}; first: {first!r})"
        )


def _rows(positions: np.ndarray) -> str:
    """Row numbers as a person counts them: 1 is the first data row."""
    shown = ", ".join(str(p + 1) for p in positions[:_MAX_ROWS_NAMED])
    more = len(positions) - _MAX_ROWS_NAMED
    return shown + (f" and {more} more" if more > 0 else "")


def _names(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _missing_message(missing: list[str], present: list[str]) -> str:
    hints = []
    lowered = {p.lower(): p for p in present}
    for name in missing[:5]:
        close = difflib.get_close_matches(name.lower(), list(lowered), n=1)  # 'X1' is close to 'x1'
        if close:
            hints.append(f"'{name}' (did you mean '{lowered[close[0]]}'?)")
        else:
            hints.append(f"'{name}'")
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    return f"missing required column(s): {', '.join(hints)}{more}"


class SchemaCoercer(Transformer):
    """Pipeline step that selects and types the schema's feature columns.

    ``schema`` is the plain dict of :meth:`Schema.to_dict` (plain data saves safely); left
    ``None``, the schema is inferred from the table given to ``fit``. Columns are found by
    name, so a table may hold them in any order, with others beside them (see
    :func:`coerce_frame`); an array's columns are taken to be those seen in fitting, in order.
    """

    _parameter_constraints = {"schema": [dict, None]}
    _input_check = {"dtype": None, "ensure_all_finite": False}
    _keep_tables = True
    _table = True

    def __init__(self, schema: dict | None = None):
        self.schema = schema

    def _fit(self, X: Any, y: Any) -> None:
        if self.schema is None:
            from ._schema import infer_schema

            self.schema_ = infer_schema(X).to_dict()
        else:
            self.schema_ = self.schema

    def transform(self, X: Any) -> pd.DataFrame:
        # No width or order check: the schema's columns are picked out by name.
        check_is_fitted(self)
        return coerce_frame(self._as_table(X), Schema.from_dict(self.schema_))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = []  # each column takes its schema's type
        return tags

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        # The schema's columns, whatever the table's others or their order.
        check_is_fitted(self)
        return np.asarray(Schema.from_dict(self.schema_).names(), dtype=object)


__all__ = ["SchemaCoercer", "coerce_frame", "CATEGORICAL", "BOOLEAN", "DATETIME", "NUMERIC", "TEXT"]
