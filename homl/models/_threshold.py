"""A decision threshold on a binary classifier: ``predict`` says ``classes_[1]`` once its probability reaches it.

A binary model predicts the class whose probability passes 0.5. For accuracy, balanced
accuracy or F1 on skewed classes another threshold often does better (the select layer
chooses it on out-of-fold probabilities); :func:`with_threshold` gives a model that
threshold without touching its probabilities.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import Pipeline
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from homl._estimator import fitting_around


class DecisionThreshold(FixedThresholdClassifier):
    """scikit-learn's :class:`~sklearn.model_selection.FixedThresholdClassifier`, fitted the homl way.

    ``predict`` gives ``classes_[1]`` where ``predict_proba(X)[:, 1] >= threshold``, else
    ``classes_[0]``; ``predict_proba`` is the estimator's own. An estimator given fitted is
    used as it is until ``fit`` is called. Unlike scikit-learn's, ``fit`` hands its extra
    arguments (the ``groups`` an early-stopping booster holds out) straight to the estimator,
    as homl's other wrappers do, since homl does not turn on metadata routing.

    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = make_classification(200, random_state=0)
    >>> model = DecisionThreshold(LogisticRegression(), threshold=0.2).fit(X, y)
    >>> bool(((model.predict_proba(X)[:, 1] >= 0.2) == (model.predict(X) == 1)).all())
    True
    """

    def __init__(self, estimator: Any = None, *, threshold: float = 0.5, pos_label: Any = None,
                 response_method: str = "predict_proba"):
        super().__init__(estimator, threshold=threshold, pos_label=pos_label, response_method=response_method)

    @fitting_around
    def fit(self, X: Any, y: Any, **fit_params: Any) -> DecisionThreshold:
        kind = type_of_target(y, input_name="y")
        if kind != "binary":
            raise ValueError(f"DecisionThreshold needs a target with two classes; y is {kind}")
        self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        for name in ("n_features_in_", "feature_names_in_"):
            if hasattr(self.estimator_, name):
                setattr(self, name, getattr(self.estimator_, name))
        return self

    def __sklearn_is_fitted__(self) -> bool:
        """Fitted once ``fit`` ran, or from the start when the estimator came fitted."""
        if hasattr(self, "estimator_"):
            return True
        try:
            check_is_fitted(self.estimator)
        except NotFittedError:
            return False
        return True


def with_threshold(model: Any, threshold: float) -> Any:
    """``model`` predicting ``classes_[1]`` where its probability of that class is at least ``threshold``.

    ``predict_proba`` is unchanged. A pipeline keeps its steps: only its last one is wrapped,
    so ``model[:-1]`` still prepares the rows and ``model[-1].estimator`` is the classifier.
    A fitted model stays fitted (nothing is refitted); an unfitted one fits as before, groups
    included. ``model`` itself is left as it was.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a probability between 0 and 1, got {threshold!r}")
    classes = getattr(model, "classes_", None) if _is_fitted(model) else None
    if classes is not None and len(classes) != 2:
        raise ValueError(f"a decision threshold needs a binary classifier; the model has classes {list(classes)}")
    if isinstance(model, Pipeline):
        name, last = model.steps[-1]
        return Pipeline([*model.steps[:-1], (name, DecisionThreshold(last, threshold=threshold))],
                        memory=model.memory, verbose=model.verbose)
    return DecisionThreshold(model, threshold=threshold)


def labels_from_proba(model: Any, proba: np.ndarray) -> np.ndarray:
    """The labels ``model.predict`` gives rows whose probabilities are ``proba``, without predicting again:
    its decision threshold where it has one, else the most probable class."""
    last = model.steps[-1][1] if isinstance(model, Pipeline) else model
    classes = np.asarray(model.classes_)
    if isinstance(last, DecisionThreshold):
        return np.where(proba[:, 1] >= last.threshold, classes[1], classes[0])
    return classes[np.argmax(proba, axis=1)]


def _is_fitted(model: Any) -> bool:
    try:
        check_is_fitted(model)
    except NotFittedError:
        return False
    return True
