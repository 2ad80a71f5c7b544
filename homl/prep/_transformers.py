"""Transformers the book builds by hand in chapter 2, written once for every table.

Each is a scikit-learn transformer with feature names out, so it composes in a
``ColumnTransformer`` and saves with the rest of the pipeline.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted


def _as_2d_float(X: Any) -> np.ndarray:
    return np.asarray(X, dtype=float).reshape(len(X), -1)


class _Stateless(TransformerMixin, BaseEstimator):
    """A transformer that learns nothing but the number and names of its input columns."""

    def fit(self, X: Any, y: Any = None) -> _Stateless:
        self.n_features_in_ = _as_2d_float(X).shape[1]
        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        return self


class LogTransform(_Stateless):
    """``sign(x) * log1p(|x|)``: tames heavy right tails (the book's log of population)."""

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        values = _as_2d_float(X)
        return np.sign(values) * np.log1p(np.abs(values))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = _input_names(self, input_features)
        return np.asarray([f"log_{n}" for n in names], dtype=object)


class RatioFeatures(_Stateless):
    """Every pairwise ratio of the input columns (rooms per household, people per house...)."""

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        values = _as_2d_float(X)
        columns = []
        for i, j in self._pairs():
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = values[:, i] / values[:, j]
            columns.append(np.where(np.isfinite(ratio), ratio, np.nan))
        return np.column_stack(columns) if columns else np.empty((len(values), 0))

    def _pairs(self) -> list[tuple[int, int]]:
        n = self.n_features_in_
        return [(i, j) for i in range(n) for j in range(i + 1, n)]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = _input_names(self, input_features)
        return np.asarray([f"{names[i]}_per_{names[j]}" for i, j in self._pairs()], dtype=object)


class ClipToRange(TransformerMixin, BaseEstimator):
    """Clip each column to the range seen in training.

    A value far outside that range (a typo, a sensor glitch, a new extreme) would make
    linear and polynomial models extrapolate wildly; tree models are unaffected, since
    their splits all lie inside the training range anyway. Missing values stay missing.
    """

    def fit(self, X: Any, y: Any = None) -> ClipToRange:
        values = _as_2d_float(X)
        self.n_features_in_ = values.shape[1]
        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        finite = np.where(np.isfinite(values), values, np.nan)
        # fmin/fmax skip NaN; a column with no finite value keeps an open range.
        self.min_ = np.fmin.reduce(finite, axis=0, initial=np.inf)
        self.max_ = np.fmax.reduce(finite, axis=0, initial=-np.inf)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "min_")
        values = _as_2d_float(X)
        empty = self.min_ > self.max_
        return np.clip(values, np.where(empty, -np.inf, self.min_), np.where(empty, np.inf, self.max_))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(_input_names(self, input_features), dtype=object)


class DateParts(TransformerMixin, BaseEstimator):
    """Year, month, day, weekday, day of year, hour (when times vary) and days since 1970."""

    def fit(self, X: Any, y: Any = None) -> DateParts:
        frame = self._frame(X)
        self.n_features_in_ = frame.shape[1]
        self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
        self.has_time_ = [bool((frame[c].dt.hour.fillna(0) != 0).any()) for c in frame.columns]
        return self

    @staticmethod
    def _frame(X: Any) -> pd.DataFrame:
        frame = pd.DataFrame(X).copy()
        for column in frame.columns:
            frame[column] = pd.to_datetime(frame[column], errors="coerce", format="mixed")
        return frame

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "has_time_")
        frame = self._frame(X)
        parts = []
        for column, has_time in zip(frame.columns, self.has_time_):
            dates = frame[column].dt
            parts += [dates.year, dates.month, dates.day, dates.day_of_week, dates.day_of_year]
            if has_time:
                parts.append(dates.hour)
            epoch = (frame[column] - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
            parts.append(epoch)
        return np.column_stack([np.asarray(p, dtype=float) for p in parts])

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "has_time_")
        names = []
        for column, has_time in zip(self.feature_names_in_, self.has_time_):
            parts = ["year", "month", "day", "weekday", "dayofyear"] + (["hour"] if has_time else [])
            names += [f"{column}_{p}" for p in parts + ["days"]]
        return np.asarray(names, dtype=object)


class DateValues(_Stateless):
    """Each date, to the day, as a category ("2012-06-30"; missing stays missing).

    Rows of one day share what happened that day (the weather, an event, a promotion);
    encoded as a category, a model can learn each day's level from the other rows of
    that day. Days never seen in training fall back to the encoder's unknown value.
    """

    def fit(self, X: Any, y: Any = None) -> DateValues:
        frame = pd.DataFrame(X)
        self.n_features_in_ = frame.shape[1]
        self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        frame = DateParts._frame(X)
        days = [frame[c].dt.strftime("%Y-%m-%d").astype(object) for c in frame.columns]
        return np.column_stack([d.where(d.notna(), np.nan).to_numpy(dtype=object) for d in days])

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([f"{n}_date" for n in _input_names(self, input_features)], dtype=object)


