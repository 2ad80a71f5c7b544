"""FLAML runner for bench/peers.py; run with bench/.venvs/flaml/bin/python (see _peer_common)."""

from __future__ import annotations

from pathlib import Path

import flaml
import numpy as np
import pandas as pd
from _peer_common import METRICS, class_proba, proba_of_one, run_peer
from flaml import AutoML


def fit(train: pd.DataFrame, target: str, task: str, budget: float, seed: int, workdir: Path) -> AutoML:
    """FLAML's default search (all installed estimators) within ``budget`` seconds."""
    x, y = train.drop(columns=[target]), train[target]
    automl = AutoML()
    automl.fit(
        x, y,
        task="regression" if task == "regression" else "classification",
        time_budget=budget,
        metric=METRICS[task],
        seed=seed, n_jobs=-1, verbose=0,
        log_file_name=str(workdir / "flaml.log"),
    )
    return automl


def predict(model: AutoML, x: pd.DataFrame, task: str) -> np.ndarray:
    if task == "regression":
        return model.predict(x)
    if task == "multiclass":
        return class_proba(model.predict_proba(x), model.classes_)
    return proba_of_one(model.predict_proba(x), model.classes_)


if __name__ == "__main__":
    run_peer("flaml", flaml.__version__, fit, predict, lambda automl: automl.best_estimator)
