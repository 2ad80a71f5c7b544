"""Robust losses for regression: LightGBM with the squared error, the Huber loss or the Fair loss.

The question: should the search offer a robust loss (one that lets large errors pull less)
to the boosters of regression tables scored by RMSE? Each table's training split (the
splits of bench/peers.py) is cross-validated in 5 shuffled folds with LightGBM at homl's
first seeded configuration and its preparation. The target is standardised for every loss
(as homl does for a family with ``scale_target``, after the preparation),
so the Huber threshold (``alpha``) and the Fair constant (``fair_c``) are in standard
deviations of the target, whatever its unit. It prints the CV RMSE of each loss and its
change against the squared error (negative is better).

    .venv/bin/python bench/regression_losses.py [--sets housing,bike_sharing,...]
"""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import peers
from sklearn.model_selection import KFold, cross_val_score

from homl.data import Schema, infer_schema
from homl.models import build_pipeline, get_spec

#: Loss settings of LightGBM's regressor, by name.
LOSSES = {
    "squared": {"objective": "regression"},
    "huber 0.5": {"objective": "huber", "alpha": 0.5},
    "huber 1": {"objective": "huber", "alpha": 1.0},
    "huber 2": {"objective": "huber", "alpha": 2.0},
    "fair 1": {"objective": "fair", "fair_c": 1.0},
}
DEFAULT_SETS = "housing,bike_sharing,auto_mpg,diamonds,abalone,wine_red,randhie,fair,diabetes"


def cv_rmse(X: pd.DataFrame, y: np.ndarray, schema: Schema, loss: dict) -> float:
    """5-fold CV RMSE of LightGBM with ``loss`` on the standardised target."""
    lightgbm = replace(get_spec("lightgbm"), scale_target=True)  # homl's own target standardisation
    model = build_pipeline(lightgbm, "regression", schema, lightgbm.seeds[0], seed=peers.SEED)
    model.set_params(**{f"model__regressor__estimator__{key}": value for key, value in loss.items()})
    folds = KFold(5, shuffle=True, random_state=peers.SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = cross_val_score(model, X, y, cv=folds, scoring="neg_root_mean_squared_error")
    return float(-np.mean(scores))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default=DEFAULT_SETS)
    args = ap.parse_args()
    names = [s.strip() for s in args.sets.split(",") if s.strip()]
    print("| table | " + " | ".join(LOSSES) + " | seconds |")
    print("|---|" + "---|" * (len(LOSSES) + 1))
    for name in names:
        start = time.perf_counter()
        target = peers.SETS[name].target
        train, _, _ = peers.prepare(name, peers.SETS[name])
        X, y, schema = train.drop(columns=[target]), train[target].to_numpy(dtype=float), infer_schema(train, target)
        rmse = {label: cv_rmse(X, y, schema, loss) for label, loss in LOSSES.items()}
        base = rmse["squared"]
        cells = [f"{base:.5g}"] + [f"{v:.5g} ({v / base - 1:+.1%})" for k, v in rmse.items() if k != "squared"]
        print(f"| {name} | " + " | ".join(cells) + f" | {time.perf_counter() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()
