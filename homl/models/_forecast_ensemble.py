"""The weighted mean of several forecasters' forecasts, kept when it beats each of them in backtests."""

from __future__ import annotations

from typing import Any

import numpy as np

from homl.data import SeriesData

from ._forecast_base import Forecaster


class ForecastEnsemble(Forecaster):
    """Averages its ``members``' forecasts, with ``weights`` (equal when None).

    >>> from homl.data import SeriesData
    >>> import pandas as pd
    >>> data = SeriesData.single(np.arange(1.0, 9.0), pd.date_range("2024-01-01", periods=8), freq="D")
    >>> from homl.models._forecast_stats import NaiveForecaster, DriftForecaster
    >>> ForecastEnsemble([NaiveForecaster(), DriftForecaster()]).fit(data).predict(data, 2)[""]
    array([8.5, 9. ])
    """

    name = "ensemble"
    display = "Ensemble (weighted mean of the best)"

    def __init__(self, members: list[Forecaster] | None = None, weights: list[float] | None = None):
        self.members = members
        self.weights = weights

    @property
    def uses_known(self) -> bool:  # type: ignore[override]
        return any(m.uses_known for m in self.members or [])

    @property
    def uses_past(self) -> bool:  # type: ignore[override]
        return any(m.uses_past for m in self.members or [])

    def unsuitable(self, data: SeriesData, horizon: int) -> str | None:
        reasons = [r for r in (m.unsuitable(data, horizon) for m in self.members or []) if r]
        return "; ".join(reasons) or None

    def fit(self, data: SeriesData) -> ForecastEnsemble:
        from sklearn.base import clone

        if not self.members:
            raise ValueError("ForecastEnsemble needs at least one member")
        self.members_ = [clone(m).fit(data) for m in self.members]
        return self

    def predict(self, data: SeriesData, horizon: int,
                known_future: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        forecasts = [m.predict(data, horizon, known_future) for m in self.members_]
        return combine(forecasts, self.weights)


def combine(forecasts: list[dict[str, np.ndarray]], weights: list[float] | None = None) -> dict[str, np.ndarray]:
    """The weighted mean, series by series, of several forecasts of the same series."""
    w = np.ones(len(forecasts)) if weights is None else np.asarray(weights, dtype=float)
    w = w / w.sum()
    return {s: sum(wi * f[s] for wi, f in zip(w, forecasts, strict=True)) for s in forecasts[0]}


def members_of(model: Any) -> list[Any]:
    """The fitted members of an ensemble, or the model itself in a list."""
    return list(getattr(model, "members_", [model]))
