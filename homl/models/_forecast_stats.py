"""Statistical forecasters: naive baselines, exponential smoothing (ETS), (S)ARIMA and Theta.

Each learns one set of parameters per series (see :class:`~homl.models._forecast_base.LocalForecaster`),
kept as plain numbers, strings, tuples and arrays so that a saved model loads safely: the
statsmodels models are rebuilt on the history to forecast from and given the stored parameters
(``SARIMAX(...).filter``, ``ETSModel(...).smooth``), never refitted. A series too short or too
flat for a model gets the naive forecast instead, and its parameters say why (``note``).

The history to forecast from is expected to be the fitted series, possibly with newer steps after
its end: ETS initial states and Theta seasonal factors are aligned on the first step the fit read.
A history that starts elsewhere is forecast too, but its seasonal phase may be off.

ETS, ARIMA and Theta need statsmodels (imported when they are fitted).
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
from threadpoolctl import threadpool_limits

from homl.data import SeriesData
from homl.errors import ConfigError
from homl.models._forecast_base import LocalForecaster

#: The fewest steps ETS, ARIMA and Theta learn from; shorter series get the naive forecast.
MIN_LENGTH = 10
#: ETS, ARIMA and Theta learn from at most the last this many steps of a series (fits stay fast).
MAX_HISTORY = 2000
#: The most SARIMAX fits the automatic ARIMA search makes for one series.
ARIMA_MAX_FITS = 30
#: Longer seasons get no seasonal ARIMA terms (the state space grows with the season: too slow).
ARIMA_MAX_SEASON = 52
#: Longer seasons get no seasonal ETS component (one initial state to estimate per step of the season).
ETS_MAX_SEASON = 24
#: Seasonal strength (1 - Var(remainder) / Var(season + remainder), from STL) above which ARIMA
#: differences seasonally, as in Hyndman & Athanasopoulos' ``nsdiffs``.
SEASONAL_STRENGTH = 0.64
#: Moving-average windows tried when the series has no season (each must be shorter than the series).
MA_WINDOWS = (3, 7, 12, 24, 52)


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence statsmodels' convergence, frequency and start-parameter warnings (and numpy's), and keep
    BLAS on one thread: statsmodels' matrices are tiny, and threads waiting on a busy machine made
    one SARIMAX fit up to 50 times slower."""
    with warnings.catch_warnings(), np.errstate(all="ignore"), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore")
        yield


def _require_statsmodels(model: str) -> None:
    try:
        import statsmodels  # noqa: F401
    except ImportError as error:
        raise ImportError(f"the {model} forecaster needs statsmodels: pip install 'homl[forecast]'") from error


def _naive(note: str) -> dict[str, Any]:
    """Parameters that forecast the last value, saying why."""
    return {"method": "naive", "note": note}


def _last(y: np.ndarray, horizon: int) -> np.ndarray:
    return np.full(horizon, float(y[-1]))


def _too_short_or_flat(y: np.ndarray, model: str) -> dict[str, Any] | None:
    """Naive parameters when ``y`` is too short for ``model`` or constant; else None."""
    if len(y) < MIN_LENGTH:
        return _naive(f"{len(y)} steps are too few for {model} (needs {MIN_LENGTH}); naive forecast")
    if np.ptp(y) == 0:
        return _naive(f"constant series; naive forecast instead of {model}")
    return None


def _window(n: int, start: int, season: int) -> int:
    """Where to start reading a history of ``n`` steps whose model was fitted from step ``start``:
    ``start`` itself when the history reaches past it, else a step in the same seasonal phase."""
    if n > start:
        return start
    return start % season if season > 1 and n > start % season else 0


def _unsuitable_short(data: SeriesData, model: str) -> str | None:
    """Why ``model`` (ETS, ARIMA, Theta) cannot run here: statsmodels missing, or every series too short."""
    if importlib.util.find_spec("statsmodels") is None:
        return f"{model} needs statsmodels (pip install 'homl[forecast]')"
    longest = max((data.length(s) for s in data.ids), default=0)
    if longest < MIN_LENGTH:
        return f"{model} needs at least {MIN_LENGTH} steps; the longest series has {longest}"
    return None


