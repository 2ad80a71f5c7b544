"""The statistical forecasters: naive baselines, ETS, (S)ARIMA and Theta on air passengers and generated series."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from homl.data import SeriesData
from homl.errors import ConfigError
from homl.models._forecast_stats import (
    MIN_LENGTH,
    STAT_FORECASTERS,
    ArimaForecaster,
    DriftForecaster,
    ExponentialSmoothingForecaster,
    MovingAverageForecaster,
    NaiveForecaster,
    SeasonalNaiveForecaster,
    ThetaForecaster,
    _SarimaxFitter,
)

pytest.importorskip("statsmodels")

from statsmodels.tsa.exponential_smoothing.ets import ETSModel  # noqa: E402
from statsmodels.tsa.forecasting.theta import ThetaModel  # noqa: E402
from statsmodels.tsa.statespace.sarimax import SARIMAX  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"
HOLDOUT = 24


def _series(y: dict[str, np.ndarray], *, freq: str = "MS", season: int = 12) -> SeriesData:
    time = {key: pd.date_range("2000-01-01", periods=len(values), freq=freq) for key, values in y.items()}
    return SeriesData(y={key: np.asarray(v, dtype=float) for key, v in y.items()}, time=time, freq=freq, season=season,
                      seasons=(season,) if season > 1 else ())


@pytest.fixture(scope="module")
def air() -> np.ndarray:
    return pd.read_csv(DATA / "air_passengers.csv")["value"].to_numpy(dtype=float)


@pytest.fixture(scope="module")
def air_train(air: np.ndarray) -> SeriesData:
    return _series({"air": air[:-HOLDOUT]})


@pytest.fixture(scope="module")
def fitted(air_train: SeriesData) -> dict[str, Any]:
    """Every forecaster fitted once on air passengers without its last two years."""
    return {name: cls().fit(air_train) for name, cls in STAT_FORECASTERS.items()}


@pytest.fixture(scope="module")
def generated() -> SeriesData:
    """Three monthly series: seasonal sines of different sizes, trends and noise (one trending down)."""
    rng = np.random.default_rng(0)
    steps = np.arange(72)
    return _series({
        "a": 50 + 0.5 * steps + 10 * np.sin(2 * np.pi * steps / 12) + rng.normal(0, 1, 72),
        "b": 200 - 0.8 * steps + 30 * np.cos(2 * np.pi * steps / 12) + rng.normal(0, 3, 72),
        "c": 5 * np.sin(2 * np.pi * steps / 12) + rng.normal(0, 0.5, 72),  # crosses zero
    })


def _mae(forecast: np.ndarray, actual: np.ndarray) -> float:
    return float(np.mean(np.abs(forecast - actual)))


def _assert_plain(value: Any, where: str = "params") -> None:
    """Only bool, int, float, str, tuples / lists of those, numeric arrays and dicts of all these."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str, where
            _assert_plain(item, f"{where}[{key!r}]")
    elif isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            _assert_plain(item, f"{where}[{i}]")
    elif isinstance(value, np.ndarray):
        assert value.dtype.kind in "biuf", where
    else:
        assert type(value) in (bool, int, float, str), f"{where} is a {type(value).__name__}"


def test_registry_names_and_displays():
    assert list(STAT_FORECASTERS) == ["naive", "seasonal_naive", "drift", "moving_average", "ets", "arima", "theta"]
    for name, cls in STAT_FORECASTERS.items():
        assert cls.name == name and cls.display


@pytest.mark.parametrize("name", list(STAT_FORECASTERS))
def test_forecasts_every_series_with_finite_values(name: str, generated: SeriesData):
    model = STAT_FORECASTERS[name]()
    assert model.unsuitable(generated, 12) is None
    model.fit(generated)
    forecasts = model.predict(generated, 12)
    assert set(forecasts) == set(generated.ids) == set(model.params_)
    for series, forecast in forecasts.items():
        assert forecast.shape == (12,) and np.all(np.isfinite(forecast)), series
    _assert_plain(model.params_)


@pytest.mark.parametrize(("name", "share"), [("ets", 0.6), ("arima", 0.6), ("theta", 0.6), ("seasonal_naive", 1.0)])
def test_beats_naive_on_air_passengers(name: str, share: float, fitted: dict[str, Any], air_train: SeriesData,
                                       air: np.ndarray):
    actual = air[-HOLDOUT:]
    naive = _mae(fitted["naive"].predict(air_train, HOLDOUT)["air"], actual)  # about 115 passengers (thousands)
    forecast = fitted[name].predict(air_train, HOLDOUT)["air"]
    assert np.all(np.isfinite(forecast))
    assert _mae(forecast, actual) < share * naive


