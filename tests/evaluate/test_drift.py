"""Drift of new rows against a reference summary, and the live score against the test score: quiet on a
fresh sample of the same distribution, exact about which column moved, and in line with scipy."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency, ks_2samp

from homl.errors import DataError
from homl.evaluate import (
    DriftResult,
    DriftThresholds,
    LivePerformance,
    check_drift,
    check_prediction_drift,
    live_performance,
    reference_summary,
    summary_of_predictions,
)
from homl.evaluate._drift_stats import compare_column
from homl.metrics import get_metric

KINDS = {"normal": "numeric", "wide": "numeric", "skewed": "numeric", "count": "numeric",
         "colour": "categorical", "member": "boolean"}


def rows(n: int, seed: int) -> pd.DataFrame:
    """Normals, a skewed number, integer counts with ties, a five-level category and a yes/no value."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "normal": rng.normal(0, 1, n), "wide": rng.normal(50, 10, n), "skewed": rng.lognormal(0, 1, n),
        "count": rng.poisson(3, n), "colour": rng.choice(list("rgbyk"), n, p=[0.4, 0.25, 0.15, 0.12, 0.08]),
        "member": rng.random(n) < 0.3,
    })


@pytest.fixture(scope="module")
def reference() -> tuple[pd.DataFrame, dict]:
    frame = rows(5000, 0)
    return frame, reference_summary(frame, KINDS)


# ---------------------------------------------------------------- the summary


def test_the_summary_is_json_and_keeps_no_rows() -> None:
    users = [f"user-{i:04d}" for i in range(10) for _ in range(40)] + [f"user-{i:04d}" for i in range(10, 50)] * 2
    ids = pd.DataFrame({"user": users, "x": np.arange(480.0)})
    summary = reference_summary(ids, {"user": "categorical", "x": "numeric"}, max_categories=10)
    text = json.dumps(summary)
    user = summary["columns"]["user"]
    # Named on one half of the rows, counted on the other: the ten frequent users, the forty others pooled.
    assert sorted(user["counts"]) == [f"user-{i:04d}" for i in range(10)] and user["pooled"] == 40
    assert user["present"] == user["rows"] < 480 and user["other"] + sum(user["counts"].values()) == user["rows"]
    assert sum(f"user-{i:04d}" in text for i in range(50)) == 10  # the pooled forty are named nowhere
    assert summary["rows"] == 480 and len(summary["columns"]["x"]["quantiles"]) == 101


def test_many_rare_categories_are_pooled_and_a_fresh_sample_of_them_is_quiet() -> None:
    """Naming the most frequent of many rare values (tickets, cabins) by their counts would flatter them:
    in fresh rows they would seem to move to the tail. They are named on half the rows, counted on the other."""
    found = []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        reference, current = ([f"t{v}" for v in rng.integers(0, 700, n)] for n in (600, 300))
        summary = reference_summary(pd.DataFrame({"ticket": reference}), {"ticket": "categorical"})
        found.append(check_drift(summary, pd.DataFrame({"ticket": current})).features[0])
    assert not [f for f in found if f.status == "drift"]
    # PSI reads values too rare for a bin of their own as one bin: it stays small on unchanged data.
    assert sum(f.status == "ok" for f in found) >= 8 and max(f.psi for f in found) < 0.1


@pytest.mark.parametrize("column, kind, check", [
    ([np.nan] * 40, "numeric", lambda s: s["present"] == 0 and s["missing_share"] == 1 and s["min"] is None),
    ([7.0] * 40, "numeric", lambda s: s["min"] == s["max"] == 7 and s["std"] == 0 and s["bin_counts"] == [40]),
    (["yes", "no", "Yes", None] * 10, "boolean",
     lambda s: s["counts"] == {"true": 20, "false": 10} and s["missing"] == 10),
    ([True, False, False, False] * 10, "boolean", lambda s: s["counts"] == {"false": 30, "true": 10}),
    (pd.date_range("2024-01-01", periods=40, freq="D"), "datetime",
     lambda s: s["min"] == pd.Timestamp("2024-01-01").timestamp() and s["max"] - s["min"] == 39 * 86400),
    (["a short note", "a somewhat longer note here", None, "x"] * 10, "text",
     lambda s: (s["min"], s["max"], s["missing"]) == (1, 27, 10)),
], ids=["all missing", "constant", "yes/no text", "booleans", "dates", "text"])
def test_every_kind_is_summarised_and_compares_quietly_with_itself(column, kind, check) -> None:
    frame = pd.DataFrame({"c": column})
    summary = reference_summary(frame, {"c": kind})
    json.dumps(summary)
    assert check(summary["columns"]["c"])
    (feature,) = check_drift(summary, frame).features
    assert feature.status == "ok" and feature.psi == pytest.approx(0, abs=1e-9) and feature.p_value == 1


