"""Semi-supervised labelling with clustering: few labels, spread to similar rows (the book's chapter 9).

With only a few labels to spend, label the rows that stand for many others:

- :func:`representative_rows` clusters the rows with k-means into ``n`` clusters and returns,
  for each centre, the row closest to it: the rows worth labelling by hand;
- :func:`propagate_labels` gives every row the label of the labelled row of its cluster
  ("cluster"), or of scikit-learn's ``LabelSpreading`` / ``LabelPropagation`` on a k-nearest
  neighbours graph ("spreading", "propagation"); with ``share`` < 1 only the share of each
  cluster's rows closest to its centre is labelled (the book, 3rd edition, keeps the 99 %
  closest), the rest are left unlabelled, their labels being the likeliest to be wrong;
- :class:`ClusterLabelClassifier` does both inside ``fit`` and trains a classifier on the rows
  labelled this way. Its ``y`` marks unlabelled rows with -1, as scikit-learn's
  ``SelfTrainingClassifier`` does.

>>> from sklearn.datasets import load_digits
>>> X, y = load_digits(return_X_y=True)
>>> rows = representative_rows(X[:300], 10)
>>> labels = propagate_labels(X[:300], rows, y[:300][rows])
>>> labels.shape, int((labels == -1).sum())
((300,), 0)
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array, validate_data

from homl._estimator import Estimator, fitting_around

#: How :func:`propagate_labels` spreads the labels it is given.
PROPAGATION_METHODS: dict[str, str] = {
    "cluster": "the labelled row of each k-means cluster",
    "spreading": "scikit-learn's LabelSpreading on a k-nearest-neighbours graph",
    "propagation": "scikit-learn's LabelPropagation on a k-nearest-neighbours graph",
}
#: Marker of an unlabelled row: -1 among integer labels (scikit-learn's convention), else ``None``.
UNLABELLED = -1
#: k-means restarts, as in the book.
N_INIT = 10


def representative_rows(X: Any, n: int, *, random_state: Any = 0) -> np.ndarray:
    """Indices of ``n`` distinct rows, each the closest to the centre of one of ``n`` k-means clusters."""
    X = check_array(X, dtype=np.float64)
    _check_count(n, len(X))
    return _closest_to_centres(_kmeans(X, n, random_state).transform(X))


def propagate_labels(X: Any, rows: Any, labels: Any, *, method: str = "cluster", share: float = 1.0,
                     random_state: Any = 0) -> np.ndarray:
    """A label for every row of ``X``, spread from ``labels`` given on ``rows``.

    ``method``: one of :data:`PROPAGATION_METHODS`. "cluster" clusters ``X`` with k-means into
    ``len(rows)`` clusters; each row takes the label of the nearest labelled row of its cluster,
    or, where its cluster holds none, of the nearest labelled row. ``share``: the part of each
    cluster ("cluster") or of each label ("spreading", "propagation") that keeps its label, the
    rows closest to the centre or labelled most confidently; the others are unlabelled,
    :data:`UNLABELLED` (-1) for integer labels, ``None`` (object array) for others. The given
    rows always keep their given labels.
    """
    X = check_array(X, dtype=np.float64)
    rows, labels = _check_rows(rows, labels, len(X))
    _check_share(share)
    if method not in PROPAGATION_METHODS:
        raise ValueError(f"method={method!r} is not a way to propagate labels; expected one of "
                         f"{sorted(PROPAGATION_METHODS)}")
    classes, codes = np.unique(labels, return_inverse=True)
    if method == "cluster":
        out = _by_cluster(X, rows, codes, share, _kmeans(X, len(rows), random_state))
    else:
        out = _by_graph(X, rows, codes, share, method)
    return _decoded(out, classes, labels.dtype)


class ClusterLabelClassifier(ClassifierMixin, MetaEstimatorMixin, Estimator):
    """A classifier trained on a few labels, first propagated to the rows like them.

    ``y`` marks unlabelled rows with -1 (or ``None``). ``n_labels``: the most labels used; with
    more labelled rows, only the labelled row closest to the centre of each of ``n_labels``
    k-means clusters of all rows is kept (the book's representative rows; a cluster holding
    no labelled row gives none). ``method`` and ``share``: see
    :func:`propagate_labels`. ``estimator`` (default ``LogisticRegression(max_iter=1000)``) is
    fitted on the rows labelled after propagation. Fitted: ``estimator_``, ``classes_``,
    ``labelled_rows_`` (the rows whose given labels were used), ``propagated_`` (each
    training row's label after propagation, -1 / ``None`` where left unlabelled).
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_labels": [Interval(Integral, 1, None, closed="left")],
        "share": [Interval(Real, 0, 1, closed="right")],
        "method": [StrOptions(set(PROPAGATION_METHODS))],
        "random_state": ["random_state"],
    }
    _input_check = {"dtype": np.float64}

    def __init__(self, estimator: Any = None, n_labels: int = 50, share: float = 0.99, method: str = "cluster",
                 random_state: Any = 0):
        self.estimator = estimator
        self.n_labels = n_labels
        self.share = share
        self.method = method
        self.random_state = random_state

    @fitting_around
    def fit(self, X: Any, y: Any) -> ClusterLabelClassifier:
        from sklearn.utils.multiclass import check_classification_targets

        X, y = validate_data(self, X, y, **self._input_check)
        known = np.flatnonzero(~_unlabelled(y))
        if len(known) == 0:
            raise ValueError(f"y marks all {len(y)} rows unlabelled (-1 or None); label at least one row")
        given = y[known]
        if given.dtype == object and any(isinstance(v, str) for v in given):
            given = given.astype(str)
        check_classification_targets(given)
        self.classes_ = np.unique(given)
        full = np.empty(len(y), dtype=given.dtype)
        full[known] = given
        kmeans = None
        if len(known) > self.n_labels:
            kmeans = _kmeans(X, self.n_labels, self.random_state)
            known = _closest_labelled(kmeans.transform(X), known)
        self.labelled_rows_ = known
        classes, codes = np.unique(full[known], return_inverse=True)
        if self.method == "cluster":
            if kmeans is None or len(known) != self.n_labels:
                kmeans = _kmeans(X, len(known), self.random_state)
            out = _by_cluster(X, known, codes, self.share, kmeans)
        else:
            out = _by_graph(X, known, codes, self.share, self.method)
        kept = out != UNLABELLED
        self.propagated_ = _decoded(out, classes, self.classes_.dtype)
        estimator = clone(self.estimator) if self.estimator is not None else _default_estimator()
        self.estimator_ = estimator.fit(X[kept], classes[out[kept]])
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The predicted class of each row."""
        X = self._check_input(X, reset=False)
        return self.estimator_.predict(X)

    def _has_proba(self) -> bool:
        return hasattr(self.estimator_ if hasattr(self, "estimator_") else self.estimator or _default_estimator(),
                       "predict_proba")

    @available_if(_has_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Each class's probability, columns in ``classes_`` order (0 for a class no kept row holds)."""
        X = self._check_input(X, reset=False)
        proba = self.estimator_.predict_proba(X)
        out = np.zeros((len(proba), len(self.classes_)))
        out[:, np.searchsorted(self.classes_, self.estimator_.classes_)] = proba
        return out

