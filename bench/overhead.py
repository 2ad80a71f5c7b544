"""homl's cost over the same scikit-learn work written by hand.

Both sides do the same work on the California housing data: infer and prepare the
columns, 5-fold cross-validate one random forest, refit it on the training rows, score
the test rows, refit on all rows, then predict 20,000 rows. homl's side is
``homl.fit(..., models=["random_forest"], tune=False, ensemble=False)``; the hand side
is the book's ColumnTransformer pipeline. Ratios are measured in the same run.

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
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    def pipeline():
        prep = make_column_transformer(
            (SimpleImputer(strategy="median", add_indicator=True), make_column_selector(dtype_include=np.number)),
            (make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
             make_column_selector(dtype_exclude=np.number)),
        )
        forest = RandomForestRegressor(n_estimators=100, max_features=0.5, n_jobs=-1, random_state=42)
        return make_pipeline(prep, forest)

    X, y = train.drop(columns=target), train[target]
    cross_val_score(pipeline(), X, y, cv=5, scoring="neg_root_mean_squared_error")
    model = pipeline().fit(X, y)
    model.predict(test.drop(columns=target))
    full = pd.concat([train, test])
    return pipeline().fit(full.drop(columns=target), full[target])


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
