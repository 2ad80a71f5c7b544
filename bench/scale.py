"""`homl fit` on a generated 1,000,000-row, 20-column table within a 300 s budget.

Runs the CLI as a subprocess on the full table and on a 100,000-row sample of it, each
scored on the same separate 50,000-row test table, and samples the resident memory of
the whole process tree every 0.2 s. Prints wall time, peak memory and test RMSE.

    .venv/bin/python bench/scale.py [--rows 1000000] [--budget 300]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def generate(n: int, seed: int) -> pd.DataFrame:
    """12 numeric, 6 categorical (5 to 2,000 levels), 1 boolean column, a noisy target."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"num_{i}": rng.normal(size=n) for i in range(10)})
    frame["income"] = rng.lognormal(3, 1, n)
    frame["age"] = rng.integers(18, 90, n).astype(float)
    for i, levels in enumerate((5, 12, 40, 200, 1000, 2000)):
        frame[f"cat_{i}"] = rng.integers(0, levels, n).astype(str)
        frame[f"cat_{i}"] = "L" + frame[f"cat_{i}"]
    frame["flag"] = rng.choice(["yes", "no"], n)
    # The same category effects whatever the seed: tables of other seeds test the same function.
    effect = {f"L{k}": v for k, v in enumerate(np.random.default_rng(2024).normal(0, 1, 40))}
    y = (
        np.sin(frame.num_0 * 2) * 3 + frame.num_1 * frame.num_2 + np.log(frame.income) + (frame.age / 30) ** 2
        + frame.cat_2.map(effect).to_numpy() + (frame.flag == "yes") * 1.5 + rng.normal(0, 1, n)
    )
    for column in ("num_3", "income", "cat_1"):
        frame.loc[rng.random(n) < 0.05, column] = np.nan
    frame["y"] = y
    return frame


def peak_rss_of_tree(process: subprocess.Popen, interval: float = 0.2) -> float:
    import psutil

    root, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            total = root.memory_info().rss + sum(c.memory_info().rss for c in root.children(recursive=True))
            peak = max(peak, total)
        except psutil.Error:
            pass
        time.sleep(interval)
    return peak / 2**30


def run(train: Path, test: Path, output: Path, budget: int) -> dict:
    command = [sys.executable, "-m", "homl", "fit", str(train), "--target", "y", "--test", str(test),
               "-o", str(output), "--time-limit", str(budget), "--overwrite", "-v"]
    start = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    import threading

    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout))
    reader.start()
    peak = peak_rss_of_tree(process)
    reader.join()
    wall = time.monotonic() - start
    if process.returncode != 0:
        print("".join(lines[-30:]))
        raise SystemExit(f"homl fit failed with exit code {process.returncode}")
    metadata = json.loads((output / "metadata.json").read_text())
    sampled = [line.strip() for line in lines if "sample" in line]
    return {"wall s": wall, "peak GB": peak, "test RMSE": metadata["test_score"]["value"],
            "winner": metadata["winner"], "note": sampled[0] if sampled else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=100_000)
    parser.add_argument("--budget", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        full = generate(args.rows, seed=0)
        full.to_csv(folder / "full.csv", index=False)
        full.sample(args.sample, random_state=0).to_csv(folder / "sample.csv", index=False)
        generate(50_000, seed=1).to_csv(folder / "test.csv", index=False)
        del full
        results = {}
        for name in ("sample", "full"):
            print(f"fitting {name} ...", flush=True)
            results[name] = run(folder / f"{name}.csv", folder / "test.csv", folder / f"model-{name}", args.budget)
            print(name, results[name], flush=True)
    table = pd.DataFrame(results).T
    table.index = [f"{args.sample:,} rows", f"{args.rows:,} rows"]
    print()
    print(table.to_string())
    full, sample = results["full"], results["sample"]
    print(f"\nbudget {args.budget} s: full run {full['wall s'] / args.budget:.0%} of budget, "
          f"peak {full['peak GB']:.2f} GB; RMSE full/sample = {full['test RMSE'] / sample['test RMSE']:.3f}")


if __name__ == "__main__":
    main()