# ---------------------------------------------------------------- what is flagged


@pytest.mark.parametrize("seed", range(5))
def test_a_fresh_sample_of_the_same_distribution_never_drifts(reference, seed: int) -> None:
    result = check_drift(reference[1], rows(2000, 100 + seed))
    assert result.drifted == [] and result.status in ("ok", "warn")
    assert max(f.psi for f in result.features) < 0.03


def _shifted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(normal=frame["normal"] + 0.5)


def _new_category(frame: pd.DataFrame) -> pd.DataFrame:
    changed = frame.sample(frac=0.15, random_state=1).index
    return frame.assign(colour=frame["colour"].where(~frame.index.isin(changed), "purple"))


def _missing(frame: pd.DataFrame) -> pd.DataFrame:
    changed = frame.sample(frac=0.3, random_state=1).index
    return frame.assign(wide=frame["wide"].where(~frame.index.isin(changed)))


@pytest.mark.parametrize("change, column, said", [
    (_shifted, "normal", "the values moved up"),
    (_new_category, "colour", "15% of values are categories the reference never had"),
    (_missing, "wide", "missing values went from 0% to 30%"),
], ids=["shift of 0.5 std", "new category on 15%", "30% missing"])
def test_exactly_the_changed_column_drifts(reference, change, column: str, said: str) -> None:
    result = check_drift(reference[1], change(rows(2000, 1)))
    assert result.drifted == [column] and result.status == "drift"
    feature = next(f for f in result.features if f.name == column)
    assert said in feature.reason and feature.psi >= 0.1 and feature.p_value < 1e-6
    assert result.table()["feature"].iloc[0] == column


def test_p_values_are_bonferroni_corrected_over_every_test() -> None:
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"grade": rng.integers(0, 10, 3000), "city": rng.choice(list("abc"), 3000)})
    cur = pd.DataFrame({"grade": rng.integers(0, 10, 800) + (rng.random(800) < 0.06),
                        "city": rng.choice(list("abc"), 800, p=[0.38, 0.33, 0.29])})
    summary = reference_summary(ref, {"grade": "numeric", "city": "categorical"})
    result = check_drift(summary, cur)
    grade, city = result.features
    # Three tests in all: KS and chi-square on the number, chi-square on the category.
    table = [ref["city"].value_counts().sort_index(), cur["city"].value_counts().sort_index()]
    assert city.test == "chi-square" and city.p_value == pytest.approx(min(1, 3 * chi2_contingency(table).pvalue))
    # Every value of 'grade' is among the stored quantiles, so KS is exact.
    ks = ks_2samp(ref["grade"], cur["grade"], method="asymp")
    d, p = compare_column(summary["columns"]["grade"], cur["grade"]).ks
    assert d == pytest.approx(ks.statistic) and p == pytest.approx(ks.pvalue)
    chi = compare_column(summary["columns"]["grade"], cur["grade"]).chi2[1]
    assert grade.p_value == pytest.approx(min(1, 3 * min(ks.pvalue, chi)))
    assert 0 < grade.p_value < 1 and 0 < city.p_value < 1


@pytest.mark.parametrize("column", ["normal", "wide", "skewed", "count"])
def test_ks_from_the_summary_is_within_002_of_scipy_on_the_rows(reference, column: str) -> None:
    frame, summary = reference
    for current in (rows(2000, 7), _shifted(rows(2000, 7)), rows(300, 8)):
        d, _ = compare_column(summary["columns"][column], current[column]).ks
        assert abs(d - ks_2samp(frame[column], current[column]).statistic) <= 0.02


