"""Anomaly detection without labels: one scikit-learn outlier detector over homl's detectors.

:class:`AnomalyDetector` runs one detector of :data:`~homl.models.DETECTORS` by name, or
"auto": the average of the standardised scores of an isolation forest and HBOS (PyOD's
histogram-based detector), or the isolation forest alone where PyOD is not installed. ADBench
(57 data sets) found no unsupervised detector reliably better than the rest, with the
isolation forest best on mean PR AUC; the two look at rows in different ways (how few random
splits isolate a row; how rare each of its values is in that column's histogram).

Chosen with ``bench/anomalies.py`` on 13 labelled sets (homl's five anomaly tables, three rare
classes of scikit-learn's tables, five of the ISLP package's tables) among the isolation forest
with one to three other detectors averaged in: with the forest, HBOS and a one-class SVM, it
had the best mean PR AUC over the 13 (0.363; the forest alone 0.353); it beat the forest on
the five anomaly tables (0.605 against 0.601) and on scikit-learn's (0.323 against 0.283),
tied it on ISLP's (0.146 against 0.148), and was never the worst detector on a set. The
default before, the forest with the empirical tail probability (``ecdf``), had been chosen on
the five anomaly tables alone (0.618 there) and trailed the forest on the eight others; the
one-class SVM scores as well but costs minutes on half a million rows.

Scores: each detector's raw score is standardised by its mean and spread on the training rows,
and "auto" averages its members' (then standardises the average), so ``anomaly_score`` reads
alike for every method: 0 is a typical training row, higher is more anomalous, in training
standard deviations. ``score_samples`` is its negative (scikit-learn's sign: lower = more
abnormal) and ``decision_function`` is ``score_samples - offset_``, negative for an anomaly.

Threshold: with a float ``contamination`` that share of training rows is flagged. With "auto"
the cut is Tukey's fence on the training scores, the third quartile plus 1.5 times the
interquartile range (flagging at most half the rows); on the five anomaly tables it flagged
0.5 to 9.6% of rows where 2.3 to 9.6% were anomalies, within a factor 4.6 of the true share on
each (the bench reports each set).
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import OutlierMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from homl._estimator import Estimator, fitting

from ._detectors import DETECTORS, available_detectors, require

#: The detectors whose standardised scores "auto" averages.
AUTO_MEMBERS = ("isolation_forest", "hbos")
#: What "auto" runs where PyOD (HBOS) is not installed.
AUTO_WITHOUT_PYOD = ("isolation_forest",)
#: Tukey's fence: "auto" contamination flags rows scoring above Q3 + FENCE * IQR.
FENCE = 1.5


class AnomalyDetector(OutlierMixin, Estimator):
    """Scores rows of numbers by how anomalous they are, learning from unlabelled rows.

    ``method``: "auto" or a name of :data:`~homl.models.DETECTORS`; ``contamination``: the
    share of training rows to flag, in (0, 0.5], or "auto" (Tukey's fence on the scores);
    ``random_state`` seeds the randomised detectors and row samples; ``n_jobs`` the detectors
    that run in parallel. Fitted: ``method_`` (the detector names used), ``detectors_``,
    ``threshold_`` (on ``anomaly_score``), ``offset_`` (on ``score_samples``).

    >>> import numpy as np
    >>> X = np.vstack([np.random.default_rng(0).normal(size=(200, 2)), [[8.0, 8.0]]])
    >>> detector = AnomalyDetector().fit(X)
    >>> int(np.argmax(detector.anomaly_score(X)))
    200
    >>> int(detector.predict(X)[-1])
    -1
    """

    _parameter_constraints = {
        "method": [StrOptions({"auto", *DETECTORS})],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "random_state": ["random_state"],
        "n_jobs": [None, Integral],
    }
    _input_check = {"dtype": np.float64}

    def __init__(self, method: str = "auto", contamination: float | str = "auto", random_state: Any = 0,
                 n_jobs: int | None = None):
        self.method = method
        self.contamination = contamination
        self.random_state = random_state
        self.n_jobs = n_jobs

    @fitting
    def fit(self, X: Any, y: Any = None) -> AnomalyDetector:
        """Fits the detector(s) on ``X`` (``y`` is ignored) and sets the threshold."""
        X = self._check_input(X, reset=True)
        if len(X) < 2:
            raise ValueError(f"anomaly detection needs at least 2 rows to learn what is normal; got n_samples={len(X)}")
        self.method_ = auto_members() if self.method == "auto" else (self.method,)
        specs = {name: require(name) for name in self.method_}
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        self.detectors_ = {}
        for name, spec in specs.items():
            rows = X
            if spec.max_rows is not None and len(X) > spec.max_rows:
                rows = X[np.sort(rng.choice(len(X), spec.max_rows, replace=False))]
            self.detectors_[name] = spec.make(rows, seed, self.n_jobs)
        raw = self._raw(X)
        self.raw_mean_, self.raw_scale_ = raw.mean(axis=0), _spread(raw)
        combined = self._combined(raw)
        self.score_mean_, self.score_scale_ = float(combined.mean()), float(_spread(combined))
        scores = (combined - self.score_mean_) / self.score_scale_
        self.threshold_ = _threshold(scores, self.contamination)
        self.offset_ = -self.threshold_
        return self

    def anomaly_score(self, X: Any) -> np.ndarray:
        """How anomalous each row is: higher = more anomalous, 0 = a typical training row,
        in standard deviations of the training rows' scores (alike for every method)."""
        X = self._check_input(X, reset=False)
        return (self._combined(self._raw(X)) - self.score_mean_) / self.score_scale_

    def score_samples(self, X: Any) -> np.ndarray:
        """``-anomaly_score``: lower = more abnormal, as scikit-learn's outlier detectors score."""
        return -self.anomaly_score(X)

    def decision_function(self, X: Any) -> np.ndarray:
        """``score_samples - offset_``: negative for the rows :meth:`predict` calls anomalies."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any) -> np.ndarray:
        """-1 for an anomaly, 1 for a normal row."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def _raw(self, X: np.ndarray) -> np.ndarray:
        """Each detector's anomaly score (higher = more anomalous), one column a detector."""
        return np.column_stack([-self.detectors_[name].score_samples(X) for name in self.method_])

    def _combined(self, raw: np.ndarray) -> np.ndarray:
        return ((raw - self.raw_mean_) / self.raw_scale_).mean(axis=1)


def auto_members() -> tuple[str, ...]:
    """The detectors "auto" runs here: :data:`AUTO_MEMBERS`, or :data:`AUTO_WITHOUT_PYOD`."""
    available = available_detectors()
    return AUTO_MEMBERS if all(name in available for name in AUTO_MEMBERS) else AUTO_WITHOUT_PYOD


def _spread(values: np.ndarray) -> Any:
    """Standard deviation along the rows, 1 where the values do not vary (nothing to scale)."""
    spread = np.std(values, axis=0)
    return np.where(spread > 0, spread, 1.0)


def _threshold(scores: np.ndarray, contamination: float | str) -> float:
    """The anomaly score above which a training row is flagged."""
    if contamination != "auto":
        return float(np.percentile(scores, 100 * (1 - contamination)))
    q1, median, q3 = np.percentile(scores, [25, 50, 75])
    return float(max(q3 + FENCE * (q3 - q1), median))