def _default_estimator() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


def _kmeans(X: np.ndarray, k: int, random_state: Any) -> Any:
    """k-means with ``k`` clusters fitted on ``X``."""
    import warnings

    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():  # duplicate rows: fewer distinct clusters than asked, harmless here
        warnings.simplefilter("ignore", ConvergenceWarning)
        return KMeans(k, n_init=N_INIT, random_state=random_state).fit(X)


def _closest_to_centres(distances: np.ndarray) -> np.ndarray:
    """For each centre (column) in turn, the closest row (line) not taken by an earlier centre."""
    chosen: list[int] = []
    for centre in range(distances.shape[1]):
        order = np.argsort(distances[:, centre], kind="stable")
        chosen.append(int(next(r for r in order if r not in chosen)))
    return np.asarray(chosen, dtype=np.intp)


def _closest_labelled(distances: np.ndarray, labelled: np.ndarray) -> np.ndarray:
    """Of the ``labelled`` rows, the one closest to each centre, for the centres whose cluster holds one."""
    clusters = distances[labelled].argmin(axis=1)
    chosen = []
    for centre in np.unique(clusters):
        members = labelled[clusters == centre]
        chosen.append(members[distances[members, centre].argmin()])
    return np.sort(np.asarray(chosen, dtype=np.intp))


