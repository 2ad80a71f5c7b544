"""CatBoost as homl estimators whose saved state is CatBoost's own binary model format.

homl saves fitted pipelines with skops, which creates only the types homl trusts (see
:mod:`homl.registry._artifacts`). CatBoost's Python objects are not among them: instead these
estimators keep the fitted model as the bytes of CatBoost's ``cbm`` format in a numpy
``uint8`` array (``model_cbm_``), which skops stores as plain data, and rebuild the booster
from it when loaded. Reading a ``cbm`` model runs no code of the file's.

A DataFrame's columns of pandas' category dtype (what ``TablePreprocessor(categorical="native")``
gives) become CatBoost's categorical features, passed as text: CatBoost encodes them itself
with ordered target statistics.

CatBoost is imported only when a model is fitted or loaded (``pip install 'homl[catboost]'``).
"""

from __future__ import annotations

import tempfile
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_y, check_consistent_length, check_is_fitted

from homl._estimator import Estimator, fitting

#: What a missing value of a category column is passed to CatBoost as: a category of its own.
MISSING_CATEGORY = "nan"


def _catboost() -> Any:
    try:
        import catboost
    except ImportError as error:
        raise ImportError("CatBoost models need catboost: pip install 'homl[catboost]'") from error
    return catboost


class CatBoostModel(Estimator):
    """Shared by :class:`CatBoostRegression` and :class:`CatBoostClassification`.

    Parameters are CatBoost's (``iterations``, ``learning_rate``, ``depth``, ``l2_leaf_reg``,
    ``random_strength``, and ``subsample`` of the MVS bootstrap) except the two scikit-learn
    names homl's builder and checks set: ``n_jobs`` (CatBoost's ``thread_count``; ``None`` uses
    every core) and ``random_state`` (its ``random_seed``). CatBoost never prints nor writes
    files (no ``catboost_info/`` folder).

    ``fit`` accepts ``eval_set=[(X, y)]`` with ``early_stopping_rounds`` or CatBoost
    ``callbacks`` (objects with ``after_iteration(info)``): training stops once the evaluation
    rows stop improving and the model keeps its best round (``best_iteration_``, ``tree_count_``).
    """

    _parameter_constraints = {
        "iterations": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "depth": [Interval(Integral, 1, 16, closed="both")],
        "l2_leaf_reg": [Interval(Real, 0, None, closed="left")],
        "random_strength": [Interval(Real, 0, None, closed="left")],
        "subsample": [Interval(Real, 0, 1, closed="right")],
        "n_jobs": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1}), None],
        "random_state": ["random_state"],
    }
    _input_check = {"dtype": "numeric", "ensure_all_finite": "allow-nan"}
    #: A DataFrame passes as given: its category columns are CatBoost's categorical features.
    _keep_tables = True

    def __init__(self, iterations: int = 1000, learning_rate: float = 0.1, depth: int = 6,
                 l2_leaf_reg: float = 3.0, random_strength: float = 1.0, subsample: float = 0.8,
                 n_jobs: int | None = None, random_state: int | None = 0):
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.depth = depth
        self.l2_leaf_reg = l2_leaf_reg
        self.random_strength = random_strength
        self.subsample = subsample
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # CatBoost sends missing values down their own branch
        return tags

    def _fit_booster(self, X: Any, y: np.ndarray, loss: str, eval_set: list[tuple[Any, Any]] | None,
                     early_stopping_rounds: int | None, callbacks: list[Any] | None) -> None:
        """Fit a CatBoost booster on the checked rows with ``loss`` and record it as ``cbm`` bytes."""
        if len(y) < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 rows to fit; got 1 sample")
        if isinstance(X, pd.DataFrame):
            self.cat_features_ = [i for i, dtype in enumerate(X.dtypes) if isinstance(dtype, pd.CategoricalDtype)]
        else:
            self.cat_features_ = []
        evaluation = None
        if eval_set is not None:
            if len(eval_set) != 1:
                raise ValueError(f"eval_set must hold one (X, y) pair; got {len(eval_set)}")
            evaluation = [(self._features(self._check_input(eval_set[0][0], reset=False)), eval_set[0][1])]
        booster = self._booster_class()(**self._options(loss))
        booster.fit(self._features(X), y, cat_features=self.cat_features_ or None, eval_set=evaluation,
                    early_stopping_rounds=early_stopping_rounds, callbacks=callbacks)
        best = booster.get_best_iteration()
        self.best_iteration_ = None if best is None else int(best)
        self.tree_count_ = int(booster.tree_count_)
        self.feature_importances_ = np.asarray(booster.get_feature_importance(), dtype=float)
        self.model_cbm_ = _to_cbm(booster)
        self._booster = booster

    def _options(self, loss: str) -> dict[str, Any]:
        seed = self.random_state
        if not isinstance(seed, Integral):  # None or a RandomState: draw CatBoost's integer seed
            seed = int(check_random_state(seed).randint(np.iinfo(np.int32).max))
        return {
            "loss_function": loss, "iterations": self.iterations, "learning_rate": self.learning_rate,
            "depth": self.depth, "l2_leaf_reg": self.l2_leaf_reg, "random_strength": self.random_strength,
            "bootstrap_type": "MVS", "subsample": self.subsample, "thread_count": self._threads(),
            "random_seed": seed, "verbose": 0, "allow_writing_files": False,
        }

    def _threads(self) -> int:
        return -1 if self.n_jobs is None else self.n_jobs

    def _booster_class(self) -> Any:
        raise NotImplementedError

    def _features(self, X: Any) -> Any:
        """Checked rows as CatBoost reads them: the category columns as text."""
        if not self.cat_features_:
            return X
        names = list(getattr(self, "feature_names_in_", []))
        if not isinstance(X, pd.DataFrame):
            raise ValueError(f"{type(self).__name__} was fitted on a DataFrame with category columns "
                             f"{[names[i] for i in self.cat_features_]}; expected a DataFrame with them, got an array")
        frame = X.copy(deep=False)
        for i in self.cat_features_:
            column = X.iloc[:, i]
            if not isinstance(column.dtype, pd.CategoricalDtype):
                raise ValueError(f"column {X.columns[i]!r} held categories in fitting; got dtype {column.dtype}")
            frame.isetitem(i, _as_text(column))
        return frame

    def _predict_raw(self, X: Any, method: str) -> np.ndarray:
        check_is_fitted(self, "model_cbm_")
        X = self._check_input(X, reset=False)
        return getattr(self._booster, method)(self._features(X), thread_count=self._threads())

    def __getstate__(self) -> dict[str, Any]:
        # Not the CatBoost object: model_cbm_ holds the same model as bytes.
        return {key: value for key, value in super().__getstate__().items() if key != "_booster"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if "model_cbm_" in state:
            booster = self._booster_class()()
            self._booster = booster.load_model(blob=bytes(state["model_cbm_"]))


def _as_text(column: pd.Series) -> pd.Series:
    """A category column as the strings CatBoost hashes, a missing value as ``MISSING_CATEGORY``."""
    labels = np.array([str(c) for c in column.cat.categories] + [MISSING_CATEGORY], dtype=object)
    # A missing value's code is -1: the last label.
    return pd.Series(labels[column.cat.codes.to_numpy()], index=column.index, dtype=object)


def _to_cbm(booster: Any) -> np.ndarray:
    """The fitted booster in CatBoost's binary format, as bytes in a numpy array."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.cbm"
        booster.save_model(str(path), format="cbm")
        return np.frombuffer(path.read_bytes(), dtype=np.uint8).copy()


class CatBoostRegression(RegressorMixin, CatBoostModel):
    """CatBoost gradient boosting on squared error (see :class:`CatBoostModel`).

    >>> import numpy as np
    >>> X = np.arange(200.0).reshape(-1, 1)
    >>> model = CatBoostRegression(iterations=50, n_jobs=1).fit(X, 2 * X[:, 0])
    >>> model.predict(X[:2]).shape
    (2,)
    """

    @fitting
    def fit(self, X: Any, y: Any, eval_set: list[tuple[Any, Any]] | None = None,
            early_stopping_rounds: int | None = None, callbacks: list[Any] | None = None) -> CatBoostRegression:
        X = self._check_input(X, reset=True)
        y = _check_y(y, y_numeric=True, estimator=self)
        check_consistent_length(X, y)
        self._fit_booster(X, y, "RMSE", eval_set, early_stopping_rounds, callbacks)
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self._predict_raw(X, "predict"), dtype=float)

    def _booster_class(self) -> Any:
        return _catboost().CatBoostRegressor


class CatBoostClassification(ClassifierMixin, CatBoostModel):
    """CatBoost gradient boosting on log-loss, for two classes or more (see :class:`CatBoostModel`).

    Any labels: CatBoost learns their positions in ``classes_``, and predictions and
    probabilities come back in the order of ``classes_``.
    """

    @fitting
    def fit(self, X: Any, y: Any, eval_set: list[tuple[Any, Any]] | None = None,
            early_stopping_rounds: int | None = None, callbacks: list[Any] | None = None) -> CatBoostClassification:
        X = self._check_input(X, reset=True)
        y = _check_y(y, estimator=self)
        check_consistent_length(X, y)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs at least two classes in y; "
                             f"got one class, {self.classes_.tolist()[0]!r}")
        if eval_set is not None:
            eval_set = [self._known_labels(*pair) for pair in eval_set]
        loss = "Logloss" if len(self.classes_) == 2 else "MultiClass"
        self._fit_booster(X, codes, loss, eval_set, early_stopping_rounds, callbacks)
        return self

    def _known_labels(self, X: Any, y: Any) -> tuple[Any, np.ndarray]:
        """Evaluation rows as class positions, without the rows of labels training never saw."""
        y = np.asarray(y)
        rows = np.flatnonzero(np.isin(y, self.classes_))
        return (X.iloc[rows] if hasattr(X, "iloc") else X[rows]), np.searchsorted(self.classes_, y[rows])

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(self._predict_raw(X, "predict_proba"), dtype=float)

    def _booster_class(self) -> Any:
        return _catboost().CatBoostClassifier
