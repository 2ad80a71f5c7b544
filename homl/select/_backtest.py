"""Rolling-origin backtests of forecasters: honest scores from the past alone, never a random split.

A *window* is a stretch of ``length`` steps at the end of every series, ``cut`` steps before its
end. The forecaster learns from everything before the window, then forecasts it ``horizon`` steps
at a time from origins that move forward through it, each time from the history up to the origin
(known covariates over the next steps are read from the data, as they would be known then) and
without refitting. The backtest folds are windows before the test window; the test window is the
last one. Every forecast point keeps its series, time, steps ahead, actual value and MASE scale.

>>> import numpy as np, pandas as pd
>>> from homl._deadline import fit_deadline
from homl.data import SeriesData
>>> from homl.models._forecast_stats import NaiveForecaster
>>> data = SeriesData.single(np.arange(30.0), pd.date_range("2024-01-01", periods=30), freq="D")
>>> points = forecast_window(NaiveForecaster(), data, horizon=2, cut=4, length=4)
>>> points[["step", "actual", "forecast"]].to_numpy().tolist()
[[1.0, 26.0, 25.0], [2.0, 27.0, 25.0], [1.0, 28.0, 27.0], [2.0, 29.0, 27.0]]
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from homl._deadline import fit_deadline
from homl.data import SeriesData
from homl.metrics import forecast_scores, mase_scale

from ._cv import OutOfTime

#: Fewest steps a backtest window scores (when the series are long enough).
MIN_WINDOW = 30
#: Most forecast origins in one window (each a forecast from a longer history).
MAX_ORIGINS = 100
#: Fewest backtest errors an interval width is estimated from (neighbouring steps are pooled to reach it).
MIN_ERRORS = 20
#: Columns of a table of forecast points.
POINT_COLUMNS = ("series", "time", "fold", "step", "actual", "forecast", "scale")


@dataclass
class Backtest:
    """A forecaster's backtest: its forecast points over every fold, their scores, and its cost."""

    name: str
    points: pd.DataFrame
    scores: dict[str, float]
    fit_seconds: float
    folds: int
    notes: list[str] = field(default_factory=list)
    #: A weighted mean's weight per member, in the order of the names in ``name`` (None: equal).
    weights: list[float] | None = None


