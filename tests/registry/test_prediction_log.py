"""The registry's prediction log: logged rows read back in order with their inputs and outputs,
feedback matched by request and row (replaced when sent again, counted when unmatched), time
and version filters, and a registry of the second schema migrated to hold the log."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from homl.errors import RegistryError
from homl.registry import LoggedPrediction, Registry, write_model_dir


def _model_dir(folder: Path) -> Path:
    X = np.arange(20.0).reshape(-1, 1)
    metadata = {"metric": "rmse", "schema": {"target": "y", "columns": [{"name": "x", "kind": "numeric"}]}}
    return write_model_dir(folder, LinearRegression().fit(X, 2 * X.ravel()), metadata)


@pytest.fixture(params=["sqlite", "postgresql"])
def registry(request, tmp_path) -> Registry:
    """A registry holding one model, ``m``, in SQLite and in a real PostgreSQL server (see conftest.py)."""
    if request.param == "sqlite":
        opened = Registry(f"sqlite:///{tmp_path / 'registry.db'}")
    else:
        opened = Registry(request.getfixturevalue("postgres_url"), store=tmp_path / "store")
    opened.add(_model_dir(tmp_path / "m"), "m")
    return opened


def _rows(request_id: str, n: int, start: float = 0.0) -> list[LoggedPrediction]:
    return [LoggedPrediction(request_id, i, {"x": start + i, "city": f"c{i}"}, {"prediction": 2 * (start + i)})
            for i in range(n)]


def test_logged_rows_come_back_with_their_outcomes(registry):
    assert registry.log_predictions("m", 1, _rows("r1", 3)) == 3
    assert registry.log_predictions("m", 1, _rows("r2", 2, start=10)) == 2
    count = registry.add_feedback("m", [("r1", 0, 1.5), ("r1", 2, 4.5), ("nope", 0, 9.0), ("r2", 7, 1.0)])
    assert (count.stored, count.replaced, count.unmatched) == (2, 0, 2) and count.first_unmatched == ("nope", 0)
    again = registry.add_feedback("m", [("r1", 0, 2.5)])
    assert (again.stored, again.replaced, again.unmatched) == (1, 1, 0)

    log = registry.prediction_log("m")
    assert len(log) == 5
    assert log.inputs["x"].tolist() == [0.0, 1.0, 2.0, 10.0, 11.0]
    assert log.inputs["city"].tolist() == ["c0", "c1", "c2", "c0", "c1"]
    assert log.outputs["prediction"].tolist() == [0.0, 2.0, 4.0, 20.0, 22.0]
    assert log.info["request_id"].tolist() == ["r1", "r1", "r1", "r2", "r2"]
    assert log.labelled.tolist() == [True, False, True, False, False]
    assert log.info["label"][log.labelled].tolist() == [2.5, 4.5]


def test_the_log_is_filtered_by_time_and_version(registry):
    day = datetime(2026, 3, 1, tzinfo=timezone.utc)
    registry.log_predictions("m", 1, _rows("early", 2), logged_at=day)
    registry.log_predictions("m", 2, _rows("late", 3), logged_at=day + timedelta(days=3))
    assert len(registry.prediction_log("m", since=day + timedelta(days=1))) == 3
    assert len(registry.prediction_log("m", until=day + timedelta(days=1))) == 2
    assert registry.prediction_log("m", version=2).info["request_id"].unique().tolist() == ["late"]
    assert len(registry.prediction_log("m", since=day + timedelta(days=9))) == 0


def test_an_unknown_model_is_named(registry):
    with pytest.raises(RegistryError, match="no model named 'other'.*it has: m"):
        registry.prediction_log("other")
    with pytest.raises(RegistryError, match="no model named 'other'"):
        registry.add_feedback("other", [("r", 0, 1)])


def test_a_registry_of_the_second_schema_is_migrated_to_hold_the_log(tmp_path, schema_at):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with schema_at(url, "0002"):
        pass
    opened = Registry(url, store=tmp_path / "store")
    opened.add(_model_dir(tmp_path / "m"), "m")
    assert opened.log_predictions("m", 1, _rows("r", 2)) == 2
    assert opened.add_feedback("m", [("r", 1, 3.0)]).stored == 1


def test_two_outcomes_for_one_row_in_one_call_are_refused(registry):
    registry.log_predictions("m", 1, _rows("r1", 3))
    with pytest.raises(RegistryError, match=r"two outcomes for request 'r1', row 0 of m; expected one per request"):
        registry.add_feedback("m", [("r1", 0, 1.0), ("r1", 1, 2.0), ("r1", 0, 3.0)])
    assert not registry.prediction_log("m").labelled.any()  # nothing stored
