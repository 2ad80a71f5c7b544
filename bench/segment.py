"""homl's segmentation beside k-means told the true number of groups, on tables with known groups.

For each table: the adjusted Rand index (1 = the known groups exactly, 0 = chance) of
``homl.segment``'s own choice of method and k, and of scikit-learn's ``KMeans`` with the true k
on the same standardised columns; then mini-batch k-means time on a large generated table,
homl's ``Segmenter`` (k given) beside scikit-learn's ``MiniBatchKMeans`` alone.

    .venv/bin/python bench/segment.py [--large-rows 1000000] [--out bench/results/segment.md]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _markdown import markdown_table

import homl

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def tables() -> dict[str, tuple[pd.DataFrame, np.ndarray]]:
    from sklearn.datasets import load_digits, load_iris, load_wine

    sets = {}
    for name, load in (("iris", load_iris), ("wine", load_wine), ("digits", load_digits)):
        bunch = load(as_frame=True)
        sets[name] = (bunch.data, bunch.target.to_numpy())
    wholesale = DATA / "wholesale_customers" / "wholesale_customers.csv"
    if wholesale.exists():
        frame = pd.read_csv(wholesale)
        groups = frame.pop("Channel").to_numpy()
        sets["wholesale (Channel)"] = (frame.drop(columns=["Region"]), groups)
    return sets


def compare(name: str, X: pd.DataFrame, truth: np.ndarray) -> dict:
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import StandardScaler

    start = time.perf_counter()
    result = homl.segment(X)
    seconds = time.perf_counter() - start
    k = len(np.unique(truth))
    kmeans = KMeans(k, n_init=10, random_state=42).fit_predict(StandardScaler().fit_transform(X))
    return {"set": name, "rows": len(X), "true k": k, "homl method": result.model.metadata["method"],
            "homl k": result.n_clusters, "homl ARI": adjusted_rand_score(truth, result.labels),
            "k-means (true k) ARI": adjusted_rand_score(truth, kmeans), "homl s": seconds}


def large(rows: int) -> dict:
    from sklearn.cluster import MiniBatchKMeans

    from homl.models import Segmenter

    X = np.random.default_rng(0).normal(size=(rows, 10)) + np.repeat(np.eye(10)[:5] * 6, rows // 5, axis=0)
    start = time.perf_counter()
    MiniBatchKMeans(5, n_init=3, batch_size=4096, random_state=0).fit(X)
    plain = time.perf_counter() - start
    start = time.perf_counter()
    Segmenter(method="kmeans", n_clusters=5).fit(X)
    ours = time.perf_counter() - start
    return {"rows": rows, "MiniBatchKMeans s": plain, "Segmenter s": ours, "ratio": ours / plain}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large-rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "segment.md")
    args = parser.parse_args()
    board = pd.DataFrame([compare(name, X, truth) for name, (X, truth) in tables().items()])
    timing = pd.DataFrame([large(args.large_rows)])
    text = ("# Segmentation against known groups\n\n"
            "Adjusted Rand index of homl's own choice (method and k) and of k-means given the true k.\n\n"
            f"{markdown_table(board)}\n\n"
            f"Mini-batch k-means on {args.large_rows:,} x 10 generated rows (5 groups):\n\n"
            f"{markdown_table(timing)}\n")
    print(text)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
