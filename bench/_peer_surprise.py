"""scikit-surprise runner for bench/recommend.py; run with bench/.venvs/surprise/bin/python.

Reads a training and a test file of ratings (CSV: user, item, rating), fits ``SVD()`` and
``KNNBaseline()`` with their defaults on the training ratings (the scale given), predicts every
test pair and writes JSON:

    {"tool", "version", "models": {name: {"predictions": [...], "fit_s", "predict_s"}}}

Only the standard library, pandas and surprise are used here (this runs in the peer's venv);
bench/recommend.py scores the predictions.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
import surprise
from surprise import SVD, Dataset, KNNBaseline, Reader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train", type=Path)
    parser.add_argument("test", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--scale", type=float, nargs=2, default=(0.5, 5.0))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    train = pd.read_csv(args.train, dtype={"user": str, "item": str})
    test = pd.read_csv(args.test, dtype={"user": str, "item": str})
    data = Dataset.load_from_df(train[["user", "item", "rating"]], Reader(rating_scale=tuple(args.scale)))
    trainset = data.build_full_trainset()
    results = {}
    for name, model in (("SVD", SVD(random_state=args.seed)), ("KNNBaseline", KNNBaseline(verbose=False))):
        started = time.perf_counter()
        model.fit(trainset)
        fitted = time.perf_counter()
        predictions = [model.predict(u, i).est for u, i in zip(test["user"], test["item"])]
        results[name] = {"predictions": predictions, "fit_s": fitted - started,
                         "predict_s": time.perf_counter() - fitted}
    args.output.write_text(json.dumps({"tool": "surprise", "version": surprise.__version__, "models": results}))


if __name__ == "__main__":
    main()
