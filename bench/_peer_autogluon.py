"""AutoGluon runner for bench/peers.py; run with bench/.venvs/autogluon/bin/python (see _peer_common).

Presets from ``AUTOGLUON_PRESETS`` (peers.py sets it; default "medium_quality", AutoGluon's
own default), tree models only: the venv has no torch.
"""

from __future__ import annotations

import os
from pathlib import Path

import autogluon.tabular
import numpy as np
import pandas as pd
from _peer_common import class_proba, proba_of_one, run_peer
from autogluon.tabular import TabularPredictor


def fit(train: pd.DataFrame, target: str, task: str, budget: float, seed: int, workdir: Path) -> TabularPredictor:
    """TabularPredictor with the benchmark's metric, the chosen presets, ``budget`` seconds."""
    np.random.seed(seed)  # AutoGluon has no global seed argument; its models seed themselves
    predictor = TabularPredictor(
        label=target,
        problem_type=task,
        eval_metric={"regression": "root_mean_squared_error", "binary": "roc_auc"}.get(task, "log_loss"),
        path=str(workdir / "models"),
        verbosity=0,
    )
    return predictor.fit(train, time_limit=budget, presets=os.environ.get("AUTOGLUON_PRESETS", "medium_quality"))


def predict(model: TabularPredictor, x: pd.DataFrame, task: str) -> np.ndarray:
    if task == "regression":
        return model.predict(x).to_numpy()
    if task == "multiclass":
        return class_proba(model.predict_proba(x), model.class_labels)
    return proba_of_one(model.predict_proba(x), model.class_labels)


if __name__ == "__main__":
    run_peer("autogluon", autogluon.tabular.__version__, fit, predict, lambda predictor: predictor.model_best)