def test_one_new_value_in_a_small_batch_is_not_significant(reference) -> None:
    # A bin the reference never filled expects a small fraction of a row: chi-square alone would call
    # one such value p < 1e-10, so sparse bins are pooled before the test.
    current = rows(100, 1)
    current.loc[0, "colour"], current.loc[1, "normal"] = "purple", 99.0
    result = check_drift(reference[1], current)
    colour, normal = (next(f for f in result.features if f.name == name) for name in ("colour", "normal"))
    assert colour.unseen == 0.01 and normal.out_of_range == 0.01
    assert colour.p_value > 0.05 and normal.p_value > 0.05


@pytest.mark.parametrize("value", [2.0, 4.0], ids=["below", "above"])
def test_a_constant_column_that_starts_to_vary_drifts(value: float) -> None:
    summary = reference_summary(pd.DataFrame({"c": [3.0] * 500}), {"c": "numeric"})
    (feature,) = check_drift(summary, pd.DataFrame({"c": [3.0] * 400 + [value] * 100})).features
    assert feature.status == "drift" and feature.out_of_range == 0.2
    assert "20% of values lie outside the reference range" in feature.reason


def test_dates_warn_at_most_and_say_why() -> None:
    ref = pd.DataFrame({"day": pd.date_range("2024-01-01", periods=500, freq="h")})
    summary = reference_summary(ref, {"day": "datetime"})
    (feature,) = check_drift(summary, ref + pd.Timedelta(days=60)).features
    assert feature.status == "warn" and feature.psi > 1 and feature.p_value < 1e-6
    assert "dates move on with time" in feature.reason and feature.out_of_range == 1


def test_too_few_current_rows_are_never_drift(reference) -> None:
    result = check_drift(reference[1], _shifted(rows(20, 1)), thresholds=DriftThresholds(min_rows=30))
    assert {f.status for f in result.features} == {"too few rows"} and result.drifted == []
    assert "fewer than 30" in result.features[0].reason


def test_the_result_survives_json(reference) -> None:
    result = check_drift(reference[1], _missing(rows(2000, 1)), columns=["wide", "colour"])
    again = DriftResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert [f.name for f in again.features] == ["wide", "colour"] and again.drifted == ["wide"]
    pd.testing.assert_frame_equal(again.table(), result.table())
    assert list(result.table().columns) == ["feature", "kind", "status", "PSI", "test", "p-value", "Wasserstein",
                                            "missing (ref → cur)", "out of range", "unseen", "reason"]


@pytest.mark.parametrize("task, make", [
    ("regression", lambda rng, n, shift: rng.normal(shift, 1, n)),
    ("binary", lambda rng, n, shift: np.where(rng.random(n) < 0.3 + shift / 2, "yes", "no")),
])
def test_prediction_drift(task: str, make) -> None:
    rng = np.random.default_rng(0)
    summary = summary_of_predictions(make(rng, 4000, 0.0), task)
    assert list(summary["columns"]) == ["prediction"]
    same = check_prediction_drift(summary, make(rng, 1000, 0.0), task)
    moved = check_prediction_drift(summary, pd.Series(make(rng, 1000, 0.5)), task)
    assert same.status == "ok" and moved.status == "drift"
    assert moved.kind == ("numeric" if task == "regression" else "categorical")
    other = "binary" if task == "regression" else "regression"
    with pytest.raises(DataError, match=f"a {other} model's predictions are"):
        check_prediction_drift(summary, make(rng, 100, 0.0), other)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("make, message", [
    (lambda s, cur: check_drift(s, cur.drop(columns="skewed")), "lacks column(s) 'skewed'; it has 'normal'"),
    (lambda s, cur: check_drift(s, cur.iloc[:0]), "the current table has no rows"),
    (lambda s, cur: check_drift(reference_summary(cur.iloc[:1], KINDS), cur), "holds 1 row(s); drift needs at least 2"),
    (lambda s, cur: check_drift(s, cur, columns=["age"]), "'age' are not in the reference summary"),
    (lambda s, cur: reference_summary(cur, {"age": "numeric"}), "the reference table lacks column(s) 'age'"),
], ids=["missing column", "empty current", "one-row reference", "unknown column", "missing in reference"])
def test_bad_input_is_named(reference, make, message: str) -> None:
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make(reference[1], rows(100, 1))


