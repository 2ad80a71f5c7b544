"""The leaderboard: every candidate's cross-validated score, best first."""

from __future__ import annotations

import json

import pandas as pd

from homl._json import to_json
from homl.metrics import Metric

from ._cv import Evaluation

#: The columns of every leaderboard, in order (``params``: each candidate's settings as JSON).
LEADERBOARD_COLUMNS = ("model", "stage", "cv_mean", "cv_std", "fit_time", "params")


def leaderboard(evaluations: list[Evaluation], metric: Metric) -> pd.DataFrame:
    """One row per candidate (model, stage, CV mean and std, fit time, settings as JSON), best first."""
    rows = []
    for evaluation in evaluations:
        row = evaluation.summary()
        row["params"] = json.dumps(to_json(row["params"]), sort_keys=True)
        rows.append(row)
    board = pd.DataFrame(rows)
    board = board.sort_values("cv_mean", ascending=not metric.greater_is_better, kind="stable")
    return board.reset_index(drop=True)
