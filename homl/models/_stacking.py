"""A two-layer stack: a second model learns from the table and the first layer's predictions.

The first layer's members are each fitted once per fold and predict the rows of the fold
they did not see; the second layer learns from the table's own columns beside those
out-of-fold predictions (AutoGluon's multi-layer stack, with the original features passed
through). To predict, each member is fitted once on every row.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_y, check_consistent_length, check_is_fitted

from homl._estimator import Estimator, fitting_around
from homl.data import SplitStrategy

from ._calls import fit_pipeline, predict_output
from ._wrappers import _LooksLikeInner, _take

#: Names of the columns the first layer's predictions are given to the second layer as.
STACK_PREFIX = "layer1:"
#: Probabilities are clipped this far from 0 and 1 before their log-odds are taken.
_EPSILON = 1e-6


def stack_columns(names: list[str], classes: np.ndarray | None = None) -> list[str]:
    """The second layer's new columns for members ``names``: one prediction per member for
    regression, the log-odds of the second class for a binary task, of every class otherwise."""
    if classes is None:
        return [f"{STACK_PREFIX}{name}" for name in names]
    labels = [classes[1]] if len(classes) == 2 else list(classes)
    return [f"{STACK_PREFIX}{name}:{label}" for name in names for label in labels]


def stack_features(outputs: list[np.ndarray], classes: np.ndarray | None = None) -> np.ndarray:
    """The members' ``outputs`` (values, or probabilities in ``classes`` order) as the second
    layer's columns, in :func:`stack_columns` order: log-odds for probabilities."""
    if classes is None:
        return np.column_stack([np.asarray(o, dtype=float) for o in outputs])
    columns = []
    for output in outputs:
        p = np.clip(np.asarray(output, dtype=float), _EPSILON, 1 - _EPSILON)
        p = p[:, 1:] if len(classes) == 2 else p
        columns.append(np.log(p / (1 - p)))
    return np.hstack(columns)


def with_stack_features(X: pd.DataFrame, names: list[str], outputs: list[np.ndarray],
                        classes: np.ndarray | None = None) -> pd.DataFrame:
    """``X`` with the members' predictions appended as the second layer's columns."""
    extra = pd.DataFrame(stack_features(outputs, classes), columns=stack_columns(names, classes), index=X.index)
    if not all(isinstance(c, str) for c in X.columns):  # a table of numbered columns: names all of one kind
        X = X.set_axis([str(c) for c in X.columns], axis=1)
    return pd.concat([X, extra], axis=1)


class OutOfFold(BaseEstimator):
    """A first-layer member whose out-of-fold predictions on the fit's rows are known already
    (values, or probabilities in the order of the classes), from an earlier cross-validation:
    the stack fits ``estimator`` once, on every row, and gives the second layer ``oof``."""

    def __init__(self, estimator: Any = None, oof: np.ndarray | None = None):
        self.estimator = estimator
        self.oof = oof


