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


@pytest.mark.parametrize("labels", [np.array([0, 1]), np.array(["no", "yes"])])
def test_binary_roc_auc_is_scikit_learns_with_ties(labels):
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    y = labels[rng.integers(0, 2, 500)]
    p1 = np.round(rng.random(500), 1)  # few distinct values: many ties
    expected = roc_auc_score(y == labels[1], p1)
    assert get_metric("roc_auc", "binary")(y, np.column_stack([1 - p1, p1]), labels) == pytest.approx(expected, abs=1e-12)


def test_log_loss_is_scikit_learns():
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(4)
    labels = np.array(["a", "b", "c"])
    y = labels[rng.integers(0, 3, 400)]
    proba = rng.dirichlet(np.ones(3), 400)
    proba[:5] = [1.0, 0.0, 0.0]  # certain, and wrong where the class is not "a"
    expected = log_loss(y, np.clip(proba, 1e-15, 1), labels=labels)
    assert get_metric("log_loss", "multiclass")(y, proba, labels) == pytest.approx(expected, rel=1e-9)


def test_bootstrap_interval_brackets_the_value():
    rng = np.random.default_rng(0)
    y = rng.normal(size=2000)
    prediction = y + rng.normal(0, 0.5, 2000)
    rmse = get_metric("rmse", "regression")
    low, high = bootstrap_interval(rmse, y, prediction)
    assert low < rmse(y, prediction) < high and high - low < 0.05


def _prediction(task: str, rng: np.random.Generator, n: int):
    if task == "regression":
        y = rng.normal(size=n)
        return y, y + rng.normal(0, 0.5, n), None
    classes = np.array(["a", "b"]) if task == "binary" else np.array(["a", "b", "c"])
    y = rng.choice(classes, size=n)
    proba = rng.dirichlet(np.ones(len(classes)), size=n)
    proba[np.arange(n), np.searchsorted(classes, y)] += 0.3  # informative, with ties broken
    return y, proba / proba.sum(axis=1, keepdims=True), classes


@pytest.mark.parametrize("name, task", [("rmse", "regression"), ("mae", "regression"), ("r2", "regression"),
                                        ("roc_auc", "binary"), ("log_loss", "binary"), ("accuracy", "binary"),
                                        ("balanced_accuracy", "binary"), ("f1", "binary"), ("roc_auc", "multiclass"),
                                        ("log_loss", "multiclass"), ("f1", "multiclass"),
                                        ("balanced_accuracy", "multiclass")])
def test_resampled_scores_equal_the_metric_on_each_resample(name: str, task: str):
    rng = np.random.default_rng(1)
    y, prediction, classes = _prediction(task, rng, 300)
    metric = get_metric(name, task)
    rows = rng.integers(0, len(y), size=(25, len(y)))
    vectorised = metric.resampled(y, prediction, classes, rows)
    one_by_one = [metric(y[idx], prediction[idx], classes) for idx in rows]
    np.testing.assert_allclose(vectorised, one_by_one, rtol=1e-9, atol=1e-12)


def test_bootstrap_interval_of_roc_auc_brackets_the_value_and_is_reproducible():
    y, proba, classes = _prediction("binary", np.random.default_rng(2), 500)
    auc = get_metric("roc_auc", "binary")
    low, high = bootstrap_interval(auc, y, proba, classes, seed=3)
    assert low < auc(y, proba, classes) < high and high - low < 0.15
    assert bootstrap_interval(auc, y, proba, classes, seed=3) == (low, high)


def test_bootstrap_interval_of_a_single_class_sample_is_undefined():
    auc = get_metric("roc_auc", "binary")
    low, high = bootstrap_interval(auc, np.array(["a"] * 5), np.full((5, 2), 0.5), np.array(["a", "b"]))
    assert np.isnan(low) and np.isnan(high)


def test_the_paired_bootstrap_tells_a_better_model_from_an_equal_one():
    from homl.metrics import paired_bootstrap

    rng = np.random.default_rng(0)
    y = rng.normal(size=400)
    worse, better = y + rng.normal(scale=1.0, size=400), y + rng.normal(scale=0.7, size=400)
    rmse = get_metric("rmse", "regression")
    found = paired_bootstrap(rmse, y, worse, better)
    assert found.score_a == pytest.approx(rmse(y, worse)) and found.score_b == pytest.approx(rmse(y, better))
    assert found.improvement == pytest.approx(found.score_a - found.score_b) and 0 < found.low < found.high
    assert found.b_wins > 0.99 and found.n_rows == 400
    same = paired_bootstrap(rmse, y, worse, worse.copy())
    assert same.improvement == 0 and same.b_wins == 0 and same.low == same.high == 0
    labels = (y > 0).astype(int)
    sharp, blunt = np.column_stack([1 - (y > 0) * 0.8 - 0.1, (y > 0) * 0.8 + 0.1]), np.full((400, 2), 0.5)
    auc = paired_bootstrap(get_metric("roc_auc", "binary"), labels, sharp, blunt, np.array([0, 1]))
    assert auc.improvement == pytest.approx(-0.5) and auc.b_wins == 0  # higher is better: B (blunt) loses