# ---------------------------------------------------------------- live performance


def _live_rows(n: int = 3000, worse_after: str | None = None, seed: int = 0):
    rng = np.random.default_rng(seed)
    times = pd.Series(pd.Timestamp("2024-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 60, n)), unit="D"))
    y = rng.normal(10, 3, n)
    error = rng.normal(0, 1, n)
    if worse_after:
        error[(times >= pd.Timestamp(worse_after)).to_numpy()] *= 2
    return y, y + error, times


def test_an_error_that_doubles_in_the_last_windows_alerts() -> None:
    y, prediction, times = _live_rows(worse_after="2024-02-19")
    live = live_performance(y, prediction, times, get_metric("rmse", "regression"), reference=1.0)
    assert live.alert and "whole interval above the test score 1" in live.reason
    assert len(live.windows) <= 12 and live.windows["rows"].sum() == 3000
    assert live.windows["status"].iloc[-1] == "drop" and live.windows["status"].iloc[0] == "ok"
    assert (live.windows["score"].iloc[-1] > 1.7) and live.windows["low"].iloc[-1] > 1.0
    again = LivePerformance.from_dict(json.loads(json.dumps(live.to_dict())))
    pd.testing.assert_frame_equal(again.windows, live.windows, check_dtype=False)
    assert again.alert and again.reason == live.reason


def test_an_unchanged_error_does_not_alert() -> None:
    y, prediction, times = _live_rows()
    live = live_performance(y, prediction, times, get_metric("rmse", "regression"), reference=1.0)
    assert not live.alert and "in line with the test score" in live.reason
    assert set(live.windows["status"]) == {"ok"}
    assert live.overall["low"] < 1.0 < live.overall["high"] and live.overall["rows"] == 3000


@pytest.mark.parametrize("metric", ["accuracy", "log_loss"])
def test_class_probabilities_are_scored_and_a_worse_model_alerts(metric: str) -> None:
    rng = np.random.default_rng(1)
    n, classes = 3000, np.array(["no", "yes"])
    chance = rng.uniform(0, 1, n)
    y = np.where(rng.random(n) < chance, "yes", "no")
    probabilities = np.c_[1 - chance, chance]
    times = pd.Series(pd.date_range("2024-01-01", periods=n, freq="20min"))
    scorer = get_metric(metric, "binary")
    at_training = scorer(y, probabilities, classes)
    fine = live_performance(y, probabilities, times, scorer, classes, reference=at_training)
    assert not fine.alert and fine.overall["score"] == pytest.approx(at_training)
    late = np.arange(n) >= n - 600
    blurred = np.where(late[:, None], probabilities[::-1], probabilities)  # the last rows get others' odds
    worse = live_performance(y, blurred, times, scorer, classes, reference=at_training, window="2D")
    assert worse.alert and worse.windows["status"].iloc[-1] == "drop"
    assert (worse.windows["end"] - worse.windows["start"] == pd.Timedelta(days=2)).all()


def test_without_times_there_is_one_window_and_without_reference_no_alert() -> None:
    y, prediction, _ = _live_rows(worse_after="2024-01-02")
    live = live_performance(y, prediction, None, get_metric("mae", "regression"))
    assert len(live.windows) == 1 and live.windows["rows"].iloc[0] == 3000 and not live.alert
    assert live.reason.startswith("No test score from training")


def test_unlabelled_rows_are_left_out_and_too_few_never_alert() -> None:
    y, prediction, times = _live_rows(n=200)
    labels = y.astype(object)
    labels[20:] = None
    live = live_performance(labels, prediction + 5, times, get_metric("rmse", "regression"), reference=1.0)
    assert live.overall["rows"] == 20 and not live.alert
    assert live.reason == "Only 20 labelled rows, fewer than 30: too few to judge the live RMSE."


def test_dates_far_in_the_future_or_past_are_summarised_as_seconds() -> None:
    from homl.evaluate._drift_stats import numeric_values

    seconds = numeric_values(pd.Series(["2020-01-01", "9999-12-31", "1600-01-01", None]), "datetime")
    assert seconds[0] == pd.Timestamp("2020-01-01").timestamp() and seconds[1] > 2.5e11 and seconds[2] < -1e10
    assert np.isnan(seconds[3])