def _check_int(value: Any, name: str, low: int, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        allowed = f"None or a whole number ≥ {low}" if optional else f"a whole number ≥ {low}"
        raise ConfigError(f"{name} must be {allowed}; got {value!r}")


class _StatsForecaster(LocalForecaster):
    """A local forecaster whose parameters name a ``method``: "naive" (a fallback) or its own,
    forecast by ``_model_forecast``. Any failure or non-finite value there gives the naive forecast."""

    def _forecast_one(self, y: np.ndarray, params: dict[str, Any], horizon: int) -> np.ndarray:
        if params.get("method", "naive") == "naive":
            return _last(y, horizon)
        try:
            with _quiet():
                out = np.asarray(self._model_forecast(np.asarray(y, dtype=float), params, horizon), dtype=float)
            out = out.reshape(horizon)
        except ImportError:
            raise
        except Exception:  # a history the stored parameters cannot filter (e.g. ≤ 0 under a multiplicative model)
            return _last(y, horizon)
        return out if np.all(np.isfinite(out)) else _last(y, horizon)

    def _model_forecast(self, y: np.ndarray, params: dict[str, Any], horizon: int) -> np.ndarray:
        raise NotImplementedError


class NaiveForecaster(_StatsForecaster):
    """Every future step equals the last value."""

    name: ClassVar[str] = "naive"
    display: ClassVar[str] = "Naive"

    def _fit_one(self, y: np.ndarray, season: int) -> dict[str, Any]:
        return {"method": "naive"}


class SeasonalNaiveForecaster(_StatsForecaster):
    """Every future step equals the value one season before it (e.g. a week ago on daily data).

    ``season``: the period in steps; None takes the data's main season.
    """

    name: ClassVar[str] = "seasonal_naive"
    display: ClassVar[str] = "Seasonal naive"

    def __init__(self, season: int | None = None):
        self.season = season

    def _season(self, data_season: int) -> int:
        return int(self.season) if self.season is not None else int(data_season)

    def unsuitable(self, data: SeriesData, horizon: int) -> str | None:
        season = self._season(data.season)
        if season < 2:
            return "the seasonal naive forecast needs a seasonal period; none was found in the data"
        shortest = min((data.length(s) for s in data.ids), default=0)
        if shortest < season:
            return (f"the seasonal naive forecast needs one full season ({season} steps); "
                    f"the shortest series has {shortest}")
        return None

    def fit(self, data: SeriesData) -> SeasonalNaiveForecaster:
        _check_int(self.season, "season", 2, optional=True)
        return super().fit(data)

    def _fit_one(self, y: np.ndarray, season: int) -> dict[str, Any]:
        season = self._season(season)
        if season < 2:
            return _naive("no seasonal period; naive forecast")
        if len(y) < season:
            return _naive(f"{len(y)} steps are fewer than one season ({season}); naive forecast")
        return {"method": "seasonal_naive", "season": season}

    def _model_forecast(self, y: np.ndarray, params: dict[str, Any], horizon: int) -> np.ndarray:
        season = params["season"]
        if len(y) < season:
            return _last(y, horizon)
        return y[-season:][np.arange(horizon) % season]


class DriftForecaster(_StatsForecaster):
    """The last value plus, per step ahead, the average step of the fitted history:
    ``(y[-1] - y[0]) / (n - 1)`` (kept, not recomputed on a newer history)."""

    name: ClassVar[str] = "drift"
    display: ClassVar[str] = "Drift"

    def unsuitable(self, data: SeriesData, horizon: int) -> str | None:
        longest = max((data.length(s) for s in data.ids), default=0)
        return f"the drift forecast needs at least 2 steps; the longest series has {longest}" if longest < 2 else None

    def _fit_one(self, y: np.ndarray, season: int) -> dict[str, Any]:
        if len(y) < 2:
            return _naive("a single step has no slope; naive forecast")
        return {"method": "drift", "slope": float((y[-1] - y[0]) / (len(y) - 1))}

    def _model_forecast(self, y: np.ndarray, params: dict[str, Any], horizon: int) -> np.ndarray:
        return y[-1] + params["slope"] * np.arange(1, horizon + 1)


class MovingAverageForecaster(_StatsForecaster):
    """Every future step equals the mean of the last ``window`` values.

    ``window``: None takes the data's season when it has one (and the series is that long), else
    the window among :data:`MA_WINDOWS` with the lowest one-step in-sample absolute error.
    """

    name: ClassVar[str] = "moving_average"
    display: ClassVar[str] = "Moving average"

    def __init__(self, window: int | None = None):
        self.window = window

    def fit(self, data: SeriesData) -> MovingAverageForecaster:
        _check_int(self.window, "window", 1, optional=True)
        return super().fit(data)

    def _fit_one(self, y: np.ndarray, season: int) -> dict[str, Any]:
        if self.window is not None:
            return {"method": "moving_average", "window": int(self.window)}
        if season > 1 and len(y) >= season:
            return {"method": "moving_average", "window": int(season)}
        windows = [w for w in MA_WINDOWS if w < len(y)]
        if not windows:
            return {"method": "moving_average", "window": len(y)}
        first = max(windows)
        sums = np.concatenate([[0.0], np.cumsum(y)])
        targets = np.arange(first, len(y))
        errors = [np.mean(np.abs(y[targets] - (sums[targets] - sums[targets - w]) / w)) for w in windows]
        return {"method": "moving_average", "window": int(windows[int(np.argmin(errors))])}

    def _model_forecast(self, y: np.ndarray, params: dict[str, Any], horizon: int) -> np.ndarray:
        return np.full(horizon, float(np.mean(y[-params["window"]:])))


# --------------------------------------------------------------------------------------------- ETS

_ETS_TRENDS = ("auto", None, "none", "add", "mul")
_ETS_SEASONALS = ("auto", None, "none", "add", "mul")


def _ets_model(y: np.ndarray, spec: dict[str, Any]) -> Any:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    seasonal = spec["seasonal"] if spec["seasonal"] != "none" else None
    return ETSModel(
        y, error=spec["error"], trend=spec["trend"] if spec["trend"] != "none" else None,
        damped_trend=spec["damped"], seasonal=seasonal, seasonal_periods=spec["season"] if seasonal else None,
        initialization_method=spec.get("init", "estimated"),
    )


class ExponentialSmoothingForecaster(_StatsForecaster):
    """Exponential smoothing state-space models (ETS, statsmodels' ``ETSModel``) chosen by AICc.

    The initial level, trend and seasonal states come from Hyndman et al.'s heuristic (a classical
    decomposition of the first seasons) and only the smoothing parameters are estimated: on monthly
    series this forecast better than estimating every initial state too, and fitted ten times
    faster. A series the heuristic cannot start (too short) has its initial states estimated.

    ``trend``: "auto" (none or additive), None, "add" or "mul"; ``seasonal``: "auto" (none, additive or,
    on a strictly positive series, multiplicative), None, "add" or "mul"; ``damped``: "auto" (both),
    True or False. The error is additive or (strictly positive series) multiplicative; an additive
    error is not paired with a multiplicative component (unstable, as in Hyndman et al.'s ``ets``).
    A seasonal component needs a season of 2 to :data:`ETS_MAX_SEASON` steps and two full seasons.
    The fit reads the last :data:`MAX_HISTORY` steps; ``params_[id]`` holds the chosen spec, the
    fitted parameter vector (smoothing parameters and initial states) and ``start``, the first step read.
    """

    name: ClassVar[str] = "ets"
    display: ClassVar[str] = "ETS"

    def __init__(self, trend: str | None = "auto", seasonal: str | None = "auto", damped: bool | str = "auto"):
        self.trend = trend
        self.seasonal = seasonal
        self.damped = damped

    def unsuitable(self, data: SeriesData, horizon: int) -> str | None:
        return _unsuitable_short(data, "ETS")

    def fit(self, data: SeriesData) -> ExponentialSmoothingForecaster:
        if self.trend not in _ETS_TRENDS:
            raise ConfigError(f"trend must be one of 'auto', None, 'add', 'mul'; got {self.trend!r}")
        if self.seasonal not in _ETS_SEASONALS:
            raise ConfigError(f"seasonal must be one of 'auto', None, 'add', 'mul'; got {self.seasonal!r}")
        if self.damped != "auto" and not isinstance(self.damped, (bool, np.bool_)):
            raise ConfigError(f"damped must be 'auto', True or False; got {self.damped!r}")
        _require_statsmodels("ETS")
        return super().fit(data)

    def _candidates(self, y: np.ndarray, season: int) -> tuple[list[dict[str, Any]], list[str]]:
        """The specs to try on ``y``, and notes on what was asked but cannot be fitted."""
        positive = bool(np.min(y) > 0)
        notes = []
        seasonal_ok = 1 < season <= ETS_MAX_SEASON and len(y) >= 2 * season
        if self.seasonal == "auto":
            seasonals = (["none", "add"] + (["mul"] if positive else [])) if seasonal_ok else ["none"]
            if season > ETS_MAX_SEASON:
                notes.append(f"season {season} is too long for a seasonal ETS (at most {ETS_MAX_SEASON})")
        else:
            seasonals = [self.seasonal or "none"]
            if seasonals[0] != "none" and not seasonal_ok:
                notes.append(f"no seasonal component: season {season} is unusable on {len(y)} steps")
                seasonals = ["none"]
            if seasonals[0] == "mul" and not positive:
                notes.append("additive season: the series is not strictly positive")
                seasonals = ["add"]
        if self.trend == "auto":
            trends = ["none", "add"]
        else:
            trends = [self.trend or "none"]
            if trends[0] == "mul" and not positive:
                notes.append("additive trend: the series is not strictly positive")
                trends = ["add"]
        dampings = [False, True] if self.damped == "auto" else [bool(self.damped)]
        specs = []
        for error in ["add", "mul"] if positive else ["add"]:
            for trend in trends:
                for damped in dampings if trend != "none" else [False]:
                    for seasonal in seasonals:
                        if error == "add" and "mul" in (trend, seasonal):
                            continue
                        specs.append({"error": error, "trend": trend, "damped": damped, "seasonal": seasonal,
                                      "season": int(season) if seasonal != "none" else 1})
        return specs, notes

    def _fit_one(self, y: np.ndarray, season: int) -> dict[str, Any]:
        fallback = _too_short_or_flat(y, "ETS")
        if fallback is not None:
            return fallback
        start = max(0, len(y) - MAX_HISTORY)
        window = np.asarray(y[start:], dtype=float)
        specs, notes = self._candidates(window, season)
        best: tuple[float, dict[str, Any], np.ndarray] | None = None
        errors = []
        for spec in specs:
            try:
                with _quiet():
                    try:
                        spec = {**spec, "init": "heuristic"}
                        result = _ets_model(window, spec).fit(disp=False)
                    except ValueError:  # too few steps for the heuristic
                        spec = {**spec, "init": "estimated"}
                        result = _ets_model(window, spec).fit(disp=False)
                score = float(result.aicc) if np.isfinite(result.aicc) else float(result.aic)
                params = np.asarray(result.params, dtype=float)
            except Exception as error:  # statsmodels refuses a spec on this series: try the others
                errors.append(f"{_ets_label(spec)}: {error}")
                continue
            if np.isfinite(score) and np.all(np.isfinite(params)) and (best is None or score < best[0]):
                best = (score, spec, params)
        if best is None:
            return _naive("no ETS model could be fitted (" + "; ".join(errors)[:300] + "); naive forecast")
        score, spec, params = best
        out = {"method": "ets", **spec, "params": params, "aicc": score, "start": start, "fits": len(specs),
               "label": _ets_label(spec)}
        if notes:
            out["note"] = "; ".join(notes)
        return out

    def _model_forecast(self, y: np.ndarray, params: dict[str, Any], horizon: int) -> np.ndarray:
        history = y[_window(len(y), params["start"], params["season"]):]
        return np.asarray(_ets_model(history, params).smooth(params["params"]).forecast(horizon))


def _ets_label(spec: dict[str, Any]) -> str:
    """ETS(error, trend, season) in Hyndman's letters, e.g. ETS(M,Ad,A)."""
    letter = {"none": "N", "add": "A", "mul": "M"}
    trend = letter[spec["trend"]] + ("d" if spec["damped"] and spec["trend"] != "none" else "")
    return f"ETS({letter[spec['error']]},{trend},{letter[spec['seasonal']]})"


# ------------------------------------------------------------------------------------------- ARIMA


class _ArimaDisplay:
    """An ArimaForecaster's display name: "SARIMA" once it has seasonal terms (set, or chosen by
    the fit for some series), else "ARIMA"."""

    def __get__(self, forecaster: ArimaForecaster | None, owner: type | None = None) -> str:
        if forecaster is None:
            return "ARIMA"
        return "SARIMA" if forecaster._seasonal() else "ARIMA"


def _is_seasonal(seasonal_order: Any) -> bool:
    return (isinstance(seasonal_order, (tuple, list)) and len(seasonal_order) == 4 and seasonal_order[3] > 1
            and any(seasonal_order[:3]))


def _seasonal_strength(y: np.ndarray, season: int) -> float:
    """1 - Var(remainder) / Var(season + remainder) of an STL decomposition (0: none, 1: pure season)."""
    from statsmodels.tsa.seasonal import STL

    try:
        with _quiet():
            result = STL(y, period=season).fit()
    except Exception:  # a series STL cannot decompose: no seasonal difference
        return 0.0
    remainder = np.asarray(result.resid)
    both = np.var(np.asarray(result.seasonal) + remainder)
    return 0.0 if both <= 0 else max(0.0, 1.0 - float(np.var(remainder)) / float(both))


def _differences(y: np.ndarray, max_d: int = 2) -> int:
    """How many first differences make ``y`` level-stationary by KPSS tests at 5% (auto.arima's ``ndiffs``)."""
    from statsmodels.tsa.stattools import kpss

    d = 0
    while d < max_d and len(y) >= MIN_LENGTH and np.ptp(y) > 0:
        try:
            with _quiet():
                p_value = kpss(y, regression="c", nlags="auto")[1]
        except Exception:  # a series KPSS cannot test: stop differencing
            break
        if p_value >= 0.05:
            break
        y = np.diff(y)
        d += 1
    return d


def _arima_label(order: tuple[int, ...], seasonal_order: tuple[int, ...]) -> str:
    label = f"ARIMA({order[0]},{order[1]},{order[2]})"
    if _is_seasonal(seasonal_order):
        label = "S" + label + f"({seasonal_order[0]},{seasonal_order[1]},{seasonal_order[2]},{seasonal_order[3]})"
    return label


def _sarimax(y: np.ndarray, order: tuple[int, ...], seasonal_order: tuple[int, ...], trend: str,
             simple_differencing: bool = False) -> Any:
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    return SARIMAX(y, order=order, seasonal_order=seasonal_order, trend=trend, simple_differencing=simple_differencing)


_Key = tuple[tuple[int, int, int], tuple[int, int, int, int], str]


class _SarimaxFitter:
    """SARIMAX fits of one (scaled) series, each made once, at most :data:`ARIMA_MAX_FITS` in all.

    Fits difference the series first (``simple_differencing``: a smaller state, about twice as fast;
    the parameters mean the same as in the model on the levels, which ``full_aic`` filters)."""

    def __init__(self, z: np.ndarray):
        self.z = z
        self.fits: dict[_Key, tuple[float, np.ndarray] | None] = {}
        self.failures: list[str] = []
        self.limit = ARIMA_MAX_FITS

    def fit(self, order: tuple[int, int, int], seasonal_order: tuple[int, int, int, int],
            trend: str) -> tuple[float, np.ndarray] | None:
        """(AIC on the differenced series, parameters), or None when the fit fails or the budget is spent."""
        key = (order, seasonal_order, trend)
        if key not in self.fits and len(self.fits) < self.limit:
            try:
                with _quiet():
                    model = _sarimax(self.z, order, seasonal_order, trend, simple_differencing=True)
                    result = model.fit(disp=False, low_memory=True, cov_type="none")
                aic, params = float(result.aic), np.asarray(result.params, dtype=float)
                self.fits[key] = (aic, params) if np.isfinite(aic) and np.all(np.isfinite(params)) else None
            except Exception as error:  # statsmodels cannot fit this order here: skip it
                self.failures.append(f"{_arima_label(order, seasonal_order)}: {error}")
                self.fits[key] = None
        return self.fits.get(key)

    def full_aic(self, order: tuple[int, int, int], seasonal_order: tuple[int, int, int, int], trend: str) -> float:
        """The AIC of a fitted key on the levels (comparable across differences, as auto.arima compares them)."""
        fitted = self.fits.get((order, seasonal_order, trend))
        if fitted is None:
            return np.inf
        try:
            with _quiet():
                return float(_sarimax(self.z, order, seasonal_order, trend).filter(fitted[1], low_memory=True).aic)
        except Exception:  # the levels model refuses these parameters
            return np.inf


def _stepwise(fitter: _SarimaxFitter, d: int, big_d: int, m: int, bounds: list[tuple[int, int]]) -> _Key | None:
    """The (p, q, P, Q) of lowest AIC by auto.arima's stepwise search, as a key of ``fitter``; None if nothing fits."""
    trend = "c" if d + big_d <= 1 else "n"

    def key(point: tuple[int, ...]) -> _Key:
        p, q, sp, sq = point
        return (p, d, q), ((sp, big_d, sq, m) if m > 1 else (0, 0, 0, 0)), trend

    def clamp(point: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(min(max(v, low), high) for v, (low, high) in zip(point, bounds))

    def allowed(point: tuple[int, ...]) -> bool:
        return clamp(point) == point and sum(v for v, (low, high) in zip(point, bounds) if low != high) <= 5

    scores: dict[tuple[int, ...], float] = {}

    def score(point: tuple[int, ...]) -> float:
        if point not in scores:
            fitted = fitter.fit(*key(point))
            scores[point] = fitted[0] if fitted is not None else np.inf
        return scores[point]

    best = None
    for point in dict.fromkeys(clamp(p) for p in ((2, 2, 1, 1), (0, 0, 0, 0), (1, 0, 1, 0), (0, 1, 0, 1))):
        if score(point) < np.inf and (best is None or scores[point] < scores[best]):
            best = point
    moves = [(1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1), (1, 1, 0, 0), (0, 0, 1, 1)]
    improved = best is not None
    while improved and len(fitter.fits) < fitter.limit:
        improved = False
        for move in moves:
            for sign in (-1, 1):
                point = tuple(v + sign * dv for v, dv in zip(best, move))  # type: ignore[arg-type]
                if point not in scores and allowed(point) and score(point) < scores[best]:  # type: ignore[index]
                    best, improved = point, True
                    break
            if improved:
                break
    return key(best) if best is not None else None


class ArimaForecaster(_StatsForecaster):
    """(Seasonal) ARIMA models (statsmodels' ``SARIMAX``), by default chosen by a stepwise AIC search.

    ``order``: "auto" or ``(p, d, q)``; ``seasonal_order``: "auto", None (no seasonal terms),
    ``(P, D, Q)`` (on the data's season) or ``(P, D, Q, m)``; a tuple fixes that part, "auto" searches
    it. The search follows Hyndman & Khandakar's ``auto.arima``: ``D`` = 1 when the STL seasonal strength
    exceeds :data:`SEASONAL_STRENGTH`, then ``d`` by KPSS tests; a constant (a drift once differenced)
    when ``d + D ≤ 1``; then from the best of ARIMA(2,d,2)(1,D,1), (0,d,0)(0,D,0), (1,d,0)(1,D,0) and
    (0,d,1)(0,D,1) it moves p, q (up to ``max_p``, ``max_q``) and P, Q (up to 1) by one while the AIC
    drops, with ``p + q + P + Q ≤ 5`` and at most :data:`ARIMA_MAX_FITS` fits. On a season of 7 (daily
    data) it also tries SARIMA(1,0,0)(0,1,1,7). Seasons longer than :data:`ARIMA_MAX_SEASON` get no
    seasonal terms (noted in the parameters). The fit reads the last :data:`MAX_HISTORY` steps, scaled
    by their standard deviation (kept in ``params_[id]["scale"]``); forecasts filter the last
    :data:`MAX_HISTORY` steps of the history with the fitted parameters.
    """

    name: ClassVar[str] = "arima"
    display = _ArimaDisplay()  # type: ignore[assignment]

    def __init__(self, order: tuple[int, int, int] | str = "auto",
                 seasonal_order: tuple[int, ...] | str | None = "auto", max_p: int = 3, max_q: int = 3):
        self.order = order
        self.seasonal_order = seasonal_order
        self.max_p = max_p
        self.max_q = max_q

    def _seasonal(self) -> bool:
        if hasattr(self, "params_"):
            return any(_is_seasonal(p.get("seasonal_order")) for p in self.params_.values())
        return _is_seasonal(self.seasonal_order)

    def unsuitable(self, data: SeriesData, horizon: int) -> str | None:
        return _unsuitable_short(data, "ARIMA")

    def fit(self, data: SeriesData) -> ArimaForecaster:
        if self.order != "auto" and not (isinstance(self.order, (tuple, list)) and len(self.order) == 3):
            raise ConfigError(f"order must be 'auto' or (p, d, q); got {self.order!r}")
        if self.seasonal_order not in ("auto", None) and not (
                isinstance(self.seasonal_order, (tuple, list)) and len(self.seasonal_order) in (3, 4)):
            raise ConfigError("seasonal_order must be 'auto', None, (P, D, Q) or (P, D, Q, m); "
                              f"got {self.seasonal_order!r}")
        for name, values in (("order", self.order), ("seasonal_order", self.seasonal_order)):
            if isinstance(values, (tuple, list)):
                for value in values:
                    _check_int(value, f"every term of {name}", 0)
        _check_int(self.max_p, "max_p", 0)
        _check_int(self.max_q, "max_q", 0)
        _require_statsmodels("ARIMA")
        return super().fit(data)

    def _fit_one(self, y: np.ndarray, season: int) -> dict[str, Any]:
        fallback = _too_short_or_flat(y, "ARIMA")
        if fallback is not None:
            return fallback
        window = np.asarray(y[-MAX_HISTORY:], dtype=float)
        scale = float(np.std(window)) or 1.0
        z = window / scale
        notes: list[str] = []
        fixed_order = tuple(int(v) for v in self.order) if self.order != "auto" else None
        fixed_seasonal: tuple[int, ...] | None = None
        if self.seasonal_order is None:
            fixed_seasonal = (0, 0, 0, 0)
        elif self.seasonal_order != "auto":
            terms = tuple(int(v) for v in self.seasonal_order)
            fixed_seasonal = terms if len(terms) == 4 else (*terms, int(season))
            if fixed_seasonal[3] < 2:
                if any(fixed_seasonal[:3]):
                    notes.append("no seasonal terms: the data has no season")
                fixed_seasonal = (0, 0, 0, 0)
        # The seasonal period m and the differences D and d.
        if fixed_seasonal is not None:
            m, big_d = max(1, fixed_seasonal[3]), fixed_seasonal[1]
        elif season > ARIMA_MAX_SEASON:
            notes.append(f"season {season} is too long for a seasonal ARIMA (at most {ARIMA_MAX_SEASON}); "
                         "fitted without seasonal terms")
            m, big_d = 1, 0
        elif season > 1 and len(z) >= 3 * season:
            m = int(season)
            big_d = int(_seasonal_strength(z, m) > SEASONAL_STRENGTH)
        else:
            if season > 1:
                notes.append(f"no seasonal terms: {len(z)} steps are fewer than three seasons ({3 * season})")
            m, big_d = 1, 0
        d = fixed_order[1] if fixed_order is not None else _differences(z[m:] - z[:-m] if big_d and m > 1 else z)

        # p, q, P, Q: each between its bounds (equal bounds when fixed).
        bounds = [(0, int(self.max_p)), (0, int(self.max_q)), (0, int(m > 1)), (0, int(m > 1))]
        if fixed_order is not None:
            bounds[0], bounds[1] = (fixed_order[0],) * 2, (fixed_order[2],) * 2
        if fixed_seasonal is not None and m > 1:
            bounds[2], bounds[3] = (fixed_seasonal[0],) * 2, (fixed_seasonal[2],) * 2
        fitter = _SarimaxFitter(z)
        candidates = []
        if self.order == "auto" and self.seasonal_order == "auto" and m == 7:
            candidates.append(((1, 0, 0), (0, 1, 1, 7), "c"))  # Hands-On ML's model of daily ridership
            fitter.fit(*candidates[0])
        best = _stepwise(fitter, d, big_d, m, bounds)
        if best is not None:
            candidates.append(best)
        scored = [(fitter.full_aic(*key), key) for key in candidates if fitter.fit(*key) is not None]
        scored = [(aic, key) for aic, key in scored if np.isfinite(aic)]
        if not scored:
            # Nothing fitted: the simplest model with the same differences, then a random walk.
            for key in (((0, d, 0), (0, big_d, 0, m) if m > 1 else (0, 0, 0, 0), "c" if d + big_d <= 1 else "n"),
                        ((0, 1, 0), (0, 0, 0, 0), "n")):
                fitter.limit += 1
                if fitter.fit(*key) is not None and np.isfinite(aic := fitter.full_aic(*key)):
                    scored = [(aic, key)]
                    notes.append(f"the search failed ({'; '.join(fitter.failures)[:300]}); fitted the simplest model")
                    break
            else:
                return _naive(f"no ARIMA model could be fitted ({'; '.join(fitter.failures)[:300]}); naive forecast")
        aic, (order, seasonal_order, trend) = min(scored)
        out = {"method": "arima", "order": order, "seasonal_order": seasonal_order, "trend": trend,
               "params": fitter.fit(order, seasonal_order, trend)[1],  # type: ignore[index]
               "aic": float(aic), "scale": scale, "fits": len(fitter.fits),
               "label": _arima_label(order, seasonal_order)}
        if notes:
            out["note"] = "; ".join(notes)
        return out

    def _model_forecast(self, y: np.ndarray, params: dict[str, Any], horizon: int) -> np.ndarray:
        scale = params["scale"]
        model = _sarimax(y[-MAX_HISTORY:] / scale, params["order"], params["seasonal_order"], params["trend"])
        return np.asarray(model.filter(params["params"]).forecast(horizon)) * scale


# ------------------------------------------------------------------------------------------- Theta


def _ses_level(x: np.ndarray, alpha: float) -> float:
    """The last level of simple exponential smoothing of ``x`` started at ``x[0]``."""
    from scipy.signal import lfilter

    if len(x) == 1:
        return float(x[0])
    levels, _ = lfilter([alpha], [1.0, alpha - 1.0], x[1:], zi=[(1.0 - alpha) * x[0]])
    return float(levels[-1])


class ThetaForecaster(_StatsForecaster):
    """The Theta method (Assimakopoulos & Nikolopoulos; statsmodels' ``ThetaModel``, theta = 2).

    On a season > 1 with two full seasons the series is deseasonalised first (classical decomposition,
    multiplicative when positive, when statsmodels' seasonality test finds a season). The fit keeps
    ``b0`` (the trend slope), ``alpha`` (the smoothing weight) and the seasonal factors (aligned on
    the first fitted step); a forecast deseasonalises the history with those factors, smooths it
    with ``alpha`` and adds half the trend, as ``ThetaModelResults.forecast`` does: no refit.
    The fit reads the last :data:`MAX_HISTORY` steps.
    """

    name: ClassVar[str] = "theta"
    display: ClassVar[str] = "Theta"

    def unsuitable(self, data: SeriesData, horizon: int) -> str | None:
        return _unsuitable_short(data, "Theta")

    def fit(self, data: SeriesData) -> ThetaForecaster:
        _require_statsmodels("Theta")
        return super().fit(data)

    def _fit_one(self, y: np.ndarray, season: int) -> dict[str, Any]:
        from statsmodels.tsa.forecasting.theta import ThetaModel

        fallback = _too_short_or_flat(y, "Theta")
        if fallback is not None:
            return fallback
        start = max(0, len(y) - MAX_HISTORY)
        window = np.asarray(y[start:], dtype=float)
        m = int(season) if season > 1 and len(window) >= 2 * season else 1
        try:
            with _quiet():
                model = ThetaModel(window, period=m if m > 1 else None, deseasonalize=m > 1)
                result = model.fit()
                components = result.forecast_components(m) if m > 1 else None
            alpha, b0 = float(result.params["alpha"]), float(result.params["b0"])
        except Exception as error:  # statsmodels cannot fit this series
            return _naive(f"Theta could not be fitted ({str(error)[:300]}); naive forecast")
        multiplicative = model.method.startswith("mul")
        factors = np.ones(m) if multiplicative else np.zeros(m)
        if components is not None:
            factors[(len(window) + np.arange(m)) % m] = np.asarray(components["seasonal"], dtype=float)
        if not (np.isfinite(alpha) and np.isfinite(b0) and np.all(np.isfinite(factors))) or (
                multiplicative and np.any(factors <= 0)):
            return _naive("Theta gave non-finite parameters; naive forecast")
        return {"method": "theta", "alpha": alpha, "b0": b0, "seasonal": factors, "season": m,
                "multiplicative": bool(multiplicative), "theta": 2.0, "start": start}

    def _model_forecast(self, y: np.ndarray, params: dict[str, Any], horizon: int) -> np.ndarray:
        m, alpha, factors = params["season"], params["alpha"], params["seasonal"]
        first = _window(len(y), params["start"], m)
        history = y[first:]
        n = len(history)
        phase = (first - params["start"]) % m  # the factor index of history[0] (0 unless the history started late)
        inside = factors[(phase + np.arange(n)) % m]
        ahead = factors[(phase + n + np.arange(horizon)) % m]
        deseasonalised = history / inside if params["multiplicative"] else history - inside
        steps = np.arange(horizon, dtype=float)
        if alpha > 0:
            steps += 1 / alpha - (1 - alpha) ** n / alpha
        weight = (params["theta"] - 1) / params["theta"]
        forecast = weight * params["b0"] * steps + _ses_level(deseasonalised, alpha)
        return forecast * ahead if params["multiplicative"] else forecast + ahead


#: The statistical forecasters by name.
STAT_FORECASTERS: dict[str, type[LocalForecaster]] = {
    cls.name: cls
    for cls in (NaiveForecaster, SeasonalNaiveForecaster, DriftForecaster, MovingAverageForecaster,
                ExponentialSmoothingForecaster, ArimaForecaster, ThetaForecaster)
}

__all__ = [
    "STAT_FORECASTERS",
    "ArimaForecaster",
    "DriftForecaster",
    "ExponentialSmoothingForecaster",
    "MovingAverageForecaster",
    "NaiveForecaster",
    "SeasonalNaiveForecaster",
    "ThetaForecaster",
]
