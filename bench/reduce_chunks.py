"""Incremental PCA over a file read in chunks beside PCA of the whole table: peak memory, time, agreement.

Writes a generated CSV (``--rows`` rows of ``--columns`` numbers driven by 5 hidden factors)
to a temporary folder, then runs, each in a fresh process so that its peak resident memory is
its own: ``homl.reduce(file, method="pca")``, which reads the whole table, and
``homl.reduce(file, method="incremental_pca", chunk_rows=...)``, which never holds more than
about two chunks of it. Both keep 5 components; agreement is the absolute correlation of
each chunked component with the whole-table one, row for row (1 = the same up to sign).

    .venv/bin/python bench/reduce_chunks.py [--rows 2000000] [--columns 30] [--chunk-rows 100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from _markdown import markdown_table

#: Runs in a fresh interpreter: reduce the file, then print peak memory, seconds and the embedding's path.
CHILD = """
import json, resource, sys, time
import homl
source, method, chunk_rows, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
start = time.perf_counter()
result = homl.reduce(source, method=method, n_components=5, chunk_rows=int(chunk_rows) or None)
seconds = time.perf_counter() - start
result.embedding.to_parquet(out)
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_table(path: Path, rows: int, columns: int, seed: int = 0) -> float:
    """Write the generated table in pieces (so that this process stays small); its size in MB."""
    rng = np.random.default_rng(seed)
    loadings = rng.normal(size=(5, columns))
    names = [f"x{i}" for i in range(columns)]
    with path.open("w") as stream:
        for start in range(0, rows, 200_000):
            n = min(200_000, rows - start)
            values = rng.normal(size=(n, 5)) @ loadings + 0.1 * rng.normal(size=(n, columns))
            pd.DataFrame(values.round(4), columns=names).to_csv(stream, index=False, header=start == 0)
    return path.stat().st_size / 1e6


def run(source: Path, method: str, chunk_rows: int, out: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", CHILD, str(source), method, str(chunk_rows), str(out)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--columns", type=int, default=30)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "reduce-chunks.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "table.csv"
        size = write_table(source, args.rows, args.columns)
        print(f"table: {args.rows:,} rows x {args.columns} columns, {size:,.0f} MB of CSV", flush=True)
        whole = run(source, "pca", 0, Path(folder) / "whole.parquet")
        print(f"whole table, PCA: {whole}", flush=True)
        chunked = run(source, "incremental_pca", args.chunk_rows, Path(folder) / "chunked.parquet")
        print(f"chunks, incremental PCA: {chunked}", flush=True)
        a = pd.read_parquet(Path(folder) / "whole.parquet").to_numpy()
        b = pd.read_parquet(Path(folder) / "chunked.parquet").to_numpy()
    agreement = [abs(np.corrcoef(a[:, i], b[:, i])[0, 1]) for i in range(a.shape[1])]
    table = pd.DataFrame([
        {"run": "PCA, whole table read", "peak memory MB": whole["peak_mb"], "seconds": whole["seconds"]},
        {"run": f"incremental PCA, chunks of {args.chunk_rows:,} rows", "peak memory MB": chunked["peak_mb"],
         "seconds": chunked["seconds"]},
    ])
    text = (
        "# Incremental PCA over a file read in chunks\n\n"
        f"`.venv/bin/python bench/reduce_chunks.py --rows {args.rows} --columns {args.columns} --chunk-rows "
        f"{args.chunk_rows}`: a generated CSV of {args.rows:,} rows x {args.columns} columns ({size:,.0f} MB), "
        "5 components kept, each run in a fresh process (peak resident memory of that process).\n\n"
        f"{markdown_table(table)}\n\n"
        f"Peak memory, chunked / whole: {chunked['peak_mb'] / whole['peak_mb']:.2f}. Agreement with PCA of the "
        "whole table (absolute correlation of each component, row for row): "
        + ", ".join(f"{v:.4f}" for v in agreement) + "\n"
    )
    print(text)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
