"""LightGBM's seeded configurations beside other shapes, cross-validated on many tables.

The question: are the configurations the search tries first for LightGBM (its seeds, which
a short budget may leave as the only ones tried) good across tables, or would another shape
serve better? Each table's training split (the splits of bench/peers.py, shared and unseen
sets) is cross-validated in 5 shuffled folds (stratified for classification) with homl's
LightGBM pipeline and preparation at each configuration, scored by peers.py's metric. It
prints each configuration's error (RMSE, 1 - ROC AUC or log loss) over the first seed's,
per table and as a geometric mean (below 1 is better).

    .venv/bin/python bench/lightgbm_seeds.py [--sets housing,titanic,...]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import peers
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

from homl.data import infer_schema
from homl.models import build_pipeline, get_spec

#: Shapes beside the seeds: deep with little regularisation (as FLAML's best on bike_sharing),
#: shallow and regularised, deeper still, and the second seed with nearly every column.
OTHERS = {
    "deep": {"learning_rate": 0.05, "num_leaves": 63, "min_child_samples": 5, "colsample_bytree": 0.95,
             "reg_lambda": 0.1},
    "shallow": {"learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 30, "colsample_bytree": 0.5,
                "reg_lambda": 5.0},
    "deeper": {"learning_rate": 0.03, "num_leaves": 127, "min_child_samples": 3, "colsample_bytree": 1.0,
               "reg_lambda": 0.03},
    "second, most columns": {"learning_rate": 0.03, "num_leaves": 63, "min_child_samples": 10,
                             "colsample_bytree": 0.9, "reg_lambda": 1.0},
}
SCORING = {"regression": "neg_root_mean_squared_error", "binary": "roc_auc", "multiclass": "neg_log_loss"}


def configurations() -> dict[str, dict]:
    """The seeds as the search has them, then the other shapes on the first seed's remaining settings."""
    seeds = get_spec("lightgbm").seeds
    named = {f"seed {i + 1}": dict(seed) for i, seed in enumerate(seeds)}
    return named | {name: {**seeds[0], **shape} for name, shape in OTHERS.items()}


def cv_error(name: str, config: dict) -> float:
    """5-fold CV error of homl's LightGBM pipeline at ``config`` on ``name``'s training split."""
    spec = peers.SETS[name]
    train, _, _ = peers.prepare(name, spec)
    X, y = train.drop(columns=[spec.target]), train[spec.target].to_numpy()
    model = build_pipeline(get_spec("lightgbm"), spec.task, infer_schema(train, spec.target), config, seed=peers.SEED)
    splitter = KFold if spec.task == "regression" else StratifiedKFold
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = cross_val_score(model, X, y, cv=splitter(5, shuffle=True, random_state=peers.SEED),
                                 scoring=SCORING[spec.task])
    score = float(np.mean(scores))
    return 1 - score if spec.task == "binary" else -score


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default=",".join(peers.SETS))
    args = ap.parse_args()
    names = [s.strip() for s in args.sets.split(",") if s.strip()]
    configs = configurations()
    print("| table | seed 1 (error) | " + " | ".join(c for c in configs if c != "seed 1") + " | seconds |")
    print("|---|" + "---|" * (len(configs) + 1))
    ratios: dict[str, list[float]] = {c: [] for c in configs}
    for name in names:
        start = time.perf_counter()
        errors = {label: cv_error(name, config) for label, config in configs.items()}
        base = errors["seed 1"]
        for label, value in errors.items():
            ratios[label].append(value / base)
        cells = [f"{base:.4g}"] + [f"{v / base:.3f}" for k, v in errors.items() if k != "seed 1"]
        print(f"| {name} | " + " | ".join(cells) + f" | {time.perf_counter() - start:.0f} |", flush=True)
    means = [f"**{np.exp(np.mean(np.log(r))):.3f}**" for label, r in ratios.items() if label != "seed 1"]
    print("| **geometric mean** | 1 | " + " | ".join(means) + " | |")
    for label, r in ratios.items():
        if label != "seed 1":
            print(f"{label}: better than seed 1 on {sum(x < 1 for x in r)} of {len(r)} tables")


if __name__ == "__main__":
    main()
