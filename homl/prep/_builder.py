"""The automatic preparation step: one transformer whose options the search can tune.

``TablePreprocessor`` turns the typed columns of a schema into a numeric matrix with a
``ColumnTransformer`` built at fit time, because some choices (which columns have heavy
tails, which are latitude and longitude) depend on the training data.
"""

from __future__ import annotations

import re
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from homl._estimator import Transformer, fitting

from ._transformers import ClipToRange, DateParts, DateValues, GeoFeatures, LogTransform, RatioFeatures, TextStatistics

_LAT = re.compile(r"^(lat|latitude)$|(^|[_\W])lat(itude)?($|[_\W])", re.I)
_LON = re.compile(r"^(lon|lng|long|longitude)$|(^|[_\W])(lon|lng|longitude)($|[_\W])", re.I)

#: A non-negative column whose skewness passes this is log-transformed.
HEAVY_TAIL_SKEW = 1.5
#: Ratios are formed between at most this many heavy-tailed count columns.
MAX_RATIO_COLUMNS = 5
#: Dates become categories too (``date_values``) only when days repeat: at least this many
#: training rows per distinct day, on average.
MIN_ROWS_PER_DAY = 2
#: The kinds of column ``columns`` may name (those of a schema's usable columns).
KINDS = ("numeric", "boolean", "categorical", "datetime", "text")
#: The ``ColumnTransformer`` parts whose output columns are categories for ``categorical="native"``.
_NATIVE_PARTS = ("cat", "date_value")


def find_lat_lon(frame: pd.DataFrame, numeric: list[str]) -> tuple[str, str] | None:
    """The (latitude, longitude) column pair, found by name and checked by range."""
    lat = [c for c in numeric if _LAT.search(c)]
    lon = [c for c in numeric if _LON.search(c)]
    if len(lat) != 1 or len(lon) != 1:
        return None
    lat_values, lon_values = frame[lat[0]].dropna(), frame[lon[0]].dropna()
    if lat_values.empty or lon_values.empty:
        return None
    if lat_values.abs().max() > 90 or lon_values.abs().max() > 180:
        return None
    return lat[0], lon[0]


def heavy_tailed(frame: pd.DataFrame, numeric: list[str]) -> list[str]:
    """Non-negative columns with a long right tail (population, income, counts...)."""
    heavy = []
    for column in numeric:
        values = pd.to_numeric(frame[column], errors="coerce").dropna()
        if len(values) > 10 and values.min() >= 0 and values.nunique() > 10 and values.skew() > HEAVY_TAIL_SKEW:
            heavy.append(column)
    return heavy


