"""A default scikit-learn HistGradientBoosting for bench/peers.py: the baseline any AutoML
tool should beat. Run with the project's .venv/bin/python (see _peer_common).

No search and no budget: the estimator at its defaults, text columns given as pandas
categories (``categorical_features="from_dtype"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from _peer_common import class_proba, proba_of_one, run_peer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor


def _features(x: pd.DataFrame) -> pd.DataFrame:
    x = x.copy()
    for column in x.columns:
        if not pd.api.types.is_numeric_dtype(x[column]):
            x[column] = x[column].astype(str).astype("category")
    return x


class _Model:
    """The estimator with the categories seen in training (test columns are recoded to them)."""

    def __init__(self, estimator: Any, categories: dict[str, pd.Index]):
        self.estimator, self.categories = estimator, categories

    def features(self, x: pd.DataFrame) -> pd.DataFrame:
        x = _features(x)
        for column, categories in self.categories.items():
            x[column] = pd.Categorical(x[column].astype(str), categories=categories)
        return x


def fit(train: pd.DataFrame, target: str, task: str, budget: float, seed: int, workdir: Path) -> _Model:
    x, y = _features(train.drop(columns=[target])), train[target]
    cls = HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    estimator = cls(random_state=seed, categorical_features="from_dtype").fit(x, y)
    categories = {c: x[c].cat.categories for c in x.columns if isinstance(x[c].dtype, pd.CategoricalDtype)}
    return _Model(estimator, categories)


def predict(model: _Model, x: pd.DataFrame, task: str) -> np.ndarray:
    x = model.features(x)
    if task == "regression":
        return model.estimator.predict(x)
    if task == "multiclass":
        return class_proba(model.estimator.predict_proba(x), model.estimator.classes_)
    return proba_of_one(model.estimator.predict_proba(x), model.estimator.classes_)


if __name__ == "__main__":
    run_peer("histgb", sklearn.__version__, fit, predict, lambda model: type(model.estimator).__name__)
