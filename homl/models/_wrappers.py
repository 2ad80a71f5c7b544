"""Small meta-estimators the model zoo wraps around scikit-learn models."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.utils.validation import check_is_fitted


class _Wrapper(MetaEstimatorMixin, BaseEstimator):
    """A meta-estimator that looks like the model it wraps: tags, probabilities, importances."""

    estimator: Any

    @property
    def _estimator_type(self) -> str | None:
        return getattr(self.estimator, "_estimator_type", None)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self.estimator.__sklearn_tags__()
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        return tags

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    def score(self, X: Any, y: Any) -> float:
        return self.estimator_.score(X, y)

    @property
    def feature_importances_(self) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return self.estimator_.feature_importances_

    def _fitted(self, X: Any) -> None:
        self.n_features_in_ = getattr(self.estimator_, "n_features_in_", np.shape(X)[1])
        if hasattr(self.estimator_, "classes_"):
            self.classes_ = self.estimator_.classes_


def _take(X: Any, rows: np.ndarray) -> Any:
    """Rows of a matrix or a DataFrame, by position."""
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


def _split_rows(estimator: Any, y: np.ndarray, second_size: int, random_state: int | None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Row positions split in two (sorted), the second of ``second_size`` rows, stratified for classifiers.

    Stratification is dropped where a class has a single row, which cannot be split.
    """
    from sklearn.model_selection import train_test_split

    stratify = y if is_classifier(estimator) else None
    if stratify is not None and np.min(np.unique(y, return_counts=True)[1]) < 2:
        stratify = None
    first, second = train_test_split(np.arange(len(y)), test_size=second_size,
                                     random_state=random_state, stratify=stratify)
    return np.sort(first), np.sort(second)


class RowCap(_Wrapper):
    """Fit ``estimator`` on at most ``max_rows`` random rows (stratified for classifiers).

    Kernel SVMs and k-NN grow worse than linearly with the rows; on a large table a
    sample of a few thousand rows gives most of their accuracy in a fraction of the time.
    """

    def __init__(self, estimator: Any = None, max_rows: int = 5000, random_state: int | None = 0):
        self.estimator = estimator
        self.max_rows = max_rows
        self.random_state = random_state

    def fit(self, X: Any, y: Any, **fit_params: Any) -> RowCap:
        y = np.asarray(y)
        self.estimator_ = clone(self.estimator)
        if len(y) > self.max_rows:
            keep, _ = _split_rows(self.estimator, y, len(y) - self.max_rows, self.random_state)
            X, y = _take(X, keep), y[keep]
        self.estimator_.fit(X, y, **fit_params)
        self._fitted(X)
        return self


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
        return tags

    def fit(self, X: Any, y: Any, **fit_params: Any) -> LabelEncoded:
        classes, codes = np.unique(np.asarray(y), return_inverse=True)
        self.estimator_ = clone(self.estimator).fit(X, codes, **fit_params)
        self._fitted(X)
        self.classes_ = classes
        return self

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return self.classes_[np.asarray(self.estimator_.predict(X), dtype=int)]

    def score(self, X: Any, y: Any) -> float:
        return float(np.mean(self.predict(X) == np.asarray(y)))


class EarlyStopping(_Wrapper):
    """Gradient boosting that stops adding trees once a held-out share of its rows stops improving.

    ``validation_fraction`` of the training rows (stratified for classifiers), and at least
    ``min_held_out`` of them (up to a fifth of the rows), is set aside; the booster (LightGBM
    or XGBoost) grows at most its ``n_estimators`` trees, stops after ``patience`` rounds
    without progress on those rows, and predicts with the best round (the book's chapter 7).
    Below ``min_rows`` rows every row is used for all the trees.
    """

    def __init__(self, estimator: Any = None, validation_fraction: float = 0.1, patience: int = 50,
                 min_rows: int = 200, min_held_out: int = 100, random_state: int | None = 0):
        self.estimator = estimator
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.min_rows = min_rows
        self.min_held_out = min_held_out
        self.random_state = random_state

    def fit(self, X: Any, y: Any, **fit_params: Any) -> EarlyStopping:
        y = np.asarray(y)
        self.estimator_ = clone(self.estimator)
        if len(y) < self.min_rows:
            self.estimator_.fit(X, y, **fit_params)
        else:
            held = max(int(self.validation_fraction * len(y)), min(self.min_held_out, len(y) // 5))
            fit_rows, held_out = _split_rows(self.estimator, y, held, self.random_state)
            evaluation = [(_take(X, held_out), y[held_out])]
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*'eval_set' is deprecated")
                self.estimator_.fit(_take(X, fit_rows), y[fit_rows], **fit_params, **self._stopping(evaluation))
        self.best_iteration_ = getattr(self.estimator_, "best_iteration_", None) or getattr(
            self.estimator_, "best_iteration", None)
        self._fitted(X)
        return self

    def _stopping(self, evaluation: list[tuple[Any, np.ndarray]]) -> dict[str, Any]:
        """The fit arguments that make this booster stop early on ``evaluation``."""
        module = type(self.estimator_).__module__.split(".")[0]
        if module == "lightgbm":
            import lightgbm

            # ``eval_set``, not 4.7's ``eval_X``/``eval_y``: its classifier leaves those labels unencoded.
            return {"eval_set": evaluation, "callbacks": [lightgbm.early_stopping(self.patience, verbose=False)]}
        if module == "xgboost":
            self.estimator_.set_params(early_stopping_rounds=self.patience)
            return {"eval_set": evaluation, "verbose": False}
        raise TypeError(f"EarlyStopping supports LightGBM and XGBoost models, not {type(self.estimator_).__name__}")
