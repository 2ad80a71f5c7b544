"""The book's neural forecasters (chapter 15): every architecture forecasts, a GRU learns, the known
covariates help, forecasts from newer rows need no refit, and a fitted network saves with skops.
Skipped where the deep extra is not installed."""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

os.environ.setdefault("KERAS_BACKEND", "torch")  # as homl sets it before importing Keras
pytest.importorskip("keras", reason="the neural networks need the deep extra: pip install 'homl[deep]'")

from homl.data import SeriesData  # noqa: E402
from homl.errors import ConfigError, DataError  # noqa: E402
from homl.models._forecast_neural import (  # noqa: E402
    ARCHITECTURES,
    NEURAL_FORECASTERS,
    SEQ2SEQ_HORIZON,
    SequenceForecaster,
)

RIDERSHIP = Path(__file__).resolve().parents[1] / "data" / "ridership_2017_2019.csv"
#: A small network trained briefly: enough to check shapes and saving.
QUICK = {"window": 14, "units": 8, "epochs": 2}


def _daily(n: int = 160, seed: int = 0, *, known: bool = True, past: bool = True) -> SeriesData:
    """Two daily series with a weekly season, driven by a random flag known in advance and by a
    slow past-only covariate."""
    rng = np.random.default_rng(seed)
    steps, time = np.arange(n), pd.date_range("2023-01-02", periods=n, freq="D")
    y, flags, pasts = {}, {}, {}
    for i, series in enumerate(("a", "b")):
        flag = (rng.random(n) < 0.3).astype(float)
        other = 5 + np.sin(steps / 9 + i) + 0.1 * rng.standard_normal(n)
        y[series] = 100 * (i + 1) + 10 * np.sin(2 * np.pi * steps / 7) + 8 * flag + 2 * other + rng.standard_normal(n)
        flags[series], pasts[series] = flag[:, None], other[:, None]
    return SeriesData(y=y, time={s: time for s in y}, freq="D", season=7,
                      known=flags if known else {}, known_names=("flag",) if known else (),
                      past=pasts if past else {}, past_names=("other",) if past else ())


def _future(data: SeriesData, cut: int, horizon: int) -> dict[str, np.ndarray]:
    """The known covariates of the ``horizon`` steps after the first ``cut`` of each series."""
    return {s: data.known[s][cut:cut + horizon] for s in data.ids}


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[s], b[s]) for s in a)


@pytest.fixture(scope="module")
def fitted() -> tuple[SequenceForecaster, SeriesData, SeriesData]:
    """A GRU fitted on all but the last 20 steps of ``_daily()``, the data, and what it learned from."""
    data = _daily()
    train = data.drop_last(20)
    return SequenceForecaster("gru", **QUICK).fit(train), data, train


@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
def test_each_architecture_forecasts_finite_values_of_the_right_shape(architecture: str) -> None:
    data = _daily()
    train = data.drop_last(14)
    horizon = 14 if architecture == "seq2seq" else 1
    model = SequenceForecaster(architecture, horizon=horizon, **QUICK).fit(train)
    assert model.window_ == 14 and model.steps_ == horizon and model.n_epochs_ >= 1
    for steps in (1, 14):
        forecasts = model.predict(train, steps, _future(data, train.length("a"), steps))
        assert set(forecasts) == {"a", "b"}
        assert all(f.shape == (steps,) and np.isfinite(f).all() for f in forecasts.values())
    # the series keep their levels (100 and 200): the scaling is undone
    assert abs(forecasts["a"].mean() - 110) < 40 and abs(forecasts["b"].mean() - 210) < 40


def test_the_catalogue_names_every_architecture() -> None:
    assert set(NEURAL_FORECASTERS) == {"rnn", "deep_rnn", "lstm", "gru", "conv_gru", "wavenet", "seq2seq",
                                       "layer_norm_rnn"}
    made = {name: factory() for name, factory in NEURAL_FORECASTERS.items()}
    assert all(model.name == name for name, model in made.items())
    assert made["gru"].display == "GRU" and made["wavenet"].display == "WaveNet"
    assert made["seq2seq"].horizon == SEQ2SEQ_HORIZON and made["gru"].horizon == 1
    assert made["rnn"].architecture == "simple_rnn"


