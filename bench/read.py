"""``read_table`` against ``pandas.read_csv`` on a generated 200,000-row, 20-column CSV.

The reader sniffs the encoding, delimiter and quirks before handing the file to pandas:
that should cost little, within 1.5 times pandas' own time plus 0.2 s.

    .venv/bin/python bench/read.py [--rows 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from homl.data._readers import read_table


def best_of(reader, path: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        reader(path)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.csv"
        pd.DataFrame({f"c{i}": range(args.rows) for i in range(20)}).to_csv(path, index=False)
        baseline, ours = best_of(pd.read_csv, path, args.repeat), best_of(read_table, path, args.repeat)
    target = 1.5 * baseline + 0.2
    print(f"| reader | rows | best of {args.repeat} (s) |\n|---|---:|---:|")
    print(f"| pandas.read_csv | {args.rows:,} | {baseline:.2f} |")
    print(f"| homl read_table | {args.rows:,} | {ours:.2f} ({'within' if ours <= target else 'OVER'} "
          f"the {target:.2f} s target) |")


if __name__ == "__main__":
    main()
