"""Transformers the book builds by hand in chapter 2, written once for every table.

Each is a scikit-learn transformer with feature names out, so it composes in a
``ColumnTransformer`` and saves with the rest of the pipeline. Parameters and inputs are
checked by the shared base, :class:`homl._estimator.Transformer`: a subclass says what
input it takes (``_input_check``) and writes ``_fit`` and ``_transform``.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from homl._estimator import Transformer, fitting

#: Numbers in, numbers out; missing and infinite values are the transformers' to handle.
_NUMBERS = {"dtype": np.float64, "ensure_all_finite": False}
#: Dates, date strings or text, of any array type and dtype (missing values are the transformer's to handle).
_ANY_VALUES = {"dtype": None, "ensure_all_finite": False}


class _Numeric(Transformer):
    """A transformer of numeric columns that may hold missing or infinite values."""

    _input_check = _NUMBERS

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class LogTransform(_Numeric):
    """``sign(x) * log1p(|x|)``: tames heavy right tails (the book's log of population)."""

    def _transform(self, X: np.ndarray) -> np.ndarray:
        return np.sign(X) * np.log1p(np.abs(X))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        return np.asarray([f"log_{n}" for n in _check_feature_names_in(self, input_features)], dtype=object)


class RatioFeatures(_Numeric):
    """Every pairwise ratio of the input columns (rooms per household, people per house...)."""

    def _transform(self, X: np.ndarray) -> np.ndarray:
        columns = []
        for i, j in self._pairs():
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = X[:, i] / X[:, j]
            columns.append(np.where(np.isfinite(ratio), ratio, np.nan))
        return np.column_stack(columns) if columns else np.empty((len(X), 0))

    def _pairs(self) -> list[tuple[int, int]]:
        n = self.n_features_in_
        return [(i, j) for i in range(n) for j in range(i + 1, n)]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        return np.asarray([f"{names[i]}_per_{names[j]}" for i, j in self._pairs()], dtype=object)


class ClipToRange(_Numeric):
    """Clip each column to the range seen in training.

    A value far outside that range (a typo, a sensor glitch, a new extreme) would make
    linear and polynomial models extrapolate wildly; tree models are unaffected, since
    their splits all lie inside the training range anyway. Missing values stay missing.
    """

    def _fit(self, X: np.ndarray, y: Any) -> None:
        finite = np.where(np.isfinite(X), X, np.nan)
        # fmin/fmax skip NaN; a column with no finite value keeps an open range.
        self.min_ = np.fmin.reduce(finite, axis=0, initial=np.inf)
        self.max_ = np.fmax.reduce(finite, axis=0, initial=-np.inf)

    def _transform(self, X: np.ndarray) -> np.ndarray:
        empty = self.min_ > self.max_
        return np.clip(X, np.where(empty, -np.inf, self.min_), np.where(empty, np.inf, self.max_))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        return np.asarray(_check_feature_names_in(self, input_features), dtype=object)


class DateParts(Transformer):
    """Year, month, day, weekday, day of year, hour (when times vary) and days since 1970."""

    _input_check = _ANY_VALUES

    def _fit(self, X: np.ndarray, y: Any) -> None:
        frame = _dates(X)
        self.has_time_ = [bool((frame[c].dt.hour.fillna(0) != 0).any()) for c in frame.columns]

    def _transform(self, X: np.ndarray) -> np.ndarray:
        frame = _dates(X)
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
        check_is_fitted(self)
        names = []
        for column, has_time in zip(_check_feature_names_in(self, input_features), self.has_time_):
            parts = ["year", "month", "day", "weekday", "dayofyear"] + (["hour"] if has_time else [])
            names += [f"{column}_{p}" for p in parts + ["days"]]
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags


class DateValues(Transformer):
    """Each date, to the day, as a category ("2012-06-30"; missing stays missing).

    Rows of one day share what happened that day (the weather, an event, a promotion);
    encoded as a category, a model can learn each day's level from the other rows of
    that day. Days never seen in training fall back to the encoder's unknown value.
    """

    _input_check = _ANY_VALUES

    def _transform(self, X: np.ndarray) -> np.ndarray:
        frame = _dates(X)
        days = [frame[c].dt.strftime("%Y-%m-%d").astype(object) for c in frame.columns]
        return np.column_stack([d.where(d.notna(), np.nan).to_numpy(dtype=object) for d in days])

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        return np.asarray([f"{n}_date" for n in _check_feature_names_in(self, input_features)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = []  # days come out as text
        return tags


class TextStatistics(Transformer):
    """Counts that describe each text: characters, words, the share of capitals, digits and symbols.

    A text says things its words do not: a long name may carry a title or a spouse's name, a
    message in capitals shouts, a code of digits differs from a code of letters. Missing text
    counts as empty.
    """

    _input_check = _ANY_VALUES
    PARTS = ("chars", "words", "capitals", "digits", "symbols")

    def _transform(self, X: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame(X)
        parts = []
        for column in frame.columns:
            text = frame[column].where(frame[column].notna(), "").astype(str)
            chars = text.str.len()
            parts += [chars, text.str.split().str.len(), text.str.count(r"[A-Z]") / chars.clip(lower=1),
                      text.str.count(r"[0-9]"), text.str.count(r"[^\w\s]")]
        return np.column_stack([np.asarray(p, dtype=float) for p in parts])

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        return np.asarray([f"{column}_{part}" for column in _check_feature_names_in(self, input_features)
                           for part in self.PARTS], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags


def _dates(X: np.ndarray) -> pd.DataFrame:
    """Each column read as dates; what cannot be read is missing (NaT).

    Times with a zone are read in UTC, those without as they are: one column may mix both.
    """
    frame = pd.DataFrame(X)
    for column in frame.columns:
        dates = pd.to_datetime(frame[column], errors="coerce", format="mixed", utc=True)
        frame[column] = dates.dt.tz_localize(None)
    return frame


class GeoFeatures(Transformer):
    """Features of a (latitude, longitude) pair, after the book's California housing work.

    - ``n_clusters`` RBF similarities to k-means centres of the locations (the book's
      ``ClusterSimilarity``), with kernel width ``gamma``;
    - coordinates rotated by 15, 30, 45 and 60 degrees, which axis-aligned trees split on
      far more easily than on raw latitude and longitude;
    - with ``n_neighbors`` > 0, the mean target of the nearest training locations, at several
      scales: the nearest ``n_neighbors`` times each of ``neighbor_scales`` (a street, a
      district, a region), since no single neighbourhood size suits every place. While
      fitting, each row gets those values from the other folds only (out of fold, like
      scikit-learn's ``TargetEncoder``), so the features never see the row's own target.
      ``target_type`` is "continuous", "binary" or "multiclass" ("auto" guesses: a
      numeric target with whole-number values is read as classes unless it has more
      than ``MAX_AUTO_CLASSES`` of them, as prices and counts do).
    """

    _parameter_constraints = {
        "n_clusters": [Interval(Integral, 0, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="neither")],
        "n_neighbors": [Interval(Integral, 0, None, closed="left")],
        "neighbor_scales": [tuple],
        "rotations": ["boolean"],
        "target_type": [StrOptions({"auto", "continuous", "binary", "multiclass"})],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    }
    _input_check = {"dtype": np.float64}
    #: More distinct whole-number values than this make an "auto" target continuous.
    MAX_AUTO_CLASSES = 100
    #: Values of neighbours' targets held at once while averaging (about 32 MB).
    _CHUNK_VALUES = 4_000_000
    #: Neighbour counts of the fitted scales; a model saved before scales has one, ``n_neighbors``.
    neighbor_counts_: tuple[int, ...] = ()
    #: Decimals the similarities are rounded to; a model saved before has None (see ``_similarities``).
    similarity_decimals_: int | None = None
    #: Decimals of the similarities of models fitted now.
    SIMILARITY_DECIMALS = 12

    def __init__(
        self,
        n_clusters: int = 10,
        gamma: float = 1.0,
        n_neighbors: int = 0,
        neighbor_scales: tuple[float, ...] = (0.25, 1.0, 4.0, 16.0),
        rotations: bool = True,
        target_type: str = "auto",
        cv: int = 5,
        random_state: int | None = 0,
    ):
        self.n_clusters = n_clusters
        self.gamma = gamma
        self.n_neighbors = n_neighbors
        self.neighbor_scales = neighbor_scales
        self.rotations = rotations
        self.target_type = target_type
        self.cv = cv
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> GeoFeatures:
        self.fit_transform(X, y)
        return self

    @fitting
    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        from sklearn.cluster import KMeans
        from sklearn.model_selection import KFold

        coords = self._check_input(X, reset=True)
        if coords.shape[1] != 2:
            raise ValueError(f"GeoFeatures takes 2 columns, latitude and longitude; X has {coords.shape[1]} feature(s)")
        self.n_clusters_ = min(self.n_clusters, len(np.unique(coords, axis=0)))
        self.similarity_decimals_ = self.SIMILARITY_DECIMALS
        if self.n_clusters_ > 0:
            kmeans = KMeans(self.n_clusters_, n_init=3, random_state=self.random_state)
            self.centres_ = kmeans.fit(coords).cluster_centers_
        self.neighbor_targets_ = 0
        neighbors = None
        if self.n_neighbors > 0 and y is not None:
            targets = self._target_matrix(y)
            self.coords_, self.targets_ = coords, targets
            self.neighbor_targets_ = targets.shape[1]
            self.neighbor_counts_ = self._counts()
            folds = KFold(self.cv, shuffle=True, random_state=self.random_state)
            for train, held_out in folds.split(coords):
                means = self._neighbor_mean(coords[train], targets[train], coords[held_out])
                if neighbors is None:
                    neighbors = np.empty((len(coords), means.shape[1]))
                neighbors[held_out] = means
        return self._features(coords, neighbors)

    def _transform(self, coords: np.ndarray) -> np.ndarray:
        neighbors = None
        if self.neighbor_targets_:
            neighbors = self._neighbor_mean(self.coords_, self.targets_, coords)
        return self._features(coords, neighbors)

    def _features(self, coords: np.ndarray, neighbors: np.ndarray | None) -> np.ndarray:
        blocks = []
        if self.n_clusters_ > 0:
            blocks.append(self._similarities(coords))
        if self.rotations:
            for angle in (15, 30, 45, 60):
                theta = np.deg2rad(angle)
                blocks.append((coords[:, 1] * np.cos(theta) + coords[:, 0] * np.sin(theta))[:, None])
        if neighbors is not None:
            blocks.append(neighbors)
        return np.hstack(blocks) if blocks else np.empty((len(coords), 0))

    def _similarities(self, coords: np.ndarray) -> np.ndarray:
        """``exp(-gamma * squared distance)`` to each centre, rounded to ``similarity_decimals_``.

        Computed element by element (no matrix product) and rounded, so that any runtime doing
        the same IEEE operations (an exported ONNX graph) gives the same numbers to the last bit,
        whatever the last bit of its ``exp``: a tree threshold can sit exactly on a training value.
        """
        if self.similarity_decimals_ is None:
            from sklearn.metrics.pairwise import rbf_kernel

            return rbf_kernel(coords, self.centres_, gamma=self.gamma)
        difference = coords[:, None, :] - self.centres_[None, :, :]
        squared = difference * difference
        kernel = np.exp((squared[:, :, 0] + squared[:, :, 1]) * -self.gamma)
        return np.round(kernel, self.similarity_decimals_)

    def _counts(self) -> tuple[int, ...]:
        """The distinct neighbour counts of the scales, smallest first."""
        counts = {max(1, round(self.n_neighbors * scale)) for scale in self.neighbor_scales if scale > 0}
        return tuple(sorted(counts)) or (self.n_neighbors,)

    def _neighbor_mean(self, train: np.ndarray, targets: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Mean targets of each query row's nearest training rows, one block of columns a scale.

        One search for the largest count serves every scale: the nearest k of it are the
        nearest k. Queries run in chunks, so memory stays bounded on large tables.
        """
        from sklearn.neighbors import NearestNeighbors

        counts = [min(k, len(train)) for k in (self.neighbor_counts_ or (self.n_neighbors,))]
        search = NearestNeighbors(n_neighbors=max(counts)).fit(train)
        out = np.empty((len(query), len(counts) * targets.shape[1]))
        chunk = max(1, self._CHUNK_VALUES // (max(counts) * targets.shape[1]))
        for start in range(0, len(query), chunk):
            rows = slice(start, start + chunk)
            nearest = search.kneighbors(query[rows], return_distance=False)
            running = np.cumsum(targets[nearest], axis=1)  # (rows, k, targets)
            out[rows] = np.hstack([running[:, k - 1] / k for k in counts])
        return out

    def _target_matrix(self, y: Any) -> np.ndarray:
        from sklearn.utils.multiclass import type_of_target

        y = np.asarray(y)
        kind = type_of_target(y) if self.target_type == "auto" else self.target_type
        classes = np.unique(y) if kind in ("binary", "multiclass") else None
        if kind == "multiclass" and self.target_type == "auto" and len(classes) > self.MAX_AUTO_CLASSES:
            classes = None  # whole-number prices or counts, not classes
        if classes is not None:
            indicators = (y[:, None] == classes[None, :]).astype(float)
            return indicators[:, 1:] if len(classes) == 2 else indicators
        return y.astype(float).reshape(len(y), -1)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        _check_feature_names_in(self, input_features)  # the names out are the same whatever the names in
        names = [f"geo_similarity_{i}" for i in range(self.n_clusters_)]
        if self.rotations:
            names += [f"geo_rotated_{a}" for a in (15, 30, 45, 60)]
        if self.neighbor_targets_ and self.neighbor_counts_:
            names += [f"geo_neighbor_target_{i}_k{k}" for k in self.neighbor_counts_ for i in range(self.neighbor_targets_)]
        else:  # saved before scales: one count
            names += [f"geo_neighbor_target_{i}" for i in range(self.neighbor_targets_)]
        return np.asarray(names, dtype=object)

