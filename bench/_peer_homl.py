"""homl runner for bench/peers.py; run with the project's .venv/bin/python (see _peer_common).

The test table is not passed to ``homl.fit``: like the other tools, homl sees the
training rows only, and the harness scores its test predictions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _peer_common import METRICS, class_proba, proba_of_one, run_peer

import homl


def fit(train: pd.DataFrame, target: str, task: str, budget: float, seed: int, workdir: Path) -> Any:
    """``homl.fit`` with the benchmark's task and metric."""
    return homl.fit(train, target=target, task=task, time_limit=budget, seed=seed, metric=METRICS[task])


def predict(result: Any, x: pd.DataFrame, task: str) -> np.ndarray:
    model = result.model
    if task == "regression":
        return np.asarray(model.predict(x))
    if not hasattr(model, "predict_proba"):
        model = result
    if task == "multiclass":
        return class_proba(model.predict_proba(x), model.classes_)
    return proba_of_one(model.predict_proba(x), getattr(model, "classes_", [0, 1]))


if __name__ == "__main__":
    run_peer("homl", getattr(homl, "__version__", "dev"), fit, predict, lambda result: result.winner)