class LayeredStack(_LooksLikeInner, Estimator):
    """Two layers: ``estimators`` (``(name, estimator)`` pairs), then ``final_estimator`` on the
    table's columns plus their out-of-fold predictions.

    As scikit-learn's ``StackingRegressor`` with ``passthrough=True`` does, each member's
    out-of-fold predictions come from ``n_folds`` fits drawn the ``holdout`` way (``"random"``
    rows, stratified for classifiers, or whole ``"group"``s given to ``fit`` as ``groups``),
    and the member is then fitted on every row to predict. Unlike it, the table reaches the
    second layer as a table (its own preparation reads the columns by name, categories
    included), and a member given as :class:`OutOfFold` brings its out-of-fold predictions:
    it is fitted once. Classifiers pass the log-odds of their probabilities on.
    """

    _parameter_constraints = {
        "estimators": [list],
        "final_estimator": [HasMethods(["fit", "predict"])],
        "n_folds": [Interval(Integral, 2, None, closed="left")],
        "holdout": [StrOptions({"random", "group"})],
        "random_state": ["random_state"],
    }
    _keep_tables = True
    _input_check = {"dtype": None, "ensure_all_finite": False}
    _INNER = "final_estimator"  # a regressor or a classifier as its second layer is; it takes any table
    _BORROWED_TAGS = ("estimator_type", "classifier_tags", "regressor_tags")

    def __init__(self, estimators: list[tuple[str, Any]] | None = None, final_estimator: Any = None,
                 n_folds: int = 5, holdout: str = "random", random_state: int | None = 0):
        self.estimators = estimators
        self.final_estimator = final_estimator
        self.n_folds = n_folds
        self.holdout = holdout
        self.random_state = random_state

    @fitting_around
    def fit(self, X: Any, y: Any, groups: Any = None) -> LayeredStack:
        X = self._as_table(self._check_input(X, reset=True))
        y = _check_y(y, estimator=self)
        check_consistent_length(X, y)
        classifier = is_classifier(self.final_estimator)
        if classifier:
            check_classification_targets(y)
        if not self.estimators:
            raise ValueError("LayeredStack needs at least one first-layer estimator")
        if len(y) < 2:
            raise ValueError(f"LayeredStack draws folds from at least 2 rows; got n_samples = {len(y)}")
        classes = np.unique(y) if classifier else None
        groups = None if groups is None else np.asarray(groups)
        splits = None
        self.names_ = [name for name, _ in self.estimators]
        self.members_, outputs = [], []
        for name, member in self.estimators:
            if isinstance(member, OutOfFold):
                if member.oof is None or len(member.oof) != len(y):
                    given = 0 if member.oof is None else len(member.oof)
                    raise ValueError(f"the out-of-fold predictions given for {name!r} cover {given} rows, "
                                     f"not the {len(y)} given to fit")
                oof, member = np.asarray(member.oof, dtype=float), member.estimator
            else:
                splits = splits if splits is not None else self._splits(y, groups, classifier)
                oof = self._out_of_fold(member, X, y, groups, splits, classes)
            self.members_.append(fit_pipeline(clone(member), X, y, groups=groups))
            outputs.append(oof)
        self.final_estimator_ = clone(self.final_estimator).fit(with_stack_features(X, self.names_, outputs, classes), y)
        if classifier:
            self.classes_ = classes
        return self

    def forget_given_predictions(self) -> LayeredStack:
        """Replace each :class:`OutOfFold` member by its estimator, the fitted models kept: a
        saved model then carries no number per training row, and a refit draws folds."""
        self.estimators = [(name, m.estimator if isinstance(m, OutOfFold) else m) for name, m in self.estimators]
        return self

    def _splits(self, y: np.ndarray, groups: np.ndarray | None, classifier: bool) -> list[tuple[np.ndarray, np.ndarray]]:
        kind = self.holdout if groups is not None else "random"
        seed = self.random_state if isinstance(self.random_state, Integral) else 0
        strategy = SplitStrategy(kind, n_folds=min(self.n_folds, len(y)), seed=int(seed))
        return strategy.folds(len(y), strata=y if classifier else None, groups=groups)

    def _out_of_fold(self, member: Any, X: pd.DataFrame, y: np.ndarray, groups: np.ndarray | None,
                     splits: list[tuple[np.ndarray, np.ndarray]], classes: np.ndarray | None) -> np.ndarray:
        oof = np.zeros(len(y) if classes is None else (len(y), len(classes)))
        for train, valid in splits:
            part = None if groups is None else groups[train]
            oof[valid] = predict_output(fit_pipeline(clone(member), _take(X, train), y[train], groups=part),
                                        _take(X, valid), classes)
        return oof

    def first_layer_output(self, X: Any) -> list[np.ndarray]:
        """Each member's prediction for ``X``: values, or probabilities in ``classes_`` order."""
        check_is_fitted(self, "members_")
        X = self._as_table(self._check_input(X, reset=False))
        return [predict_output(model, X, getattr(self, "classes_", None)) for model in self.members_]

    def _second_layer_input(self, X: Any) -> pd.DataFrame:
        outputs = self.first_layer_output(X)
        return with_stack_features(self._as_table(X), self.names_, outputs, getattr(self, "classes_", None))

    def predict(self, X: Any) -> np.ndarray:
        second = self._second_layer_input(X)
        return self.final_estimator_.predict(second)

    @available_if(lambda self: hasattr(self.final_estimator, "predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        second = self._second_layer_input(X)
        return self.final_estimator_.predict_proba(second)

    def score(self, X: Any, y: Any) -> float:
        from sklearn.metrics import accuracy_score, r2_score

        scorer = accuracy_score if hasattr(self, "classes_") else r2_score
        return float(scorer(y, self.predict(X)))