def test_air_passengers_gets_seasonal_models(fitted: dict[str, Any]):
    ets, arima = fitted["ets"].params_["air"], fitted["arima"].params_["air"]
    assert ets["method"] == "ets" and ets["seasonal"] == "mul" and ets["fits"] <= 15
    assert arima["method"] == "arima" and arima["seasonal_order"][1::2] == (1, 12) and arima["fits"] <= 30
    assert fitted["arima"].display == "SARIMA"
    assert ArimaForecaster.display == ArimaForecaster().display == "ARIMA"
    assert ArimaForecaster(seasonal_order=(0, 1, 1, 12)).display == "SARIMA"
    assert fitted["theta"].params_["air"]["multiplicative"]


def test_naive_drift_and_seasonal_naive_formulas(air_train: SeriesData):
    y = air_train.y["air"]
    naive = NaiveForecaster().fit(air_train).predict(air_train, 5)["air"]
    np.testing.assert_array_equal(naive, np.full(5, y[-1]))
    drift = DriftForecaster().fit(air_train).predict(air_train, 5)["air"]
    np.testing.assert_allclose(drift, y[-1] + (y[-1] - y[0]) / (len(y) - 1) * np.arange(1, 6))
    seasonal = SeasonalNaiveForecaster().fit(air_train).predict(air_train, 30)["air"]
    np.testing.assert_array_equal(seasonal, np.concatenate([y[-12:], y[-12:], y[-12:-6]]))
    weekly = SeasonalNaiveForecaster(season=7).fit(air_train).predict(air_train, 7)["air"]
    np.testing.assert_array_equal(weekly, y[-7:])


def test_moving_average_windows(air_train: SeriesData):
    y = air_train.y["air"]
    model = MovingAverageForecaster(window=5).fit(air_train)
    np.testing.assert_allclose(model.predict(air_train, 3)["air"], np.full(3, y[-5:].mean()))
    assert MovingAverageForecaster().fit(air_train).params_["air"]["window"] == 12
    flat = _series({"x": y}, season=1)
    window = MovingAverageForecaster().fit(flat).params_["x"]["window"]
    assert window in (3, 7, 12, 24, 52)


def test_drift_and_ma_keep_their_fitted_parameters_on_a_longer_history(air: np.ndarray, air_train: SeriesData):
    longer = _series({"air": air[:-12]})
    drift = DriftForecaster().fit(air_train)
    slope = drift.params_["air"]["slope"]
    np.testing.assert_allclose(drift.predict(longer, 2)["air"], air[-13] + slope * np.arange(1, 3))


