"""The book's chapter 9 semi-supervised protocol on digits: 50 labels, chosen and propagated by clustering.

Digits rows 0-1,399 train, rows 1,400-1,796 (397) test; a ``LogisticRegression(max_iter=10_000)``
is trained on each set of labels and scored on the test rows. The 50 representative rows are
the rows closest to the centres of a k-means with k=50 (the book labels them by hand; here they
take their true labels). "book seed" uses ``random_state=42`` as the book does; the last column
repeats each k-means step over seeds 0-9 (mean, min-max), since the clusters, and so the rows
labelled, change with the seed and with the scikit-learn version.

    .venv/bin/python bench/semi_supervised.py [--out bench/results/semi-supervised.md]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from _markdown import markdown_table

from homl.models import ClusterLabelClassifier, propagate_labels, representative_rows

SEEDS = range(10)
BOOK_SEED = 42
N_LABELS = 50
#: The book's test accuracy for each set of labels (Géron, 3rd edition, chapter 9).
BOOK = {"all 1,400 labels": "0.907", "first 50 rows": "0.748", "50 representative rows": "0.849",
        "propagated to whole clusters": "0.894", "propagated to the 99 % closest": "0.909"}


def _model():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=10_000)


def _trained(X, labels, X_test, y_test) -> float:
    """Test accuracy of a logistic regression on the labelled rows (-1 or None: unlabelled)."""
    kept = np.asarray([v is not None and v != -1 for v in labels])
    return float(_model().fit(X[kept], labels[kept].astype(int)).score(X_test, y_test))


def label_sets(X, y, seed: int) -> dict[str, np.ndarray]:
    """Each set's labels for the training rows (-1: unlabelled), k-means seeded with ``seed``."""
    everything, first = y.copy(), np.full(len(y), -1)
    first[:N_LABELS] = y[:N_LABELS]
    rows = representative_rows(X, N_LABELS, random_state=seed)
    representative = np.full(len(y), -1)
    representative[rows] = y[rows]
    return {
        "all 1,400 labels": everything,
        "first 50 rows": first,
        "50 representative rows": representative,
        "propagated to whole clusters": propagate_labels(X, rows, y[rows], random_state=seed),
        "propagated to the 99 % closest": propagate_labels(X, rows, y[rows], share=0.99, random_state=seed),
        "propagated to the 20 % closest": propagate_labels(X, rows, y[rows], share=0.2, random_state=seed),
        "LabelSpreading (knn) from the 50": propagate_labels(X, rows, y[rows], method="spreading"),
        "LabelPropagation (knn) from the 50": propagate_labels(X, rows, y[rows], method="propagation"),
    }


def row(name: str, labels: np.ndarray, y: np.ndarray, score: Callable[[np.ndarray], float],
        spread: list[float]) -> dict[str, str]:
    kept = labels != -1
    return {"labels": name, "rows trained on": f"{kept.sum():,}",
            "their labels right": f"{(labels[kept] == y[kept]).mean():.3f}", "test accuracy": f"{score(labels):.3f}",
            f"seeds {SEEDS[0]}-{SEEDS[-1]}: mean (min-max)": f"{np.mean(spread):.3f} ({min(spread):.3f}-{max(spread):.3f})",
            "book": BOOK.get(name, "-")}


def main() -> None:
    from sklearn.datasets import load_digits

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "semi-supervised.md")
    args = parser.parse_args()
    start = time.perf_counter()
    X, y = load_digits(return_X_y=True)
    X_train, y_train, X_test, y_test = X[:1400], y[:1400], X[1400:], y[1400:]

    def score(labels: np.ndarray) -> float:
        return _trained(X_train, labels, X_test, y_test)

    by_seed = {seed: {name: score(labels) for name, labels in label_sets(X_train, y_train, seed).items()}
               for seed in SEEDS}
    sets = label_sets(X_train, y_train, BOOK_SEED)
    rows = [row(name, labels, y_train, score, [by_seed[s][name] for s in SEEDS]) for name, labels in sets.items()]
    model = ClusterLabelClassifier(_model(), n_labels=N_LABELS, share=0.99, random_state=BOOK_SEED)
    model.fit(X_train, y_train)
    same = np.array_equal(model.propagated_, sets["propagated to the 99 % closest"])
    text = ("# Semi-supervised labelling on digits (the book's chapter 9)\n\n"
            "Logistic regression (max_iter=10,000) trained on 1,400 digits rows with the labels each line "
            "gives, tested on the other 397. Representative rows: the row closest to each centre of a "
            f"k-means with k=50 (seed {BOOK_SEED}, the book's); propagated labels spread from those 50 with "
            "`homl.models.propagate_labels`. The last column repeats the k-means steps over ten seeds.\n\n"
            f"{markdown_table(pd.DataFrame(rows))}\n\n"
            f"`ClusterLabelClassifier(n_labels=50, share=0.99)` fitted on all 1,400 labels: test accuracy "
            f"{model.score(X_test, y_test):.3f}, trained on the same rows as the 99 % line: {same}.\n\n"
            f"Run time: {time.perf_counter() - start:.0f} s.\n")
    print(text)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
