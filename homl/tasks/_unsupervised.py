"""What the tasks without a target share: reading the table, the columns distances can use, and
their preparation (identifiers dropped, missing values imputed, heavy tails logged, all scaled)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from homl import data as hdata
from homl._progress import Progress
from homl.errors import DataError, SchemaError


@dataclass
class Rows:
    """A table read for a task without a target: the rows, their schema and typed features."""

    frame: pd.DataFrame
    schema: hdata.Schema
    features: pd.DataFrame
    name: str
    notes: list[str] = field(default_factory=list)


def read_rows(data: Any, *, query: str | None, what: str, progress: Progress, label: str | None = None) -> Rows:
    """The table at ``data`` for ``what`` ("segmenting", "anomaly detection"...); a ``label`` column
    must be there and is left out of the features. The notes of what was done go to ``progress``."""
    progress.phase("reading the table")
    notes: list[str] = []
    frame = hdata.read_table(data, query=query, notes=notes)
    name = "the table" if isinstance(data, pd.DataFrame) else f"'{data}'"
    if len(frame) < 2:
        raise DataError(f"{name} has {len(frame)} row(s); {what} needs at least 2")
    if label is not None and label not in frame.columns:
        raise SchemaError(f"label column '{label}' is not in {name}; its columns are "
                          f"{', '.join(map(str, frame.columns))}")
    schema = _distance_schema(frame.drop(columns=[label] if label is not None else []), name, what)
    notes += schema.notes
    features = hdata.coerce_frame(frame, schema)
    missing = {c: int(n) for c, n in features.isna().sum().items() if n}
    if missing:
        listed = ", ".join(f"'{c}' ({n})" for c, n in missing.items())
        notes.append(f"missing values imputed (median for numbers, a '(missing)' level for categories): {listed}")
    for note in notes:
        progress.note(note)
    return Rows(frame, schema, features, name, notes)


def _distance_schema(frame: pd.DataFrame, name: str, what: str) -> hdata.Schema:
    """The table's schema with free text left out (distances between texts mean little here); an
    error naming every dropped column when nothing is left."""
    schema = hdata.infer_schema(frame)
    texts = schema.names("text")
    if texts:
        schema = schema.without(texts, f"free text, which {what} by distance does not use")
    if not schema.features:
        reasons = "; ".join(f"'{c.name}': {c.reason or c.kind}" for c in schema.columns) or "no columns"
        raise DataError(f"{name} has no column for {what} ({reasons}); "
                        f"{what} needs numbers, categories, yes/no values or dates")
    return schema


def distance_pipeline(schema: hdata.Schema, last: tuple[str, Any], seed: int) -> Any:
    """``schema → preparation for distances → last``: every feature standardised, categories one-hot."""
    from sklearn.pipeline import Pipeline

    from homl.prep import TablePreprocessor

    prep = TablePreprocessor(columns=schema.kinds(), scale=True, log_heavy_tails=True, categorical="onehot",
                             geo=False, random_state=seed)
    return Pipeline([("schema", hdata.SchemaCoercer(schema.to_dict())), ("prep", prep), last])
