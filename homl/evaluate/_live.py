"""Live performance: the model's score on labelled production rows, per time window, against its test score.

Each window's score gets a bootstrap confidence interval. A window is a drop when its score is
worse than the test score measured at training time by more than both estimates' uncertainty
allows (their difference beyond 1.96 standard errors, each read from its 95% interval), or,
when the test score comes without an interval, when its whole interval lies on the worse side.
An alert needs such a drop overall, or in the latest window with enough rows: one noisy window
in the past is not one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from homl.errors import DataError
from homl.metrics import Metric, bootstrap_interval, format_score

#: Windows tried, shortest first, when none is given: the first that makes at most ``MAX_WINDOWS``.
WINDOWS = ("1h", "3h", "6h", "12h", "1D", "2D", "7D", "14D", "28D", "91D", "182D", "364D")
MAX_WINDOWS = 12
#: Bootstrap resamples per window, and for the overall score.
WINDOW_RESAMPLES, OVERALL_RESAMPLES = 300, 1000
#: The normal quantile of a two-sided 95% interval.
Z95 = 1.959964


@dataclass
class LivePerformance:
    """Scores on labelled live rows, per window and overall, and whether they fell below the test score."""

    metric: str
    greater_is_better: bool
    windows: pd.DataFrame  # start, end, rows, score, low, high, status ("ok" / "drop" / "too few rows")
    overall: dict[str, float]  # score, low, high, rows
    reference: float | None  # the test score at training time
    alert: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        windows = self.windows.astype({"start": object, "end": object})
        for column in ("start", "end"):
            windows[column] = [None if pd.isna(t) else pd.Timestamp(t).isoformat() for t in self.windows[column]]
        return {"metric": self.metric, "greater_is_better": self.greater_is_better,
                "windows": [{k: _plain(v) for k, v in row.items()} for row in windows.to_dict("records")],
                "overall": {k: _plain(v) for k, v in self.overall.items()}, "reference": self.reference,
                "alert": self.alert, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LivePerformance:
        windows = pd.DataFrame(data["windows"], columns=list(_COLUMNS))
        for column in ("start", "end"):
            windows[column] = pd.to_datetime(windows[column])
        return cls(data["metric"], data["greater_is_better"], windows, dict(data["overall"]), data["reference"],
                   data["alert"], data["reason"])


_COLUMNS = ("start", "end", "rows", "score", "low", "high", "status")


def live_performance(y_true: np.ndarray, prediction: np.ndarray, times: pd.Series | None, metric: Metric,
                     classes: np.ndarray | None = None, *, reference: float | None = None,
                     reference_interval: tuple[float, float] | None = None, window: str | None = None,
                     min_rows: int = 30, seed: int = 0) -> LivePerformance:
    """Score ``prediction`` (values, or class probabilities in ``classes`` order) against ``y_true`` per
    ``window`` of ``times`` (a pandas offset such as "1D" or "7D"; chosen to make at most 12 windows of
    ``min_rows`` rows when ``None``; one window when ``times`` is ``None``). Rows without a label are left out.
    ``reference`` is the test score, ``reference_interval`` its 95% interval (low, high).
    """
    y_true, prediction = np.asarray(y_true), np.asarray(prediction)
    if len(prediction) != len(y_true) or (times is not None and len(times) != len(y_true)):
        raise DataError(f"{len(y_true)} labels, {len(prediction)} predictions"
                        + ("" if times is None else f" and {len(times)} times") + "; expected one of each per row")
    labelled = ~pd.isna(y_true)
    y_true, prediction = y_true[labelled], prediction[labelled]
    stamps = None if times is None else _times(times)[labelled]

    def score(rows: np.ndarray, resamples: int) -> dict[str, Any]:
        n = int(rows.sum())
        if n == 0:
            return {"rows": 0, "score": np.nan, "low": np.nan, "high": np.nan}
        value = metric(y_true[rows], prediction[rows], classes)
        low, high = (bootstrap_interval(metric, y_true[rows], prediction[rows], classes, n_resamples=resamples,
                                        seed=seed) if n >= 2 else (np.nan, np.nan))
        return {"rows": n, "score": value, "low": low, "high": high}

    overall = score(np.ones(len(y_true), dtype=bool), OVERALL_RESAMPLES)
    spans = _windows(stamps, window, min_rows, len(y_true))
    records = []
    for start, end, rows in spans:
        found = score(rows, WINDOW_RESAMPLES)
        worse = _worse(found, reference, metric, reference_interval)
        status = "too few rows" if found["rows"] < min_rows else "drop" if worse else "ok"
        records.append({"start": start, "end": end, **found, "status": status})
    windows = pd.DataFrame(records, columns=list(_COLUMNS))
    alert, reason = _verdict(overall, windows, reference, metric, min_rows, reference_interval)
    return LivePerformance(metric.name, metric.greater_is_better, windows, overall, reference, alert, reason)


def _times(times: pd.Series) -> np.ndarray:
    parsed = pd.to_datetime(pd.Series(times).reset_index(drop=True), errors="coerce", format="mixed", utc=True)
    return parsed.dt.tz_localize(None).to_numpy()


def _windows(stamps: np.ndarray | None, window: str | None, min_rows: int,
             rows: int) -> list[tuple[pd.Timestamp | None, pd.Timestamp | None, np.ndarray]]:
    """(start, end, rows) of each window holding rows; rows without a time count only overall."""
    if stamps is None or pd.isna(stamps).all():
        return [(None, None, np.ones(rows, dtype=bool))]
    if window is None:
        window = _choose_window(stamps[~pd.isna(stamps)], min_rows)
    return _split(stamps, window)


def window_offset(window: str) -> pd.DateOffset:
    """The pandas offset of a live-score ``window`` such as "1D", "7D" or "1h"; a clear error otherwise."""
    try:
        offset = pd.tseries.frequencies.to_offset(window)
    except ValueError:
        raise DataError(f"window '{window}' is not a pandas offset; expected one such as '1D', '7D' or '1h'") from None
    if offset.n < 1:
        raise DataError(f"window '{window}' is not a positive span of time; expected one such as '1D', '7D' or '1h'")
    return offset


def _split(stamps: np.ndarray, window: str) -> list[tuple[pd.Timestamp, pd.Timestamp, np.ndarray]]:
    offset = window_offset(window)
    positions = pd.Series(np.arange(len(stamps)), index=pd.DatetimeIndex(stamps)).loc[lambda s: s.index.notna()]
    spans = []
    for start, group in positions.sort_index().resample(offset):
        if len(group):
            rows = np.zeros(len(stamps), dtype=bool)
            rows[group.to_numpy()] = True
            spans.append((pd.Timestamp(start), pd.Timestamp(start) + offset, rows))
    return spans


def _choose_window(stamps: np.ndarray, min_rows: int) -> str:
    """The shortest window giving at most ``MAX_WINDOWS`` windows, at least half of them with ``min_rows`` rows
    (else a twelfth of the time covered, in whole days, or one window when there are too few rows for two)."""
    index = pd.DatetimeIndex(stamps)
    for window in WINDOWS:
        counts = pd.Series(1, index=index).resample(window).sum()
        counts = counts[counts > 0]
        if len(counts) <= MAX_WINDOWS and (counts >= min_rows).mean() >= 0.5:
            return window
    days = (index.max() - index.min()) / pd.Timedelta(days=1)
    parts = MAX_WINDOWS if len(index) >= 2 * min_rows else 1
    return f"{int(np.ceil(days / parts)) + 1}D"


def _worse(found: dict[str, Any], reference: float | None, metric: Metric,
           interval: tuple[float, float] | None = None) -> bool:
    """Whether ``found`` is worse than ``reference`` beyond the noise of both (see the module's docstring)."""
    if reference is None or not np.isfinite(found["low"]) or not np.isfinite(found["high"]):
        return False
    if interval is not None and all(v is not None and np.isfinite(v) for v in interval):
        spread = np.hypot(found["high"] - found["low"], interval[1] - interval[0]) / (2 * Z95)
        return metric.loss(found["score"]) - metric.loss(reference) > Z95 * spread
    return found["high"] < reference if metric.greater_is_better else found["low"] > reference


def _verdict(overall: dict[str, Any], windows: pd.DataFrame, reference: float | None, metric: Metric,
             min_rows: int, interval: tuple[float, float] | None = None) -> tuple[bool, str]:
    live = (f"the live {metric.label} is {_num(overall['score'])} (95% CI {_num(overall['low'])} to "
            f"{_num(overall['high'])}, {overall['rows']:,} labelled rows)")
    if overall["rows"] < min_rows:
        return False, f"Only {overall['rows']} labelled rows, fewer than {min_rows}: too few to judge the live " \
                      f"{metric.label}."
    if reference is None:
        return False, f"No test score from training to compare with: {live}; no alert without one."
    side = "below" if metric.greater_is_better else "above"
    tested = f"the test score {_num(reference)}"
    if interval is not None and all(v is not None and np.isfinite(v) for v in interval):
        tested += f" (95% CI {_num(interval[0])} to {_num(interval[1])})"
        beyond = f"{side} {tested} beyond the noise of both"
    else:
        beyond = f"its whole interval {side} {tested}"
    if _worse(overall, reference, metric, interval):
        return True, f"Worse than at training: {live}, {beyond}."
    judged = windows[windows["rows"] >= min_rows]
    if len(judged) and judged["status"].iloc[-1] == "drop":
        last = judged.iloc[-1]
        return True, (f"Worse in the latest window (from {_date(last['start'])}, {int(last['rows']):,} rows): "
                      f"{metric.label} {_num(last['score'])} (95% CI {_num(last['low'])} to {_num(last['high'])}), "
                      f"{beyond}.")
    better = (overall["low"] > reference) if metric.greater_is_better else (overall["high"] < reference)
    return False, f"{live[0].upper()}{live[1:]}: {'better than' if better else 'in line with'} {tested}."


def _num(value: float) -> str:
    return "-" if not np.isfinite(value) else format_score(value)


def _date(value: Any) -> str:
    return "the start" if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M").removesuffix(" 00:00")


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and not np.isfinite(value) else value
