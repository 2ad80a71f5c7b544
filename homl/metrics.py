"""Metrics, declared once: how each is computed, which way is better, and its default task.

A regression prediction is a 1-D array of values; a classification prediction is the
matrix of class probabilities (columns in the order of ``classes``). Every metric reads
one of those two forms, so cross-validation, ensembles and the test score share them.
"""

from __future__ import annotations

from collections.abc import Callable
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
    if len(classes) == 2:
        return roc_auc_score(y == classes[1], p[:, 1])
    present = np.isin(classes, y)
    probabilities = p[:, present] / np.clip(p[:, present].sum(axis=1, keepdims=True), 1e-12, None)
    return roc_auc_score(y, probabilities, multi_class="ovr", labels=np.asarray(classes)[present])


def _log_loss(y, p, classes):
    from sklearn.metrics import log_loss

    return log_loss(y, np.clip(p, 1e-15, 1), labels=classes)


_REG = ("regression",)
_CLS = ("binary", "multiclass")

METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("rmse", _REG, False, _rmse, "RMSE"),
        Metric("mae", _REG, False, _mae, "MAE"),
        Metric("r2", _REG, True, _r2, "R²"),
        Metric("roc_auc", _CLS, True, _roc_auc, "ROC AUC"),
        Metric("log_loss", _CLS, False, _log_loss, "log loss"),
        Metric("accuracy", _CLS, True, _accuracy, "accuracy"),
        Metric("balanced_accuracy", _CLS, True, _balanced_accuracy, "balanced accuracy"),
        Metric("f1", _CLS, True, _f1, "F1"),
    )
}

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
    rng = np.random.default_rng(seed)
    y_true, prediction = np.asarray(y_true), np.asarray(prediction)
    n = len(y_true)
    if metric.name == "rmse":
        # Resampling squared errors directly is the book's recipe and is vectorised.
        squared = (y_true.astype(float) - prediction) ** 2
        samples = np.sqrt(squared[rng.integers(0, n, size=(n_resamples, n))].mean(axis=1))
    else:
        samples = np.array(
            [metric(y_true[idx], prediction[idx], classes) for idx in rng.integers(0, n, size=(n_resamples, n))]
        )
        samples = samples[np.isfinite(samples)]
    alpha = (1 - confidence) / 2
    return float(np.quantile(samples, alpha)), float(np.quantile(samples, 1 - alpha))