def window_length(horizon: int, season: int, shortest: int, folds: int) -> int:
    """Steps per window: two seasons and at least ``MIN_WINDOW`` steps, so each fold scores enough
    points to tell models apart, but no more than ``MAX_ORIGINS`` forecast origins; always at least
    the horizon; and short enough that ``folds`` windows plus a test window leave half the shortest
    series to learn from."""
    wanted = min(max(horizon, 2 * season, MIN_WINDOW), MAX_ORIGINS * horizon)
    room = max(horizon, (shortest // 2) // (folds + 1))
    return int(max(horizon, min(wanted, room)))


def forecast_window(forecaster: Any, data: SeriesData, *, horizon: int, cut: int, length: int,
                    fold: int = 0, fitted: Any = None) -> pd.DataFrame:
    """Forecast points of the window of ``length`` steps that starts ``cut`` steps before each
    series' end (a clone of ``forecaster`` learns from the rest, unless ``fitted`` is given)."""
    train = data.drop_last(cut)
    model = fitted if fitted is not None else clone(forecaster).fit(train)
    scales = {s: mase_scale(train.y[s], data.season) for s in train.ids}
    frames = []
    for offset in range(0, length, horizon):
        history = data.drop_last(cut - offset)
        ids = [s for s in history.ids if s in scales]
        history = history.subset(ids)
        steps = min(horizon, length - offset)
        known = _known_future(data, history, horizon) if data.known_names else None
        forecast = model.predict(history, horizon, known)
        for s in ids:
            start = history.length(s)
            actual = data.y[s][start:start + steps]
            taken = len(actual)
            if not taken:
                continue
            frames.append(pd.DataFrame({
                "series": s, "time": data.time[s][start:start + taken], "fold": fold,
                "step": np.arange(1, taken + 1, dtype=float), "actual": actual,
                "forecast": np.asarray(forecast[s], dtype=float)[:taken], "scale": scales[s],
            }))
    if not frames:
        return pd.DataFrame(columns=list(POINT_COLUMNS))
    return pd.concat(frames, ignore_index=True)


def _known_future(data: SeriesData, history: SeriesData, horizon: int) -> dict[str, np.ndarray]:
    """The known covariates of the ``horizon`` steps after each series of ``history``, read from ``data``
    (the last known row repeated past the data's end: those steps are never scored)."""
    future = {}
    for s in history.ids:
        start = history.length(s)
        rows = data.known[s][start:start + horizon]
        if len(rows) < horizon:
            pad = rows[-1:] if len(rows) else data.known[s][-1:]
            rows = np.vstack([rows, np.repeat(pad, horizon - len(rows), axis=0)])
        future[s] = rows
    return future


def backtest(forecaster: Any, data: SeriesData, *, horizon: int, folds: int, length: int, test_length: int,
             name: str = "", fold_seconds: float | None = None, deadline: float | None = None) -> Backtest:
    """Rolling-origin backtest over ``folds`` windows of ``length`` steps before the test window
    (the last ``test_length`` steps, never looked at here). A model trained epoch by epoch ends
    each fold's training within ``fold_seconds``. :class:`OutOfTime` is raised after a fold when
    the folds left would, at the pace so far, end after ``deadline`` (a ``time.perf_counter()`` value)."""
    frames = []
    started = time.perf_counter()
    for fold in range(folds):
        cut = test_length + (folds - fold) * length
        end = None if fold_seconds is None else time.monotonic() + fold_seconds
        with fit_deadline(end):
            frames.append(forecast_window(forecaster, data, horizon=horizon, cut=cut, length=length, fold=fold))
        pace = (time.perf_counter() - started) / (fold + 1)
        if deadline is not None and fold + 1 < folds and time.perf_counter() + pace * (folds - fold - 1) > deadline:
            raise OutOfTime(f"{fold + 1} of {folds} backtest folds took {pace * (fold + 1):.0f} s; "
                            "the others would not end within the time limit")
    points = pd.concat(frames, ignore_index=True)
    seconds = time.perf_counter() - started
    return Backtest(name or getattr(forecaster, "name", type(forecaster).__name__), points, score_points(points),
                    seconds / max(folds, 1), folds)


def score_points(points: pd.DataFrame) -> dict[str, float]:
    """The forecast scores of a table of forecast points (NaN scores when it has none)."""
    if not len(points):
        return {"mase": float("nan"), "mae": float("nan"), "rmse": float("nan"), "smape": float("nan")}
    return forecast_scores(points["actual"].to_numpy(), points["forecast"].to_numpy(), points["scale"].to_numpy())


def interval_widths(points: pd.DataFrame, horizon: int, levels: tuple[float, ...] = (0.8, 0.95)) -> dict[str, list[float]]:
    """Half-widths of prediction intervals by steps ahead, in MASE-scale units, from backtest errors.

    For each step ``h``: the root mean square of the scaled errors ``h`` steps ahead (pooled with
    the nearest steps until at least ``MIN_ERRORS`` errors count), times Student's t quantile for
    that many errors, so few backtest errors give wider intervals rather than overconfident ones;
    widths never shrink as the horizon grows. Multiply by a series' scale for its own units.
    """
    from scipy.stats import t as student

    errors = ((points["forecast"] - points["actual"]) / points["scale"]).to_numpy()
    steps = points["step"].to_numpy().astype(int)
    top = int(steps.max()) if len(steps) else 1
    sigmas, counts = [], []
    for h in range(1, horizon + 1):
        reach = 0
        while True:
            chosen = (steps >= h - reach) & (steps <= min(h, top) + reach)
            if chosen.sum() >= min(MIN_ERRORS, len(errors)) or reach > horizon + top:
                break
            reach += 1
        pool = errors[chosen]
        sigmas.append(float(np.sqrt(np.mean(pool**2))) if len(pool) else 0.0)
        counts.append(len(pool))
    sigmas = np.maximum.accumulate(np.asarray(sigmas))
    widths: dict[str, list[float]] = {}
    for level in levels:
        quantiles = [float(student.ppf(0.5 + level / 2, max(n - 1, 1))) for n in counts]
        widths[f"{round(level * 100)}"] = [float(q * s) for q, s in zip(quantiles, sigmas, strict=True)]
    return widths


def coverage(points: pd.DataFrame, widths: dict[str, list[float]]) -> dict[str, float]:
    """Share of points inside their intervals, per level (what the intervals promise, checked)."""
    out = {}
    if not len(points):
        return {level: float("nan") for level in widths}
    step = points["step"].to_numpy().astype(int) - 1
    error = (points["forecast"] - points["actual"]).abs().to_numpy()
    for level, row in widths.items():
        half = np.asarray(row)[np.minimum(step, len(row) - 1)] * points["scale"].to_numpy()
        out[level] = float(np.mean(error <= half))
    return out