def test_a_gru_learns_a_sine_better_than_the_last_value() -> None:
    steps = np.arange(300)
    y = np.sin(2 * np.pi * steps / 25) + 0.05 * np.random.default_rng(1).standard_normal(300)
    data = SeriesData.single(y, pd.date_range("2024-01-01", periods=300, freq="h"), freq="h", season=25)
    train = data.drop_last(10)
    model = SequenceForecaster("gru", window=25, units=16, epochs=15, learning_rate=5e-3).fit(train)
    forecast = model.predict(train, 10)[""]
    actual = y[-10:]
    network_error = np.abs(forecast - actual).mean()
    naive_error = np.abs(y[-11] - actual).mean()
    assert network_error < naive_error / 3, (network_error, naive_error)


def test_the_known_covariate_of_the_next_step_is_used() -> None:
    """The target is the next step's flag, drawn at random: only a network that reads it can forecast it."""
    rng = np.random.default_rng(2)
    flag = (rng.random(220) < 0.3).astype(float)
    y = 10 + 5 * flag + 0.3 * rng.standard_normal(220)
    time = pd.date_range("2024-01-01", periods=220, freq="D")
    with_flag = SeriesData.single(y, time, freq="D", known=flag[:, None], known_names=("flag",))
    without = SeriesData.single(y, time, freq="D")
    errors = {}
    for label, data in (("with", with_flag), ("without", without)):
        model = SequenceForecaster("gru", window=14, units=8, epochs=30, learning_rate=5e-3, patience=5)
        model.fit(data.head(190))
        forecasts = [model.predict(data.head(cut), 1, _future(data, cut, 1) if data.known_names else None)[""][0]
                     for cut in range(190, 220)]
        errors[label] = np.abs(np.array(forecasts) - y[190:]).mean()
    assert errors["with"] < errors["without"] / 2, errors


def test_forecasts_from_a_longer_history_need_no_refit(fitted) -> None:
    model, data, train = fitted
    before = model.predict(train, 3, _future(data, train.length("a"), 3))
    after = model.predict(data.drop_last(5), 3, _future(data, data.length("a") - 5, 3))
    assert all(f.shape == (3,) and np.isfinite(f).all() for f in after.values())
    assert not _same(before, after)
    # a series the network never saw is scaled by its own history
    renamed = SeriesData(y={"new": data.y["a"]}, time={"new": data.time["a"]}, freq="D", season=7,
                         known={"new": data.known["a"]}, known_names=("flag",), past={"new": data.past["a"]},
                         past_names=("other",))
    unseen = model.predict(renamed.drop_last(5), 3, {"new": data.known["a"][-5:-2]})["new"]
    assert unseen.shape == (3,) and np.isfinite(unseen).all()
    # a history shorter than the window is padded in front
    short = model.predict(data.head(5), 2, _future(data, 5, 2))
    assert all(np.isfinite(f).all() for f in short.values())


def test_clone_gives_an_unfitted_copy_with_the_same_parameters(fitted) -> None:
    model = fitted[0]
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "window_")
    with pytest.raises(RuntimeError, match="not fitted"):
        copy.predict(fitted[2], 1)


@pytest.mark.parametrize("architecture", ["gru", "layer_norm_rnn"])
def test_a_fitted_forecaster_saves_and_loads_with_skops(architecture: str, fitted) -> None:
    import skops.io

    _, data, train = fitted
    model = SequenceForecaster(architecture, **QUICK).fit(train)
    future = _future(data, train.length("a"), 5)
    saved = skops.io.dumps(model)
    untrusted = skops.io.get_untrusted_types(data=saved)
    assert all(name.split(".")[0] in ("homl", "numpy", "builtins") for name in untrusted), untrusted
    loaded = skops.io.loads(saved, trusted=untrusted)
    assert "model_" not in vars(loaded)  # the network is read back on the first forecast
    assert _same(loaded.predict(train, 5, future), model.predict(train, 5, future))
    again = skops.io.loads(skops.io.dumps(loaded), trusted=untrusted)
    assert _same(again.predict(train, 5, future), model.predict(train, 5, future))


def test_the_same_seed_gives_the_same_forecasts(fitted) -> None:
    model, data, train = fitted
    future = _future(data, train.length("a"), 4)
    twin = clone(model).fit(train)
    assert _same(twin.predict(train, 4, future), model.predict(train, 4, future))
    other = clone(model).set_params(random_state=1).fit(train)
    assert not _same(other.predict(train, 4, future), model.predict(train, 4, future))


def test_a_refit_replaces_the_network(fitted) -> None:
    _, data, train = fitted
    model = pickle.loads(pickle.dumps(SequenceForecaster("gru", **QUICK).fit(train)))
    assert "model_" not in vars(model)  # as after loading: the network kept as an archive
    model.set_params(units=4).fit(train)
    assert model.model_.layers[0].units == 4
    assert "_keras_archive" not in vars(model)


