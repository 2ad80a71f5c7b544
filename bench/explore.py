"""`homl explore` on a generated 20,000-row, 10-column table, against a 30 s target.

Runs the real command line (imports included) on a CSV with numeric, categorical, heavy-
tailed, capped and missing values plus a latitude/longitude pair, ``--repeat`` times, and
then once on each real table of the shared data folder that is present (housing, titanic,
adult, diamonds). Prints wall time, figures written and the HTML size.

    .venv/bin/python bench/explore.py [--rows 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TARGET_S = 30.0


def generate(n: int, seed: int = 0) -> pd.DataFrame:
    """Ten columns: latitude/longitude, 5 numeric (two heavy-tailed), 2 categorical, a capped target."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "latitude": rng.uniform(32, 42, n),
        "longitude": rng.uniform(-124, -114, n),
        "age": rng.integers(1, 80, n).astype(float),
        "income": rng.lognormal(3, 1, n),
        "population": rng.poisson(1000, n).astype(float) * rng.lognormal(0, 0.7, n),
        "score": rng.normal(50, 10, n),
        "city": "c" + rng.integers(0, 300, n).astype(str),
        "segment": rng.choice(["a", "b", "c", "d"], n),
        "rooms": rng.gamma(2, 3, n),
    })
    frame["price"] = np.minimum(frame.income * 3 + frame.rooms * 10 + rng.normal(0, 20, n), 500)
    for column in ("income", "segment", "rooms"):
        frame.loc[rng.random(n) < 0.05, column] = np.nan
    return frame


DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
#: Real tables timed too when the shared data folder is there (skipped otherwise).
REAL = [("housing", "housing/housing.csv", "median_house_value"), ("titanic", "titanic/train.csv", "Survived"),
        ("adult", "adult/adult.csv.gz", "income_status"), ("diamonds", "diamonds/diamonds.csv.gz", "price")]


def time_explore(table: Path, target: str, workdir: Path) -> tuple[float, int, float]:
    """Wall time of ``homl explore`` as a subprocess, the figures written and the HTML size (MB)."""
    out = workdir / f"{table.name.split('.')[0]}-explore.html"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "homl", "explore", str(table.resolve()), "--target", target, "-o", str(out)],
                   cwd=workdir, check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    return elapsed, len(list((workdir / "figures").glob("*.png"))), out.stat().st_size / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        frame = generate(args.rows)
        frame.to_csv(work / "generated.csv", index=False)
        runs = []
        for i in range(args.repeat):  # a folder per run, so each writes its figures afresh
            (work / f"run{i}").mkdir()
            runs.append(time_explore(work / "generated.csv", "price", work / f"run{i}"))
        times = [r[0] for r in runs]
        rows.append((f"generated (best / worst of {args.repeat})", len(frame), frame.shape[1],
                     f"{min(times):.1f} / {max(times):.1f}", max(times), runs[0][1], runs[0][2]))
        for name, relative, target in REAL:
            path = DATA / relative
            if not path.exists():
                continue
            shape = pd.read_csv(path).shape
            (work / name).mkdir()
            elapsed, n_figures, size = time_explore(path, target, work / name)
            rows.append((name, shape[0], shape[1], f"{elapsed:.1f}", elapsed, n_figures, size))
    print(f"homl explore (command line, imports included), {platform.machine()} Python {platform.python_version()}")
    print()
    print(f"| table | rows | columns | time (s) | target {TARGET_S:.0f} s | figures | HTML (MB) |")
    print("|---|---:|---:|---:|:---:|---:|---:|")
    for name, n_rows, n_columns, shown, worst, n_figures, size in rows:
        print(f"| {name} | {n_rows:,} | {n_columns} | {shown} | {'yes' if worst <= TARGET_S else 'NO'} | "
              f"{n_figures} | {size:.1f} |")


if __name__ == "__main__":
    main()
