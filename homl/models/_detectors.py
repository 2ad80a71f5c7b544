"""The unsupervised detectors :class:`~homl.models.AnomalyDetector` can run, by name.

Each entry of :data:`DETECTORS` holds a readable name and a ``make(X, seed, n_jobs)`` that
returns a detector fitted on ``X`` whose ``score_samples`` is higher for more normal rows
(scikit-learn's convention). Detectors from PyOD (``ecod``, ``copod``, ``hbos``) run only
where PyOD is installed; :func:`available_detectors` lists what can run here.

Three small detectors are homl's own:

- ``knn``: distance to the k-th nearest training row (Ramaswamy et al. 2000);
- ``pca``: squared distance from the centre along every principal component, each scaled by
  its variance (the weighted reconstruction error of Shyu et al. 2003, which PyOD's PCA also
  uses); the plain reconstruction error of the top components measured worse on homl's
  anomaly benchmark;
- ``ecdf``: the sum over columns of each value's log tail probability under the column's
  empirical distribution, ECOD's rule (Li et al. 2022). Unlike PyOD's ECOD, which refits its
  distributions on the training rows plus the rows being scored, a row's score depends only
  on the training rows, so it does not change with the batch it is scored in.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from homl.errors import ConfigError

#: The smallest share of rows a Gaussian-mixture component may hold.
MIN_COMPONENT_SHARE = 0.05


class Detector(NamedTuple):
    """A detector by name: ``readable`` for people, ``make(X, seed, n_jobs)`` fits one on ``X``;
    ``max_rows``: the most rows it learns from (a random sample above); ``package``: the
    optional dependency it needs."""

    readable: str
    make: Callable[[np.ndarray, int, int | None], Any]
    max_rows: int | None = None
    package: str | None = None


class KNNDistance:
    """Anomaly = distance to the ``n_neighbors``-th nearest training row (a training row
    scored again counts itself as its first neighbour)."""

    def __init__(self, n_neighbors: int = 10, n_jobs: int | None = None):
        self.n_neighbors = n_neighbors
        self.n_jobs = n_jobs

    def fit(self, X: np.ndarray) -> KNNDistance:
        from sklearn.neighbors import NearestNeighbors

        self.k_ = min(self.n_neighbors, len(X))
        self.index_ = NearestNeighbors(n_neighbors=self.k_, n_jobs=self.n_jobs).fit(X)
        return self

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        distances, _ = self.index_.kneighbors(X)
        return -distances[:, -1]


class PrincipalDistance:
    """Anomaly = sum of squared principal-component scores, each divided by its variance.

    Components with no variance (constant or collinear columns) are left out.
    """

    def fit(self, X: np.ndarray) -> PrincipalDistance:
        from sklearn.decomposition import PCA

        self.pca_ = PCA(svd_solver="full").fit(X)
        variance = self.pca_.explained_variance_
        self.kept_ = variance > max(variance.max(initial=0.0), 1e-300) * 1e-10
        self.variance_ = variance[self.kept_]
        return self

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        scores = self.pca_.transform(X)[:, self.kept_]
        return -(scores**2 / self.variance_).sum(axis=1)


class EmpiricalTails:
    """ECOD's rule against the training rows: per column, the log probability of a value at
    least as far out in either tail (the skewed tail counted on its own), summed over columns.

    Tail probabilities are counted among the training rows plus the row scored, so a value
    beyond every training value gets 1 / (n + 1), not zero.
    """

    def fit(self, X: np.ndarray) -> EmpiricalTails:
        from scipy.stats import skew

        self.sorted_ = np.sort(X, axis=0)
        with np.errstate(all="ignore"):
            self.skew_sign_ = np.sign(np.nan_to_num(skew(X, axis=0)))
        return self

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        n_rows = len(self.sorted_)
        total = np.zeros(len(X))
        for j in range(X.shape[1]):
            column = self.sorted_[:, j]
            at_most = np.searchsorted(column, X[:, j], side="right")
            at_least = n_rows - np.searchsorted(column, X[:, j], side="left")
            left = -np.log((at_most + 1) / (n_rows + 1))
            right = -np.log((at_least + 1) / (n_rows + 1))
            sign = self.skew_sign_[j]
            skewed = left if sign < 0 else right if sign > 0 else left + right
            total += np.maximum(np.maximum(left, right), skewed)
        return -total


class PyODDetector:
    """A PyOD detector (``ecod``, ``copod``, ``hbos``) turned to scikit-learn's sign convention."""

    def __init__(self, name: str):
        self.name = name

    def fit(self, X: np.ndarray) -> PyODDetector:
        from pyod.models.copod import COPOD
        from pyod.models.ecod import ECOD
        from pyod.models.hbos import HBOS

        self.model_ = {"ecod": ECOD, "copod": COPOD, "hbos": HBOS}[self.name]().fit(X)
        return self

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        return -self.model_.decision_function(X)


