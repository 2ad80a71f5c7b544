"""True outcomes fed back for logged predictions: ``homl feedback NAME labels.csv``.

The table names each prediction by the ``request_id`` its answer carried and the ``row``'s
position in that request (0 when the column is absent: one row per request), and gives the
outcome in a column named after the model's target (or ``--label``). Outcomes of rows the
server never logged are counted and said, not stored.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from homl.data import read_table, require_column
from homl.errors import DataError
from homl.registry import FeedbackCount, Registry

REQUEST_COLUMN = "request_id"
ROW_COLUMN = "row"


def feed_back(name: str, labels: Any, *, registry: str | None = None, label: str | None = None) -> FeedbackCount:
    """Store the outcomes in ``labels`` (a table or DataFrame) against ``name``'s logged predictions."""
    opened = Registry(registry)
    record = opened.get(name)
    target = label or ((record.schema or {}).get("target") if isinstance(record.schema, dict) else None) or "label"
    frame = labels if isinstance(labels, pd.DataFrame) else read_table(labels)
    where = "the labels" if isinstance(labels, pd.DataFrame) else str(labels)
    if not len(frame):
        raise DataError(f"{where} has no rows")
    require_column(frame, REQUEST_COLUMN, "request id", where)
    require_column(frame, target, "outcome", where)
    ids = frame[REQUEST_COLUMN]
    missing_id = ids.isna() | (ids.astype(str).str.strip() == "")
    if missing_id.any():
        raise DataError(f"{where}: row {int(np.flatnonzero(missing_id.to_numpy())[0]) + 2} has no {REQUEST_COLUMN}")
    positions = _positions(frame, where)
    known = frame[target].notna().to_numpy()
    triples = [(str(i).strip(), int(p), _plain(v)) for i, p, v, k in
               zip(ids, positions, frame[target], known, strict=True) if k]
    if not triples:
        raise DataError(f"{where}: the column '{target}' has no outcomes (every value is missing)")
    count = opened.add_feedback(name, triples)
    if not count.stored:
        first = count.first_unmatched
        raise DataError(f"none of the {count.unmatched:,} outcomes in {where} matches a logged prediction of {name} "
                        f"(first: request {first[0]!r}, row {first[1]}); the server logs only the share of requests "
                        "given by --log-inputs, and feedback refers to the request_id of a logged answer")
    return count


def _positions(frame: pd.DataFrame, where: str) -> np.ndarray:
    """The ``row`` column as whole numbers from 0 (all 0 when there is none)."""
    if ROW_COLUMN not in frame.columns:
        return np.zeros(len(frame), dtype=int)
    values = pd.to_numeric(frame[ROW_COLUMN], errors="coerce")
    bad = values.isna() | (values < 0) | (values % 1 != 0)
    if bad.any():
        at = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{where}: row {at + 2}, column '{ROW_COLUMN}' is {frame[ROW_COLUMN].iloc[at]!r}; expected "
                        "the row's position in its request: 0, 1, 2...")
    return values.to_numpy(dtype=int)


def _plain(value: Any) -> Any:
    """A label as plain JSON: a number where it is one, else text."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return value.item() if isinstance(value, np.generic) else value
    return str(value)