def _no_fit(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("a forecast refitted a statsmodels model")


def test_longer_history_is_filtered_with_the_fitted_parameters(fitted: dict[str, Any], air: np.ndarray,
                                                               monkeypatch: pytest.MonkeyPatch):
    longer = _series({"air": air[:-12]})
    y = longer.y["air"]
    for cls in (ETSModel, SARIMAX, ThetaModel):
        monkeypatch.setattr(cls, "fit", _no_fit)

    ets = fitted["ets"].params_["air"]
    expected = ETSModel(y, error=ets["error"], trend=None if ets["trend"] == "none" else ets["trend"],
                        damped_trend=ets["damped"], seasonal=ets["seasonal"], seasonal_periods=12,
                        initialization_method=ets["init"]).smooth(ets["params"]).forecast(12)
    got = fitted["ets"].predict(longer, 12)["air"]
    np.testing.assert_allclose(got, expected)
    assert _mae(got, air[-12:]) < 40

    arima = fitted["arima"].params_["air"]
    scale = arima["scale"]
    expected = SARIMAX(y / scale, order=arima["order"], seasonal_order=arima["seasonal_order"], trend=arima["trend"],
                       ).filter(arima["params"]).forecast(12) * scale
    got = fitted["arima"].predict(longer, 12)["air"]
    np.testing.assert_allclose(got, expected)
    assert _mae(got, air[-12:]) < 40

    theta = fitted["theta"].predict(longer, 12)["air"]
    assert np.all(np.isfinite(theta)) and _mae(theta, air[-12:]) < 60
    shorter = _series({"air": air[:-HOLDOUT]})
    for name in ("ets", "arima", "theta"):  # a newer end gives another forecast
        assert not np.allclose(fitted[name].predict(longer, 12)["air"], fitted[name].predict(shorter, 12)["air"])


def test_theta_reproduces_statsmodels_on_the_fitted_history(fitted: dict[str, Any], air_train: SeriesData):
    expected = ThetaModel(air_train.y["air"], period=12).fit().forecast(HOLDOUT)
    np.testing.assert_allclose(fitted["theta"].predict(air_train, HOLDOUT)["air"], expected, rtol=1e-8)
    flat = _series({"x": air_train.y["air"]}, season=1)
    expected = ThetaModel(flat.y["x"], deseasonalize=False).fit().forecast(6)
    np.testing.assert_allclose(ThetaForecaster().fit(flat).predict(flat, 6)["x"], expected, rtol=1e-8)


def test_ets_reproduces_its_own_fit(fitted: dict[str, Any], air_train: SeriesData):
    spec = fitted["ets"].params_["air"]
    result = ETSModel(air_train.y["air"], error=spec["error"], trend=None if spec["trend"] == "none" else spec["trend"],
                      damped_trend=spec["damped"], seasonal=spec["seasonal"], seasonal_periods=12,
                      initialization_method=spec["init"]).fit(disp=False)
    np.testing.assert_allclose(fitted["ets"].predict(air_train, 12)["air"], result.forecast(12), rtol=1e-6)


def test_params_are_plain_and_save_with_skops(fitted: dict[str, Any], air_train: SeriesData):
    import skops.io

    for name, model in fitted.items():
        _assert_plain(model.params_, name)
        blob = skops.io.dumps(model)
        assert skops.io.get_untrusted_types(data=blob) == [f"{type(model).__module__}.{type(model).__name__}"]
        loaded = skops.io.loads(blob, trusted=skops.io.get_untrusted_types(data=blob))
        np.testing.assert_allclose(loaded.predict(air_train, 6)["air"], model.predict(air_train, 6)["air"])


def test_clone_keeps_the_settings_only(fitted: dict[str, Any]):
    model = ArimaForecaster(order=(1, 1, 1), seasonal_order=None, max_p=2)
    copy = clone(model)
    assert copy.get_params() == model.get_params() and copy is not model
    for name, model in fitted.items():
        copy = clone(model)
        assert not hasattr(copy, "params_") and copy.get_params() == model.get_params(), name
    assert clone(ExponentialSmoothingForecaster(trend="add", damped=True)).get_params()["damped"] is True


def test_each_series_gets_its_own_parameters(generated: SeriesData):
    ets = ExponentialSmoothingForecaster().fit(generated)
    assert {ets.params_[s]["error"] for s in "ab"} <= {"add", "mul"}
    assert ets.params_["c"]["error"] == "add" and ets.params_["c"]["seasonal"] != "mul"  # crosses zero
    assert not np.array_equal(ets.params_["a"]["params"], ets.params_["b"]["params"])
    drift = DriftForecaster().fit(generated)
    assert drift.params_["a"]["slope"] > 0 > drift.params_["b"]["slope"]


def test_an_unseen_series_is_fitted_on_the_fly(generated: SeriesData):
    model = ExponentialSmoothingForecaster().fit(generated.subset(["a", "b"]))
    forecast = model.predict(generated, 6)
    assert set(model.params_) == {"a", "b"}
    alone = ExponentialSmoothingForecaster().fit(generated.subset(["c"])).predict(generated.subset(["c"]), 6)["c"]
    np.testing.assert_allclose(forecast["c"], alone)


@pytest.mark.parametrize("name", list(STAT_FORECASTERS))
def test_a_constant_series_forecasts_the_constant(name: str):
    data = _series({"k": np.full(40, 7.5)})
    model = STAT_FORECASTERS[name]().fit(data)
    np.testing.assert_allclose(model.predict(data, 8)["k"], np.full(8, 7.5))
    if name in ("ets", "arima", "theta"):
        assert model.params_["k"]["method"] == "naive" and "constant" in model.params_["k"]["note"]


@pytest.mark.parametrize("name", list(STAT_FORECASTERS))
@pytest.mark.parametrize("length", [1, 2, 3, 5])
def test_tiny_series_fall_back(name: str, length: int):
    data = _series({"t": np.arange(1.0, length + 1)})
    model = STAT_FORECASTERS[name]().fit(data)
    forecast = model.predict(data, 4)["t"]
    assert forecast.shape == (4,) and np.all(np.isfinite(forecast))
    if name in ("ets", "arima", "theta"):
        assert model.params_["t"]["method"] == "naive" and "too few" in model.params_["t"]["note"]
        assert str(MIN_LENGTH) in model.unsuitable(data, 4)
    if name == "seasonal_naive":
        assert "one full season (12 steps)" in model.unsuitable(data, 4)
    if name == "drift" and length >= 2:
        np.testing.assert_allclose(forecast, length + np.arange(1, 5))


def test_unsuitable_messages():
    data = _series({"x": np.arange(30.0)}, season=1)
    assert "seasonal period" in SeasonalNaiveForecaster().unsuitable(data, 3)
    assert SeasonalNaiveForecaster(season=7).unsuitable(data, 3) is None
    assert "longest series has 1" in DriftForecaster().unsuitable(_series({"x": np.ones(1)}), 3)
    for cls in (NaiveForecaster, MovingAverageForecaster, ExponentialSmoothingForecaster, ArimaForecaster,
                ThetaForecaster):
        assert cls().unsuitable(data, 3) is None


def test_a_missing_statsmodels_is_reported(monkeypatch: pytest.MonkeyPatch, generated: SeriesData):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "statsmodels" else find_spec(name, *args))
    for cls in (ExponentialSmoothingForecaster, ArimaForecaster, ThetaForecaster):
        assert "needs statsmodels" in cls().unsuitable(generated, 3)
    assert NaiveForecaster().unsuitable(generated, 3) is None


