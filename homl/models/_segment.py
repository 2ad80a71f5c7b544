"""Segmentation: find groups of similar rows, choosing the algorithm and the number of groups.

:class:`Segmenter` tries each clustering method of the book's chapter 9 at every number of
segments from 2 to ``max_clusters``, scores each try, and keeps one:

- a method that takes a number of segments is scored at each one by the silhouette
  coefficient (how much closer a row is to its own segment than to the next), except the
  Gaussian mixture, whose number of components is chosen by BIC (its own likelihood, paid
  for by its parameters); the Bayesian mixture and the density methods (DBSCAN, HDBSCAN)
  find their number of segments themselves;
- the methods' choices are then compared by silhouette, the one measure all of them have.

Every try is kept in ``candidates_`` (method, number of segments, silhouette,
Calinski-Harabasz, Davies-Bouldin, inertia, BIC, share of noise), and ``choice_`` says in
words why the winner won. ``method`` and ``n_clusters`` override the choice. Large tables are
searched on a sample of ``sample_size`` rows; the winner is then fitted on every row (k-means
as mini-batch k-means above ``MINIBATCH_ROWS``), or on a sample for the methods whose cost
grows with the square of the rows (``ROW_LIMITS``).

Methods without a ``predict`` of their own (agglomerative, spectral, the density methods)
assign new rows as their nearest training rows were assigned. ``transform`` gives each row's
distance to every segment's centre (the mean of its training rows), usable as features.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import ClusterMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from homl._estimator import Estimator, fitting

#: Readable names of the methods ``Segmenter`` knows.
SEGMENT_METHODS: dict[str, str] = {
    "kmeans": "k-means",
    "gaussian_mixture": "Gaussian mixture",
    "bayesian_gaussian_mixture": "Bayesian Gaussian mixture",
    "agglomerative": "agglomerative (Ward)",
    "spectral": "spectral clustering",
    "dbscan": "DBSCAN",
    "hdbscan": "HDBSCAN",
}
#: Methods given a number of segments; the others find it themselves.
TAKES_K = ("kmeans", "gaussian_mixture", "agglomerative", "spectral")
#: The methods "auto" compares.
AUTO_METHODS = ("kmeans", "gaussian_mixture", "agglomerative", "spectral")
#: The most rows a method learns from (agglomerative clustering needs memory quadratic in
#: rows, spectral clustering an affinity graph and an eigen-decomposition): above, it learns
#: from a sample and the other rows join the segment of their nearest sampled row.
ROW_LIMITS: dict[str, int] = {"agglomerative": 10_000, "spectral": 2_000, "dbscan": 20_000, "hdbscan": 20_000}
#: Above this many rows, k-means is fitted in mini-batches.
MINIBATCH_ROWS = 20_000
#: Columns up to which mixtures give each component a full covariance matrix (else a diagonal one).
FULL_COVARIANCE_MAX = 20
#: Rows the silhouette is computed on (it costs the square of the rows).
SILHOUETTE_ROWS = 5_000
#: A density method leaving more than this share of rows as noise is not chosen by "auto".
MAX_NOISE_SHARE = 0.25
#: Label of the rows a density method leaves out of every segment.
NOISE = -1


class Segmenter(ClusterMixin, TransformerMixin, Estimator):
    """Clusters rows of numbers into segments, choosing the method and their number.

    ``method``: "auto" or one of :data:`SEGMENT_METHODS`; ``n_clusters``: "auto" or a number
    (for the methods that take one); ``max_clusters``: the most segments "auto" tries;
    ``sample_size``: rows the choice is made on. Fitted: ``labels_``, ``method_``,
    ``n_clusters_``, ``cluster_centers_``, ``estimator_``, ``candidates_``, ``choice_``.
    """

    _parameter_constraints = {
        "method": [StrOptions({"auto", *SEGMENT_METHODS})],
        "n_clusters": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_clusters": [Interval(Integral, 2, None, closed="left")],
        "sample_size": [Interval(Integral, 100, None, closed="left")],
        "random_state": ["random_state"],
    }
    _input_check = {"dtype": np.float64}

    def __init__(self, method: str = "auto", n_clusters: int | str = "auto", max_clusters: int = 10,
                 sample_size: int = 10_000, random_state: int | None = 0):
        self.method = method
        self.n_clusters = n_clusters
        self.max_clusters = max_clusters
        self.sample_size = sample_size
        self.random_state = random_state

    @fitting
    def fit(self, X: Any, y: Any = None) -> Segmenter:
        X = self._check_input(X, reset=True)
        n_rows = len(X)
        if n_rows < 2:
            raise ValueError(f"segmenting needs at least 2 rows; got n_samples={n_rows}")
        most = most_segments(self.method, n_rows)
        if isinstance(self.n_clusters, int) and self.n_clusters > most:
            raise ValueError(f"n_clusters={self.n_clusters} segments asked of {n_rows} row(s); "
                             f"{SEGMENT_METHODS.get(self.method, 'segmenting')} makes at most {most}")
        if self.method == "spectral" and most < 2:
            raise ValueError(f"spectral clustering needs at least 3 rows to make 2 segments; got n_samples={n_rows}")
        if np.ptp(X, axis=0).max() == 0:
            raise ValueError("every row is the same: there is nothing to segment")
        rng = np.random.default_rng(self.random_state)
        sample = X[rng.permutation(n_rows)[: self.sample_size]]
        self.candidates_ = self._try_all(sample)
        ranked = _ranked(self.candidates_, self.method)
        best = ranked[0]
        self.method_, self.n_clusters_ = best["method"], best["n_clusters"]
        self.choice_ = _explain(self.candidates_, ranked, self.method, self.n_clusters)
        limit = ROW_LIMITS.get(self.method_)
        learned_on = X if limit is None or n_rows <= limit else sample[:limit]
        self.estimator_ = _make(self.method_, self.n_clusters_, self.random_state, learned_on)
        labels = self.estimator_.fit_predict(learned_on)
        if (labels == NOISE).all():  # a density method that found no dense group: one segment of every row
            labels = np.zeros_like(labels)
            self.choice_ += " It found no dense group, so every row forms one segment."
        segments = _renumbered(labels)
        self.n_clusters_ = int(segments.max()) + 1
        self.cluster_centers_ = np.vstack([learned_on[segments == c].mean(axis=0) for c in range(self.n_clusters_)])
        self.assigner_ = None
        if hasattr(self.estimator_, "predict"):
            self.label_map_ = _label_map(labels, segments)
        else:
            from sklearn.neighbors import KNeighborsClassifier

            self.assigner_ = KNeighborsClassifier(n_neighbors=1).fit(learned_on, segments)
        self.labels_ = segments if learned_on is X else self._assign(X)
        return self

    def _try_all(self, X: np.ndarray) -> list[dict[str, Any]]:
        methods = [self.method] if self.method != "auto" else AUTO_METHODS
        top = min(self.max_clusters, len(X) - 1)
        ks = [self.n_clusters] if isinstance(self.n_clusters, int) else list(range(2, max(top, 2) + 1))
        candidates = []
        for method in methods:
            rows = X[: ROW_LIMITS.get(method) or len(X)]
            for k in [k for k in ks if k <= most_segments(method, len(rows))] if method in TAKES_K else [None]:
                candidates.append(_score(method, k, rows, self.random_state))
        return candidates

    def predict(self, X: Any) -> np.ndarray:
        """The segment of each row (``NOISE``, -1, for a density method's outliers)."""
        return self._assign(self._check_input(X, reset=False))

    def _assign(self, X: np.ndarray) -> np.ndarray:
        if self.assigner_ is not None:
            return self.assigner_.predict(X)
        return self.label_map_[self.estimator_.predict(X)]

    def transform(self, X: Any) -> np.ndarray:
        """Each row's distance to every segment's centre (one column a segment)."""
        from sklearn.metrics import pairwise_distances

        X = self._check_input(X, reset=False)
        return pairwise_distances(X, self.cluster_centers_)

    def _has_proba(self) -> bool:
        check_is_fitted(self)
        return hasattr(self.estimator_, "predict_proba")

    @available_if(_has_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """A mixture's probability of each segment, columns in segment order."""
        X = self._check_input(X, reset=False)
        proba = self.estimator_.predict_proba(X)
        out = np.zeros((len(X), self.n_clusters_))
        for component, segment in enumerate(self.label_map_):
            if segment >= 0:
                out[:, segment] += proba[:, component]
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        return np.asarray([f"segment_distance_{c}" for c in range(self.n_clusters_)], dtype=object)


def most_segments(method: str, n_rows: int) -> int:
    """The most segments ``method`` can make of ``n_rows`` rows: spectral clustering one fewer than the rows
    (its eigen-decomposition needs more rows than segments), the others one per row."""
    return n_rows - 1 if method == "spectral" else n_rows


def _make(method: str, k: int | None, seed: Any, X: np.ndarray) -> Any:
    """A clustering estimator of ``method`` for ``X`` (``k`` segments where it takes a number)."""
    from sklearn import cluster, mixture

    n_rows = len(X)
    if method == "kmeans":
        if n_rows > MINIBATCH_ROWS:
            return cluster.MiniBatchKMeans(k, n_init=3, batch_size=4096, random_state=seed)
        return cluster.KMeans(k, n_init=10, random_state=seed)
    # A full covariance a component costs the square of the columns: diagonal ones past FULL_COVARIANCE_MAX.
    covariance = "full" if X.shape[1] <= FULL_COVARIANCE_MAX else "diag"
    if method == "gaussian_mixture":
        return mixture.GaussianMixture(k, covariance_type=covariance, n_init=2, random_state=seed)
    if method == "bayesian_gaussian_mixture":
        return mixture.BayesianGaussianMixture(n_components=min(10, n_rows), covariance_type=covariance, n_init=2,
                                               max_iter=500, random_state=seed)
    if method == "agglomerative":
        return cluster.AgglomerativeClustering(k, linkage="ward")
    if method == "spectral":
        return cluster.SpectralClustering(k, affinity="nearest_neighbors", n_neighbors=min(10, n_rows - 1),
                                          assign_labels="cluster_qr", random_state=seed)
    if method == "dbscan":
        return cluster.DBSCAN(eps=_eps_from(X), min_samples=_min_samples(n_rows))
    return cluster.HDBSCAN(min_cluster_size=max(5, n_rows // 100), copy=True)


def _min_samples(n_rows: int) -> int:
    return max(4, min(20, n_rows // 100))


def _eps_from(X: np.ndarray) -> float:
    """DBSCAN's radius: the 90th percentile of each row's distance to its k-th neighbour
    (the knee of the book's k-distance plot, read where most rows are dense)."""
    from sklearn.neighbors import NearestNeighbors

    k = _min_samples(len(X))
    distances, _ = NearestNeighbors(n_neighbors=min(k + 1, len(X))).fit(X).kneighbors(X)
    return float(np.percentile(distances[:, -1], 90)) or 1e-6


def _score(method: str, k: int | None, X: np.ndarray, seed: Any) -> dict[str, Any]:
    """One try of ``method`` at ``k`` segments on ``X``, with its scores."""
    import warnings

    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

    model = _make(method, k, seed, X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter of a poor k: its score says it
        labels = model.fit_predict(X)
    kept = labels != NOISE
    found = len(np.unique(labels[kept]))
    row: dict[str, Any] = {"method": method, "n_clusters": k if k is not None else found,
                           "noise_share": float(1 - kept.mean())}
    scores = {"silhouette": np.nan, "calinski_harabasz": np.nan, "davies_bouldin": np.nan}
    if 2 <= found < kept.sum():
        rng = np.random.default_rng(0)
        rows = np.flatnonzero(kept)
        if len(rows) > SILHOUETTE_ROWS:
            rows = rng.choice(rows, SILHOUETTE_ROWS, replace=False)
        if len(np.unique(labels[rows])) >= 2:
            scores["silhouette"] = float(silhouette_score(X[rows], labels[rows]))
        scores["calinski_harabasz"] = float(calinski_harabasz_score(X[kept], labels[kept]))
        scores["davies_bouldin"] = float(davies_bouldin_score(X[kept], labels[kept]))
    row.update(scores)
    row["inertia"] = float(model.inertia_) if hasattr(model, "inertia_") else np.nan
    row["bic"] = float(model.bic(X)) if method == "gaussian_mixture" else np.nan
    return row


def _choices(candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each method's own choice of k: by BIC for the Gaussian mixture, else by silhouette."""
    choices = []
    for name in dict.fromkeys(c["method"] for c in candidates):
        tries = [c for c in candidates if c["method"] == name]
        if name == "gaussian_mixture" and len(tries) > 1:
            choices.append(min(tries, key=lambda c: c["bic"]))
        else:
            choices.append(max(tries, key=lambda c: _or(c["silhouette"], -np.inf)))
    return choices


def _ranked(candidates: list[dict[str, Any]], method: str) -> list[dict[str, Any]]:
    """The methods' choices, best silhouette first; "auto" leaves out noisy density methods."""
    choices = _choices(candidates)
    if method == "auto":
        eligible = [c for c in choices if c["noise_share"] <= MAX_NOISE_SHARE and np.isfinite(c["silhouette"])]
        choices = eligible or choices
    return sorted(choices, key=lambda c: -_or(c["silhouette"], -np.inf))


def _or(value: float, default: float) -> float:
    return value if np.isfinite(value) else default


def _explain(candidates: list[dict[str, Any]], ranked: list[dict[str, Any]], method: str, n_clusters: Any) -> str:
    """Why the winner (first of ``ranked``) won, in a sentence or two."""
    best = ranked[0]
    name = SEGMENT_METHODS[best["method"]]
    k, silhouette = best["n_clusters"], best["silhouette"]
    score = f"silhouette {silhouette:.3f}" if np.isfinite(silhouette) else "no silhouette (a single segment)"
    if method != "auto" and n_clusters != "auto":
        return f"{name} with {k} segments, as asked ({score})."
    edge = ""
    if best["method"] == "gaussian_mixture" and len([c for c in candidates if c["method"] == "gaussian_mixture"]) > 1:
        why = f"its lowest BIC is at {k} components"
    elif best["method"] in TAKES_K and n_clusters == "auto":
        tried = [c["n_clusters"] for c in candidates if c["method"] == best["method"]]
        why = f"{k} segments had its best silhouette among {min(tried)} to {max(tried)}"
        if k == max(tried) > min(tried):
            edge = " That is the most segments tried: more may score better still (raise --max-k, or max_clusters in Python, to see)."
    else:
        why = f"it found {k} segment{'s' if k != 1 else ''} itself"
    text = f"{name}: {why} ({score}).{edge}"
    if method == "auto" and len(ranked) > 1 and np.isfinite(ranked[1]["silhouette"]):
        runner = ranked[1]
        text += (f" Next came {SEGMENT_METHODS[runner['method']]} with {runner['n_clusters']} segments "
                 f"(silhouette {runner['silhouette']:.3f}).")
    return text


def _renumbered(labels: np.ndarray) -> np.ndarray:
    """Segments numbered 0, 1... from the largest down; noise stays -1."""
    kept = labels != NOISE
    values, counts = np.unique(labels[kept], return_counts=True)
    order = values[np.argsort(-counts, kind="stable")]
    mapping = np.full(int(labels.max()) + 2 if len(labels) else 1, NOISE, dtype=int)  # the last slot is noise's
    mapping[order] = np.arange(len(order))
    return mapping[np.where(kept, labels, -1)]


def _label_map(original: np.ndarray, renumbered: np.ndarray) -> np.ndarray:
    """Array indexed by a method's own label giving the segment number (-1 for unused labels)."""
    mapping = np.full(int(original.max()) + 1 if len(original) else 1, NOISE, dtype=int)
    used, first = np.unique(original, return_index=True)
    kept = used >= 0
    mapping[used[kept]] = renumbered[first[kept]]
    return mapping
