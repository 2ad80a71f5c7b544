"""The contract every forecaster keeps, tested once across the whole catalogue.

Each forecaster clones, learns from several series, forecasts every series ``horizon`` steps
with finite values, forecasts from a longer history than it learned from (no refit), refuses a
horizon of 0, and survives a save and load through the model directory with identical forecasts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from homl.data import SeriesData
from homl.errors import ConfigError
from homl.models import forecaster_catalogue, make_forecaster
from homl.registry import read_model_dir, write_model_dir

HORIZON = 5
#: Quick settings for the slower families, so the contract runs in seconds.
QUICK = {"epochs": 3, "units": 8, "n_estimators": 40}


def _panel(n: int = 150, *, known: bool = True) -> SeriesData:
    rng = np.random.default_rng(0)
    time = pd.date_range("2023-01-01", periods=n, freq="D")
    ys, times, knowns, pasts = {}, {}, {}, {}
    for name, level in (("a", 20.0), ("b", 300.0)):
        weekend = (time.dayofweek >= 5).astype(float)
        ys[name] = level * (1 + 0.01 * np.arange(n) / n + 0.2 * weekend + 0.05 * rng.standard_normal(n))
        times[name] = time
        knowns[name] = weekend[:, None]
        pasts[name] = ys[name][:, None] * 0.5 + rng.standard_normal((n, 1))
    extra = {"known": knowns, "known_names": ("weekend",), "past": pasts, "past_names": ("other",)} if known else {}
    return SeriesData(y=ys, time=times, freq="D", season=7, seasons=(7,), **extra)


def _quick(forecaster):
    params = forecaster.get_params()
    forecaster.set_params(**{k: v for k, v in QUICK.items() if k in params})
    return forecaster


def _future(data: SeriesData) -> dict[str, np.ndarray] | None:
    if not data.known_names:
        return None
    start = pd.Timestamp(data.time["a"][-1])
    days = pd.date_range(start, periods=HORIZON + 1, freq="D")[1:]
    return {s: (days.dayofweek >= 5).astype(float)[:, None] for s in data.ids}


NAMES = sorted(forecaster_catalogue())


@pytest.mark.parametrize("name", NAMES)
def test_forecaster_keeps_the_contract(name, tmp_path) -> None:
    data = _panel()
    forecaster = _quick(make_forecaster(name))
    assert forecaster.name == name and forecaster.display
    assert forecaster.unsuitable(data.drop_last(10), HORIZON) is None
    fitted = clone(forecaster).fit(data.drop_last(10))
    shorter = data.drop_last(10)
    forecast = fitted.predict(shorter, HORIZON, _future(shorter))
    assert set(forecast) == {"a", "b"}
    for series, values in forecast.items():
        assert values.shape == (HORIZON,) and np.isfinite(values).all(), series
    assert abs(forecast["b"].mean()) > 3 * abs(forecast["a"].mean())  # each series on its own scale
    longer = fitted.predict(data, HORIZON, _future(data))  # ten newer steps, same parameters
    assert not np.allclose(longer["a"], forecast["a"])
    with pytest.raises(ConfigError, match="horizon"):
        fitted.predict(data, 0, _future(data))
    write_model_dir(tmp_path / "model", fitted, {"what": "contract"}, kind="forecast")
    loaded, _ = read_model_dir(tmp_path / "model", kind="forecast")
    again = loaded.predict(data, HORIZON, _future(data))
    for series in data.ids:
        np.testing.assert_allclose(again[series], longer[series], rtol=1e-6, err_msg=series)
