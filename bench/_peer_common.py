"""Shared command line for the peer runners (``_peer_<tool>.py``).

Each runner lives in its own virtual environment, so this module uses only the
standard library, numpy and pandas (present in every venv). A runner supplies
``fit(train, target, task, budget, seed, workdir)`` returning a fitted model and
``predict(model, X, task)`` returning one float per row: the prediction for
regression, the probability of class 1 for binary classification (the harness
encodes binary targets as 0/1); for multiclass, one row of class probabilities
per test row, a column per class 0..K-1 (the harness encodes the classes so).
This module times both calls and writes JSON:

    {"tool", "version", "fit_s", "predict_s", "pred": [...], "model"}   or   {"tool", "error"}

where ``model`` names the final model, when the runner supplies ``describe(model)``.

The harness computes every metric from ``pred`` itself, so all tools are scored
by the same code.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: The metric every tool is told, by task (homl's and FLAML's names).
METRICS = {"regression": "rmse", "binary": "roc_auc", "multiclass": "log_loss"}

FitFn = Callable[[pd.DataFrame, str, str, float, int, Path], Any]
PredictFn = Callable[[Any, pd.DataFrame, str], np.ndarray]


def run_peer(tool: str, version: str, fit: FitFn, predict: PredictFn,
             describe: Callable[[Any], str] | None = None) -> None:
    """Parse the common arguments, fit on train only, predict test, write JSON (with the
    final model ``describe`` names, when given)."""
    ap = argparse.ArgumentParser(description=f"Fit {tool} on a train table, predict a test table.")
    ap.add_argument("--train", type=Path, required=True, help="parquet with features and target")
    ap.add_argument("--test", type=Path, required=True, help="parquet with features only")
    ap.add_argument("--target", required=True)
    ap.add_argument("--task", choices=["regression", "binary", "multiclass"], required=True)
    ap.add_argument("--budget", type=float, required=True, help="time budget in seconds")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, required=True, help="result JSON to write")
    args = ap.parse_args()

    out: dict[str, Any] = {"tool": tool, "version": version}
    try:
        train = pd.read_parquet(args.train)
        test_x = pd.read_parquet(args.test)
        workdir = args.out.parent / f"{tool}_work"
        workdir.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        model = fit(train, args.target, args.task, args.budget, args.seed, workdir)
        t1 = time.perf_counter()
        pred = np.asarray(predict(model, test_x, args.task), dtype=float)
        t2 = time.perf_counter()
        if args.task != "multiclass":
            pred = pred.ravel()
        if len(pred) != len(test_x):
            raise ValueError(f"{len(pred)} predictions for {len(test_x)} test rows")
        out.update(fit_s=t1 - t0, predict_s=t2 - t1, pred=pred.tolist())
        if describe is not None:
            try:  # a name only: it never spoils a result
                out["model"] = str(describe(model))[:80]
            except Exception as exc:
                out["model"] = f"? ({type(exc).__name__})"
    except Exception as exc:  # report, don't crash the whole benchmark
        traceback.print_exc()
        out["error"] = f"{type(exc).__name__}: {exc}"[:500]
    args.out.write_text(json.dumps(out))
    sys.exit(1 if "error" in out else 0)


def proba_of_one(proba: Any, classes: Any) -> np.ndarray:
    """Column of ``proba`` (array or DataFrame) that belongs to class 1."""
    if isinstance(proba, pd.DataFrame):
        cols = list(proba.columns)
        return proba[cols[[str(c) for c in cols].index("1")]].to_numpy()
    labels = [str(c) for c in classes]
    return np.asarray(proba)[:, labels.index("1")]


def class_proba(proba: Any, classes: Any) -> np.ndarray:
    """``proba`` (array or DataFrame) with its columns in the order of the classes 0..K-1
    (the harness encodes multiclass targets so; every class is in the training rows)."""
    if isinstance(proba, pd.DataFrame):
        classes, proba = list(proba.columns), proba.to_numpy()
    order = np.argsort([int(c) for c in classes])
    return np.asarray(proba, dtype=float)[:, order]
