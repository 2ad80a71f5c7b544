"""Small meta-estimators the model zoo wraps around scikit-learn models."""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import MetaEstimatorMixin, clone, is_classifier
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_y, check_consistent_length, check_is_fitted

from homl._estimator import Estimator, fitting_around
from homl.data import SplitStrategy

from ._catboost import CatBoostModel
from ._stopping import CatBoostStop, lightgbm_callback, xgboost_callback


def _inner_has(method: str) -> Any:
    """Whether the wrapped model (the fitted one once there is one) has ``method``."""
    return lambda self: hasattr(getattr(self, "estimator_", self.estimator), method)


class _LooksLikeInner:
    """Takes the estimator type and the tags ``_BORROWED_TAGS`` of the model in the parameter
    named ``_INNER``: a wrapper is a classifier when what it wraps is one."""

    _INNER = "estimator"
    _BORROWED_TAGS = ("estimator_type", "classifier_tags", "regressor_tags", "input_tags")

    @property
    def _estimator_type(self) -> str | None:
        return getattr(getattr(self, self._INNER), "_estimator_type", None)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = getattr(self, self._INNER).__sklearn_tags__()
        for name in self._BORROWED_TAGS:
            setattr(tags, name, getattr(inner, name))
        return tags


class _Wrapper(MetaEstimatorMixin, _LooksLikeInner, Estimator):
    """A meta-estimator that looks like the model it wraps: tags, probabilities, importances.

    ``fit`` validates the parameters and the rows, clones ``estimator`` into ``estimator_``
    and calls ``_fit``, which ends with ``_fitted``. A DataFrame is passed on as given (its
    category columns and names matter to the model), anything else as an array or a CSR/CSC
    matrix; the width and column names are recorded and held to at predict time. The values
    are the model's to check.
    """

    _parameter_constraints = {"estimator": [HasMethods(["fit", "predict"])]}
    _input_check = {"accept_sparse": ("csr", "csc"), "dtype": None, "ensure_all_finite": False}
    _keep_tables = True
    estimator: Any

    @fitting_around
    def fit(self, X: Any, y: Any, **fit_params: Any) -> _Wrapper:
        X = self._check_input(X, reset=True)
        y = _check_y(y, estimator=self)
        check_consistent_length(X, y)
        self.estimator_ = clone(self.estimator)
        self._fit(X, y, **fit_params)
        return self

    def _fit(self, X: Any, y: np.ndarray, **fit_params: Any) -> None:
        raise NotImplementedError

    def predict(self, X: Any) -> np.ndarray:
        X = self._check_input(X, reset=False)
        return self.estimator_.predict(X)

    @available_if(_inner_has("predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        X = self._check_input(X, reset=False)
        return self.estimator_.predict_proba(X)

    def score(self, X: Any, y: Any) -> float:
        X = self._check_input(X, reset=False)
        return self.estimator_.score(X, y)

    @property
    def feature_importances_(self) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return self.estimator_.feature_importances_

    def _fitted(self) -> None:
        """Record the classes of a classifier (``fit`` recorded the input's width and names)."""
        if hasattr(self.estimator_, "classes_"):
            self.classes_ = self.estimator_.classes_


def _take(X: Any, rows: np.ndarray) -> Any:
    """Rows of a matrix or a DataFrame, by position."""
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


def _split_rows(estimator: Any, y: np.ndarray, second_size: int, random_state: int | None, *,
                holdout: str = "random", groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row positions split in two (sorted), the second of about ``second_size`` rows.

    Drawn the ``holdout`` way of :class:`homl.data.SplitStrategy`: the latest rows, whole
    ``groups``, or random rows, stratified for classifiers where every class can be split.
    """
    strategy = SplitStrategy(holdout, seed=random_state)
    return strategy.holdout(len(y), second_size, strata=y if is_classifier(estimator) else None, groups=groups)


class RowCap(_Wrapper):
    """Fit ``estimator`` on at most ``max_rows`` random rows (stratified for classifiers).

    Kernel SVMs and k-NN grow worse than linearly with the rows; on a large table a
    sample of a few thousand rows gives most of their accuracy in a fraction of the time.
    """

    _parameter_constraints = {
        **_Wrapper._parameter_constraints,
        "max_rows": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator: Any = None, max_rows: int = 5000, random_state: int | None = 0):
        self.estimator = estimator
        self.max_rows = max_rows
        self.random_state = random_state

    def _fit(self, X: Any, y: np.ndarray, **fit_params: Any) -> None:
        if len(y) > self.max_rows:
            # Stratified only where both parts can hold every class: a few rows over the cap cannot.
            stratify = is_classifier(self.estimator) and min(self.max_rows, len(y) - self.max_rows) >= len(np.unique(y))
            keep = SplitStrategy(seed=self.random_state).sample(len(y), self.max_rows, strata=y if stratify else None)
            X, y = _take(X, keep), y[keep]
            if fit_params.get("groups") is not None:  # for an early-stopping model inside
                fit_params = {**fit_params, "groups": np.asarray(fit_params["groups"])[keep]}
        self.estimator_.fit(X, y, **fit_params)
        self._fitted()


class ClippedOutput(_Wrapper):
    """A regressor whose predictions stay within the range of the targets it was fitted on.

    A linear or kernel model meeting a row far outside the training rows (an extreme size)
    predicts far outside anything it has seen; a tree cannot. Clipping to the training
    targets' range keeps such a model, and every ensemble it joins, within sight of them.
    """

    def __init__(self, estimator: Any = None):
        self.estimator = estimator

    def _fit(self, X: Any, y: np.ndarray, **fit_params: Any) -> None:
        self.estimator_.fit(X, y, **fit_params)
        values = np.asarray(y, dtype=float)
        self.target_range_ = np.array([np.min(values), np.max(values)])
        self._fitted()

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "target_range_")
        return np.clip(super().predict(X), *self.target_range_)


class LabelEncoded(_Wrapper):
    """Give a classifier the labels 0..k-1 it insists on (XGBoost), and map them back.

    ``classes_`` holds the original labels, so predictions and probabilities line up with
    every other classifier of the zoo.
    """

    def __init__(self, estimator: Any = None):
        self.estimator = estimator

    @property
    def _estimator_type(self) -> str:
        return "classifier"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.regressor_tags = None
        if tags.classifier_tags is not None:
            tags.classifier_tags.multi_label = False  # one label per row, encoded 0..k-1
        return tags

    def _fit(self, X: Any, y: np.ndarray, **fit_params: Any) -> None:
        check_classification_targets(y)
        classes, codes = np.unique(y, return_inverse=True)
        self.estimator_.fit(X, codes, **fit_params)
        self._fitted()
        self.classes_ = classes

    def predict(self, X: Any) -> np.ndarray:
        codes = np.asarray(super().predict(X), dtype=int)
        return self.classes_[codes]

    def score(self, X: Any, y: Any) -> float:
        return float(np.mean(self.predict(X) == np.asarray(y)))


#: The parameter that sets how many trees each booster grows.
_TREE_COUNT = {"lightgbm": "n_estimators", "xgboost": "n_estimators", "catboost": "iterations"}


class EarlyStopping(_Wrapper):
    """Gradient boosting that stops adding trees once a held-out share of its rows stops improving.

    ``validation_fraction`` of the training rows, and at least ``min_held_out`` of them (up
    to a fifth of the rows), is set aside the ``holdout`` way: ``"random"`` rows (stratified
    for classifiers), the latest rows for ``"time"`` (rows come in time order), or whole
    groups for ``"group"`` (given to ``fit`` as ``groups``; random rows without them), so the
    rows that decide when to stop are as new to the booster as the validation rows are to
    the fit. The booster (LightGBM, XGBoost or homl's CatBoost models) grows at most its
    ``n_estimators`` trees (CatBoost: ``iterations``), stops after ``patience`` rounds without
    progress on those rows, and predicts with the best round (the book's chapter 7). Below
    ``min_rows`` rows every row is used for all the trees. ``held_out_`` holds the positions
    of the rows set aside, ``rounds_`` the number of trees the model predicts with.

    With ``rounds`` set nothing is held out: the booster grows exactly that many trees on
    every row. A final model is refitted so, with the rounds early stopping chose on the
    cross-validation folds, grown with its rows (see :func:`homl.select.rounds_growth`): the
    tenth of the rows that would only decide when to stop is learned from too (lower test
    error on most tables).
    """

    #: Models saved before ``holdout`` existed load without it: they held out random rows.
    holdout = "random"
    #: ...and before ``rounds`` existed, they always stopped early.
    rounds = None
    #: ...and before ``patience_share`` existed, their patience was fixed.
    patience_share = 0.0
    _parameter_constraints = {
        **_Wrapper._parameter_constraints,
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "patience_share": [Interval(Real, 0, None, closed="left")],
        "min_rows": [Interval(Integral, 0, None, closed="left")],
        "min_held_out": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "holdout": [StrOptions({"random", "time", "group"})],
        "rounds": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, estimator: Any = None, validation_fraction: float = 0.1, patience: int = 50,
                 patience_share: float = 0.25, min_rows: int = 200, min_held_out: int = 100,
                 random_state: int | None = 0, holdout: str = "random", rounds: int | None = None):
        self.estimator = estimator
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.patience_share = patience_share
        self.min_rows = min_rows
        self.min_held_out = min_held_out
        self.random_state = random_state
        self.holdout = holdout
        self.rounds = rounds

    def _fit(self, X: Any, y: np.ndarray, groups: Any = None, **fit_params: Any) -> None:
        module = self._module()
        if self.rounds is not None:
            self.held_out_ = np.array([], dtype=int)
            self.estimator_.set_params(**{_TREE_COUNT[module]: self.rounds})
            self.estimator_.fit(X, y, **fit_params)
        elif len(y) < self.min_rows:
            self.held_out_ = np.array([], dtype=int)
            self.estimator_.fit(X, y, **fit_params)
        else:
            held = max(int(self.validation_fraction * len(y)), min(self.min_held_out, len(y) // 5))
            groups = None if groups is None else np.asarray(groups)
            fit_rows, self.held_out_ = _split_rows(self.estimator, y, held, self.random_state,
                                                   holdout=self.holdout, groups=groups)
            evaluation = [(_take(X, self.held_out_), y[self.held_out_])]
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*'eval_set' is deprecated")
                self.estimator_.fit(_take(X, fit_rows), y[fit_rows], **fit_params, **self._stopping(evaluation))
            if module == "xgboost":
                self.estimator_.set_params(callbacks=None)  # its stopper served this fit only
        best = getattr(self.estimator_, "best_iteration_", None)  # the first round may be best: 0 counts
        self.best_iteration_ = best if best is not None else getattr(self.estimator_, "best_iteration", None)
        self.rounds_ = self._rounds_used(module)
        self._fitted()

    def _module(self) -> str:
        """Which booster this is: ``"lightgbm"``, ``"xgboost"`` or ``"catboost"`` (homl's models)."""
        if isinstance(self.estimator_, CatBoostModel):
            return "catboost"
        module = type(self.estimator_).__module__.split(".")[0]
        if module in ("lightgbm", "xgboost"):
            return module
        raise TypeError(f"EarlyStopping supports LightGBM and XGBoost models and homl's CatBoost models, "
                        f"not {type(self.estimator_).__name__}")

    def _rounds_used(self, module: str) -> int:
        """Trees the fitted booster predicts with: its best round's, or all it grew."""
        if self.best_iteration_ is not None and self.held_out_.size:
            # LightGBM counts its best round from 1; XGBoost and CatBoost number it from 0.
            return int(self.best_iteration_) + (module != "lightgbm")
        return int(self.estimator_.get_params()[_TREE_COUNT[module]])

    def _stopping(self, evaluation: list[tuple[Any, np.ndarray]]) -> dict[str, Any]:
        """The fit arguments that make this booster stop early on ``evaluation``."""
        module, patience, share = self._module(), self.patience, self.patience_share
        if module == "lightgbm":
            # ``eval_set``, not 4.7's ``eval_X``/``eval_y``: its classifier leaves those labels unencoded.
            return {"eval_set": evaluation, "callbacks": [lightgbm_callback(patience, share)]}
        if module == "xgboost":
            self.estimator_.set_params(early_stopping_rounds=None, callbacks=[xgboost_callback(patience, share)])
            return {"eval_set": evaluation, "verbose": False}
        return {"eval_set": evaluation, "callbacks": [CatBoostStop(patience, share)]}
