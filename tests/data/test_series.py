"""Reading time series: parsing times, sorting, merging, frequency, gaps, covariates, seasons, future covariates."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from homl.data import (
    SINGLE_ID,
    detect_frequency,
    detect_seasons,
    future_frame,
    known_future,
    parse_times,
    read_series,
)
from homl.errors import ConfigError, DataError, SchemaError, TargetError

HERE = Path(__file__).parent
AIR = HERE / "air_passengers.csv"
RIDERSHIP = HERE / "ridership_2017_2019.csv"


def daily(n: int = 60, start: str = "2020-01-01") -> pd.DataFrame:
    """A daily series with a weekly pattern and a trend, dates as ISO text."""
    days = pd.date_range(start, periods=n, freq="D")
    steps = np.arange(n)
    return pd.DataFrame({"day": days.strftime("%Y-%m-%d"), "sales": 10 * np.sin(2 * np.pi * steps / 7) + steps})


def has_note(notes: list[str], *words: str) -> bool:
    return any(all(w in note for w in words) for note in notes)


# ---------------------------------------------------------------- frequency and seasons


@pytest.mark.parametrize(("freq", "expected"), [
    ("h", "h"), ("15min", "15min"), ("D", "D"), ("B", "B"), ("W-WED", "W-WED"), ("W-SUN", "W-SUN"),
    ("MS", "MS"), ("ME", "ME"), ("QS", "QS"), ("QE", "QE"), ("QS-FEB", "QS-FEB"), ("YS", "YS"), ("YE", "YE"),
])
def test_detect_frequency_of_regular_and_gapped_times(freq, expected):
    times = pd.date_range("2001-01-01", periods=40, freq=freq)
    assert detect_frequency(times) == expected
    gapped = times.delete([5, 17])  # infer_freq gives up on gaps: the median spacing decides
    assert detect_frequency(gapped[::-1]) == expected


def test_detect_frequency_of_business_days_months_mid_month_and_years():
    holidays = pd.bdate_range("2020-01-01", periods=60).delete([10, 30])
    assert detect_frequency(holidays) == "B"
    assert detect_frequency(pd.date_range("2001-01-01", periods=24, freq="MS") + pd.Timedelta(days=14)) == "MS"
    assert detect_frequency(pd.to_datetime(["1949", "1950", "1952", "1953"])) == "YS"
    with pytest.raises(DataError, match="at least 2"):
        detect_frequency(pd.DatetimeIndex(["2001-01-01"]))


def test_detect_seasons_keeps_autocorrelated_candidates_main_first():
    hours = np.arange(24 * 7 * 4)
    noise = np.random.default_rng(0).normal(0, 1, len(hours))
    y = 10 * np.sin(2 * np.pi * hours / 24) + 5 * (hours // 24 % 7 >= 5) + noise
    assert detect_seasons(y, "h") == (24, 168)
    assert detect_seasons(y, "h", max_len=100) == (24,)
    assert detect_seasons(y[: 24 * 7], "h") == (24,)  # one week: too short for 168
    assert detect_seasons([y, y[:100]], "h") == (24, 168)  # several series: pooled
    assert detect_seasons(np.random.default_rng(1).normal(size=300), "D") == ()
    assert detect_seasons(np.arange(50.0), "YS") == ()


# ---------------------------------------------------------------- bundled tables


def test_air_passengers_is_monthly_with_a_yearly_season():
    table = read_series(AIR, time="date", target="value")
    data = table.data
    assert (data.ids, data.freq, data.season, data.seasons, data.target) == ((SINGLE_ID,), "MS", 12, (12,), "value")
    assert data.length(SINGLE_ID) == 144 and data.y[SINGLE_ID][:2].tolist() == [112.0, 118.0]
    assert data.time[SINGLE_ID][0] == pd.Timestamp("1949-01-01")
    assert list(table.frame.columns) == ["date", "value"] and table.id_column is None
    assert has_note(table.notes, "air_passengers.csv", "frequency 'MS' detected")


def test_ridership_is_daily_with_a_weekly_season_and_covariates():
    table = read_series(RIDERSHIP, time="service_date", target="rail_boardings", known=["day_type"], past=["bus"])
    data, raw = table.data, pd.read_csv(RIDERSHIP)
    assert (data.freq, data.season) == ("D", 7)
    assert data.known_names == ("day_type=A", "day_type=U", "day_type=W") and data.past_names == ("bus",)
    assert table.categories == {"day_type": ("A", "U", "W")} and table.time_format == "%m/%d/%Y"
    known, past = data.known[SINGLE_ID], data.past[SINGLE_ID]
    assert known.shape == (881, 3) and np.all(known.sum(axis=1) == 1)
    raw["t"] = pd.to_datetime(raw["service_date"], format="%m/%d/%Y")
    row = raw.set_index("t").loc[data.time[SINGLE_ID][100]]
    assert known[100, data.known_names.index(f"day_type={row['day_type']}")] == 1
    assert past[100, 0] == row["bus"] and data.y[SINGLE_ID][100] == row["rail_boardings"]
    assert has_note(table.notes, "rows sorted by service_date") and has_note(table.notes, "%m/%d/%Y")
    assert list(table.frame.columns) == ["service_date", "rail_boardings", *data.known_names, "bus"]


# ---------------------------------------------------------------- fixes, each noted


def test_unsorted_rows_are_sorted_with_a_note():
    df = daily().sample(frac=1, random_state=0)
    table = read_series(df, time="day", target="sales", name="sales.csv")
    assert table.data.time[SINGLE_ID].is_monotonic_increasing
    assert np.allclose(table.data.y[SINGLE_ID], daily()["sales"])
    assert has_note(table.notes, "sales.csv: rows sorted by day")
    assert not has_note(read_series(daily(), time="day", target="sales").notes, "sorted")


@pytest.mark.parametrize(("aggregate", "merged"), [("mean", 3.0), ("sum", 6.0)])
def test_duplicated_timestamps_are_aggregated_with_a_note(aggregate, merged):
    df = daily(20)
    df.loc[4, "sales"] = 2.0
    df = pd.concat([df, df.iloc[[4]].assign(sales=4.0)], ignore_index=True)
    table = read_series(df, time="day", target="sales", aggregate=aggregate)
    assert table.data.length(SINGLE_ID) == 20 and table.data.y[SINGLE_ID][4] == merged
    assert has_note(table.notes, "1 row sharing a timestamp", f"by {aggregate}")


def test_gaps_are_filled_target_interpolated_covariates_carried_forward():
    df = daily(30).assign(price=np.arange(30.0))
    table = read_series(df.drop([10, 11]), time="day", target="sales", known=["price"])
    y, price = table.data.y[SINGLE_ID], table.data.known[SINGLE_ID][:, 0]
    assert len(y) == 30 and np.allclose(y[10:12], y[9] + (y[12] - y[9]) * np.array([1, 2]) / 3)
    assert price[10:12].tolist() == [9.0, 9.0]
    assert has_note(table.notes, "2 missing steps of 'D' filled")


def test_missing_values_are_filled_and_an_empty_series_refused():
    df = daily(20).assign(flag=[1.0, np.nan] + [0.0] * 18)
    df.loc[[3, 4], "sales"] = np.nan
    table = read_series(df, time="day", target="sales", past=["flag"])
    assert not np.isnan(table.data.y[SINGLE_ID]).any() and table.data.past[SINGLE_ID][1, 0] == 1.0
    assert has_note(table.notes, "2 missing values of 'sales' interpolated")
    assert has_note(table.notes, "1 missing covariate value filled")
    ends = daily(20)
    ends.loc[[0, 18, 19], "sales"] = np.nan
    trimmed = read_series(ends, time="day", target="sales")
    assert trimmed.data.length(SINGLE_ID) == 17 and trimmed.data.time[SINGLE_ID][0] == pd.Timestamp("2020-01-02")
    assert has_note(trimmed.notes, "3 steps with no 'sales' before the first or after the last value left out")
    with pytest.raises(TargetError, match="series 'b' has no value of 'sales'"):
        read_series(pd.concat([daily(5).assign(s="a"), daily(5).assign(s="b", sales=np.nan)]),
                    time="day", target="sales", id="s")
    no_kind = pd.concat([daily(5).assign(s="a", kind="x"), daily(5).assign(s="b", kind=None)])
    with pytest.raises(SchemaError, match="column 'kind' has no value in series 'b'"):
        read_series(no_kind, time="day", target="sales", id="s", known=["kind"])


def test_jittered_timestamps_snap_to_the_nearest_step():
    times = pd.date_range("2020-01-01", periods=48, freq="h").to_series()
    times.iloc[10] += pd.Timedelta(minutes=3)
    table = read_series(pd.DataFrame({"t": times.to_numpy(), "v": np.arange(48.0)}), time="t", target="v")
    assert table.data.freq == "h" and table.data.time[SINGLE_ID][10] == pd.Timestamp("2020-01-01 10:00")
    assert has_note(table.notes, "1 timestamp moved onto the steps of 'h'", "10:03")


def test_month_dates_are_moved_to_month_starts():
    days = pd.date_range("2001-01-01", periods=36, freq="MS") + pd.Timedelta(days=14)
    table = read_series(pd.DataFrame({"m": days.strftime("%d.%m.%Y"), "v": np.arange(36.0)}), time="m", target="v")
    assert table.data.freq == "MS" and table.data.time[SINGLE_ID][1] == pd.Timestamp("2001-02-01")
    assert has_note(table.notes, "36 timestamps moved onto the steps of 'MS'")


def test_constant_series_are_allowed_with_a_note():
    table = read_series(daily(10).assign(sales=5), time="day", target="sales")
    assert np.all(table.data.y[SINGLE_ID] == 5.0) and table.data.season == 1
    assert has_note(table.notes, "the series is constant")


# ---------------------------------------------------------------- times


def test_times_with_a_zone_years_and_ambiguous_days():
    notes: list[str] = []
    zoned = pd.Series(pd.date_range("2020-06-01", periods=3, freq="h", tz="Europe/Paris"))
    assert parse_times(zoned, "ts", "t.csv", notes)[0] == pd.Timestamp("2020-05-31 22:00")
    assert parse_times(pd.Series([1949, 1950]), "year", "t.csv", notes)[1] == pd.Timestamp("1950-01-01")
    assert has_note(notes, "converted from Europe/Paris to UTC") and has_note(notes, "read as years")
    # day-first monthly dates: the month-first reading would crowd twelve days into each January
    firsts = pd.Series(pd.date_range("2001-01-01", periods=24, freq="MS").strftime("%d/%m/%Y"))
    assert parse_times(firsts, "d", "t.csv", notes)[13] == pd.Timestamp("2002-02-01")
    assert has_note(notes, "read as %d/%m/%Y")
    with pytest.raises(DataError, match=r"'year' holds the number 12 on row 2; expected dates, or whole years"):
        parse_times(pd.Series([1999, 12]), "year", "t.csv")


def test_unparseable_date_names_the_row_and_value():
    df = daily(20)
    df.loc[7, "day"] = "2020-13-45"
    with pytest.raises(DataError, match=r"sales\.csv: column 'day' holds '2020-13-45' on row 8, which is not a date"):
        read_series(df, time="day", target="sales", name="sales.csv")
    df.loc[7, "day"] = None
    with pytest.raises(DataError, match="column 'day' has no time on row 8"):
        read_series(df, time="day", target="sales")


# ---------------------------------------------------------------- refusals


def test_non_numeric_target_names_the_row():
    df = daily(10).astype({"sales": object})
    df.loc[3, "sales"] = "lots"
    with pytest.raises(TargetError, match=r"column 'sales' \(the target\) holds 'lots' on row 4; expected numbers"):
        read_series(df, time="day", target="sales")


@pytest.mark.parametrize(("options", "message"), [
    ({"time": "Day", "target": "sales"}, "no column 'Day' (the time column); did you mean 'day'?"),
    ({"time": "day", "target": "sale"}, "no column 'sale' (the target column); did you mean 'sales'?"),
    ({"time": "day", "target": "sales", "known": ["prices"]}, "no column 'prices' (the known covariate column); "
                                                              "did you mean 'price'?"),
])
def test_missing_column_suggests_the_close_name(options, message):
    with pytest.raises(SchemaError) as caught:
        read_series(daily(10).assign(price=1.0), **options, name="shop.csv")
    assert str(caught.value).startswith(f"shop.csv: {message}")


def test_too_irregular_spacing_is_refused():
    sparse = daily(60).iloc[list(range(10)) + list(range(0, 60, 5))].drop_duplicates("day")
    with pytest.raises(DataError, match=r"irregular spacing: at the detected frequency 'D' .* freq="):
        read_series(sparse, time="day", target="sales")
    times = pd.to_datetime(["2020-01-01 00:00", "2020-01-01 01:00", "2020-01-01 02:00", "2020-01-01 02:20",
                            "2020-01-01 03:00", "2020-01-01 04:00"])
    with pytest.raises(DataError, match="02:00:00 and 2020-01-01 02:20:00 are both nearest to the step"):
        read_series(pd.DataFrame({"t": times, "v": 1.0}), time="t", target="v")


def test_options_are_checked():
    with pytest.raises(ConfigError, match="aggregate='median' is not known"):
        read_series(daily(10), time="day", target="sales", aggregate="median")
    with pytest.raises(ConfigError, match="'sales' is given as both target and past"):
        read_series(daily(10), time="day", target="sales", past=["sales"])


# ---------------------------------------------------------------- several series


def test_several_series_by_id_are_strings_each_regular():
    df = pd.concat([daily(30).assign(store=10), daily(20, "2020-01-05").assign(store=2), daily(25).assign(store=1)])
    table = read_series(df.sample(frac=1, random_state=1), time="day", target="sales", id="store")
    data = table.data
    assert data.ids == ("1", "2", "10")  # ordered as numbers, named as text
    assert [data.length(s) for s in data.ids] == [25, 20, 30] and data.season == 7
    for sid in data.ids:
        assert (np.diff(data.time[sid]) == np.timedelta64(1, "D")).all()
    assert data.time["2"][0] == pd.Timestamp("2020-01-05")
    assert table.frame["store"].tolist()[:1] == ["1"] and list(table.frame.columns) == ["store", "day", "sales"]


def test_series_with_a_single_row_is_refused():
    df = pd.concat([daily(10).assign(shop="north"), daily(1).assign(shop="south")])
    with pytest.raises(DataError, match="series 'south' \\(column 'shop'\\) has a single timestamp"):
        read_series(df, time="day", target="sales", id="shop")


def test_gaps_are_summarised_per_series():
    df = pd.concat([daily(30).drop([3]).assign(s="a"), daily(30).drop([4, 5]).assign(s="b")])
    table = read_series(df, time="day", target="sales", id="s")
    assert has_note(table.notes, "3 missing steps of 'D' filled", "'a': 1, 'b': 2")


# ---------------------------------------------------------------- given frequency


def test_given_frequency_overrides_and_merges_finer_rows():
    hourly = pd.DataFrame({"t": pd.date_range("2020-01-01", periods=24 * 10, freq="h"), "v": 1.0})
    table = read_series(hourly, time="t", target="v", freq="D", aggregate="sum")
    assert table.data.freq == "D" and table.data.y[SINGLE_ID].tolist() == [24.0] * 10
    assert has_note(table.notes, "merged into the step of 'D'")
    weekly = read_series(daily(28), time="day", target="sales", freq="W", aggregate="sum")
    assert weekly.data.freq == "W-SUN" and weekly.data.time[SINGLE_ID][0] == pd.Timestamp("2020-01-05")
    assert weekly.data.y[SINGLE_ID][0] == pytest.approx(daily(28)["sales"][:5].sum())


@pytest.mark.parametrize(("freq", "message"), [
    ("fortnightly", "freq='fortnightly' is not a pandas frequency alias; expected e.g."),
    ("M", "freq='M' is not a pandas frequency alias (pandas now spells it 'ME')"),
])
def test_bad_frequency_alias_is_refused(freq, message):
    with pytest.raises(ConfigError) as caught:
        read_series(daily(10), time="day", target="sales", freq=freq)
    assert message in str(caught.value)


# ---------------------------------------------------------------- the future


def shops() -> pd.DataFrame:
    frames = [daily(21).assign(shop=name, kind=np.where(np.arange(21) % 7 < 5, "work", "rest")) for name in "ab"]
    return pd.concat(frames)


def test_future_frame_lists_the_next_steps_of_each_series():
    table = read_series(shops(), time="day", target="sales", id="shop")
    frame = future_frame(table, 3)
    assert list(frame.columns) == ["shop", "day"] and frame["shop"].tolist() == ["a"] * 3 + ["b"] * 3
    assert frame["day"].iloc[0] == pd.Timestamp("2020-01-22") and frame["day"].iloc[2] == pd.Timestamp("2020-01-24")


def test_known_future_aligns_encodes_and_notes():
    table = read_series(shops(), time="day", target="sales", id="shop", known=["kind"])
    assert table.data.known_names == ("kind=rest", "kind=work")
    days = pd.date_range("2020-01-22", periods=4).strftime("%Y-%m-%d")
    future = pd.DataFrame({"shop": ["b"] * 4 + ["a"] * 4, "day": list(days[::-1]) + list(days),
                           "kind": ["rest", "work", "holiday", None, "work", "work", "rest", "rest"]})
    notes: list[str] = []
    covariates = known_future(table, future, 3, notes=notes)
    assert covariates["a"].tolist() == [[0, 1], [0, 1], [1, 0]]
    # b: 2020-01-22 has no kind (carried from the last past step, a 'rest' day), 2020-01-23 an unseen one
    assert covariates["b"].tolist() == [[1, 0], [0, 0], [0, 1]]
    assert has_note(notes, "categories of 'kind' not seen in training ('holiday') encoded as all zeros")
    assert has_note(notes, "1 step of series 'b' with missing known covariates")
    assert known_future(table.data, future, 1, time="day", id="shop")["a"].tolist() == [[0, 1]]


def test_known_future_needs_every_step():
    table = read_series(shops(), time="day", target="sales", id="shop", known=["kind"])
    with pytest.raises(ConfigError, match=r"known covariates \(kind\) are needed for the next 2 steps.*"
                                          r"columns 'shop', 'day', 'kind'.*2020-01-22 to 2020-01-23"):
        known_future(table, None, 2)
    future = pd.DataFrame({"shop": ["a", "a", "b"], "day": ["2020-01-22", "2020-01-23", "2020-01-22"],
                           "kind": "work"})
    with pytest.raises(DataError, match="plan.csv: no row for series 'b' at 2020-01-23; expected the known"):
        known_future(table, future, 2, name="plan.csv")
    assert known_future(read_series(daily(20), time="day", target="sales"), None, 2) == {}


def test_newer_rows_are_encoded_with_the_learned_categories():
    table = read_series(shops(), time="day", target="sales", id="shop", known=["kind"])
    newer = daily(5, "2020-01-22").assign(shop="a", kind=["work", "work", "strike", "work", "work"])
    again = read_series(newer, time="day", target="sales", id="shop", known=["kind"], categories=table.categories)
    assert again.data.known_names == table.data.known_names
    assert again.data.known["a"][:, 1].tolist() == [1, 1, 0, 1, 1] and again.data.known["a"][2].tolist() == [0, 0]
    assert has_note(again.notes, "categories of 'kind' not seen in training ('strike')")


# ---------------------------------------------------------------- values and column names refused


def test_an_infinite_target_value_is_refused_naming_its_column_and_row() -> None:
    df = daily()
    df.loc[20, "sales"] = np.inf
    with pytest.raises(TargetError, match=r"column 'sales' \(the target\) holds inf on row 21; expected finite"):
        read_series(df, time="day", target="sales")


def test_column_names_given_as_numbers_are_matched_as_their_text() -> None:
    df = daily().set_axis([0, 1], axis=1)
    table = read_series(df, time=0, target=1)
    assert table.data.freq == "D" and len(table.data.y[SINGLE_ID]) == 60


@pytest.mark.parametrize("option", ["time", "target"])
def test_no_column_for_a_required_role_is_a_config_error_naming_the_option(option) -> None:
    settings = {"time": "day", "target": "sales", option: None}
    with pytest.raises(ConfigError, match=f"{option}= must name a column"):
        read_series(daily(), **settings)
