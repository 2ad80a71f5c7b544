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
#: The largest row position the prediction log holds (a 32-bit integer column).
MAX_ROW = 2**31 - 1


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
    _refuse_repeats(triples, np.flatnonzero(known), where, lines=not isinstance(labels, pd.DataFrame),
                    has_rows=ROW_COLUMN in frame.columns)
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
    # checked before converting: a value past the integer range would wrap to a negative position
    bad = values.isna() | (values < 0) | (values % 1 != 0) | (values > MAX_ROW)
    if bad.any():
        at = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{where}: row {at + 2}, column '{ROW_COLUMN}' is {_shown(frame[ROW_COLUMN].iloc[at])}; "
                        f"expected the row's position in its request: a whole number from 0 to {MAX_ROW:,}")
    return values.to_numpy(dtype=np.int64)


def _refuse_repeats(triples: list[tuple[str, int, Any]], at: np.ndarray, where: str, *, lines: bool,
                    has_rows: bool) -> None:
    """Refuse two outcomes for one (request, row): the last would silently replace the others.

    ``at`` gives each triple's position in the table; ``lines`` says whether the table is a file
    (positions are then shown as its line numbers, the header being line 1)."""
    keys = pd.DataFrame([t[:2] for t in triples], columns=["request", "row"])
    repeated = keys.duplicated(keep=False).to_numpy()
    if not repeated.any():
        return
    request, row = keys.iloc[int(np.flatnonzero(repeated)[0])]
    same = ((keys["request"] == request) & (keys["row"] == row)).to_numpy()
    places = at[same] + (2 if lines else 0)
    shown = ", ".join(map(str, places[:10])) + (f" and {len(places) - 10:,} more" if len(places) > 10 else "")
    given = f"{len(places):,} outcomes ({'lines' if lines else 'rows'} {shown})"
    if not has_rows:
        raise DataError(f"{where}: request {request!r} has {given} but the table has no '{ROW_COLUMN}' column, "
                        f"so each would be stored as row 0; add a '{ROW_COLUMN}' column giving each outcome's "
                        "position in its request: 0, 1, 2...")
    raise DataError(f"{where}: request {request!r}, row {row} has {given}; expected one outcome per request "
                    "and row")


def _shown(value: Any) -> str:
    """A cell as a person wrote it: numbers plain, text quoted."""
    value = value.item() if isinstance(value, np.generic) else value
    return repr(value) if isinstance(value, str) else str(value)


def _plain(value: Any) -> Any:
    """A label as plain JSON: a number where it is one, else text."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return value.item() if isinstance(value, np.generic) else value
    return str(value)
