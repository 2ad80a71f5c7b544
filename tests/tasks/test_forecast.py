"""Forecasting end to end: the Python call, the model directory of kind ``forecast``, ``homl predict``
with and without newer rows, several series by id, covariates, the command line, and bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import homl
from homl.cli import app
from homl.data import SeriesData
from homl.errors import ConfigError, DataError, SchemaError, TargetError
from homl.models import make_forecaster
from homl.select import forecast_window

DATA = Path(__file__).parents[1] / "data"
AIR = DATA / "air_passengers.csv"
RIDERSHIP = DATA / "ridership_2017_2019.csv"
QUICK = ["naive", "seasonal_naive", "drift", "ets", "lag_linear"]
INTERVALS = ["lower_80", "upper_80", "lower_95", "upper_95"]


@pytest.fixture(scope="module")
def air_result(tmp_path_factory):
    output = tmp_path_factory.mktemp("forecast") / "air"
    return homl.forecast(AIR, time="date", target="value", horizon=12, models=QUICK, time_limit=120,
                         output=output), output


def test_monthly_series_beats_the_seasonal_naive_forecast_on_its_test_year(air_result) -> None:
    result, _ = air_result
    meta = result.model.metadata
    assert meta["settings"]["freq"] == "MS" and meta["season"] == 12
    assert list(result.leaderboard["mase"]) == sorted(result.leaderboard["mase"])
    assert set(result.leaderboard["model"]) >= {"naive", "seasonal_naive", "ets"}
    assert 12 <= meta["test_length"] <= 36
    assert result.test_scores["mae"] < meta["baseline_test_scores"]["mae"]


def test_the_weighted_blend_backtests_best_and_is_what_is_saved(air_result) -> None:
    result, output = air_result
    meta, board = result.model.metadata, result.leaderboard
    assert "+" in meta["model"]  # on this series several models share the weight
    chosen = board.loc[board["model"] == meta["model"]].iloc[0]
    assert chosen["mase"] < board.loc[~board["model"].str.contains("+", regex=False), "mase"].min()
    assert sum(meta["weights"]) == pytest.approx(1.0) and all(w > 0 for w in meta["weights"])
    saved = homl.load(output).forecaster
    assert [m.name for m in saved.members] == meta["model"].split("+") and saved.weights == meta["weights"]


def test_only_models_that_can_be_fitted_twice_more_in_the_time_left_join_the_blend() -> None:
    from homl.select import Backtest
    from homl.tasks.forecast import _affordable

    tests = [Backtest(name, pd.DataFrame(), {"mase": mase}, fit_seconds=seconds, folds=3)
             for name, mase, seconds in (("best", 0.5, 2.0), ("slow", 0.6, 20.0), ("quick", 0.7, 1.0))]
    assert [t.name for t in _affordable(tests, seconds=10.0)] == ["best", "quick"]
    assert [t.name for t in _affordable(tests, seconds=100.0)] == ["best", "slow", "quick"]
    assert [t.name for t in _affordable(tests, seconds=1.0)] == ["best"]  # the best is refit whatever it costs


def test_forecast_has_the_next_horizon_steps_with_nested_intervals(air_result) -> None:
    forecast = air_result[0].forecast
    assert list(forecast.columns) == ["date", "value", *INTERVALS]
    assert list(forecast["date"]) == list(pd.date_range("1961-01-01", periods=12, freq="MS"))
    assert (forecast["lower_95"] <= forecast["lower_80"]).all() and (forecast["lower_80"] <= forecast["value"]).all()
    assert (forecast["value"] <= forecast["upper_80"]).all() and (forecast["upper_80"] <= forecast["upper_95"]).all()
    assert (forecast["upper_95"] > forecast["lower_95"]).all()


def test_saved_model_forecasts_the_same_and_from_newer_rows(air_result, tmp_path) -> None:
    result, output = air_result
    model = homl.load(output)
    assert model.kind == "forecast"
    pd.testing.assert_frame_equal(model.predict_frame(), result.forecast)
    shorter = pd.read_csv(AIR).iloc[:-12]
    from_shorter = model.predict_frame(shorter)
    assert from_shorter["date"].iloc[0] == pd.Timestamp("1960-01-01")
    assert not np.allclose(from_shorter["value"], result.forecast["value"])
    assert "MASE" in " ".join(model.info().summary)
    report = model.report()
    assert {"Forecast", "Models compared", "Test period", "Seasonality and autocorrelation"} <= {
        s.title for s in report.sections}
    assert (output / "report.html").exists()


def test_the_interval_coverage_on_the_test_period_is_reported(air_result) -> None:
    coverage = air_result[0].model.metadata["test_coverage"]
    assert set(coverage) == {"80", "95"}
    assert all(0.0 <= value <= 1.0 for value in coverage.values())
    assert coverage["95"] >= coverage["80"]


def test_several_series_by_id_are_forecast_each_on_its_own_scale(tmp_path) -> None:
    rng = np.random.default_rng(0)
    days = pd.date_range("2023-01-01", periods=200, freq="D")
    frames = []
    for store, level in (("a", 10.0), ("b", 1_000.0), ("c", 50.0)):
        weekly = 1 + 0.3 * np.sin(2 * np.pi * np.arange(200) / 7)
        frames.append(pd.DataFrame({"store": store, "day": days, "sales": level * weekly *
                                    (1 + 0.05 * rng.standard_normal(200))}))
    table = pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=0)  # unsorted on purpose
    result = homl.forecast(table, time="day", target="sales", id="store", horizon=7,
                           models=["seasonal_naive", "ets", "lag_lightgbm"], time_limit=120)
    forecast = result.forecast
    assert list(forecast.columns[:3]) == ["store", "day", "sales"]
    assert forecast.groupby("store").size().to_dict() == {"a": 7, "b": 7, "c": 7}
    means = forecast.groupby("store")["sales"].mean()
    assert 5 < means["a"] < 15 and 700 < means["b"] < 1_300 and 35 < means["c"] < 65
    assert result.model.metadata["season"] == 7


def test_known_covariates_come_from_the_rows_after_the_last_value(tmp_path) -> None:
    rides = pd.read_csv(RIDERSHIP)
    rides = rides[["service_date", "day_type", "bus", "rail_boardings"]]
    future = rides.tail(7).assign(rail_boardings=np.nan, bus=np.nan)
    table = pd.concat([rides.iloc[:-7], future], ignore_index=True)
    output = tmp_path / "rail"
    result = homl.forecast(table, time="service_date", target="rail_boardings", horizon=7,
                           covariates=["day_type"], models=["seasonal_naive", "lag_linear"], time_limit=120,
                           output=output)
    forecast = result.forecast
    assert len(forecast) == 7
    assert list(forecast["service_date"]) == list(pd.to_datetime(rides["service_date"].tail(7), format="%m/%d/%Y"))
    weekday = rides.tail(7)["day_type"].eq("W").to_numpy()
    assert forecast["rail_boardings"][weekday].min() > forecast["rail_boardings"][~weekday].max()
    model = homl.load(output)
    again = model.predict_frame(future.drop(columns=["rail_boardings", "bus"]))
    np.testing.assert_allclose(again["rail_boardings"], forecast["rail_boardings"])


def test_several_targets_are_forecast_together_with_a_column_each(tmp_path) -> None:
    rides = pd.read_csv(RIDERSHIP)[["service_date", "day_type", "bus", "rail_boardings"]]
    future = rides.tail(7).assign(rail_boardings=np.nan, bus=np.nan)
    table = pd.concat([rides.iloc[:-7], future], ignore_index=True)
    output = tmp_path / "both"
    result = homl.forecast(table, time="service_date", target=["rail_boardings", "bus"], horizon=7,
                           covariates=["day_type"], models=["seasonal_naive", "lag_linear"], time_limit=120,
                           output=output)
    forecast = result.forecast
    bounds = [f"{side}_{level}" for level in (80, 95) for side in ("lower", "upper")]
    assert list(forecast.columns) == ["service_date", "rail_boardings", *[f"rail_boardings_{b}" for b in bounds],
                                      "bus", *[f"bus_{b}" for b in bounds]]
    assert len(forecast) == 7
    weekday = rides.tail(7)["day_type"].eq("W").to_numpy()
    for target in ("rail_boardings", "bus"):
        assert forecast[target][weekday].min() > forecast[target][~weekday].max()
        assert (forecast[f"{target}_lower_95"] < forecast[target]).all()
    meta = result.model.metadata
    assert meta["n_series"] == 2 and meta["settings"]["targets"] == ["rail_boardings", "bus"]
    assert {"rail_boardings", "bus"} <= set(meta["settings"]["past"])  # each reads the other's recent values
    model = homl.load(output)
    again = model.predict_frame(future.drop(columns=["rail_boardings", "bus"]))
    pd.testing.assert_frame_equal(again, forecast)
    assert "'rail_boardings', 'bus'" in model.info().summary[0]


def test_several_targets_of_several_ids_keep_each_on_its_own_scale() -> None:
    rng = np.random.default_rng(2)
    days = pd.date_range("2024-01-01", periods=120, freq="D")
    weekly = 1 + 0.2 * np.sin(2 * np.pi * np.arange(120) / 7)
    table = pd.concat([pd.DataFrame({"store": store, "day": days,
                                     "sales": level * weekly * (1 + 0.03 * rng.standard_normal(120)),
                                     "visits": 3 * level * weekly * (1 + 0.03 * rng.standard_normal(120))})
                       for store, level in (("north", 10.0), ("south", 1_000.0))], ignore_index=True)
    result = homl.forecast(table, time="day", target="sales,visits", id="store", horizon=7,
                           models=["seasonal_naive", "lag_linear"], time_limit=120)
    forecast = result.forecast
    assert list(forecast.columns[:3]) == ["store", "day", "sales"] and "visits_upper_95" in forecast.columns
    means = forecast.groupby("store")[["sales", "visits"]].mean()
    assert 8 < means.loc["north", "sales"] < 12 and 800 < means.loc["south", "sales"] < 1_200
    assert 24 < means.loc["north", "visits"] < 36 and 2_400 < means.loc["south", "visits"] < 3_600
    assert result.model.metadata["n_series"] == 4


def test_a_text_value_in_one_of_several_targets_is_named_by_its_column_and_row() -> None:
    table = pd.DataFrame({"day": pd.date_range("2024-01-01", periods=60), "a": np.arange(60.0),
                          "b": [str(2.0 * i) for i in range(60)]})
    table.loc[17, "b"] = "oops"
    with pytest.raises(TargetError, match="column 'b' .* 'oops' on row 18"):
        homl.forecast(table, time="day", target="a,b", horizon=3, models=["naive"], time_limit=20)


def test_backtests_never_read_values_after_the_forecast_origin() -> None:
    """A leakage trap: values after the origin planted huge in the target and in a past covariate
    leave the forecasts made from that origin unchanged."""
    rng = np.random.default_rng(1)
    n = 300
    time = pd.date_range("2022-01-01", periods=n, freq="D")
    driver = np.cumsum(rng.standard_normal(n)) + 50
    y = driver + 5 * np.sin(2 * np.pi * np.arange(n) / 7)
    clean = SeriesData.single(y, time, freq="D", season=7, past=driver[:, None], past_names=("driver",))
    cut, horizon = 30, 5
    trapped_y, trapped_past = y.copy(), driver.copy()
    trapped_y[n - cut:] = 1e9
    trapped_past[n - cut:] = 1e9
    trapped = SeriesData.single(trapped_y, time, freq="D", season=7, past=trapped_past[:, None],
                                past_names=("driver",))
    for name in ("lag_lightgbm", "seasonal_naive", "ets"):
        forecaster = make_forecaster(name)
        honest = forecast_window(forecaster, clean, horizon=horizon, cut=cut, length=horizon)
        planted = forecast_window(forecaster, trapped, horizon=horizon, cut=cut, length=horizon)
        np.testing.assert_allclose(planted["forecast"], honest["forecast"], err_msg=name)


def test_the_command_line_forecasts_saves_and_predicts(tmp_path) -> None:
    output = tmp_path / "air"
    runner = CliRunner()
    done = runner.invoke(app, ["forecast", str(AIR), "--time", "date", "--target", "value", "--horizon", "6",
                               "--models", "naive,seasonal_naive,ets", "--time-limit", "60", "-o", str(output)])
    assert done.exit_code == 0, done.output
    assert "Backtests" in done.output and "MASE" in done.output
    predicted = runner.invoke(app, ["predict", str(output), "-o", str(tmp_path / "next.csv")])
    assert predicted.exit_code == 0, predicted.output
    written = pd.read_csv(tmp_path / "next.csv")
    assert list(written.columns) == ["date", "value", *INTERVALS] and len(written) == 6
    info = runner.invoke(app, ["info", str(output)])
    assert info.exit_code == 0 and "forecast" in info.output


@pytest.mark.parametrize(("changes", "error", "words"), [
    ({"horizon": 0}, ConfigError, "horizon"),
    ({"target": "valeu"}, SchemaError, "value"),
    ({"horizon": 100}, DataError, "144 steps"),
    ({"folds": 0}, ConfigError, "folds"),
    ({"models": ["prophet"]}, ConfigError, "prophet"),
    ({"target": ["value", "value"]}, ConfigError, "twice"),
    ({"target": "value,date"}, ConfigError, "one role"),
    ({"target": "value,passengers"}, SchemaError, "'passengers'"),
])
def test_bad_settings_are_refused_with_what_was_expected(changes, error, words) -> None:
    settings = {"time": "date", "target": "value", "horizon": 12, **changes}
    with pytest.raises(error, match=words):
        homl.forecast(AIR, **settings)


def _homl(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m homl ARGS``: the real entry point, which turns homl's errors into exit code 2."""
    return subprocess.run([sys.executable, "-m", "homl", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_an_unreadable_date_exits_2_naming_the_row_and_value(tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"date": ["2020-01-01", "soon", "2020-01-03"], "value": [1, 2, 3]}).to_csv(bad, index=False)
    done = _homl("forecast", bad, "--time", "date", "--target", "value", "--horizon", "1", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "'soon' on row 2" in done.stderr and "Traceback" not in done.stderr


def test_a_model_of_another_kind_still_needs_rows_to_predict(tmp_path) -> None:
    from homl.tasks.segment import segment

    output = tmp_path / "seg"
    segment(pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3}), k=2, output=output)
    done = _homl("predict", output, cwd=tmp_path)
    assert done.returncode == 2 and "rows to predict" in done.stderr


