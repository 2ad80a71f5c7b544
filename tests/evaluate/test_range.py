"""Test rows outside the training range: found exactly, named by their row numbers, and the
error on them set against the error on the other rows."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from homl.evaluate import diagnose

#: Test positions (of 200) given a value ten times the training maximum.
FAR = [17, 88, 150]


def stretched(task: str, n: int = 800) -> tuple[pd.DataFrame, np.ndarray]:
    """Uniform features in [0, 1]; in three test rows 'x1' is ten times the training maximum.

    The target bends with 'x1' (a square), so a line fitted on [0, 1] is far off out there.
    """
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x0": rng.uniform(size=n), "x1": rng.uniform(size=n), "city": rng.choice(["a", "b"], n)})
    cut = n * 3 // 4
    X.loc[[cut + p for p in FAR], "x1"] = 10 * X["x1"].iloc[:cut].max()
    value = X["x0"].to_numpy() + X["x1"].to_numpy() ** 2 + rng.normal(0, 0.05, n)
    return X, value if task == "regression" else np.where(value > 0.8, "high", "low")


def fitted(task: str, diagnose_input):
    X, y = stretched(task)
    if task == "regression":
        return diagnose_input(X[["x0", "x1"]], y, task, lambda p: LinearRegression())
    return diagnose_input(X[["x0", "x1"]], y, task, lambda p: LogisticRegression())


def test_the_rows_beyond_the_training_max_are_named_exactly(diagnose_input) -> None:
    inp = fitted("regression", diagnose_input)
    ranges = diagnose(inp, time.monotonic())["out_of_range"]
    assert ranges["count"] == 3 and ranges["share"] == pytest.approx(3 / 200)
    assert ranges["row_label"] == "test row" and ranges["rows"] == [p + 1 for p in FAR]  # 1 = the first test row
    (column,) = ranges["columns"]
    assert column["column"] == "x1" and (column["rows"], column["above"], column["below"]) == (3, 3, 0)
    assert column["max"] == pytest.approx(inp.X_train["x1"].max())
    assert sorted(entry["row"] for entry in ranges["worst"]) == [p + 1 for p in FAR]
    for entry in ranges["worst"]:
        assert list(entry["outside"]) == ["x1"] and "> max" in entry["outside"]["x1"]
        assert entry["distance"] == pytest.approx(9.0, rel=0.02)  # nine training widths beyond the max
        assert entry["error"] == pytest.approx(entry["prediction"] - entry["truth"])
    # The line is far off where the square takes over; inside the range it is close.
    rmse, mae = ranges["scores"]["rmse"], ranges["scores"]["mae"]
    assert rmse["outside"] > 20 * rmse["inside"] and mae["outside"] > 20 * mae["inside"]


def test_rows_are_named_by_their_data_row_numbers_when_known(diagnose_input) -> None:
    inp = fitted("regression", diagnose_input)
    inp.test_rows = np.arange(1001, 1201)  # the data rows the test set was drawn from
    out = diagnose(inp, time.monotonic())
    assert out["out_of_range"]["row_label"] == "row" and out["out_of_range"]["rows"] == [1001 + p for p in FAR]
    # The worst errors are those rows, and the worst-errors table says why.
    worst = out["test"]["worst"]
    marked = [row for row, why in zip(worst["row"], worst["outside training range"]) if why]
    assert sorted(marked) == [1001 + p for p in FAR] and worst["row"][:3] == marked
    assert all(why.startswith("x1: ") for why in worst["outside training range"][:3])


def test_a_classifier_is_scored_by_accuracy_and_log_loss_on_those_rows(diagnose_input) -> None:
    inp = fitted("binary", diagnose_input)
    ranges = diagnose(inp, time.monotonic())["out_of_range"]
    assert ranges["rows"] == [p + 1 for p in FAR]
    assert set(ranges["scores"]) == {"accuracy", "log_loss"}
    # Far beyond the range the answer is plain ('high'): the model gets every one right.
    assert ranges["scores"]["accuracy"]["outside"] == 1.0
    assert all(entry["prediction"] == "high" == entry["truth"] and entry["p(actual)"] > 0.99
               for entry in ranges["worst"])


def test_missing_values_and_categories_are_never_out_of_range(diagnose_input) -> None:
    X, y = stretched("regression")
    X.loc[X.index[-50:], "x1"] = np.nan
    X["x1"] = X["x1"].where(~X.index.isin([600 + p for p in FAR]), 0.5)  # the far rows brought back
    inp = diagnose_input(X, y, "regression", lambda p: _line_on_numbers())
    ranges = diagnose(inp, time.monotonic())["out_of_range"]
    assert ranges["count"] == 0 and ranges["rows"] == [] and ranges["checked"] == ["x0", "x1"]
    assert ranges["scores"]["rmse"]["outside"] is None and ranges["scores"]["rmse"]["inside"] > 0


def _line_on_numbers():
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    numbers = make_column_transformer((SimpleImputer(), ["x0", "x1"]))
    return make_pipeline(numbers, LinearRegression())
