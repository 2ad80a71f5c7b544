"""Metrics, declared once: how each is computed, which way is better, and its default task.

A regression prediction is a 1-D array of values; a classification prediction is the
matrix of class probabilities (columns in the order of ``classes``). Every metric reads
one of those two forms, so cross-validation, ensembles and the test score share them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from homl.errors import ConfigError


@dataclass(frozen=True)
class Metric:
    name: str
    tasks: tuple[str, ...]
    greater_is_better: bool
    compute: Callable[[np.ndarray, np.ndarray, np.ndarray], float]
    label: str
    #: The metric on many row resamples at once: ``(y, prediction, classes, rows) -> scores``,
    #: ``rows`` holding one resample of row positions per line (the bootstrap uses it).
    resampled: Callable[[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray], np.ndarray] | None = None

    def __call__(self, y_true: np.ndarray, prediction: np.ndarray, classes: np.ndarray | None = None) -> float:
        return float(self.compute(np.asarray(y_true), np.asarray(prediction), classes))

    def loss(self, value: float) -> float:
        """The value as something to minimise (searches and comparisons use this)."""
        return -value if self.greater_is_better else value

    def better(self, a: float, b: float) -> bool:
        """Whether score ``a`` beats score ``b``."""
        return self.loss(a) < self.loss(b)


def _rmse(y, p, classes):
    return np.sqrt(np.mean((y.astype(float) - p) ** 2))


def _mae(y, p, classes):
    return np.mean(np.abs(y.astype(float) - p))


def _r2(y, p, classes):
    from sklearn.metrics import r2_score

    return r2_score(y, p)


def _labels(p, classes):
    return np.asarray(classes)[np.argmax(p, axis=1)]


def _accuracy(y, p, classes):
    return np.mean(_labels(p, classes) == y)


def _balanced_accuracy(y, p, classes):
    from sklearn.metrics import balanced_accuracy_score

    return balanced_accuracy_score(y, _labels(p, classes))


def _f1(y, p, classes):
    from sklearn.metrics import f1_score

    if len(classes) == 2:
        return f1_score(y, _labels(p, classes), pos_label=classes[1])
    return f1_score(y, _labels(p, classes), average="macro")


def _roc_auc(y, p, classes):
    from sklearn.metrics import roc_auc_score

    if len(np.unique(y)) < 2:
        return np.nan
    if len(classes) == 2:  # the rank statistic: scikit-learn's value, without its checks' cost per call
        return float(_auc_rows(y == classes[1], p[:, 1], np.arange(len(y))[None, :])[0])
    present = np.isin(classes, y)
    probabilities = p[:, present] / np.clip(p[:, present].sum(axis=1, keepdims=True), 1e-12, None)
    return roc_auc_score(y, probabilities, multi_class="ovr", labels=np.asarray(classes)[present])


def _log_loss(y, p, classes):  # scikit-learn's value, without its checks' cost per call
    return float(_log_loss_rows(y, p, classes, np.arange(len(y))[None, :])[0])


# ------------------------------------------------ the same metrics, on many resamples at once
# Each line of ``rows`` is one resample of row positions; one score per line comes back.
# Per-call overhead makes a loop of library calls cost seconds for a thousand resamples.


def _rmse_rows(y, p, classes, rows):
    return np.sqrt(((y.astype(float) - p) ** 2)[rows].mean(axis=1))


def _mae_rows(y, p, classes, rows):
    return np.abs(y.astype(float) - p)[rows].mean(axis=1)


def _r2_rows(y, p, classes, rows):
    y = y.astype(float)
    sse = ((y - p) ** 2)[rows].sum(axis=1)
    sst = ((y[rows] - y[rows].mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sst > 0, 1 - sse / sst, np.nan)


def _truth_columns(y, classes):
    """Position of each row's class among ``classes`` (-1 when it is not one of them)."""
    position = {c: j for j, c in enumerate(np.asarray(classes).tolist())}
    return np.array([position.get(v, -1) for v in np.asarray(y).tolist()])


def _accuracy_rows(y, p, classes, rows):
    return (_labels(p, classes) == y)[rows].mean(axis=1)


def _log_loss_rows(y, p, classes, rows):
    truth = _truth_columns(y, classes)
    chosen = np.where(truth >= 0, p[np.arange(len(p)), np.clip(truth, 0, None)], 0.0)
    return (-np.log(np.clip(chosen, 1e-15, 1)))[rows].mean(axis=1)