def test_a_constant_series_is_forecast_as_the_constant_and_said() -> None:
    import warnings

    table = pd.DataFrame({"month": pd.date_range("2015-01-01", periods=60, freq="MS"), "units": 7.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # autocorrelations of a constant series warned once a lag
        result = homl.forecast(table, time="month", target="units", horizon=6,
                               models=["naive", "ets", "lag_linear"], time_limit=60)
    np.testing.assert_allclose(result.forecast["units"], 7.0, atol=1e-6)
    assert any("constant" in note for note in result.notes)
    assert result.diagnostics["constant"] and "acf" not in result.diagnostics
    assert "is constant: it has no autocorrelation to show" in result.report().html()


def test_duplicated_timestamps_are_merged_and_said() -> None:
    frame = pd.read_csv(AIR)
    doubled = pd.concat([frame, frame.iloc[[10, 20]]], ignore_index=True)
    result = homl.forecast(doubled, time="date", target="value", horizon=6, models=["seasonal_naive"],
                           time_limit=60)
    assert any("merged" in note for note in result.notes)
    assert result.model.metadata["n_rows"] == len(frame)


def test_the_report_command_rebuilds_a_forecast_report(air_result, tmp_path) -> None:
    _, output = air_result
    target = tmp_path / "again.html"
    done = CliRunner().invoke(app, ["report", str(output), "-o", str(target), "--no-open"])
    assert done.exit_code == 0, done.output
    html = target.read_text(encoding="utf-8")
    assert "Forecast of value" in html and "Backtests" in html


def _sine(n: int = 60) -> pd.DataFrame:
    return pd.DataFrame({"date": pd.date_range("2023-01-01", periods=n, freq="D"),
                         "y": np.sin(np.arange(n) / 3) * 10 + 50})


def test_newer_rows_without_the_target_are_refused_naming_it(air_result) -> None:
    model = air_result[0].model
    newer = pd.DataFrame({"date": pd.date_range("1961-01-01", periods=5, freq="MS"), "valeu": np.arange(5.0)})
    with pytest.raises(SchemaError, match=r"no column 'value' \(the target column\); did you mean 'valeu'"):
        model.predict_frame(newer)


def test_an_infinite_target_value_is_refused_naming_its_row() -> None:
    table = _sine()
    table.loc[20, "y"] = np.inf
    with pytest.raises(TargetError, match=r"column 'y' \(the target\) holds inf on row 21"):
        homl.forecast(table, time="date", target="y", horizon=3, models="naive", time_limit=10)


def test_models_given_as_text_are_read_as_names_separated_by_commas() -> None:
    one = homl.forecast(_sine(), time="date", target="y", horizon=3, models="naive", time_limit=30)
    assert one.leaderboard["model"].tolist() == ["naive"]
    two = homl.forecast(_sine(), time="date", target="y", horizon=3, models="naive, drift", time_limit=30)
    assert sorted(two.leaderboard["model"]) == ["drift", "naive"]


def test_columns_named_by_numbers_are_matched_as_text_and_none_is_refused() -> None:
    table = _sine().set_axis([0, 1], axis=1)
    result = homl.forecast(table, time=0, target=1, horizon=3, models="naive", time_limit=30)
    assert list(result.forecast.columns[:2]) == ["0", "1"] and len(result.forecast) == 3
    for option in ("time", "target"):
        with pytest.raises(ConfigError, match=f"{option}= must name"):
            homl.forecast(_sine(), **{"time": "date", "target": "y", option: None}, horizon=3)


def test_when_every_model_fails_the_first_reason_is_told(monkeypatch) -> None:
    import homl.select

    def broken(*args, **kwargs):
        raise ValueError("the solver diverged")

    monkeypatch.setattr(homl.select, "backtest", broken)
    with pytest.raises(DataError, match=r"every forecasting model failed on the table \(first: .*solver diverged\)"):
        homl.forecast(_sine(), time="date", target="y", horizon=3, models="naive,drift", time_limit=30)
