"""homl's cost over the same scikit-learn work written by hand.

Both sides fit the same pipeline (the one homl builds for a random forest: schema,
preparation with the geographic features, forest) on the California housing data:
5-fold cross-validation, a refit on the training rows, a test prediction, a refit on
all rows, then 20,000 predictions. homl's side is ``homl.fit(..., models=
["random_forest"], tune=False, ensemble=False)``; the hand side calls scikit-learn's
``cross_val_score``, ``fit`` and ``predict`` itself. The ratio is homl's orchestration
cost: reading and checking the table, the baseline, timing probes, the bootstrap
interval of the test score, and checking new data against the schema at predict time.
Ratios are measured in the same run.

    .venv/bin/python bench/overhead.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import homl
from homl.data import example_path


def hand_written(train: pd.DataFrame, test: pd.DataFrame, target: str):
    """The pipeline homl builds for a random forest, driven by plain scikit-learn calls."""
    from sklearn.model_selection import KFold, cross_val_score

    from homl.data import infer_schema
    from homl.models import build_pipeline, get_spec

    X, y = train.drop(columns=target), train[target].to_numpy()
    schema = infer_schema(X)

    def pipeline():
        return build_pipeline(get_spec("random_forest"), "regression", schema, seed=42)

    folds = KFold(5, shuffle=True, random_state=42)
    cross_val_score(pipeline(), X, y, cv=folds, scoring="neg_root_mean_squared_error")
    model = pipeline().fit(X, y)
    model.predict(test.drop(columns=target))
    full = pd.concat([train, test])
    return pipeline().fit(full.drop(columns=target), full[target].to_numpy())


def with_homl(train: pd.DataFrame, test: pd.DataFrame, target: str):
    result = homl.fit(train, target, test=test, models=["random_forest"], tune=False, ensemble=False,
                      time_limit=3600, seed=42)
    return result.tabular


def timed(function, *args) -> tuple[float, object]:
    start = time.perf_counter()
    value = function(*args)
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from sklearn.model_selection import train_test_split

    data = pd.read_csv(example_path("housing"))
    target = "median_house_value"
    train, test = train_test_split(data, test_size=0.2, random_state=42)
    batch = data.drop(columns=target).sample(20_000, replace=True, random_state=0)

    rows = []
    for repeat in range(args.repeats):
        hand_fit, hand_model = timed(hand_written, train, test, target)
        homl_fit, homl_model = timed(with_homl, train, test, target)
        hand_predict, _ = timed(hand_model.predict, batch)
        homl_predict, _ = timed(homl_model.predict, batch)
        rows.append((hand_fit, homl_fit, hand_predict, homl_predict))
        print(f"repeat {repeat + 1}: fit {hand_fit:.1f} s by hand, {homl_fit:.1f} s homl; "
              f"predict {hand_predict:.3f} s by hand, {homl_predict:.3f} s homl", flush=True)
    median = np.median(np.array(rows), axis=0)
    table = pd.DataFrame([
        {"step": "fit (CV + refits)", "by hand s": median[0], "homl s": median[1], "homl / hand": median[1] / median[0]},
        {"step": "predict 20,000 rows", "by hand s": median[2], "homl s": median[3], "homl / hand": median[3] / median[2]},
    ])
    print()
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