def _isolation_forest(X: np.ndarray, seed: int, n_jobs: int | None) -> Any:
    from sklearn.ensemble import IsolationForest

    return IsolationForest(random_state=seed, n_jobs=n_jobs).fit(X)


def _lof(X: np.ndarray, seed: int, n_jobs: int | None) -> Any:
    from sklearn.neighbors import LocalOutlierFactor

    return LocalOutlierFactor(n_neighbors=min(20, len(X) - 1), novelty=True, n_jobs=n_jobs).fit(X)


def _one_class_svm(X: np.ndarray, seed: int, n_jobs: int | None) -> Any:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import OneClassSVM

    return make_pipeline(StandardScaler(), OneClassSVM(gamma="scale")).fit(X)


def _gaussian_mixture(X: np.ndarray, seed: int, n_jobs: int | None) -> Any:
    """A mixture of 1 to 5 components, the number chosen by BIC among the mixtures whose every
    component holds at least ``MIN_COMPONENT_SHARE`` of the rows (a component fitted to a few
    far rows would call them normal); a full covariance a component up to 20 columns, a
    diagonal one above (a full one costs the square of the columns)."""
    from sklearn.mixture import GaussianMixture

    covariance = "full" if X.shape[1] <= 20 else "diag"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter of a poor number of components: BIC says it
        fits = [GaussianMixture(k, covariance_type=covariance, random_state=seed).fit(X)
                for k in range(1, min(5, len(X)) + 1)]
    broad = [mixture for mixture in fits if mixture.weights_.min() >= MIN_COMPONENT_SHARE] or fits[:1]
    return min(broad, key=lambda mixture: mixture.bic(X))


def _elliptic_envelope(X: np.ndarray, seed: int, n_jobs: int | None) -> Any:
    """Robust (minimum covariance determinant) Mahalanobis distance, on the principal
    components with variance: a singular covariance or more columns than half the rows
    would leave the robust estimate undefined, so at most (rows - 1) // 2 components are kept."""
    from sklearn.covariance import EllipticEnvelope
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline

    variance = PCA(svd_solver="full").fit(X).explained_variance_
    rank = int((variance > max(variance.max(initial=0.0), 1e-300) * 1e-10).sum())
    keep = max(1, min(rank, (len(X) - 1) // 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "covariance matrix not full rank" on near-degenerate data
        return make_pipeline(PCA(keep, svd_solver="full"), EllipticEnvelope(random_state=seed)).fit(X)


def _own(cls: type, **params: Any) -> Callable[[np.ndarray, int, int | None], Any]:
    def make(X: np.ndarray, seed: int, n_jobs: int | None) -> Any:
        extra = {"n_jobs": n_jobs} if "n_jobs" in params else {}
        return cls(**{**params, **extra}).fit(X)

    return make


def _pyod(name: str) -> Callable[[np.ndarray, int, int | None], Any]:
    return lambda X, seed, n_jobs: PyODDetector(name).fit(X)


#: Every detector homl knows, by name.
DETECTORS: dict[str, Detector] = {
    "isolation_forest": Detector("isolation forest", _isolation_forest),
    "lof": Detector("local outlier factor", _lof),
    "one_class_svm": Detector("one-class SVM (RBF kernel)", _one_class_svm, max_rows=10_000),
    "gaussian_mixture": Detector("Gaussian mixture density", _gaussian_mixture, max_rows=10_000),
    "pca": Detector("PCA (variance-weighted distance)", _own(PrincipalDistance)),
    "elliptic_envelope": Detector("elliptic envelope (robust covariance)", _elliptic_envelope, max_rows=20_000),
    "knn": Detector("k-nearest-neighbour distance", _own(KNNDistance, n_neighbors=10, n_jobs=None)),
    "ecdf": Detector("empirical tail probability (ECOD rule)", _own(EmpiricalTails), max_rows=100_000),
    "ecod": Detector("ECOD (PyOD)", _pyod("ecod"), package="pyod"),
    "copod": Detector("COPOD (PyOD)", _pyod("copod"), package="pyod"),
    "hbos": Detector("HBOS (PyOD)", _pyod("hbos"), package="pyod"),
}


def available_detectors() -> list[str]:
    """The names of the detectors that can run here (PyOD's only where it is installed)."""
    return [name for name, spec in DETECTORS.items() if spec.package is None or _installed(spec.package)]


def require(name: str) -> Detector:
    """The detector ``name``; a :class:`ConfigError` saying how to install what it needs, if missing."""
    spec = DETECTORS[name]
    if spec.package is not None and not _installed(spec.package):
        raise ConfigError(f"method={name!r} ({spec.readable}) needs the optional package {spec.package}: "
                          f"pip install {spec.package}; or choose one of {', '.join(available_detectors())}")
    return spec


def _installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None
