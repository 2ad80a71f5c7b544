"""Weighted means of forecasters chosen on backtest points: forward selection, nested scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from homl.select import Backtest, blend_backtest, score_points, selection_weights


def _backtest(name: str, forecast: np.ndarray, actual: np.ndarray, folds: np.ndarray) -> Backtest:
    points = pd.DataFrame({"series": "", "time": pd.date_range("2024-01-01", periods=len(actual)), "fold": folds,
                           "step": 1.0, "actual": actual, "forecast": forecast, "scale": 1.0})
    return Backtest(name, points, score_points(points), fit_seconds=1.0, folds=int(folds.max()) + 1)


def test_forward_selection_puts_every_weight_on_a_perfect_forecaster() -> None:
    actual = np.arange(10.0)
    forecasts = np.vstack([actual + 3, actual, actual - 1])
    weights = selection_weights(forecasts, actual, np.ones(10))
    assert weights.tolist() == [0.0, 1.0, 0.0]


def test_forward_selection_balances_opposite_biases() -> None:
    actual = np.zeros(8)
    weights = selection_weights(np.vstack([actual + 2, actual - 2, actual + 5]), actual, np.ones(8))
    assert weights == pytest.approx([0.5, 0.5, 0.0])


def test_a_blend_of_opposite_biases_beats_each_member() -> None:
    rng = np.random.default_rng(0)
    actual = rng.normal(size=60)
    folds = np.repeat([0, 1, 2], 20)
    high = _backtest("high", actual + 1 + rng.normal(0, 0.1, 60), actual, folds)
    low = _backtest("low", actual - 1 + rng.normal(0, 0.1, 60), actual, folds)
    far = _backtest("far", actual + 4, actual, folds)
    blend = blend_backtest([far, low, high])
    assert blend is not None
    assert set(blend.name.split("+")) == {"high", "low"} and sum(blend.weights) == pytest.approx(1.0)
    assert blend.scores["mase"] < min(high.scores["mase"], low.scores["mase"]) / 3
    weights = dict(zip(blend.name.split("+"), blend.weights, strict=True))
    mixed = weights["high"] * high.points["forecast"] + weights["low"] * low.points["forecast"]
    assert blend.points["forecast"].to_numpy() == pytest.approx(mixed.to_numpy())


def test_no_blend_when_one_model_is_best_everywhere_or_alone() -> None:
    actual = np.arange(30.0)
    folds = np.repeat([0, 1, 2], 10)
    good = _backtest("good", actual + 0.1, actual, folds)
    bad = _backtest("bad", actual + 3, actual, folds)
    assert blend_backtest([good, bad]) is None  # every round picks "good": a single member
    assert blend_backtest([good]) is None
    broken = _backtest("broken", np.full(30, np.nan), actual, folds)
    assert blend_backtest([good, broken]) is None


def test_only_models_scoring_the_same_points_are_blended() -> None:
    actual = np.zeros(12)
    folds = np.repeat([0, 1], 6)
    a, b = _backtest("a", actual + 1, actual, folds), _backtest("b", actual - 1, actual, folds)
    shorter = _backtest("short", actual[:6] - 1, actual[:6], folds[:6])
    assert blend_backtest([a, shorter]) is None
    blend = blend_backtest([a, b, shorter])
    assert blend is not None and sorted(blend.name.split("+")) == ["a", "b"]
    assert blend.scores["mae"] == pytest.approx(0.0)
