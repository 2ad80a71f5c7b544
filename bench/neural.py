"""homl's Keras MLP: accuracy on digits, and training speed beside a plain PyTorch loop.

1. Accuracy: the default ``MLPClassifier`` on scikit-learn's digits (pixels scaled to 0-1),
   trained on three quarters and scored on the held-out quarter (stratified, seed 0), with
   five seeds of its own, and its fit seconds; then ``homl fit``'s classical winner on the same split for comparison.
2. MNIST and housing (``--tables``): 5-fold cross-validation of the default ``MLPClassifier``
   on the MNIST test split in ``../shared/data`` (10,000 images, pixels scaled to 0-1); then
   ``homl fit --models mlp`` beside ``homl fit`` with its classical families, at the same budget,
   on MNIST and on the book's housing table (their CV and test scores on homl's own split).
3. Speed: samples per second of ``MLPClassifier`` training (two hidden layers of 512 ReLU
   units, Adam, batches of 64, no early stopping) beside a plain PyTorch loop of the same
   architecture, optimiser, batch size and data, in the same run (goal: at least 0.9x).

    .venv/bin/python bench/neural.py [--rows 50000] [--epochs 5] [--out bench/results/neural.md]
    .venv/bin/python bench/neural.py --tables [--budget 180] [--out bench/results/neural-tables.md]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _markdown import markdown_table

os.environ.setdefault("KERAS_BACKEND", "torch")

from homl.models import MLPClassifier, training_device  # noqa: E402

#: Seeds of the default MLP on digits (the spread across seeds is part of the result).
SEEDS = range(5)


def digits_accuracy() -> list[dict]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    import homl

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.25, stratify=y, random_state=0)
    rows = []
    for seed in SEEDS:
        start = time.perf_counter()
        model = MLPClassifier(random_state=seed).fit(X_train, y_train)
        seconds = time.perf_counter() - start
        rows.append({"model": f"homl MLPClassifier(random_state={seed}), defaults",
                     "test accuracy": model.score(X_test, y_test), "fit seconds": seconds,
                     "epochs": f"{model.n_epochs_} (best {model.best_epoch_})"})
    columns = [f"p{i}" for i in range(X.shape[1])]
    train = pd.DataFrame(X_train, columns=columns).assign(label=y_train)
    start = time.perf_counter()
    fitted = homl.fit(train, "label", time_limit=60, metric="accuracy", test_size=0.01)
    seconds = time.perf_counter() - start
    test = pd.DataFrame(X_test, columns=columns)
    accuracy = float(np.mean(fitted.model.predict(test) == y_test))
    rows.append({"model": f"homl fit, 60 s (winner: {fitted.winner})", "test accuracy": accuracy,
                 "fit seconds": seconds, "epochs": "-"})
    return rows


SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def mnist_frame() -> pd.DataFrame:
    """The MNIST test split (idx files, gzipped) as 784 pixel columns scaled to 0-1 and a label."""
    import gzip

    with gzip.open(SHARED / "mnist_test" / "t10k-images-idx3-ubyte.gz") as file:
        images = np.frombuffer(file.read(), dtype=np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(SHARED / "mnist_test" / "t10k-labels-idx1-ubyte.gz") as file:
        labels = np.frombuffer(file.read(), dtype=np.uint8, offset=8)
    return pd.DataFrame(images / 255.0, columns=[f"p{i}" for i in range(784)]).assign(label=labels)


def table_scores(budget: int) -> list[dict]:
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    import homl

    mnist = mnist_frame()
    rows = []
    start = time.perf_counter()
    scores = cross_val_score(MLPClassifier(random_state=0), mnist.drop(columns="label").to_numpy(), mnist["label"],
                             cv=StratifiedKFold(5, shuffle=True, random_state=0))
    rows.append({"table": "MNIST test split", "run": "MLPClassifier defaults, 5-fold CV on all 10,000 rows",
                 "CV": f"accuracy {scores.mean():.4f} ± {scores.std():.4f}", "test": "-",
                 "seconds": time.perf_counter() - start})
    print(rows[-1], flush=True)
    housing = pd.read_csv(SHARED / "housing" / "housing.csv")
    for name, frame, target, metric in (("MNIST test split", mnist, "label", "accuracy"),
                                        ("housing", housing, "median_house_value", "rmse")):
        for models in (["mlp"], None):
            start = time.perf_counter()
            fitted = homl.fit(frame, target, time_limit=budget, models=models, metric=metric, report=False)
            board = fitted.leaderboard.iloc[0]
            rows.append({"table": name, "run": f"homl fit{' --models mlp' if models else ''} at {budget} s "
                                               f"(winner: {fitted.winner})",
                         "CV": f"{fitted.test_score.metric} {board['cv_mean']:,.4g}",
                         "test": f"{fitted.test_score.value:,.4g}", "seconds": time.perf_counter() - start})
            print(rows[-1], flush=True)
    return rows


def torch_loop(X: np.ndarray, y: np.ndarray, epochs: int, batch_size: int, seed: int = 0) -> float:
    """Seconds a plain PyTorch loop takes to train the same network on the same data."""
    import torch

    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 512), torch.nn.ReLU(), torch.nn.Linear(512, 512),
                              torch.nn.ReLU(), torch.nn.Linear(512, int(y.max()) + 1))
    optimiser = torch.optim.Adam(net.parameters(), lr=5e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    inputs, targets = torch.from_numpy(X), torch.from_numpy(y)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(inputs))
        for first in range(0, len(inputs), batch_size):
            batch = order[first:first + batch_size]
            optimiser.zero_grad()
            loss = loss_fn(net(inputs[batch]), targets[batch])
            loss.backward()
            optimiser.step()
    return time.perf_counter() - start


def training_speed(rows: int, epochs: int, batch_size: int = 64) -> list[dict]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 64)).astype(np.float32)
    y = np.argmax(X[:, :10] + 0.5 * rng.normal(size=(rows, 10)), axis=1).astype(np.int64)
    start = time.perf_counter()
    MLPClassifier(epochs=epochs, batch_size=batch_size, early_stopping=False, random_state=0).fit(X, y)
    homl_seconds = time.perf_counter() - start
    plain_seconds = torch_loop(X, y, epochs, batch_size)
    samples = rows * epochs
    return [
        {"training": "homl MLPClassifier (Keras on PyTorch)", "seconds": homl_seconds,
         "samples/s": samples / homl_seconds, "ratio to plain PyTorch": plain_seconds / homl_seconds},
        {"training": "plain PyTorch loop", "seconds": plain_seconds, "samples/s": samples / plain_seconds,
         "ratio to plain PyTorch": 1.0},
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--tables", action="store_true", help="MNIST and housing instead of digits and speed")
    parser.add_argument("--budget", type=int, default=180, help="seconds of each homl fit with --tables")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    import torch

    device, threads = training_device(), torch.get_num_threads()
    if args.tables:
        tables = pd.DataFrame(table_scores(args.budget))
        text = ("# Neural networks on MNIST and housing\n\n"
                f"`.venv/bin/python bench/neural.py --tables --budget {args.budget}`, on {device} ({threads} PyTorch "
                "threads). `homl fit` scores on its own split (5-fold CV on the training part, then the test part).\n\n"
                f"{markdown_table(tables)}\n")
        (args.out or Path(__file__).parent / "results" / "neural-tables.md").write_text(text, encoding="utf-8")
        print(text)
        return
    accuracy = pd.DataFrame(digits_accuracy())
    print(markdown_table(accuracy), flush=True)
    speed = pd.DataFrame(training_speed(args.rows, args.epochs))
    print(markdown_table(speed), flush=True)
    text = (
        "# Neural networks: homl's Keras MLP\n\n"
        f"`.venv/bin/python bench/neural.py --rows {args.rows} --epochs {args.epochs}`, on {device} "
        f"({threads} PyTorch threads).\n\n"
        "## Digits: the held-out quarter (stratified, seed 0), pixels scaled to 0-1\n\n"
        f"{markdown_table(accuracy)}\n\n"
        f"## Training speed: {args.rows:,} rows x 64 columns, 10 classes, {args.epochs} epochs, batches of 64\n\n"
        "Two hidden layers of 512 ReLU units and Adam at 0.0005 (the defaults) in both; homl's time includes building the "
        "Keras model.\n\n"
        f"{markdown_table(speed)}\n"
    )
    (args.out or Path(__file__).parent / "results" / "neural.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