def test_covariates_must_match_what_the_network_learned(fitted) -> None:
    model, data, train = fitted
    with pytest.raises(ConfigError, match="needs known_future"):
        model.predict(train, 2)
    with pytest.raises(ConfigError, match="shape"):
        model.predict(train, 3, _future(data, train.length("a"), 2))
    with pytest.raises(ConfigError, match="past-only covariate"):
        model.predict(_daily(past=False), 1, _future(data, 0, 1))


def test_past_covariates_limit_a_direct_network_to_its_horizon() -> None:
    data = _daily(120)
    model = SequenceForecaster("seq2seq", horizon=3, **QUICK)
    assert "horizon=3" in model.unsuitable(data, 5)
    assert model.unsuitable(data, 3) is None
    model.fit(data)
    with pytest.raises(ConfigError, match="refit with horizon=5"):
        model.predict(data, 5, _future(data, 0, 5))
    # without past-only covariates it forecasts further, block after block
    univariate = SequenceForecaster("seq2seq", horizon=3, **QUICK).fit(_daily(120, known=False, past=False))
    assert univariate.predict(_daily(120, known=False, past=False), 7)["a"].shape == (7,)


def test_unsuitable_says_why() -> None:
    short = _daily(18)  # two series of 4 windows of 14 steps and the next
    reason = SequenceForecaster(window=14).unsuitable(short, 1)
    assert reason is not None and "longest series has 18" in reason
    with pytest.raises(DataError, match="cannot be fitted"):
        SequenceForecaster(window=14).fit(short)
    assert SequenceForecaster().unsuitable(_daily(), 7) is None  # the window shrinks to the data
    assert SequenceForecaster()._window_for(_daily(400), 1) == 56
    hourly = SeriesData.single(np.arange(500.0), pd.date_range("2024-01-01", periods=500, freq="h"), freq="h",
                               season=24)
    assert SequenceForecaster()._window_for(hourly, 1) == 72


def test_without_keras_the_extra_is_named(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "keras", None)  # import keras now fails
    reason = SequenceForecaster().unsuitable(_daily(), 1)
    assert reason is not None and "homl[deep]" in reason


def test_parameters_are_checked() -> None:
    with pytest.raises(InvalidParameterError, match="architecture"):
        SequenceForecaster("transformer").fit(_daily())
    with pytest.raises(InvalidParameterError, match="validation_share"):
        SequenceForecaster(validation_share=1.0).fit(_daily())


def _ridership() -> tuple[SeriesData, SeriesData, int]:
    """Chicago's daily rail boardings, alone and with bus boardings (past-only) and the day type
    (known: weekday, Saturday, Sunday or holiday), and the number of days up to 2019-02-28."""
    table = pd.read_csv(RIDERSHIP)
    table["service_date"] = pd.to_datetime(table["service_date"], format="%m/%d/%Y")
    table = table.sort_values("service_date").reset_index(drop=True)
    days = pd.get_dummies(table["day_type"]).reindex(columns=["W", "A", "U"], fill_value=0).to_numpy(float)
    time, rail = pd.DatetimeIndex(table["service_date"]), table["rail_boardings"].to_numpy(float)
    univariate = SeriesData.single(rail, time, freq="D", season=7, target="rail")
    multivariate = SeriesData.single(rail, time, freq="D", season=7, known=days, known_names=("W", "A", "U"),
                                     past=table[["bus"]].to_numpy(float), past_names=("bus",), target="rail")
    return univariate, multivariate, int((time <= "2019-02-28").sum())


@pytest.mark.slow
def test_ridership_one_day_ahead_as_in_the_book() -> None:
    """Fitted on 2017 to February 2019, each day of March to May 2019 forecast from the day before
    (no refit). The book's GRUs, fitted on 2016-2018, made 29,015 (rail alone) and 22,062 (with bus
    and the next day's type); the seasonal naive forecast makes 42,143 here."""
    univariate, multivariate, cut = _ridership()
    rail = univariate.y[""]
    errors = {}
    for label, data in (("univariate", univariate), ("multivariate", multivariate)):
        model = SequenceForecaster("gru").fit(data.head(cut))
        forecasts = [model.predict(data.head(day), 1, _future(data, day, 1) if data.known_names else None)[""][0]
                     for day in range(cut, data.length(""))]
        errors[label] = np.abs(np.array(forecasts) - rail[cut:]).mean()
    seasonal_naive = np.abs(rail[cut:] - rail[cut - 7:-7]).mean()
    assert errors["univariate"] < 0.85 * seasonal_naive, errors
    assert errors["multivariate"] < errors["univariate"], errors
