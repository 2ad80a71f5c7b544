"""Final boosters with the rounds early stopping kept on the folds, or grown with the rows.

A booster's final refit learns from more rows than a cross-validation fold: 1.25 times as
many on a table the search saw whole, many times as many on a large table the search saw
a sample of. This fits each table twice in this process, on the same split and seed: once
with ``ROUNDS_GROWTH_POWER = 0`` (the rounds as kept) and once with the current power
(rounds times (rows / fold rows) to that power, as far as the time left allows). It prints
the test score of each, the winner and the seconds used.

Tables: bench/scale.py's generated table (``--rows`` rows, ``--large-budget`` s, test on
50,000 rows of the same function), and shared sets (``--sets``, ``--budget`` s, the splits
of bench/peers.py; they need ../shared/data).

    .venv/bin/python bench/rounds_growth.py [--rows 400000] [--large-budget 90]
                                            [--sets diamonds,adult,housing,bike_sharing] [--budget 60]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import peers
from _peer_homl import fit, predict
from scale import generate

from homl import select
from homl.select import _cv


def fit_once(train: pd.DataFrame, X_test: pd.DataFrame, y_test: np.ndarray, target: str, task: str,
             budget: float, power: float) -> dict:
    _cv.ROUNDS_GROWTH_POWER = power  # read by rounds_growth at each call
    start = time.perf_counter()
    result = fit(train, target, task, budget, peers.SEED, None)
    seconds = time.perf_counter() - start
    score = peers.score(task, y_test, list(predict(result, X_test, task)))["score"]
    grown = next((n.split("grown with the rows, ")[1] for n in result.notes if "grown with the rows" in n), "-")
    return {"seconds": seconds, "winner": result.winner, "score": score, "grown": grown}


def tables(args: argparse.Namespace):
    """(name, train, test features, test target, target, task, budget) for each table."""
    data = generate(args.rows + 50_000, seed=0)
    train, test = data.iloc[: args.rows], data.iloc[args.rows:]
    yield (f"generated {args.rows:,} rows", train, test.drop(columns=["y"]), test["y"].to_numpy(), "y",
           "regression", args.large_budget)
    for name in [s.strip() for s in args.sets.split(",") if s.strip()]:
        spec = peers.SETS[name]
        train, X_test, y_test = peers.prepare(name, spec)
        yield name, train, X_test, np.asarray(y_test), spec.target, spec.task, args.budget


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=400_000)
    ap.add_argument("--large-budget", type=float, default=90)
    ap.add_argument("--sets", default="diamonds,adult,housing,bike_sharing")
    ap.add_argument("--budget", type=float, default=60)
    args = ap.parse_args()
    current = select.ROUNDS_GROWTH_POWER
    print("| table | budget s | metric | rounds as kept | grown (power "
          f"{current}) | change | winners | grown by | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, train, X_test, y_test, target, task, budget in tables(args):
        kept = fit_once(train, X_test, y_test, target, task, budget, 0.0)
        grown = fit_once(train, X_test, y_test, target, task, budget, current)
        metric = "RMSE" if task == "regression" else "ROC AUC"
        # Change in error: RMSE, or 1 - ROC AUC; negative is better.
        error = (lambda s: s) if task == "regression" else (lambda s: 1 - s)
        change = error(grown["score"]) / error(kept["score"]) - 1
        print(f"| {name} | {budget:.0f} | {metric} | {kept['score']:.5g} | {grown['score']:.5g} | {change:+.1%} | "
              f"{kept['winner']} / {grown['winner']} | {grown['grown']} | "
              f"{kept['seconds']:.0f} / {grown['seconds']:.0f} |", flush=True)
    _cv.ROUNDS_GROWTH_POWER = current


if __name__ == "__main__":
    main()
