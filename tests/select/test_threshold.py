"""Decision thresholds chosen on out-of-fold probabilities: kept where they help, refused where they cannot."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from homl import select
from homl.data import infer_schema
from homl.errors import ConfigError
from homl.metrics import get_metric
from homl.models import build_pipeline, get_spec, with_threshold
from homl.select import Evaluation, Folds, choose_threshold, decision_metric

F1 = get_metric("f1", "binary")


def _table(n: int, weights: list[float], seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    X, y = make_classification(n, n_features=10, n_informative=5, weights=weights, flip_y=0.05, random_state=seed)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(10)]), y


def _cross_validated(X: pd.DataFrame, y: np.ndarray, metric_name: str, task: str = "binary"):
    folds = select.make_folds(X, y, task, get_metric(metric_name, task))
    return select.cross_validate("linear", LogisticRegression(max_iter=1000), folds), folds


def _calibrated(n: int, seed: int, metric_name: str) -> tuple[Evaluation, Folds]:
    """Out-of-fold probabilities that are exactly calibrated: each row is positive with its probability."""
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 2, n)
    y = (rng.random(n) < p).astype(int)
    splits = list(StratifiedKFold(5, shuffle=True, random_state=seed).split(np.zeros(n), y))
    folds = Folds(pd.DataFrame({"row": np.arange(n)}), y, splits, get_metric(metric_name, "binary"), "binary",
                  np.array([0, 1]))
    return Evaluation("calibrated", {}, [0.0], 0.0, np.column_stack([1 - p, p])), folds


@pytest.fixture(scope="module")
def skewed():
    """A logistic regression cross-validated on 4,000 rows with 10% positives, and 2,000 test rows."""
    X, y = _table(6000, [0.9], seed=0)
    evaluation, folds = _cross_validated(X.iloc[:4000], y[:4000], "f1")
    model = LogisticRegression(max_iter=1000).fit(X.iloc[:4000], y[:4000])
    return evaluation, folds, model, X.iloc[4000:], y[4000:]


def test_f1_on_skewed_classes_gets_a_low_threshold_that_also_helps_on_the_test_rows(skewed):
    evaluation, folds, model, X_test, y_test = skewed
    decision = choose_threshold(evaluation, folds, F1)
    assert decision is not None and decision.metric == "f1" and decision.rows == 4000
    assert decision.threshold < 0.4
    # The nested figure, honest about the choice, still gains a lot over 0.5.
    assert decision.nested_score > decision.default_score + 0.05
    tuned = f1_score(y_test, with_threshold(model, decision.threshold).predict(X_test))
    assert tuned > f1_score(y_test, model.predict(X_test)) + 0.05


def test_the_decision_scores_agree_with_the_metric_itself(skewed):
    evaluation, folds, _, _, _ = skewed
    decision = choose_threshold(evaluation, folds, F1)
    rows, classes = folds.validated, folds.classes
    assert decision.default_score == pytest.approx(F1(folds.y[rows], evaluation.oof[rows], classes))
    assert decision.score == pytest.approx(F1(folds.y[rows], decision.apply(evaluation.oof[rows]), classes))
    assert decision.to_dict() == {"threshold": decision.threshold, "metric": "f1", "rows": 4000,
                                  "default_score": decision.default_score, "score": decision.score,
                                  "nested_score": decision.nested_score}


def test_balanced_accuracy_on_skewed_classes_also_moves_the_threshold_down():
    X, y = _table(4000, [0.9], seed=1)
    evaluation, folds = _cross_validated(X, y, "balanced_accuracy")
    decision = choose_threshold(evaluation, folds, "balanced_accuracy")
    assert decision is not None and decision.threshold < 0.3
    assert decision.nested_score > decision.default_score + 0.05


@pytest.mark.parametrize("metric_name", ["accuracy", "balanced_accuracy"])
def test_calibrated_probabilities_keep_their_half_threshold(metric_name):
    # 0.5 is the best accuracy threshold of calibrated probabilities on balanced classes: at most a
    # chance false alarm among the seeds, and then close to 0.5.
    decisions = [choose_threshold(*_calibrated(5000, seed, metric_name), metric_name) for seed in range(8)]
    kept = [d.threshold for d in decisions if d is not None]
    assert len(kept) <= 1
    assert all(abs(t - 0.5) < 0.06 for t in kept)


def test_f1_moves_even_calibrated_probabilities_below_half():
    # The F1-optimal threshold is half the best F1 (Lipton et al.), here about 0.35.
    decision = choose_threshold(*_calibrated(5000, 0, "f1"), "f1")
    assert decision is not None and 0.3 < decision.threshold < 0.42


def test_one_row_cannot_move_the_threshold(skewed):
    evaluation, folds, _, _, _ = skewed
    decision = choose_threshold(evaluation, folds, F1)
    # Flip the label of the validated row whose probability sits on the threshold.
    nearest = int(np.argmin(np.abs(evaluation.oof[:, 1] - decision.threshold)))
    y = folds.y.copy()
    y[nearest] = 1 - y[nearest]
    moved = choose_threshold(evaluation, Folds(folds.X, y, folds.splits, F1, "binary", folds.classes), F1)
    assert moved is not None and moved.threshold == pytest.approx(decision.threshold, abs=0.01)


def test_no_threshold_for_threshold_free_metrics_other_tasks_or_too_few_rows(skewed):
    evaluation, folds, _, _, _ = skewed
    assert choose_threshold(evaluation, folds, "roc_auc") is None
    assert choose_threshold(evaluation, folds, get_metric("log_loss", "binary")) is None
    X, y = make_classification(1500, n_classes=3, n_informative=4, random_state=0)
    multi, multi_folds = _cross_validated(pd.DataFrame(X), y, "f1", task="multiclass")
    assert choose_threshold(multi, multi_folds, "f1") is None
    regression = select.make_folds(pd.DataFrame(X), y.astype(float), "regression", get_metric("rmse", "regression"))
    assert choose_threshold(Evaluation("r", {}, [0.0], 0.0, np.zeros(len(y))), regression, "f1") is None
    small, small_folds = _cross_validated(*_table(150, [0.9], seed=0), "f1")
    assert choose_threshold(small, small_folds, "f1") is None


def test_rows_no_fold_validates_are_left_out():
    # Time-ordered folds: the first block is never validated and stays NaN.
    evaluation, folds = _calibrated(6000, 0, "f1")
    order = np.arange(6000)
    splits = [(order[: 2000 * k], order[2000 * k: 2000 * (k + 1)]) for k in (1, 2)]
    oof = evaluation.oof.copy()
    oof[:2000] = np.nan
    timed = Folds(folds.X, folds.y, splits, folds.metric, "binary", folds.classes)
    decision = choose_threshold(Evaluation("t", {}, [0.0], 0.0, oof), timed, "f1")
    assert decision is not None and decision.rows == 4000


def test_a_hundred_thousand_rows_take_well_under_a_second():
    rng = np.random.default_rng(0)
    n = 100_000
    y = (rng.random(n) < 0.1).astype(int)
    p = 1 / (1 + np.exp(-(1.5 * rng.normal(size=n) + 2.5 * y - 3)))
    splits = list(StratifiedKFold(5, shuffle=True, random_state=0).split(np.zeros(n), y))
    folds = Folds(pd.DataFrame({"row": np.arange(n)}), y, splits, F1, "binary", np.array([0, 1]))
    started = time.perf_counter()
    decision = choose_threshold(Evaluation("big", {}, [0.0], 0.0, np.column_stack([1 - p, p])), folds, F1)
    assert time.perf_counter() - started < 1.0
    assert decision is not None and decision.threshold < 0.4


def test_the_decision_metric_is_the_fits_when_it_judges_labels_of_two_classes():
    assert decision_metric("binary", F1) is F1
    assert decision_metric("binary", get_metric(None, "binary")) is None  # the default, roc_auc
    assert decision_metric("multiclass", get_metric("f1", "multiclass")) is None
    assert decision_metric("binary", get_metric("roc_auc", "binary"), "balanced-accuracy").name == "balanced_accuracy"
    with pytest.raises(ConfigError, match="threshold_metric must be one of accuracy, balanced_accuracy, f1; got 'log_loss'"):
        decision_metric("binary", F1, "log_loss")
    with pytest.raises(ConfigError, match="threshold_metric='f1' is for binary classification; this task is multiclass"):
        decision_metric("multiclass", get_metric("f1", "multiclass"), "f1")


def test_groups_reach_the_early_stopping_booster_through_the_threshold():
    X, y = _table(1000, [0.8], seed=0)
    groups = np.repeat(np.arange(50), 20)
    pipeline = with_threshold(build_pipeline(get_spec("lightgbm"), "binary", infer_schema(X), holdout="group"), 0.3)
    stopper = select.fit_pipeline(pipeline, X, y, groups=groups)[-1].estimator_
    assert set(np.bincount(groups[stopper.held_out_])) <= {0, 20} and len(stopper.held_out_) == 100
