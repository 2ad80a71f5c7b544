"""The registry's prediction log: a sample of what a server answered, and the outcomes fed back.

A server started with ``--log-inputs`` records each sampled request's rows (their checked
inputs and the model's outputs) under the request's id and the row's position in it;
``add_feedback`` stores true outcomes against those keys, and ``prediction_log`` reads both
back as tables, for monitoring drift and live performance.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from homl.errors import RegistryError

from . import _tables as t

#: Keys looked up per query when matching feedback to logged rows.
_KEYS_PER_QUERY = 500


@dataclass(frozen=True)
class LoggedPrediction:
    """One row a server predicted: its request, its position in the request, inputs and outputs."""

    request_id: str
    row: int
    inputs: dict[str, Any]
    outputs: dict[str, Any]


@dataclass(frozen=True)
class FeedbackCount:
    """What ``add_feedback`` did: labels stored, labels that replaced earlier ones, labels unmatched."""

    stored: int
    replaced: int
    unmatched: int
    first_unmatched: tuple[str, int] | None = None


@dataclass
class PredictionLog:
    """Logged rows, one per line in the three tables: ``inputs`` (the features), ``outputs``
    (``prediction``, then ``proba_<class>`` for classifiers) and ``info`` (``request_id``, ``row``,
    ``version``, ``logged_at``, ``label``: the outcome fed back, missing where none was)."""

    inputs: pd.DataFrame
    outputs: pd.DataFrame
    info: pd.DataFrame

    def __len__(self) -> int:
        return len(self.info)

    @property
    def labelled(self) -> pd.Series:
        """Whether each row's outcome was fed back."""
        return self.info["label"].notna()


class PredictionLogs:
    """The prediction log's methods of :class:`homl.registry.Registry`."""

    def log_predictions(self, name: str, version: int, records: Iterable[LoggedPrediction],
                        *, logged_at: datetime | None = None) -> int:
        """Record a server's predictions of version ``version`` of ``name``; the rows written."""
        from sqlalchemy import insert

        from ._versions import _now

        moment = logged_at or _now()
        rows = [{"version": int(version), "request_id": r.request_id, "row": int(r.row), "logged_at": moment,
                 "inputs": json.dumps(r.inputs, default=str), "outputs": json.dumps(r.outputs, default=str)}
                for r in records]
        if not rows:
            return 0

        def write(connection: Any) -> int:
            model_id = self._model_id(connection, name)
            connection.execute(insert(t.predictions), [{**row, "model_id": model_id} for row in rows])
            return len(rows)

        return self._write(write)

    def add_feedback(self, name: str, labels: Iterable[tuple[str, int, Any]]) -> FeedbackCount:
        """Store true outcomes ``(request_id, row, label)`` of logged predictions of ``name``; a label
        given again in a later call replaces the earlier one; labels whose row was never logged are
        counted, not stored. Two labels for one (request_id, row) in one call are refused."""
        from sqlalchemy import delete, insert, select, tuple_

        from ._versions import _now

        given: dict[tuple[str, int], Any] = {}
        for request_id, row, label in labels:
            key = (str(request_id), int(row))
            if key in given:
                raise RegistryError(f"two outcomes for request {key[0]!r}, row {key[1]} of {name}; expected one "
                                    "per request and row")
            given[key] = label
        keys = list(given)

        def write(connection: Any) -> FeedbackCount:
            model_id = self._model_id(connection, name)
            logged, earlier = set(), set()
            for part in _chunks(keys):
                for table, found in ((t.predictions, logged), (t.feedback, earlier)):
                    query = select(table.c.request_id, table.c.row).where(
                        table.c.model_id == model_id, tuple_(table.c.request_id, table.c.row).in_(part))
                    found.update((r, int(n)) for r, n in connection.execute(query))
            matched = [k for k in keys if k in logged]
            replaced = [k for k in matched if k in earlier]
            for part in _chunks(replaced):
                connection.execute(delete(t.feedback).where(
                    t.feedback.c.model_id == model_id, tuple_(t.feedback.c.request_id, t.feedback.c.row).in_(part)))
            moment = _now()
            if matched:
                connection.execute(insert(t.feedback), [
                    {"model_id": model_id, "request_id": r, "row": n, "label": json.dumps(given[(r, n)], default=str),
                     "received_at": moment} for r, n in matched])
            missing = [k for k in keys if k not in logged]
            return FeedbackCount(len(matched), len(replaced), len(missing), missing[0] if missing else None)

        return self._write(write)

    def prediction_log(self, name: str, *, since: datetime | None = None, until: datetime | None = None,
                       version: int | None = None) -> PredictionLog:
        """The logged rows of ``name`` (of one ``version``, or all), oldest first, with their fed-back labels."""
        from sqlalchemy import and_, select

        condition = [t.predictions.c.model_id == t.models.c.id, t.models.c.name == name]
        if since is not None:
            condition.append(t.predictions.c.logged_at >= since)
        if until is not None:
            condition.append(t.predictions.c.logged_at < until)
        if version is not None:
            condition.append(t.predictions.c.version == int(version))
        joined = t.predictions.outerjoin(t.feedback, and_(
            t.feedback.c.model_id == t.predictions.c.model_id, t.feedback.c.request_id == t.predictions.c.request_id,
            t.feedback.c.row == t.predictions.c.row))
        query = (select(t.predictions.c.request_id, t.predictions.c.row, t.predictions.c.version,
                        t.predictions.c.logged_at, t.predictions.c.inputs, t.predictions.c.outputs, t.feedback.c.label)
                 .select_from(joined.join(t.models, t.models.c.id == t.predictions.c.model_id))
                 .where(*condition).order_by(t.predictions.c.logged_at, t.predictions.c.id))
        with self.engine.connect() as connection:
            self._model_id(connection, name)  # an unknown name is an error naming the known ones
            fetched = connection.execute(query).all()
        inputs = pd.DataFrame([json.loads(r.inputs) for r in fetched])
        outputs = pd.DataFrame([_flat_outputs(json.loads(r.outputs)) for r in fetched])
        info = pd.DataFrame({
            "request_id": [r.request_id for r in fetched], "row": [r.row for r in fetched],
            "version": [r.version for r in fetched],
            "logged_at": pd.to_datetime([r.logged_at for r in fetched], utc=True),
            "label": [None if r.label is None else json.loads(r.label) for r in fetched]})
        return PredictionLog(inputs, outputs, info)


def _flat_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    flat = {"prediction": outputs.get("prediction")}
    for label, value in (outputs.get("probabilities") or {}).items():
        flat[f"proba_{label}"] = value
    return flat


def _chunks(keys: list[tuple[str, int]]) -> Iterator[list[tuple[str, int]]]:
    for start in range(0, len(keys), _KEYS_PER_QUERY):
        yield keys[start:start + _KEYS_PER_QUERY]
