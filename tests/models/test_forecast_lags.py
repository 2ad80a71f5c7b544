"""The global forecaster on lag features: LightGBM or Ridge, recursive or direct."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, clone

from homl.data import SeriesData
from homl.errors import ConfigError, DataError
from homl.models._forecast_lags import LAG_FORECASTERS, LagForecaster, LagLightGBMDirect, LagLinear

DATA = Path(__file__).resolve().parents[1] / "data"
FAST = {"n_estimators": 60}
SCALES = {"small": 10.0, "medium": 1_000.0, "large": 100_000.0}


def generated(n: int = 420, seed: int = 0, with_holiday: bool = True) -> SeriesData:
    """Daily series of different scales: trend, weekly season, noise, and a holiday flag that halves the value."""
    rng = np.random.default_rng(seed)
    time = pd.date_range("2021-01-04", periods=n, freq="D")
    t = np.arange(n)
    y, known = {}, {}
    for i, (series, scale) in enumerate(SCALES.items()):
        holiday = (rng.random(n) < 0.07).astype(float)
        level = scale * (1 + 0.0015 * (i + 1) * t) * (1 + 0.25 * np.sin(2 * np.pi * (t + i) / 7))
        y[series] = level * (1 - 0.5 * holiday) + rng.normal(0, 0.03 * scale, n)
        known[series] = holiday[:, None]
    return SeriesData(
        y=y, time={s: time for s in y}, freq="D", season=7, seasons=(7,),
        known=known if with_holiday else {}, known_names=("holiday",) if with_holiday else (),
    )


def future_of(data: SeriesData, start: int, horizon: int) -> dict[str, np.ndarray]:
    return {s: data.known[s][start:start + horizon] for s in data.ids}


def ridership() -> tuple[pd.DataFrame, np.ndarray]:
    table = pd.read_csv(DATA / "ridership_2017_2019.csv")
    table["date"] = pd.to_datetime(table["service_date"], format="%m/%d/%Y")
    table = table.sort_values("date").reset_index(drop=True)
    day_type = pd.get_dummies(table["day_type"]).reindex(columns=["W", "A", "U"], fill_value=0).to_numpy(float)
    return table, day_type


def ridership_data(table: pd.DataFrame, day_type: np.ndarray, n: int) -> SeriesData:
    return SeriesData.single(
        table["rail_boardings"].to_numpy(float)[:n], pd.DatetimeIndex(table["date"][:n]), freq="D", season=7,
        known=day_type[:n], known_names=("W", "A", "U"),
        past=table[["bus"]].to_numpy(float)[:n], past_names=("bus",), target="rail_boardings",
    )


def one_day_ahead(model: LagForecaster, table: pd.DataFrame, day_type: np.ndarray, start: int) -> float:
    """MAE of one-day-ahead forecasts from ``start`` to the end, the history growing a day at a time, no refit."""
    y = table["rail_boardings"].to_numpy(float)
    model.fit(ridership_data(table, day_type, start))
    fitted = model.model_
    errors = []
    for i in range(start, len(y)):
        forecast = model.predict(ridership_data(table, day_type, i), 1, {"": day_type[i:i + 1]})[""]
        errors.append(abs(forecast[0] - y[i]))
    assert model.model_ is fitted
    return float(np.mean(errors))


@pytest.fixture(scope="module")
def data() -> SeriesData:
    return generated()


@pytest.fixture(scope="module")
def fitted(data: SeriesData) -> LagForecaster:
    return LagForecaster(params=FAST).fit(data.drop_last(28))


def test_registry_names_and_defaults():
    assert LAG_FORECASTERS == {"lag_lightgbm": LagForecaster, "lag_linear": LagLinear,
                               "lag_lightgbm_direct": LagLightGBMDirect}
    assert LagLinear().get_params()["regressor"] == "ridge"
    assert LagLightGBMDirect().get_params()["strategy"] == "direct"
    assert LagForecaster.uses_known and LagForecaster.uses_past
    assert LagForecaster.display == "LightGBM on lags"


def test_forecasts_have_the_horizon_and_are_finite(fitted: LagForecaster, data: SeriesData):
    train = data.drop_last(28)
    forecasts = fitted.predict(train, 14, future_of(data, train.length("small"), 14))
    assert set(forecasts) == set(data.ids)
    for values in forecasts.values():
        assert values.shape == (14,) and np.isfinite(values).all()
    assert fitted.lags_ == list(range(1, 15)) and fitted.windows_ == [7, 28]
    assert set(fitted.calendar_) >= {"day_of_week", "day"} and "hour" not in fitted.calendar_


def test_series_of_different_scales_are_forecast_on_their_own_scale(fitted: LagForecaster, data: SeriesData):
    train = data.drop_last(28)
    start = train.length("small")
    forecasts = fitted.predict(train, 28, future_of(data, start, 28))
    for series in data.ids:
        actual = data.y[series][start:]
        error = np.mean(np.abs(forecasts[series] - actual)) / np.mean(actual)
        assert error < 0.08, (series, error)


def test_the_known_covariate_is_used():
    """The holiday flag halves the value: the model that reads it forecasts those days far better."""
    with_flag, without_flag = generated(seed=1), generated(seed=1, with_holiday=False)
    start = with_flag.length("small") - 28
    errors = {}
    for name, data, future in (("with", with_flag, future_of(with_flag, start, 28)), ("without", without_flag, None)):
        train = data.drop_last(28)
        forecasts = LagForecaster(params=FAST).fit(train).predict(train, 28, future)
        errors[name] = np.mean([np.mean(np.abs(forecasts[s] - data.y[s][start:])) / SCALES[s] for s in data.ids])
    assert errors["with"] < 0.6 * errors["without"], errors


@pytest.mark.parametrize("model", [LagForecaster(params=FAST), LagLightGBMDirect(params=FAST, max_horizon=14),
                                   LagLinear()], ids=["recursive", "direct", "linear"])
def test_both_strategies_forecast_fourteen_steps(model: LagForecaster, data: SeriesData):
    train = data.drop_last(14)
    start = train.length("small")
    forecasts = model.fit(train).predict(train, 14, future_of(data, start, 14))
    errors, naive = [], []
    for series in data.ids:
        assert forecasts[series].shape == (14,) and np.isfinite(forecasts[series]).all()
        actual = data.y[series][start:]
        errors.append(np.mean(np.abs(forecasts[series] - actual)) / np.mean(actual))
        naive.append(np.mean(np.abs(data.y[series][start - 7:start][np.arange(14) % 7] - actual)) / np.mean(actual))
    assert max(errors) < 0.1 and np.mean(errors) < np.mean(naive), (type(model).__name__, errors, naive)
    if model.strategy == "direct":
        assert len(model.models_) == 14 and model.max_horizon_ == 14


@pytest.mark.parametrize("regressor", ["ridge-instance", "lightgbm-instance"])
def test_any_regressor(regressor: str, data: SeriesData):
    from lightgbm import LGBMRegressor
    from sklearn.linear_model import Ridge

    model = Ridge(alpha=0.1) if regressor == "ridge-instance" else LGBMRegressor(n_estimators=40, n_jobs=1, verbose=-1)
    train = data.drop_last(7)
    forecast = LagForecaster(regressor=model).fit(train).predict(train, 7, future_of(data, train.length("small"), 7))
    assert all(v.shape == (7,) and np.isfinite(v).all() for v in forecast.values())


def test_direct_forecasts_beyond_its_steps_block_after_block(data: SeriesData):
    train = data.drop_last(21)
    model = LagLightGBMDirect(params=FAST, max_horizon=7).fit(train)
    forecasts = model.predict(train, 21, future_of(data, train.length("small"), 21))
    assert len(model.models_) == 7
    assert all(v.shape == (21,) and np.isfinite(v).all() for v in forecasts.values())


def test_longer_history_and_unseen_series_need_no_refit(fitted: LagForecaster, data: SeriesData):
    booster = fitted.model_
    end = data.length("small")
    longer = data.drop_last(10)
    forecasts = fitted.predict(longer, 10, future_of(data, end - 10, 10))
    assert fitted.model_ is booster
    for series in data.ids:
        assert np.mean(np.abs(forecasts[series] - data.y[series][-10:])) / SCALES[series] < 0.15
    renamed = SeriesData(y={"new": longer.y["medium"] * 3}, time={"new": longer.time["medium"]}, freq="D", season=7,
                         known={"new": longer.known["medium"]}, known_names=("holiday",))
    unseen = fitted.predict(renamed, 10, {"new": data.known["medium"][end - 10:]})["new"]
    assert np.mean(np.abs(unseen - 3 * data.y["medium"][-10:])) / 3_000 < 0.15


def test_known_covariates_are_required(fitted: LagForecaster, data: SeriesData):
    with pytest.raises(ConfigError, match="holiday"):
        fitted.predict(data, 5)
    with pytest.raises(ConfigError, match="5 rows"):
        fitted.predict(data, 5, {s: np.zeros((3, 1)) for s in data.ids})
    with pytest.raises(ConfigError, match="known covariates"):
        fitted.predict(generated(with_holiday=False), 5)


def test_trend_and_stationary_series():
    """The label is relative to the level at the origin: a trended series is followed, a stationary one kept."""
    air = pd.read_csv(DATA / "air_passengers.csv")
    y = air["value"].to_numpy(float)
    train = SeriesData.single(y[:120], pd.DatetimeIndex(pd.to_datetime(air["date"][:120])), freq="MS", season=12)
    forecast = LagForecaster().fit(train).predict(train, 24)[""]
    seasonal_naive = np.tile(y[108:120], 2)
    assert np.mean(np.abs(forecast - y[120:])) < 0.5 * np.mean(np.abs(seasonal_naive - y[120:]))
    assert forecast[12:].mean() > forecast[:12].mean() > y[108:120].mean()

    rng = np.random.default_rng(0)
    noise = np.zeros(500)
    for i in range(1, 500):
        noise[i] = 0.6 * noise[i - 1] + rng.normal()
    ys = 5 * np.sin(2 * np.pi * np.arange(500) / 7) + noise
    train = SeriesData.single(ys[:472], pd.date_range("2020-01-01", periods=472, freq="D"), freq="D", season=7)
    forecast = LagForecaster().fit(train).predict(train, 28)[""]
    seasonal_naive = ys[465:472][np.arange(28) % 7]
    assert np.mean(np.abs(forecast - ys[472:])) < np.mean(np.abs(seasonal_naive - ys[472:]))
    assert abs(forecast.mean()) < 1.5


def test_ridership_one_day_ahead_beats_the_seasonal_naive():
    table, day_type = ridership()
    y = table["rail_boardings"].to_numpy(float)
    start = len(y) - 60
    naive = float(np.mean(np.abs(y[start:] - y[start - 7:-7])))
    lightgbm = one_day_ahead(LagForecaster(), table, day_type, start)
    linear = one_day_ahead(LagLinear(), table, day_type, start)
    assert lightgbm < 0.75 * naive, (lightgbm, naive)
    assert linear < 0.75 * naive, (linear, naive)


def test_past_covariates_serve_the_first_step_of_recursive_forecasts():
    table, day_type = ridership()
    data = ridership_data(table, day_type, 700)
    model = LagForecaster(params=FAST).fit(data)
    assert model.past_lags_ == 7 and model.first_model_ is not None
    assert model.first_model_.n_features_in_ == model.model_.n_features_in_ + 7
    forecast = model.predict(data, 3, {"": day_type[700:703]})[""]
    assert np.isfinite(forecast).all() and np.all(np.abs(forecast / table["rail_boardings"][700:703] - 1) < 0.3)
    direct = LagLightGBMDirect(params=FAST, max_horizon=3).fit(data).predict(data, 5, {"": day_type[700:705]})[""]
    assert direct.shape == (5,) and np.isfinite(direct).all()


def test_unsuitable_and_too_short():
    short = generated(n=16)
    model = LagForecaster()
    reason = model.unsuitable(short, 7)
    assert reason and "training rows" in reason
    assert model.unsuitable(generated(), 14) is None
    with pytest.raises(DataError, match="cannot learn"):
        model.fit(short)
    assert "every series" in LagForecaster(lags=30).unsuitable(short, 1)
    data = generated()
    capped = LagLinear(max_train_rows=100).fit(data)
    assert capped.n_train_rows_ == 100 and np.isfinite(capped.predict(data, 3, future_of(data, 0, 3))["small"]).all()
    with pytest.raises(ConfigError, match="strategy"):
        LagForecaster(strategy="sideways").fit(data)
    with pytest.raises(ConfigError, match="regressor"):
        LagForecaster(regressor="forest").fit(data)


def test_clone_and_plain_fitted_state(fitted: LagForecaster, data: SeriesData):
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params() and not hasattr(copy, "model_")

    def plain(value) -> bool:
        if value is None or isinstance(value, (bool, int, float, str, np.number, BaseEstimator)):
            return True
        if isinstance(value, np.ndarray):
            return value.dtype.kind in "biuf"
        if isinstance(value, (list, tuple)):
            return all(plain(v) for v in value)
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        return False

    for model in (fitted, LagLightGBMDirect(params=FAST, max_horizon=3).fit(data)):
        for key, value in vars(model).items():
            assert plain(value), (key, type(value))


def test_saved_with_skops(fitted: LagForecaster, data: SeriesData):
    sio = pytest.importorskip("skops.io")
    blob = sio.dumps(fitted)
    loaded = sio.loads(blob, trusted=sio.get_untrusted_types(data=blob))
    future = {s: np.zeros((5, 1)) for s in data.ids}
    expected, got = fitted.predict(data, 5, future), loaded.predict(data, 5, future)
    for series in data.ids:
        np.testing.assert_allclose(got[series], expected[series])
