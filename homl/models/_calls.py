"""Fitting and predicting any homl model alike: each row's group handed to the early-stopping
booster inside, class probabilities in one fixed order."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._bagging import takes_groups


def fit_pipeline(model: Any, X: Any, y: Any, *, groups: np.ndarray | None = None) -> Any:
    """``model.fit(X, y)``, with each row's group handed to the early-stopping booster inside, if any.

    Only the wrappers that can pass them on get them: a plain scikit-learn model refuses
    a ``groups`` argument. An ensemble (``Voting*``) refuses extra fit arguments without
    metadata routing, so its boosters hold out random rows: it is only built for the final
    refits, after selection, so those rows cannot leak into any score that chose a model.
    """
    if groups is None or not takes_groups(model):
        return model.fit(X, y)
    if hasattr(model, "steps"):
        return model.fit(X, y, **{f"{model.steps[-1][0]}__groups": groups})
    return model.fit(X, y, groups=groups)


def predict_output(model: Any, X: Any, classes: np.ndarray | None) -> np.ndarray:
    """Values for regression; class probabilities in ``classes`` order for classification."""
    if classes is None:
        return np.asarray(model.predict(X), dtype=float)
    proba = np.asarray(model.predict_proba(X), dtype=float)
    model_classes = list(getattr(model, "classes_", classes))
    if list(model_classes) == list(classes):
        return proba
    aligned = np.zeros((len(proba), len(classes)))
    for j, label in enumerate(model_classes):
        aligned[:, int(np.searchsorted(classes, label))] = proba[:, j]
    return aligned
