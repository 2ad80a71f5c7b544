"""Test rows outside the training range: which rows, which columns, and how the model did on them.

A numeric value below the smallest or above the largest value seen in training asks the
model to extrapolate: trees predict as at the edge of what they saw, linear models carry the
trend on. Comparing the test error on those rows with the error on the others shows whether
that matters for this model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: Rows shown in the report's table, furthest outside the range first.
SHOWN = 10
#: Row numbers listed at most (the count is always exact).
LISTED = 1000


@dataclass
class RangeCheck:
    """The test values of the numeric columns against the range each had in training."""

    values: pd.DataFrame  # test rows × numeric columns, as floats
    low: pd.Series
    high: pd.Series

    @classmethod
    def of(cls, X_train: pd.DataFrame, X_test: pd.DataFrame, columns: list[str]) -> RangeCheck:
        train = X_train[columns].apply(pd.to_numeric, errors="coerce").astype(float)
        values = X_test[columns].apply(pd.to_numeric, errors="coerce").astype(float).reset_index(drop=True)
        return cls(values, train.min(), train.max())

    @property
    def below(self) -> pd.DataFrame:
        return self.values.lt(self.low, axis=1)

    @property
    def above(self) -> pd.DataFrame:
        return self.values.gt(self.high, axis=1)

    @property
    def outside(self) -> np.ndarray:
        """Whether each test row has a value outside the training range (missing values are not)."""
        return (self.below | self.above).to_numpy().any(axis=1)

    def distance(self) -> np.ndarray:
        """How far each row lies outside the range, in widths of the training range (0 inside)."""
        size = self.high.abs().where(self.high.abs() > 0, 1.0)
        span = (self.high - self.low).where(self.high > self.low, size)  # a constant column: its size
        beyond = np.maximum(self.values.sub(self.high, axis=1), -self.values.sub(self.low, axis=1)).div(span, axis=1)
        return np.nan_to_num(beyond.clip(lower=0).to_numpy(), nan=0.0).max(axis=1, initial=0.0)

    def describe(self, position: int) -> dict[str, str]:
        """The out-of-range values of one test row, each beside the limit it passes."""
        row, below, above = self.values.iloc[position], self.below.iloc[position], self.above.iloc[position]
        return {column: (f"{_short(row[column])} < min {_short(self.low[column])}" if below[column]
                         else f"{_short(row[column])} > max {_short(self.high[column])}")
                for column in self.values.columns if below[column] or above[column]}


def out_of_range(check: RangeCheck, y_true: np.ndarray, prediction: np.ndarray, classes: np.ndarray | None,
                 row_numbers: np.ndarray | None) -> dict[str, Any]:
    """The test rows outside the training range, the columns they pass, and the error there vs elsewhere.

    Rows are named by ``row_numbers`` (the data's row numbers, 1 = the first) when given, else by
    their position in the test set (``row_label`` says which).
    """
    outside = check.outside
    if row_numbers is not None and len(row_numbers) != len(outside):
        raise ValueError(f"test_rows: {len(row_numbers)} row numbers for {len(outside)} test rows; expected one each")
    positions = np.flatnonzero(outside)
    ids = np.arange(1, len(outside) + 1) if row_numbers is None else np.asarray(row_numbers)
    below, above = check.below.sum(), check.above.sum()
    columns = [{"column": c, "rows": int(below[c] + above[c]), "below": int(below[c]), "above": int(above[c]),
                "min": check.low[c], "max": check.high[c]}
               for c in check.values.columns if below[c] + above[c] > 0]
    columns.sort(key=lambda entry: -entry["rows"])
    distance = check.distance()
    worst = positions[np.argsort(-distance[positions], kind="stable")][:SHOWN]
    return {
        "checked": list(check.values.columns), "count": int(outside.sum()), "share": float(outside.mean()),
        "row_label": "test row" if row_numbers is None else "row", "rows": ids[positions][:LISTED],
        "columns": columns,
        "worst": [{"row": ids[p], "outside": check.describe(p), "distance": distance[p],
                   **_outcome(y_true[p], prediction[p], classes)} for p in worst],
        "scores": _scores(y_true, prediction, classes, outside),
    }


def _outcome(truth: Any, prediction: Any, classes: np.ndarray | None) -> dict[str, Any]:
    if classes is None:
        return {"truth": truth, "prediction": prediction, "error": prediction - float(truth)}
    given = p_actual(np.asarray([truth]), np.asarray([prediction]), classes)[0]
    return {"truth": truth, "prediction": classes[int(np.argmax(prediction))], "p(actual)": given}


def _scores(y_true: np.ndarray, prediction: np.ndarray, classes: np.ndarray | None, outside: np.ndarray
            ) -> dict[str, dict[str, float | None]]:
    """The error on the rows outside the range and on the others: RMSE and MAE, or accuracy and log loss."""
    if classes is None:
        error = np.asarray(prediction, dtype=float) - np.asarray(y_true, dtype=float)
        measures = {"rmse": lambda m: float(np.sqrt(np.mean(error[m] ** 2))),
                    "mae": lambda m: float(np.mean(np.abs(error[m])))}
    else:
        given = p_actual(y_true, prediction, classes)
        right = _truth_index(y_true, classes) == np.argmax(prediction, axis=1)
        measures = {"accuracy": lambda m: float(np.mean(right[m])),
                    "log_loss": lambda m: float(np.mean(-np.log(np.clip(given[m], 1e-15, 1))))}
    return {name: {"outside": measure(outside) if outside.any() else None,
                   "inside": measure(~outside) if (~outside).any() else None}
            for name, measure in measures.items()}


def p_actual(y_true: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The probability each row gave its true class (0 for a class the model never saw)."""
    truth = _truth_index(y_true, classes)
    return np.where(truth >= 0, proba[np.arange(len(truth)), np.clip(truth, 0, None)], 0.0)


def _truth_index(y_true: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Each row's class as its position in ``classes`` (-1 for a class the model never saw)."""
    index = {c: j for j, c in enumerate(classes)}
    return np.array([index.get(v, -1) for v in y_true], dtype=int)


def _short(value: float) -> str:
    return f"{value:.4g}"
