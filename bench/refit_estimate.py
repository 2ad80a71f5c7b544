"""How much of its budget `homl fit` uses on a large table, by how it estimates refit times.

On a table above the search's sample, every step after the short-list is timed by
estimates of the final refits on all rows (see ``homl.select.refit_time``). This fits
bench/scale.py's generated table twice in this process: once with refits estimated in
proportion to the rows (``BOOSTER_FIXED_SHARE = 0``, the earlier estimate) and once with
the current share of a booster's fold fit that does not grow with the rows. It prints
the seconds used, the fine-tuning trials, whether the final model was refitted on all
rows, and the RMSE on a separate 50,000-row test table.

    .venv/bin/python bench/refit_estimate.py [--rows 400000] [--budget 90]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scale import generate

import homl
from homl import select
from homl.select import _cv


def fit_once(train, test, budget: float, share: float) -> dict:
    _cv.BOOSTER_FIXED_SHARE = share  # read by refit_time at each call
    start = time.perf_counter()
    result = homl.fit(train, target="y", task="regression", time_limit=budget, seed=42)
    seconds = time.perf_counter() - start
    predicted = result.model.predict(test.drop(columns=["y"]))
    notes = " ".join(result.notes)
    return {
        "share": share, "seconds": seconds, "winner": result.winner,
        "trials": next((n.split()[2] for n in result.notes if n.startswith("fine-tuning ran")), "0"),
        "all rows": "not refitted on all rows" not in notes,
        "rmse": float(np.sqrt(np.mean((predicted - test["y"].to_numpy()) ** 2))),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=400_000)
    ap.add_argument("--budget", type=float, default=90)
    args = ap.parse_args()
    train, test = generate(args.rows, 0), generate(50_000, 1)
    current = select.BOOSTER_FIXED_SHARE
    print(f"{args.rows:,} rows, {args.budget:.0f} s budget")
    print("| refit estimate | fit s | budget used | tuning trials | refitted on all rows | winner | test RMSE |")
    print("|---|---|---|---|---|---|---|")
    for share, label in ((0.0, "in proportion to rows"), (current, f"fixed share {current}")):
        r = fit_once(train, test, args.budget, share)
        print(f"| {label} | {r['seconds']:.1f} | {r['seconds'] / args.budget:.0%} | {r['trials']} | "
              f"{'yes' if r['all rows'] else 'no'} | {r['winner']} | {r['rmse']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
