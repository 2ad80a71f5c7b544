"""Bagging over folds: k copies of a model, each fitted without one fold of the rows, averaged.

Cross-validation fits a model k times on k-1 folds; averaging such fold models predicts
better than one model fitted on every row more often than not (it lowers their variance,
as AutoGluon's bagged models do). :func:`bagged` gives a pipeline's model that form, and
:func:`fold_ensemble` makes one of the fold models cross-validation already fitted.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from homl.data import SplitStrategy

from ._wrappers import _take, _Wrapper


class FoldBagged(_Wrapper):
    """``n_folds`` clones of ``estimator``, each fitted on the rows outside one fold; predictions averaged.

    Folds are drawn the ``holdout`` way (``"random"`` rows, stratified for classifiers, or
    whole ``"group"``s given to ``fit`` as ``groups``; random rows without them). Each clone
    is given the groups of its own rows when it takes them (an early-stopping booster).
    Regressors average their predictions, classifiers their probabilities.
    """

    _parameter_constraints = {
        **_Wrapper._parameter_constraints,
        "n_folds": [Interval(Integral, 2, None, closed="left")],
        "holdout": [StrOptions({"random", "group"})],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator: Any = None, n_folds: int = 5, holdout: str = "random",
                 random_state: int | None = 0):
        self.estimator = estimator
        self.n_folds = n_folds
        self.holdout = holdout
        self.random_state = random_state

    def _fit(self, X: Any, y: np.ndarray, groups: Any = None, **fit_params: Any) -> None:
        classifier = is_classifier(self.estimator)
        kind = self.holdout if groups is not None else "random"
        seed = self.random_state if isinstance(self.random_state, Integral) else 0
        strategy = SplitStrategy(kind, n_folds=min(self.n_folds, len(y)), seed=int(seed))
        groups = None if groups is None else np.asarray(groups)
        splits = strategy.folds(len(y), strata=y if classifier else None, groups=groups)
        self.estimators_ = []
        for train, _ in splits:
            model = clone(self.estimator)
            extra = {"groups": groups[train]} if groups is not None and takes_groups(model) else {}
            model.fit(_take(X, train), y[train], **fit_params, **extra)
            self.estimators_.append(model)
        self.estimator_ = self.estimators_[0]
        if classifier:
            self.classes_ = np.unique(y)

    def predict(self, X: Any) -> np.ndarray:
        if hasattr(self, "classes_"):
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        X = self._check_input(X, reset=False)
        return np.mean([np.asarray(m.predict(X), dtype=float) for m in self.estimators_], axis=0)

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "classes_")
        X = self._check_input(X, reset=False)
        total = np.zeros((X.shape[0], len(self.classes_)))
        for model in self.estimators_:  # a fold may have missed a rare class: align by label
            columns = np.searchsorted(self.classes_, model.classes_)
            total[:, columns] += model.predict_proba(X)
        return total / len(self.estimators_)

    def score(self, X: Any, y: Any) -> float:
        from sklearn.metrics import accuracy_score, r2_score

        scorer = accuracy_score if hasattr(self, "classes_") else r2_score
        return float(scorer(y, self.predict(X)))

    @property
    def feature_importances_(self) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        return np.mean([m.feature_importances_ for m in self.estimators_], axis=0)


def takes_groups(model: Any) -> bool:
    """Whether ``model`` (a pipeline, a homl wrapper, a target transformer) hands ``groups`` to an early-stopping booster."""
    from sklearn.compose import TransformedTargetRegressor

    from ._stacking import LayeredStack
    from ._threshold import DecisionThreshold
    from ._wrappers import ClippedOutput, EarlyStopping, LabelEncoded, RowCap

    if isinstance(model, Pipeline):
        return takes_groups(model.steps[-1][1])
    if isinstance(model, (EarlyStopping, FoldBagged, LayeredStack)):
        return True
    if isinstance(model, (LabelEncoded, RowCap, DecisionThreshold, ClippedOutput)):
        return takes_groups(model.estimator)
    if isinstance(model, TransformedTargetRegressor):
        return takes_groups(model.regressor)
    return False


def bagged(pipeline: Pipeline, n_folds: int = 5, holdout: str = "random", random_state: int = 0) -> Pipeline:
    """``pipeline`` with its last step bagged over ``n_folds`` folds (the preparation is fitted once)."""
    name, model = pipeline.steps[-1]
    if isinstance(model, FoldBagged):
        return pipeline
    bag = FoldBagged(model, n_folds=n_folds, holdout=holdout, random_state=random_state)
    return Pipeline([*pipeline.steps[:-1], (name, bag)])


def fold_ensemble(members: list[tuple[list[Any], float]], classes: np.ndarray | None = None) -> Any:
    """One model averaging fitted fold models: each member's (its fold models, its weight).

    Cross-validation fitted them already, each on the rows outside one fold, so the bag costs
    no fit: they are frozen (:class:`~sklearn.frozen.FrozenEstimator`) inside a soft
    ``Voting*``, whose ``fit`` only records the ``classes`` (give the ``X, y`` they were
    fitted on). Each fold model weighs its member's weight over its number of folds.
    Classifiers must each know every class (a fold that missed one cannot join).
    """
    from sklearn.ensemble import VotingClassifier, VotingRegressor
    from sklearn.frozen import FrozenEstimator

    estimators, weights = [], []
    for i, (models, weight) in enumerate(members):
        for k, model in enumerate(models):
            if classes is not None and list(model.classes_) != list(classes):
                raise ValueError(f"fold model {k} of member {i} knows classes {list(model.classes_)}, "
                                 f"not all of {list(classes)}")
            estimators.append((f"m{i}_fold{k}", FrozenEstimator(model)))
            weights.append(float(weight) / len(models))
    if classes is None:
        return VotingRegressor(estimators, weights=weights)
    return VotingClassifier(estimators, voting="soft", weights=weights)
