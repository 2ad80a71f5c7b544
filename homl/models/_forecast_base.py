"""What every forecaster offers: learn from regular series, forecast the steps after their end.

A forecaster is a scikit-learn estimator (``get_params``, ``clone``) whose ``fit`` reads a
:class:`homl.data.SeriesData` and whose ``predict`` forecasts, for every series of the data it is
given, the ``horizon`` steps after that series' end. Forecasting from newer rows of the same
series needs no refit: the fitted parameters are applied to the longer history. Fitted state is
plain numbers and arrays (or scikit-learn / LightGBM estimators), so a forecaster saves safely.

Two kinds share this base:

* local forecasters (:class:`LocalForecaster`) learn one set of parameters per series (naive,
  exponential smoothing, ARIMA); a series they never saw is fitted on the fly from its history;
* global forecasters learn one model across every series (gradient boosting on lags).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from homl.data import SeriesData
from homl.errors import ConfigError, DataError


class Forecaster(BaseEstimator):
    """Base of every forecaster; subclasses set ``name`` and ``display`` and implement fit/predict."""

    #: Short name used by ``--models`` and in the leaderboard.
    name: ClassVar[str] = ""
    #: What a person reads in the leaderboard.
    display: ClassVar[str] = ""
    #: Whether the forecaster reads covariates known in advance (needs them for the horizon to predict).
    uses_known: ClassVar[bool] = False
    #: Whether it reads past-only covariates.
    uses_past: ClassVar[bool] = False

    def unsuitable(self, data: SeriesData, horizon: int) -> str | None:
        """Why this forecaster cannot learn from ``data`` for ``horizon`` steps (None when it can),
        in words for the user (e.g. "needs two full seasons (14 steps); the shortest series has 9")."""
        return None

    def fit(self, data: SeriesData) -> Forecaster:
        raise NotImplementedError

    def predict(self, data: SeriesData, horizon: int,
                known_future: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """The next ``horizon`` values after the end of each series of ``data``, by id.

        ``known_future[id]`` has shape ``(horizon, len(data.known_names))``: the known covariates
        over the horizon; needed only by forecasters with ``uses_known`` when the data has them.
        """
        raise NotImplementedError


class LocalForecaster(Forecaster):
    """A forecaster with one set of parameters per series, kept in ``params_`` (id → dict of numbers
    and arrays). Subclasses implement ``_fit_one`` and ``_forecast_one``."""

    def fit(self, data: SeriesData) -> LocalForecaster:
        self.params_: dict[str, dict[str, Any]] = {}
        for series in data.ids:
            self.params_[series] = self._fit_one(data.y[series], data.season)
        self.season_ = int(data.season)
        return self

    def predict(self, data: SeriesData, horizon: int,
                known_future: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        check_horizon(horizon)
        if not hasattr(self, "params_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit first")
        out = {}
        for series in data.ids:
            y = data.y[series]
            if len(y) == 0:
                raise DataError(f"series {series!r} has no value to forecast from")
            params = self.params_.get(series)
            if params is None:
                params = self._fit_one(y, data.season)
            out[series] = np.asarray(self._forecast_one(y, params, horizon), dtype=float).reshape(horizon)
        return out

    def _fit_one(self, y: np.ndarray, season: int) -> dict[str, Any]:
        raise NotImplementedError

    def _forecast_one(self, y: np.ndarray, params: dict[str, Any], horizon: int) -> np.ndarray:
        """The ``horizon`` values after the end of ``y`` (which may be longer than the fitted history)."""
        raise NotImplementedError


def check_horizon(horizon: Any) -> int:
    """``horizon`` as an int ≥ 1, or a :class:`ConfigError` that says what was given."""
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ConfigError(f"the horizon must be a whole number of steps of at least 1; got {horizon!r}")
    return int(horizon)