def _by_cluster(X: np.ndarray, rows: np.ndarray, codes: np.ndarray, share: float, kmeans: Any) -> np.ndarray:
    """Label codes for every row: the nearest labelled row of its cluster, else the nearest labelled row."""
    from sklearn.metrics import pairwise_distances

    clusters = kmeans.predict(X)
    to_labelled = pairwise_distances(X, X[rows])
    foreign = clusters[:, None] != clusters[rows][None, :]
    has_own = ~foreign.all(axis=1)
    to_labelled[foreign & has_own[:, None]] = np.inf
    out = codes[to_labelled.argmin(axis=1)]
    if share < 1:
        to_centre = kmeans.transform(X)[np.arange(len(X)), clusters]
        out = np.where(_closest_share(to_centre, clusters, share), out, UNLABELLED)
    out[rows] = codes
    return out


def _by_graph(X: np.ndarray, rows: np.ndarray, codes: np.ndarray, share: float, method: str) -> np.ndarray:
    """Label codes for every row from scikit-learn's label spreading or propagation."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.semi_supervised import LabelPropagation, LabelSpreading

    y = np.full(len(X), UNLABELLED)
    y[rows] = codes
    model = (LabelSpreading if method == "spreading" else LabelPropagation)(
        kernel="knn", n_neighbors=min(7, len(X) - 1) or 1)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    out = model.transduction_.astype(np.intp)
    if share < 1:
        confidence = np.nan_to_num(model.label_distributions_.max(axis=1))
        out = np.where(_closest_share(-confidence, out, share), out, UNLABELLED)
    out[rows] = codes
    return out


def _closest_share(distance: np.ndarray, groups: np.ndarray, share: float) -> np.ndarray:
    """Whether each row is among the ``share`` of its group closest (smallest ``distance``), rounded
    down as the book's percentile cut-off does (at 0.99 a group of 28 loses its farthest row), at
    least one a group. Ties keep their order, so equal confidences still give the share asked."""
    keep = np.zeros(len(distance), dtype=bool)
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        n_keep = max(1, int(np.floor(share * len(members) + 1e-9)))
        keep[members[np.argsort(distance[members], kind="stable")[:n_keep]]] = True
    return keep


def _decoded(codes: np.ndarray, classes: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Label codes as labels; unlabelled rows -1 for integer labels, else ``None``."""
    unlabelled = codes == UNLABELLED
    if np.issubdtype(dtype, np.integer):
        out = np.full(len(codes), UNLABELLED, dtype=dtype)
    else:
        out = np.full(len(codes), None, dtype=object)
    out[~unlabelled] = classes[codes[~unlabelled]]
    return out


def _unlabelled(y: np.ndarray) -> np.ndarray:
    """Where ``y`` marks a row unlabelled: -1, or ``None`` in an object array."""
    if y.dtype == object:
        return np.asarray([v is None or (isinstance(v, (int, np.integer)) and v == UNLABELLED) for v in y])
    if y.dtype.kind in "iuf":
        return y == UNLABELLED
    return np.zeros(len(y), dtype=bool)


def _check_count(n: Any, n_rows: int) -> None:
    if not isinstance(n, Integral) or isinstance(n, bool) or not 1 <= n <= n_rows:
        raise ValueError(f"n={n!r} representative rows asked of {n_rows} row(s); expected a whole number "
                         f"from 1 to {n_rows}")


def _check_share(share: Any) -> None:
    if not isinstance(share, Real) or not 0 < share <= 1:
        raise ValueError(f"share={share!r} is not a share of rows to keep labelled; expected a number in (0, 1]")


def _check_rows(rows: Any, labels: Any, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` as distinct indices into ``n_rows`` rows, and ``labels`` as one label each, unmarked."""
    rows, labels = np.asarray(rows), np.asarray(labels)
    if rows.ndim != 1 or len(rows) == 0 or rows.dtype.kind not in "iu":
        raise ValueError(f"rows must be a non-empty list of row numbers; got {rows!r:.80}")
    if rows.min() < 0 or rows.max() >= n_rows:
        bad = rows[(rows < 0) | (rows >= n_rows)]
        raise ValueError(f"rows hold {len(bad)} index(es) outside the {n_rows} row(s) of X (first: {bad[0]})")
    if len(np.unique(rows)) != len(rows):
        raise ValueError("rows name the same row more than once; give each labelled row once")
    if labels.shape != rows.shape:
        raise ValueError(f"{len(labels)} label(s) given for {len(rows)} row(s); give one label per row")
    if _unlabelled(labels).any():
        raise ValueError("labels hold -1 or None, the marker of an unlabelled row; give only known labels")
    return rows.astype(np.intp), labels