@pytest.mark.parametrize("horizon", [0, -1, 2.0, True])
def test_a_bad_horizon_is_refused(horizon: Any, fitted: dict[str, Any], air_train: SeriesData):
    with pytest.raises(ConfigError):
        fitted["naive"].predict(air_train, horizon)


@pytest.mark.parametrize("model", [
    SeasonalNaiveForecaster(season=1), MovingAverageForecaster(window=0), ExponentialSmoothingForecaster(trend="x"),
    ExponentialSmoothingForecaster(seasonal="multiplicative"), ExponentialSmoothingForecaster(damped="yes"),
    ArimaForecaster(order=(1, 1)), ArimaForecaster(seasonal_order=(1, -1, 0, 12)), ArimaForecaster(max_p=-1),
])
def test_bad_settings_are_refused(model: Any, air_train: SeriesData):
    with pytest.raises(ConfigError):
        model.fit(air_train)


def test_explicit_arima_orders_skip_the_search(air_train: SeriesData):
    model = ArimaForecaster(order=(0, 1, 1), seasonal_order=(0, 1, 1)).fit(air_train)
    params = model.params_["air"]
    assert (params["order"], params["seasonal_order"], params["fits"]) == ((0, 1, 1), (0, 1, 1, 12), 1)
    plain = ArimaForecaster(order=(1, 1, 0), seasonal_order=None).fit(air_train)
    assert plain.params_["air"]["seasonal_order"] == (0, 0, 0, 0) and plain.display == "ARIMA"
    assert np.all(np.isfinite(plain.predict(air_train, 5)["air"]))


def test_explicit_ets_spec(air_train: SeriesData):
    model = ExponentialSmoothingForecaster(trend="add", seasonal="add", damped=True).fit(air_train)
    params = model.params_["air"]
    assert (params["trend"], params["seasonal"], params["damped"], params["fits"]) == ("add", "add", True, 2)
    assert params["label"] in ("ETS(A,Ad,A)", "ETS(M,Ad,A)")


def test_daily_arima_tries_the_books_model_and_drops_long_seasons(monkeypatch: pytest.MonkeyPatch):
    tried = []
    fit = _SarimaxFitter.fit

    def spy(self: _SarimaxFitter, *key: Any) -> Any:
        tried.append(key)
        return fit(self, *key)

    monkeypatch.setattr(_SarimaxFitter, "fit", spy)
    rng = np.random.default_rng(1)
    steps = np.arange(140)
    daily = _series({"d": 100 + 20 * (steps % 7 < 5) + rng.normal(0, 3, 140)}, freq="D", season=7)
    model = ArimaForecaster().fit(daily)
    assert ((1, 0, 0), (0, 1, 1, 7), "c") in tried and model.params_["d"]["fits"] <= 30
    assert np.all(np.isfinite(model.predict(daily, 14)["d"]))

    yearly = _series({"d": 100 + 10 * np.sin(2 * np.pi * np.arange(400) / 365) + rng.normal(0, 1, 400)},
                     freq="D", season=365)
    model = ArimaForecaster().fit(yearly)
    assert model.params_["d"]["seasonal_order"] == (0, 0, 0, 0) and "too long" in model.params_["d"]["note"]
    assert model.display == "ARIMA"


def test_multiplicative_ets_falls_back_on_a_history_it_cannot_filter(fitted: dict[str, Any], air: np.ndarray):
    history = air[:-12].copy()
    history[-1] = -5.0  # impossible under a multiplicative error
    forecast = fitted["ets"].predict(_series({"air": history}), 6)["air"]
    assert fitted["ets"].params_["air"]["error"] == "mul"
    np.testing.assert_array_equal(forecast, np.full(6, -5.0))  # the naive forecast
