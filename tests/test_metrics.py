"""Metrics: direction, forms of prediction, and the bootstrap interval."""

import numpy as np
import pytest

from homl.errors import ConfigError
from homl.metrics import bootstrap_interval, get_metric


def test_defaults_and_refusals():
    assert get_metric(None, "regression").name == "rmse"
    assert get_metric(None, "binary").name == "roc_auc"
    with pytest.raises(ConfigError, match="unknown metric 'nope'"):
        get_metric("nope", "binary")
    with pytest.raises(ConfigError, match="does not apply to regression"):
        get_metric("accuracy", "regression")


def test_classification_metrics_read_probabilities():
    classes = np.array(["a", "b"])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    y = np.array(["a", "b", "b", "b"])
    assert get_metric("accuracy", "binary")(y, proba, classes) == 0.75
    assert get_metric("roc_auc", "binary")(y, proba, classes) == 1.0
    assert get_metric("log_loss", "binary").better(0.2, 0.3)
    assert get_metric("roc_auc", "binary").better(0.9, 0.8)


def test_bootstrap_interval_brackets_the_value():
    rng = np.random.default_rng(0)
    y = rng.normal(size=2000)
    prediction = y + rng.normal(0, 0.5, 2000)
    rmse = get_metric("rmse", "regression")
    low, high = bootstrap_interval(rmse, y, prediction)
    assert low < rmse(y, prediction) < high and high - low < 0.05