class TablePreprocessor(Transformer):
    """Impute, encode, scale and enrich the columns of a table, by kind.

    Parameters are the preparation choices a search may change:

    - ``columns``: ``{name: kind}`` (numeric, boolean, categorical, datetime, text); left
      ``None``, kinds are read from the dtypes (numbers are numeric, the rest categorical).
    - ``scale``: standardise numeric features (needed by linear models, SVMs, k-NN).
    - ``log_heavy_tails``: log-transform non-negative heavy-tailed numeric columns.
    - ``categorical``: "auto" (one-hot up to ``max_onehot`` levels, target encoding above),
      "onehot", "ordinal" (integer codes, good for trees), "target", or "native": integer
      codes in columns of pandas' category dtype (the output is then a DataFrame), for
      models that split on categories themselves (LightGBM).
    - ``date_values``: each date, to the day, also as a categorical column, when days repeat
      (rows of one day share its weather, events, promotions).
    - ``geo_clusters``, ``geo_gamma``, ``geo_neighbors``: geographic features when a
      latitude/longitude pair exists (see ``GeoFeatures``); ``geo=False`` turns them off.
    - ``ratios``: add pairwise ratios of heavy-tailed count columns.
    - ``cluster_features``: with k > 0, each row's distance to the centres of k k-means
      clusters of the (imputed, standardised) numeric columns: clustering as preparation, the
      book's chapter 9 (0, the default, adds none).
    - ``text_features``: TF-IDF vocabulary size for each free-text column (beside its counts of
      characters, words, capitals, digits and symbols: see ``TextStatistics``).
    - ``target_type``: "continuous", "binary", "multiclass" or "auto", for the steps that
      learn from the target (target encoding, neighbour targets).

    Numeric values are clipped to their training range (new extremes cannot make linear
    models extrapolate wildly); missing ones are imputed with the median and flagged by
    indicator columns. An array's columns are named x0, x1... (as those of the table seen in
fitting, if it was one).
    """

    _parameter_constraints = {
        "columns": [dict, None],
        "scale": ["boolean"],
        "log_heavy_tails": ["boolean"],
        "categorical": [StrOptions({"auto", "onehot", "ordinal", "target", "native"})],
        "max_onehot": [Interval(Integral, 0, None, closed="left")],
        "geo": ["boolean"],
        "geo_clusters": [Interval(Integral, 0, None, closed="left")],
        "geo_gamma": [Interval(Real, 0, None, closed="neither")],
        "geo_neighbors": [Interval(Integral, 0, None, closed="left")],
        "ratios": ["boolean"],
        "cluster_features": [Interval(Integral, 0, None, closed="left")],
        "date_values": ["boolean"],
        "text_features": [Interval(Integral, 1, None, closed="left")],
        "target_type": [StrOptions({"auto", "continuous", "binary", "multiclass"})],
        "random_state": ["random_state"],
    }
    #: Columns are chosen by name: the table reaches the ``ColumnTransformer`` as given.
    _input_check = {"dtype": None, "ensure_all_finite": False}
    _keep_tables = True
    _table = True

    def __init__(
        self,
        columns: dict[str, str] | None = None,
        scale: bool = True,
        log_heavy_tails: bool = True,
        categorical: str = "auto",
        max_onehot: int = 15,
        geo: bool = True,
        geo_clusters: int = 10,
        geo_gamma: float = 1.0,
        geo_neighbors: int = 0,
        ratios: bool = False,
        cluster_features: int = 0,
        date_values: bool = False,
        text_features: int = 200,
        target_type: str = "auto",
        random_state: int | None = 0,
    ):
        self.columns = columns
        self.scale = scale
        self.log_heavy_tails = log_heavy_tails
        self.categorical = categorical
        self.max_onehot = max_onehot
        self.geo = geo
        self.geo_clusters = geo_clusters
        self.geo_gamma = geo_gamma
        self.geo_neighbors = geo_neighbors
        self.ratios = ratios
        self.cluster_features = cluster_features
        self.date_values = date_values
        self.text_features = text_features
        self.target_type = target_type
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: Any = None) -> TablePreprocessor:
        self.fit_transform(X, y)
        return self

    @fitting
    def fit_transform(self, X: pd.DataFrame, y: Any = None, **fit_params: Any) -> np.ndarray | pd.DataFrame:
        X = self._check_input(X, reset=True)
        self.transformer_ = self._build(X, y)
        out = self.transformer_.fit_transform(X, y)
        self.category_counts_ = self._category_counts()
        return self._output(out)

    def _transform(self, X: Any) -> np.ndarray | pd.DataFrame:
        return self._output(self.transformer_.transform(X))

    def _category_counts(self) -> dict[int, int]:
        """Output column -> number of categories, for the native categorical columns."""
        if self.categorical != "native":
            return {}
        counts = {}
        for name in _NATIVE_PARTS:
            if name not in self.transformer_.named_transformers_:
                continue
            encoder = self.transformer_.named_transformers_[name]
            encoder = encoder[-1] if hasattr(encoder, "steps") else encoder
            block = self.transformer_.output_indices_[name]
            for column, categories in zip(range(block.start, block.stop), encoder.categories_):
                counts[column] = len(categories)
        return counts

    def _output(self, matrix: np.ndarray) -> np.ndarray | pd.DataFrame:
        """The matrix, or with native categories a DataFrame whose category columns say so."""
        if not self.category_counts_:
            return matrix
        # Plain names: some libraries refuse quotes, colons or brackets in feature names.
        frame = pd.DataFrame(matrix, columns=[f"f{i}" for i in range(matrix.shape[1])])
        for column, count in self.category_counts_.items():
            values = matrix[:, column]
            codes = np.where(np.isfinite(values), values, -1).astype(int)
            frame[f"f{column}"] = pd.Categorical.from_codes(codes, categories=range(count))
        return frame

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        _check_feature_names_in(self, input_features)  # the names out are the parts' whatever the names in
        return self.transformer_.get_feature_names_out()

    def _kinds(self, X: pd.DataFrame) -> dict[str, str]:
        if self.columns is not None:
            unknown = {name: kind for name, kind in self.columns.items() if kind not in KINDS}
            if unknown:
                name, kind = next(iter(unknown.items()))
                raise ValueError(f"columns: column {name!r} has kind {kind!r}; expected one of {', '.join(KINDS)}")
            return {name: kind for name, kind in self.columns.items() if name in X.columns}
        return {
            str(c): "numeric" if pd.api.types.is_numeric_dtype(X[c]) else "categorical" for c in X.columns
        }

    def _build(self, X: pd.DataFrame, y: Any) -> Any:
        from sklearn.compose import ColumnTransformer
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline

        kinds = self._kinds(X)
        numeric = [c for c, k in kinds.items() if k == "numeric"]
        boolean = [c for c, k in kinds.items() if k == "boolean"]
        categorical = [c for c, k in kinds.items() if k == "categorical"]
        dates = [c for c, k in kinds.items() if k == "datetime"]
        texts = [c for c, k in kinds.items() if k == "text"]
        heavy = heavy_tailed(X, numeric) if (self.log_heavy_tails or self.ratios) else []
        logged = heavy if self.log_heavy_tails else []
        plain = [c for c in numeric if c not in logged] + boolean

        parts: list[tuple[str, Any, Any]] = []
        if plain:
            parts.append(("num", make_pipeline(*self._numeric_steps()), plain))
        if logged:
            parts.append(("log", make_pipeline(LogTransform(), *self._numeric_steps()), logged))
        if self.ratios and len(heavy) >= 2:
            ratio_columns = heavy[:MAX_RATIO_COLUMNS]
            steps = [RatioFeatures(), SimpleImputer(strategy="median", keep_empty_features=True)]
            parts.append(("ratio", make_pipeline(*steps, *self._scaler()), ratio_columns))
        if self.cluster_features and numeric:
            parts.append(("cluster", self._cluster_steps(len(X)), numeric))
        pair = find_lat_lon(X, numeric) if self.geo else None
        if pair is not None:
            geo = GeoFeatures(
                n_clusters=self.geo_clusters,
                gamma=self.geo_gamma,
                n_neighbors=self.geo_neighbors,
                target_type=self.target_type,
                random_state=self.random_state,
            )
            parts.append(("geo", make_pipeline(SimpleImputer(strategy="median"), geo, *self._scaler()), list(pair)))
        parts += self._categorical_parts(X, categorical, y)
        if dates:
            steps = [DateParts(), SimpleImputer(strategy="median", keep_empty_features=True)]
            parts.append(("date", make_pipeline(*steps, *self._scaler()), dates))
        # Days in order as codes would repeat the days-since-1970 part: target-encode them instead.
        repeated = [c for c in dates if self.date_values and days_repeat(X[c])]
        if repeated and (y is not None or self.categorical == "native"):
            encoder = self._many_levels_encoder(y, codes=self.categorical == "native")
            parts.append(("date_value", make_pipeline(DateValues(), encoder), repeated))
        if texts:
            parts.append(("text_stats", make_pipeline(TextStatistics(), *self._scaler()), texts))
        for column in texts:
            vectorizer = TfidfVectorizer(
                max_features=self.text_features, ngram_range=(1, 2), min_df=2, sublinear_tf=True
            )
            parts.append((f"text_{column}", vectorizer, column))
        if not parts:
            raise ValueError("no usable feature columns to prepare")
        return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0, verbose_feature_names_out=True)

    def _codes(self) -> Any:
        """Integer codes; unknown and missing values are -1, or missing for native categories."""
        from sklearn.preprocessing import OrdinalEncoder

        unknown = np.nan if self.categorical == "native" else -1
        return OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=unknown, encoded_missing_value=unknown)

    def _many_levels_encoder(self, y: Any, codes: bool = False) -> Any:
        """The encoder of a column with many levels: ``codes``, or target encoding when ``y`` is known."""
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import TargetEncoder

        if codes or y is None:
            return self._codes()
        encoded = make_pipeline(SimpleImputer(strategy="constant", fill_value="(missing)"),
                                TargetEncoder(target_type=self.target_type))
        return make_pipeline(encoded, *self._scaler())

    def _cluster_steps(self, n_rows: int) -> Any:
        from sklearn.cluster import KMeans
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        clusters = KMeans(min(self.cluster_features, n_rows), n_init=3, random_state=self.random_state)
        steps = [SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(), clusters]
        return make_pipeline(*steps, *self._scaler())

    def _scaler(self) -> list[Any]:
        from sklearn.preprocessing import StandardScaler

        return [StandardScaler()] if self.scale else []

    def _numeric_steps(self) -> list[Any]:
        from sklearn.impute import SimpleImputer

        imputer = SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)
        return [ClipToRange(), imputer, *self._scaler()]

    def _categorical_parts(self, X: pd.DataFrame, columns: list[str], y: Any) -> list[tuple[str, Any, Any]]:
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder

        if not columns:
            return []
        mode = self.categorical
        if mode == "target" and y is None:
            mode = "ordinal"
        if mode in ("ordinal", "native"):
            return [("cat", self._codes(), columns)]
        if mode == "onehot":
            low, high = columns, []
        elif mode == "target":
            low, high = [], columns
        else:
            levels = {c: X[c].nunique() for c in columns}
            low = [c for c in columns if levels[c] <= self.max_onehot]
            high = [c for c in columns if levels[c] > self.max_onehot]
            if y is None:
                low, high = low + high, []
        parts = []
        if low:
            onehot = make_pipeline(
                SimpleImputer(strategy="constant", fill_value="(missing)"),
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            )
            parts.append(("onehot", onehot, low))
        if high:
            parts.append(("target", self._many_levels_encoder(y), high))
        return parts


def days_repeat(values: pd.Series) -> bool:
    """Whether the column's dates fall on few enough distinct days to be categories."""
    days = pd.to_datetime(values, errors="coerce", format="mixed", utc=True).dt.normalize().dropna()
    return len(days) > 0 and days.nunique() * MIN_ROWS_PER_DAY <= len(days)

