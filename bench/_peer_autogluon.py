"""AutoGluon runner for bench/peers.py; run with bench/.venvs/autogluon/bin/python (see _peer_common).

Default presets ("medium_quality"), tree models only: the venv has no torch.
"""

from __future__ import annotations

from pathlib import Path

import autogluon.tabular
import numpy as np
import pandas as pd
from _peer_common import proba_of_one, run_peer
from autogluon.tabular import TabularPredictor


def fit(train: pd.DataFrame, target: str, task: str, budget: float, seed: int, workdir: Path) -> TabularPredictor:
    """TabularPredictor with the benchmark's metric, its default presets, ``budget`` seconds."""
    np.random.seed(seed)  # AutoGluon has no global seed argument; its models seed themselves
    predictor = TabularPredictor(
        label=target,
        problem_type="regression" if task == "regression" else "binary",
        eval_metric="root_mean_squared_error" if task == "regression" else "roc_auc",
        path=str(workdir / "models"),
        verbosity=0,
    )
    return predictor.fit(train, time_limit=budget)


def predict(model: TabularPredictor, x: pd.DataFrame, task: str) -> np.ndarray:
    if task == "regression":
        return model.predict(x).to_numpy()
    return proba_of_one(model.predict_proba(x), model.class_labels)


if __name__ == "__main__":
    run_peer("autogluon", autogluon.tabular.__version__, fit, predict)
