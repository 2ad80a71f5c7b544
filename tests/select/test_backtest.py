"""Rolling-origin backtests and the forecast scores: the windows, the origins, the intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from homl.data import SeriesData
from homl.metrics import forecast_scores, mase_scale
from homl.models import make_forecaster
from homl.select import OutOfTime, backtest, coverage, forecast_window, interval_widths, window_length


def _line(n: int = 40) -> SeriesData:
    return SeriesData.single(np.arange(float(n)), pd.date_range("2024-01-01", periods=n, freq="D"), freq="D")


def test_forecast_scores_and_the_mase_scale() -> None:
    scores = forecast_scores(np.array([10.0, 20.0]), np.array([12.0, 16.0]), np.array([2.0, 2.0]))
    assert scores == pytest.approx({"mase": 1.5, "mae": 3.0, "rmse": np.sqrt(10.0), "smape": 100 * (4 / 22 + 8 / 36) / 2})
    assert mase_scale(np.array([1.0, 2.0, 4.0, 7.0]), season=1) == pytest.approx(2.0)
    assert mase_scale(np.array([1.0, 5.0, 2.0, 6.0]), season=2) == pytest.approx(1.0)
    assert 0 < mase_scale(np.full(5, 3.0), season=1) < 1e-6  # constant: finite scores, not a division by 0


def test_a_window_forecasts_from_origins_moving_forward_without_refit() -> None:
    points = forecast_window(make_forecaster("naive"), _line(), horizon=2, cut=6, length=6)
    assert points["actual"].tolist() == [34.0, 35.0, 36.0, 37.0, 38.0, 39.0]
    assert points["forecast"].tolist() == [33.0, 33.0, 35.0, 35.0, 37.0, 37.0]  # the last value before each origin
    assert points["step"].tolist() == [1.0, 2.0] * 3


def test_backtest_folds_sit_before_the_test_window_and_never_touch_it() -> None:
    data = _line(60)
    done = backtest(make_forecaster("drift"), data, horizon=3, folds=2, length=6, test_length=10)
    times = pd.to_datetime(done.points["time"])
    assert times.max() < data.time[""][-10]
    assert sorted(done.points["fold"].unique()) == [0, 1] and len(done.points) == 12
    assert done.scores["mae"] == pytest.approx(0.0, abs=1e-9)  # a straight line, forecast by its drift


def test_a_backtest_too_slow_for_its_deadline_stops_after_one_fold() -> None:
    with pytest.raises(OutOfTime, match="1 of 3"):
        backtest(make_forecaster("naive"), _line(60), horizon=3, folds=3, length=6, test_length=6, deadline=0.0)


def test_window_length_covers_two_seasons_within_the_room_the_series_leaves() -> None:
    assert window_length(horizon=1, season=7, shortest=1_000, folds=3) == 30
    assert window_length(horizon=12, season=12, shortest=144, folds=3) == 18
    assert window_length(horizon=14, season=1, shortest=40, folds=3) == 14  # never below the horizon


def test_intervals_widen_with_the_horizon_and_cover_what_they_promise() -> None:
    rng = np.random.default_rng(0)
    steps = np.tile(np.arange(1, 6), 400)
    errors = rng.standard_normal(len(steps)) * np.sqrt(steps)
    points = pd.DataFrame({"step": steps.astype(float), "actual": errors, "forecast": 0.0, "scale": 1.0})
    widths = interval_widths(points, horizon=5)
    assert widths["95"] == sorted(widths["95"]) and all(a < b for a, b in zip(widths["80"], widths["95"]))
    assert widths["95"][0] == pytest.approx(1.96, rel=0.1) and widths["95"][4] == pytest.approx(1.96 * np.sqrt(5), rel=0.1)
    shares = coverage(points, widths)
    assert shares["80"] == pytest.approx(0.8, abs=0.03) and shares["95"] == pytest.approx(0.95, abs=0.02)