def _class_counts(y, p, classes, rows):
    """Per resample and class: true positives, predicted and actual counts (resamples × classes)."""
    truth, predicted = _truth_columns(y, classes), np.argmax(p, axis=1)
    k = len(classes)
    actual = np.stack([(truth == j)[rows].sum(axis=1) for j in range(k)], axis=1)
    guessed = np.stack([(predicted == j)[rows].sum(axis=1) for j in range(k)], axis=1)
    hits = np.stack([((truth == j) & (predicted == j))[rows].sum(axis=1) for j in range(k)], axis=1)
    return hits, guessed, actual


def _balanced_accuracy_rows(y, p, classes, rows):
    hits, _, actual = _class_counts(y, p, classes, rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.nanmean(np.where(actual > 0, hits / actual, np.nan), axis=1)


def _f1_rows(y, p, classes, rows):
    hits, guessed, actual = _class_counts(y, p, classes, rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(guessed + actual > 0, 2 * hits / (guessed + actual), 0.0)
    return f1[:, 1] if len(classes) == 2 else f1.mean(axis=1)


def _auc_rows(positive, score, rows):
    """ROC AUC of ``score`` for ``positive`` on each resample: the Mann-Whitney rank statistic."""
    from scipy.stats import rankdata

    is_positive = positive[rows]
    n_pos = is_positive.sum(axis=1)
    n_neg = rows.shape[1] - n_pos
    ranks = rankdata(score[rows], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = ((ranks * is_positive).sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def _roc_auc_rows(y, p, classes, rows):
    truth = _truth_columns(y, classes)
    if len(classes) == 2:
        return _auc_rows(truth == 1, p[:, 1], rows)
    # One class against the rest, averaged over the classes present in each resample.
    per_class = np.stack([_auc_rows(truth == j, p[:, j], rows) for j in range(len(classes))], axis=1)
    counted = np.isfinite(per_class).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(counted > 0, np.nansum(per_class, axis=1) / counted, np.nan)


_REG = ("regression",)
_CLS = ("binary", "multiclass")

METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("rmse", _REG, False, _rmse, "RMSE", _rmse_rows),
        Metric("mae", _REG, False, _mae, "MAE", _mae_rows),
        Metric("r2", _REG, True, _r2, "R²", _r2_rows),
        Metric("roc_auc", _CLS, True, _roc_auc, "ROC AUC", _roc_auc_rows),
        Metric("log_loss", _CLS, False, _log_loss, "log loss", _log_loss_rows),
        Metric("accuracy", _CLS, True, _accuracy, "accuracy", _accuracy_rows),
        Metric("balanced_accuracy", _CLS, True, _balanced_accuracy, "balanced accuracy", _balanced_accuracy_rows),
        Metric("f1", _CLS, True, _f1, "F1", _f1_rows),
    )
}

#: Row positions drawn at once by the bootstrap (resamples × rows), to bound its memory.
RESAMPLE_CELLS = 4_000_000

DEFAULT_METRIC = {"regression": "rmse", "binary": "roc_auc", "multiclass": "log_loss"}


def get_metric(name: str | None, task: str) -> Metric:
    """The metric called ``name`` (the task's default when ``None``), checked against the task."""
    name = DEFAULT_METRIC[task] if name is None else name.lower().replace("-", "_")
    if name not in METRICS:
        raise ConfigError(f"unknown metric '{name}'; expected one of {', '.join(METRICS)}")
    metric = METRICS[name]
    if task not in metric.tasks:
        fitting = [m.name for m in METRICS.values() if task in m.tasks]
        raise ConfigError(f"metric '{name}' does not apply to {task}; use one of {', '.join(fitting)}")
    return metric


def bootstrap_interval(
    metric: Metric,
    y_true: np.ndarray,
    prediction: np.ndarray,
    classes: np.ndarray | None = None,
    *,
    confidence: float = 0.95,
    n_resamples: int = 1000,
    seed: int = 42,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the metric over the rows (the book's test CI)."""
    y_true, prediction = np.asarray(y_true), np.asarray(prediction)
    samples = np.concatenate([_resampled_scores(metric, y_true, prediction, classes, rows)
                              for rows in _row_resamples(len(y_true), n_resamples, seed)])
    return _percentiles(samples[np.isfinite(samples)], confidence)


def _row_resamples(n: int, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Row positions of ``n_resamples`` resamples of ``n`` rows, a bounded block of them at a time."""
    rng = np.random.default_rng(seed)
    chunk = max(1, RESAMPLE_CELLS // max(n, 1))
    for start in range(0, n_resamples, chunk):
        yield rng.integers(0, n, size=(min(chunk, n_resamples - start), n))


def _resampled_scores(metric: Metric, y_true: np.ndarray, prediction: np.ndarray, classes: np.ndarray | None,
                      rows: np.ndarray) -> np.ndarray:
    """The metric on each resample (one line of ``rows`` each)."""
    if metric.resampled is not None:
        return np.asarray(metric.resampled(y_true, prediction, classes, rows), dtype=float)
    return np.array([metric(y_true[idx], prediction[idx], classes) for idx in rows])


def _percentiles(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    if not len(samples):
        return float("nan"), float("nan")
    alpha = (1 - confidence) / 2
    return float(np.quantile(samples, alpha)), float(np.quantile(samples, 1 - alpha))


@dataclass(frozen=True)
class PairedComparison:
    """Model B against model A on the same rows: the scores, and how often B wins over row resamples."""

    metric: str
    score_a: float
    score_b: float
    #: B's improvement over A (positive: B is better), with its percentile bootstrap interval.
    improvement: float
    low: float
    high: float
    #: The share of resamples on which B scores better than A.
    b_wins: float
    n_rows: int


def paired_bootstrap(
    metric: Metric,
    y_true: np.ndarray,
    prediction_a: np.ndarray,
    prediction_b: np.ndarray,
    classes: np.ndarray | None = None,
    *,
    confidence: float = 0.95,
    n_resamples: int = 1000,
    seed: int = 42,
) -> PairedComparison:
    """Compare two models' predictions of the same rows: each resample of the rows scores both,
    so what the rows have in common cancels out and only the models' difference is left."""
    y_true, prediction_a, prediction_b = np.asarray(y_true), np.asarray(prediction_a), np.asarray(prediction_b)
    gains = [metric.loss(_resampled_scores(metric, y_true, prediction_a, classes, rows))
             - metric.loss(_resampled_scores(metric, y_true, prediction_b, classes, rows))
             for rows in _row_resamples(len(y_true), n_resamples, seed)]
    samples = np.concatenate(gains)
    samples = samples[np.isfinite(samples)]
    score_a, score_b = metric(y_true, prediction_a, classes), metric(y_true, prediction_b, classes)
    low, high = _percentiles(samples, confidence)
    return PairedComparison(metric.name, score_a, score_b, metric.loss(score_a) - metric.loss(score_b), low, high,
                            float(np.mean(samples > 0)) if len(samples) else float("nan"), len(y_true))


@dataclass
class TestScore:
    """The score measured once on the held-out test set, with a bootstrap confidence interval."""

    metric: str
    value: float
    low: float
    high: float
    n_rows: int
    confidence: float = 0.95

    def __str__(self) -> str:
        return (
            f"{self.metric} {format_score(self.value)} ({self.confidence:.0%} CI {format_score(self.low)} to "
            f"{format_score(self.high)}, {self.n_rows:,} test rows)"
        )


def format_score(value: float) -> str:
    """A score as a person reads it: ``51,809`` or ``0.8123``."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


# ---------------------------------------------------------------- forecasts

def forecast_scores(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray) -> dict[str, float]:
    """MASE, MAE, RMSE and sMAPE (in %) of forecast points.

    ``scale`` holds, for each point, the in-sample mean absolute error of the seasonal naive
    forecast on its series' training part (Hyndman's MASE denominator), so series of different
    sizes count alike. Points whose actual and forecast are both 0 count as 0 in sMAPE.
    """
    actual, forecast, scale = (np.asarray(a, dtype=float) for a in (actual, forecast, scale))
    error = forecast - actual
    denominator = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(2 * np.abs(error), denominator, out=np.zeros_like(error), where=denominator > 0)
    return {
        "mase": float(np.mean(np.abs(error) / scale)),
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "smape": float(100 * np.mean(ratio)),
    }


def mase_scale(y: np.ndarray, season: int) -> float:
    """The MASE denominator of a series: mean absolute change over one season (one step when the
    series is shorter); a tiny positive number for a constant series, so scores stay finite."""
    y = np.asarray(y, dtype=float)
    lag = season if len(y) > season else 1
    changes = np.abs(y[lag:] - y[:-lag]) if len(y) > lag else np.zeros(1)
    scale = float(np.mean(changes))
    return scale if scale > 0 else max(1e-9, 1e-9 * float(np.mean(np.abs(y))))
