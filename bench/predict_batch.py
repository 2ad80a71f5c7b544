"""Peak memory of ``homl predict-batch`` as the input grows, beside ``homl predict`` on the same file.

The bundled housing rows are repeated into CSV files of each size; a LightGBM model fitted on the
bundled table predicts them. Each command runs in a child process; its peak resident memory is
read from the operating system when it ends.

    .venv/bin/python bench/predict_batch.py [--rows 100000 2000000] [--out bench/results/predict-batch.md]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
from _markdown import markdown_table


def _peak_of(command: list[str]) -> tuple[float, float]:
    """Seconds and peak resident MB of ``command``, measured by a fresh process of its own."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "assert r.returncode == 0, r.stdout + r.stderr; "
             "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
    done = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    seconds, megabytes = done.stdout.split()[-2:]
    return float(seconds), float(megabytes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 2_000_000])
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "predict-batch.md")
    args = parser.parse_args()
    import homl
    from homl.data import example_path, read_table

    homl_cli = [sys.executable, "-m", "homl"]
    table = read_table(example_path("housing"))
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        homl.fit(table, "median_house_value", time_limit=30, models=["lightgbm"], tune=False, ensemble=False,
                 bagging=False, report=False).save(folder / "model")
        features = table.drop(columns="median_house_value")
        for n in args.rows:
            source = folder / f"rows-{n}.csv"
            repeated = pd.concat([features] * (n // len(features) + 1), ignore_index=True).head(n)
            repeated.to_csv(source, index=False)
            del repeated
            batch = _peak_of([*homl_cli, "predict-batch", str(folder / "model"), str(source),
                              "-o", str(folder / "out.parquet"), "--chunk-rows", str(args.chunk_rows)])
            whole = _peak_of([*homl_cli, "predict", str(folder / "model"), str(source), "-o", str(folder / "out.csv")])
            for name, (seconds, megabytes) in (("homl predict-batch", batch), ("homl predict (whole file)", whole)):
                rows.append({"rows": f"{n:,}", "command": name, "peak MB": round(megabytes), "seconds": seconds})
                print(rows[-1], flush=True)
            source.unlink()
    text = (f"# Batch prediction: peak memory as the input grows\n\n`.venv/bin/python bench/predict_batch.py "
            f"--rows {' '.join(map(str, args.rows))}`, chunks of {args.chunk_rows:,} rows, LightGBM on housing's "
            f"columns.\n\n{markdown_table(pd.DataFrame(rows))}\n")
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