class GeoFeatures(TransformerMixin, BaseEstimator):
    """Features of a (latitude, longitude) pair, after the book's California housing work.

    - ``n_clusters`` RBF similarities to k-means centres of the locations (the book's
      ``ClusterSimilarity``), with kernel width ``gamma``;
    - coordinates rotated by 15, 30, 45 and 60 degrees, which axis-aligned trees split on
      far more easily than on raw latitude and longitude;
    - with ``n_neighbors`` > 0, the mean target of the nearest training locations. While
      fitting, each row gets that value from the other folds only (out of fold, like
      scikit-learn's ``TargetEncoder``), so the feature never sees the row's own target.
      ``target_type`` is "continuous", "binary" or "multiclass" ("auto" guesses, which
      reads a numeric target with whole-number values as classes).
    """

    def __init__(
        self,
        n_clusters: int = 10,
        gamma: float = 1.0,
        n_neighbors: int = 0,
        rotations: bool = True,
        target_type: str = "auto",
        cv: int = 5,
        random_state: int | None = 0,
    ):
        self.n_clusters = n_clusters
        self.gamma = gamma
        self.n_neighbors = n_neighbors
        self.rotations = rotations
        self.target_type = target_type
        self.cv = cv
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> GeoFeatures:
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        from sklearn.cluster import KMeans
        from sklearn.model_selection import KFold

        coords = self._coords(X)
        self.n_features_in_ = coords.shape[1]
        self.n_clusters_ = min(self.n_clusters, len(np.unique(coords, axis=0)))
        if self.n_clusters_ > 0:
            kmeans = KMeans(self.n_clusters_, n_init=3, random_state=self.random_state)
            self.centres_ = kmeans.fit(coords).cluster_centers_
        self.neighbor_targets_ = 0
        neighbors = None
        if self.n_neighbors > 0 and y is not None:
            targets = self._target_matrix(y)
            self.coords_, self.targets_ = coords, targets
            self.neighbor_targets_ = targets.shape[1]
            neighbors = np.empty_like(targets)
            folds = KFold(self.cv, shuffle=True, random_state=self.random_state)
            for train, held_out in folds.split(coords):
                neighbors[held_out] = self._neighbor_mean(coords[train], targets[train], coords[held_out])
        return self._features(coords, neighbors)

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "n_clusters_")
        coords = self._coords(X)
        neighbors = None
        if self.neighbor_targets_:
            neighbors = self._neighbor_mean(self.coords_, self.targets_, coords)
        return self._features(coords, neighbors)

    def _features(self, coords: np.ndarray, neighbors: np.ndarray | None) -> np.ndarray:
        from sklearn.metrics.pairwise import rbf_kernel

        blocks = []
        if self.n_clusters_ > 0:
            blocks.append(rbf_kernel(coords, self.centres_, gamma=self.gamma))
        if self.rotations:
            for angle in (15, 30, 45, 60):
                theta = np.deg2rad(angle)
                blocks.append((coords[:, 1] * np.cos(theta) + coords[:, 0] * np.sin(theta))[:, None])
        if neighbors is not None:
            blocks.append(neighbors)
        return np.hstack(blocks) if blocks else np.empty((len(coords), 0))

    def _neighbor_mean(self, train: np.ndarray, targets: np.ndarray, query: np.ndarray) -> np.ndarray:
        from sklearn.neighbors import KNeighborsRegressor

        k = min(self.n_neighbors, len(train))
        return KNeighborsRegressor(n_neighbors=k).fit(train, targets).predict(query).reshape(len(query), -1)

    def _target_matrix(self, y: Any) -> np.ndarray:
        from sklearn.utils.multiclass import type_of_target

        y = np.asarray(y)
        kind = type_of_target(y) if self.target_type == "auto" else self.target_type
        if kind in ("binary", "multiclass"):
            classes = np.unique(y)
            indicators = (y[:, None] == classes[None, :]).astype(float)
            return indicators[:, 1:] if len(classes) == 2 else indicators
        return y.astype(float).reshape(len(y), -1)

    @staticmethod
    def _coords(X: Any) -> np.ndarray:
        coords = _as_2d_float(X)
        if coords.shape[1] != 2:
            raise ValueError(f"GeoFeatures expects 2 columns (latitude, longitude), got {coords.shape[1]}")
        return coords

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "n_clusters_")
        names = [f"geo_similarity_{i}" for i in range(self.n_clusters_)]
        if self.rotations:
            names += [f"geo_rotated_{a}" for a in (15, 30, 45, 60)]
        names += [f"geo_neighbor_target_{i}" for i in range(self.neighbor_targets_)]
        return np.asarray(names, dtype=object)


def _input_names(estimator: BaseEstimator, input_features: Any) -> list[str]:
    if input_features is not None:
        return [str(n) for n in input_features]
    if hasattr(estimator, "feature_names_in_"):
        return list(estimator.feature_names_in_)
    return [f"x{i}" for i in range(estimator.n_features_in_)]
