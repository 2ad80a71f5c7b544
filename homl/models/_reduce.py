"""Dimensionality reduction: fewer columns that keep what matters, by the methods of the book's chapter 8.

:class:`Reducer` puts one scikit-learn reducer behind homl's estimator contract. It takes a
matrix of numbers already prepared (imputed and scaled by the task layer):

- projections learn a linear map, so they place new rows and PCA maps back
  (``inverse_transform``): ``pca``, its ``randomized_pca`` and ``incremental_pca`` solvers
  (the last also learns chunk by chunk through ``partial_fit``), and the random projections
  ``gaussian_random_projection`` and ``sparse_random_projection``;
- ``kernel_pca`` maps back through a learned pre-image; with ``kernel="auto"`` its kernel and
  gamma are chosen by reconstruction error on a sample of at most ``KERNEL_SEARCH_ROWS`` rows;
- manifold learning: ``lle``, ``isomap`` and ``umap`` (from the optional umap-learn package)
  place new rows from their nearest training rows,
  while ``mds`` and ``tsne`` only place the rows they are fitted on: their ``transform`` raises,
  and ``fit_transform`` gives the training rows' embedding (kept in ``embedding_``).

``n_components`` is a number of columns; with ``pca`` a float in (0, 1) keeps the smallest
number of components reaching that share of the variance, and with a random projection
``"auto"`` takes the Johnson-Lindenstrauss bound for the rows at distortion ``eps``.

Kernel PCA, Isomap, MDS and t-SNE cost memory and time in the square of the rows (or more):
the caller samples a large table before fitting them.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_feature_names_in, check_array, check_is_fitted

from homl._estimator import Estimator, fitting
from homl.errors import ConfigError

#: Readable names of the methods ``Reducer`` knows.
REDUCE_METHODS: dict[str, str] = {
    "pca": "PCA",
    "randomized_pca": "randomized PCA",
    "incremental_pca": "incremental PCA",
    "gaussian_random_projection": "Gaussian random projection",
    "sparse_random_projection": "sparse random projection",
    "kernel_pca": "kernel PCA",
    "lle": "locally linear embedding",
    "isomap": "Isomap",
    "mds": "MDS",
    "tsne": "t-SNE",
    "umap": "UMAP",
}
PCA_KINDS = ("pca", "randomized_pca", "incremental_pca")
PROJECTIONS = ("gaussian_random_projection", "sparse_random_projection")
#: Methods with an ``inverse_transform`` (and so a ``reconstruction_error_``).
INVERTIBLE = (*PCA_KINDS, "kernel_pca")
#: Methods that only embed the rows they are fitted on.
FIT_ONLY = ("mds", "tsne")
#: Methods that find at most one component a column.
WITHIN_COLUMNS = (*PCA_KINDS, *PROJECTIONS, "lle")
#: Output column names: the prefix, then 1, 2...
PREFIXES = {"pca": "pca", "randomized_pca": "pca", "incremental_pca": "pca", "gaussian_random_projection": "grp",
            "sparse_random_projection": "srp", "kernel_pca": "kpca", "lle": "lle", "isomap": "isomap", "mds": "mds",
            "tsne": "tsne", "umap": "umap"}
#: Kernels ``kernel="auto"`` compares, each (but cosine) at ``GAMMA_SCALES`` times 1 / columns.
KERNELS = ("rbf", "poly", "sigmoid", "cosine")
GAMMA_SCALES = (0.1, 1.0, 10.0)
#: Rows the kernel search learns from (kernel PCA costs the cube of the rows).
KERNEL_SEARCH_ROWS = 2_000


class Reducer(TransformerMixin, Estimator):
    """Maps rows of numbers to ``n_components`` new columns by one of :data:`REDUCE_METHODS`.

    ``n_components``: a number of columns; a float share of variance in (0, 1) with ``pca``;
    ``"auto"`` (the Johnson-Lindenstrauss bound at distortion ``eps``) with a random projection.
    ``kernel`` (``"auto"`` or a kernel name) and ``gamma``: kernel PCA; ``n_neighbors``: LLE and
    Isomap (at most rows - 1); ``perplexity``: t-SNE; ``batch_size``: incremental PCA.

    Fitted: ``estimator_`` (the scikit-learn reducer), ``n_components_``; for the PCA kinds
    ``explained_variance_ratio_``; for the PCA kinds and kernel PCA ``reconstruction_error_``
    (mean squared error of the training rows mapped there and back; after ``partial_fit``, each
    chunk measured just after it was learned); for kernel PCA ``kernel_``, ``gamma_``, and with
    ``kernel="auto"`` ``search_results_`` (one dict a kernel and gamma tried: ``kernel``,
    ``gamma``, ``reconstruction_error``, ``chosen``); for LLE and Isomap ``n_neighbors_``; for
    MDS and t-SNE ``embedding_``; for t-SNE ``perplexity_``, which is ``perplexity`` unless that
    is not below the number of rows, when t-SNE runs at (rows - 1) / 3 and warns.

    t-SNE and MDS have no ``transform`` for rows: ``transform`` raises :class:`ConfigError`,
    ``fit_transform`` gives the embedding of the rows it is fitted on.

    >>> from sklearn.datasets import load_digits
    >>> Reducer(n_components=0.95).fit(load_digits().data).n_components_
    29
    """

    _parameter_constraints = {
        "method": [StrOptions(set(REDUCE_METHODS))],
        "n_components": [Interval(Integral, 1, None, closed="left"), Interval(RealNotInt, 0, 1, closed="neither"),
                         StrOptions({"auto"})],
        "kernel": [StrOptions({"auto", "linear", *KERNELS})],
        "gamma": [Interval(Real, 0, None, closed="neither"), None],
        "eps": [Interval(Real, 0, 1, closed="neither")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "perplexity": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    }
    _input_check = {"dtype": np.float64}

    def __init__(self, method: str = "pca", n_components: int | float | str = 2, *, kernel: str = "auto",
                 gamma: float | None = None, eps: float = 0.1, n_neighbors: int = 10, perplexity: float = 30.0,
                 batch_size: int | None = None, random_state: Any = 0):
        self.method = method
        self.n_components = n_components
        self.kernel = kernel
        self.gamma = gamma
        self.eps = eps
        self.n_neighbors = n_neighbors
        self.perplexity = perplexity
        self.batch_size = batch_size
        self.random_state = random_state

    @fitting
    def fit(self, X: Any, y: Any = None) -> Reducer:
        self._fit(self._check_input(X, reset=True))
        return self

    @fitting
    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        """Fits, and gives the fitted rows' new columns (for t-SNE and MDS, the only way to get them)."""
        return self._fit(self._check_input(X, reset=True))

    def _fit(self, X: np.ndarray) -> np.ndarray:
        """Learns from ``X``; returns its embedding."""
        n_rows = len(X)
        if n_rows < 2:
            raise ValueError(f"reducing dimensions needs at least 2 rows; got n_samples={n_rows}")
        self.n_components_ = self._components_for(X)
        if self.method == "kernel_pca":
            self.kernel_, self.gamma_ = self.kernel, self.gamma
            if self.kernel == "auto":
                self.search_results_ = _kernel_search(X, self.n_components_, self.random_state)
                best = next(r for r in self.search_results_ if r["chosen"])
                self.kernel_, self.gamma_ = best["kernel"], best["gamma"]
        if self.method in ("lle", "isomap", "umap"):
            self.n_neighbors_ = min(self.n_neighbors, n_rows - 1)
        if self.method == "tsne":
            self.perplexity_ = self._perplexity_for(n_rows)
        self.estimator_ = self._make()
        Z = self.estimator_.fit_transform(X)
        if self.method in PCA_KINDS:
            self.explained_variance_ratio_ = self.estimator_.explained_variance_ratio_
        if self.method in INVERTIBLE:
            self.reconstruction_error_ = _squared_error(X, self.estimator_.inverse_transform(Z))
        if self.method in FIT_ONLY:
            self.embedding_ = Z
        return Z

    def _components_for(self, X: np.ndarray) -> int:
        """The number of output columns, checked against the method and the shape of ``X``."""
        n_rows, n_columns = X.shape
        name, wanted = REDUCE_METHODS[self.method], self.n_components
        if isinstance(wanted, str):
            if self.method not in PROJECTIONS:
                raise ConfigError(f"n_components='auto' (the Johnson-Lindenstrauss bound) is for the random "
                                  f"projections {PROJECTIONS}; {name} needs a number of components")
            return _jl_components(n_rows, n_columns, self.eps)
        if not isinstance(wanted, Integral):
            if self.method != "pca":
                raise ConfigError(f"n_components={wanted} (a share of variance) works with method='pca' only; "
                                  f"{name} needs a number of components")
            return components_for_variance(X, wanted)
        wanted = int(wanted)
        if self.method in WITHIN_COLUMNS and wanted > n_columns:
            raise ValueError(f"n_components={wanted} is more than the {n_columns} feature(s) of X "
                             f"(n_features={n_columns}); {name} finds at most one component a column")
        most = n_rows if self.method in PCA_KINDS else n_rows - 1
        if self.method not in PROJECTIONS and wanted > most:
            raise ValueError(f"n_components={wanted} is more than {name} can find in {n_rows} rows (at most {most}); "
                             "ask for fewer components or give more rows")
        if self.method == "incremental_pca" and self.batch_size is not None and self.batch_size < wanted:
            raise ValueError(f"batch_size={self.batch_size} is below n_components={wanted}: incremental PCA "
                             "needs at least as many rows a batch as components")
        return wanted

    def _perplexity_for(self, n_rows: int) -> float:
        if self.perplexity < n_rows:
            return float(self.perplexity)
        clipped = (n_rows - 1) / 3
        warnings.warn(f"perplexity={self.perplexity} is not below the {n_rows} rows; t-SNE runs at "
                      f"perplexity {clipped:.3g} (perplexity_)", UserWarning, stacklevel=3)
        return clipped

    def _make(self) -> Any:
        """The scikit-learn reducer of ``method``, for the settings fitting chose."""
        from sklearn import decomposition, manifold, random_projection

        d, seed, method = self.n_components_, self.random_state, self.method
        if method == "pca":
            return decomposition.PCA(d, random_state=seed)
        if method == "randomized_pca":
            return decomposition.PCA(d, svd_solver="randomized", random_state=seed)
        if method == "incremental_pca":
            return decomposition.IncrementalPCA(d, batch_size=self.batch_size)
        if method == "gaussian_random_projection":
            return random_projection.GaussianRandomProjection(d, random_state=seed)
        if method == "sparse_random_projection":
            return random_projection.SparseRandomProjection(d, random_state=seed)
        if method == "kernel_pca":
            return decomposition.KernelPCA(d, kernel=self.kernel_, gamma=self.gamma_, fit_inverse_transform=True,
                                           random_state=seed)
        if method == "lle":
            return manifold.LocallyLinearEmbedding(n_neighbors=self.n_neighbors_, n_components=d, random_state=seed)
        if method == "isomap":
            return manifold.Isomap(n_neighbors=self.n_neighbors_, n_components=d)
        if method == "mds":
            return manifold.MDS(d, init="classical_mds", random_state=seed)
        if method == "umap":
            return _umap(d, self.n_neighbors_, seed)
        # Barnes-Hut t-SNE handles at most 3 components; the exact method any number.
        return manifold.TSNE(d, perplexity=self.perplexity_, init="pca", random_state=seed,
                             method="barnes_hut" if d <= 3 else "exact")

    def transform(self, X: Any) -> np.ndarray:
        """The new columns of each row; t-SNE and MDS refuse (they place only their fitted rows)."""
        check_is_fitted(self)
        if self.method in FIT_ONLY:
            raise ConfigError(f"{REDUCE_METHODS[self.method]} places only the rows it was fitted on and has no "
                              "transform for new rows; use fit_transform to embed a table at once, or "
                              "method 'pca', 'isomap' or 'lle' to place new rows")
        return self.estimator_.transform(self._check_input(X, reset=False))

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Rows of new columns mapped back to the original columns (PCA kinds and kernel PCA)."""
        check_is_fitted(self)
        if self.method not in INVERTIBLE:
            raise ConfigError(f"{REDUCE_METHODS[self.method]} has no inverse_transform; methods that map back: "
                              f"{', '.join(INVERTIBLE)}")
        Z = check_array(X, dtype=np.float64)
        if Z.shape[1] != self.n_components_:
            raise ValueError(f"inverse_transform takes {self.n_components_} columns (n_components_); "
                             f"got {Z.shape[1]}")
        return self.estimator_.inverse_transform(Z)

    def _incremental(self) -> bool:
        return self.method == "incremental_pca"

    @available_if(_incremental)
    @fitting
    def partial_fit(self, X: Any, y: Any = None) -> Reducer:
        """Learns from one more chunk of rows (incremental PCA only), e.g. a file read in pieces."""
        # The first chunk starts the model; a model from ``fit`` or earlier chunks goes on learning.
        first = not hasattr(getattr(self, "estimator_", None), "partial_fit")
        X = self._check_input(X, reset=first)
        if first:
            self.n_components_ = self._components_for(X)
            self.estimator_ = self._make()
            self.reconstruction_error_ = 0.0
        if len(X) < self.n_components_:
            raise ValueError(f"each chunk given to partial_fit needs at least n_components={self.n_components_} "
                             f"rows; this one has {len(X)}")
        seen = getattr(self.estimator_, "n_samples_seen_", 0)
        self.estimator_.partial_fit(X)
        error = _squared_error(X, self.estimator_.inverse_transform(self.estimator_.transform(X)))
        self.reconstruction_error_ = (self.reconstruction_error_ * seen + error * len(X)) / (seen + len(X))
        self.explained_variance_ratio_ = self.estimator_.explained_variance_ratio_
        return self

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        prefix = PREFIXES[self.method]
        return np.asarray([f"{prefix}{i}" for i in range(1, self.n_components_ + 1)], dtype=object)


def _umap(n_components: int, n_neighbors: int, seed: Any) -> Any:
    """UMAP from ``umap-learn``, an optional dependency (the ``umap`` extra)."""
    try:
        from umap import UMAP
    except ImportError:
        raise ConfigError("method 'umap' needs the umap-learn package: pip install umap-learn "
                          "(or homl[umap])") from None
    return UMAP(n_components=n_components, n_neighbors=max(2, n_neighbors), random_state=seed)


def components_for_variance(X: Any, share: float) -> int:
    """The smallest number of principal components whose explained variance reaches ``share`` of the total."""
    if not 0 < share < 1:
        raise ValueError(f"share={share!r} is a share of the variance: a number strictly between 0 and 1, e.g. 0.95")
    X = check_array(X, dtype=np.float64)
    if len(X) < 2:
        raise ValueError(f"a share of variance needs at least 2 rows; got n_samples={len(X)}")
    variance = np.linalg.svd(X - X.mean(axis=0), compute_uv=False) ** 2
    if variance.sum() == 0:
        raise ValueError("every row is the same: there is no variance to keep a share of")
    cumulative = np.cumsum(variance) / variance.sum()
    return int(min(np.searchsorted(cumulative, share, side="left") + 1, len(cumulative)))


def explained_variance_curve(reducer: Any) -> np.ndarray:
    """Cumulative share of variance kept by the first 1, 2... components of a fitted PCA reducer."""
    ratio = getattr(reducer, "explained_variance_ratio_", None)
    if ratio is None:
        raise ValueError(f"{type(reducer).__name__} has no explained_variance_ratio_: the curve needs a fitted "
                         f"reducer of method {', '.join(PCA_KINDS)}")
    return np.cumsum(ratio)


def _squared_error(X: np.ndarray, back: np.ndarray) -> float:
    return float(np.mean((X - back) ** 2))


def _jl_components(n_rows: int, n_columns: int, eps: float) -> int:
    """The Johnson-Lindenstrauss number of components for ``n_rows`` at distortion ``eps``, if below the columns."""
    from sklearn.random_projection import johnson_lindenstrauss_min_dim

    d = int(johnson_lindenstrauss_min_dim(n_rows, eps=eps))
    if d <= n_columns:
        return d
    needed = _eps_fitting(n_rows, n_columns)
    hint = f"eps={needed:.2f} or more fits" if needed is not None else "no eps below 1 fits"
    raise ValueError(f"n_components='auto': the Johnson-Lindenstrauss bound for {n_rows} rows at eps={eps} is {d} "
                     f"components, more than the {n_columns} feature(s) of X; {hint}, or give n_components as an int")


def _eps_fitting(n_rows: int, n_columns: int) -> float | None:
    """The smallest eps (to 0.01) whose Johnson-Lindenstrauss bound is at most ``n_columns``, if one is below 1."""
    from sklearn.random_projection import johnson_lindenstrauss_min_dim

    for eps in np.arange(0.01, 1.0, 0.01):  # the bound falls as eps grows
        if johnson_lindenstrauss_min_dim(n_rows, eps=eps) <= n_columns:
            return float(eps)
    return None


def _kernel_search(X: np.ndarray, n_components: int, seed: Any) -> list[dict[str, Any]]:
    """Kernel PCA at each kernel of ``KERNELS`` and gamma, scored by reconstruction error on a sample of ``X``.

    The book's way to tune an unsupervised kernel PCA: the kernel whose pre-images come back
    closest to the rows. An rbf at gamma = 1 / columns, scikit-learn's default, is among the tries.
    """
    from sklearn.decomposition import KernelPCA
    from sklearn.utils import check_random_state

    if len(X) > KERNEL_SEARCH_ROWS:
        X = X[check_random_state(seed).choice(len(X), KERNEL_SEARCH_ROWS, replace=False)]
    n_components = min(n_components, len(X) - 1)
    base = 1.0 / X.shape[1]
    results = []
    for kernel in KERNELS:
        for gamma in [None] if kernel == "cosine" else [base * scale for scale in GAMMA_SCALES]:
            model = KernelPCA(n_components, kernel=kernel, gamma=gamma, fit_inverse_transform=True, random_state=seed)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # a poor kernel's numerical chatter: its error says it
                    error = _squared_error(X, model.inverse_transform(model.fit_transform(X)))
            except (ValueError, RuntimeError, np.linalg.LinAlgError):  # RuntimeError: ARPACK gave up
                error = float("nan")
            results.append({"kernel": kernel, "gamma": gamma, "reconstruction_error": error, "chosen": False})
    scored = [r for r in results if np.isfinite(r["reconstruction_error"])]
    if not scored:
        raise ValueError("kernel PCA failed with every kernel tried; give kernel and gamma, or use method='pca'")
    min(scored, key=lambda r: r["reconstruction_error"])["chosen"] = True
    return results
