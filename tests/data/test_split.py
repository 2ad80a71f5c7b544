"""Framing the task and drawing the test set."""

import numpy as np
import pandas as pd
import pytest

from homl.data import check_target, detect_task, split_train_test
from homl.errors import ConfigError, TargetError


@pytest.mark.parametrize(
    "values, expected",
    [
        ([1.5, 2.25, 3.0, 4.75] * 5, "regression"),
        ([0, 1] * 10, "binary"),
        (["yes", "no"] * 10, "binary"),
        ([1, 2, 3] * 10, "multiclass"),
        (["a", "b", "c"] * 10, "multiclass"),
        (list(range(40)) * 2, "regression"),
    ],
)
def test_detect_task(values, expected):
    assert detect_task(pd.Series(values, name="y")) == expected


def test_task_override_is_checked():
    with pytest.raises(TargetError, match="holds text"):
        detect_task(pd.Series(["a", "b"] * 5, name="y"), "regression")
    with pytest.raises(ConfigError, match="unknown task 'clustering'"):
        detect_task(pd.Series([1, 2] * 5, name="y"), "clustering")


def test_single_class_and_lonely_class_are_refused():
    with pytest.raises(TargetError, match="single value"):
        detect_task(pd.Series([1] * 10, name="y"))
    with pytest.raises(TargetError, match=r"class\(es\) \['c'\] appear only once"):
        detect_task(pd.Series(["a", "b"] * 5 + ["c"], name="y"))


def test_missing_target_suggests_the_closest_name():
    frame = pd.DataFrame({"Survived": [0, 1], "Age": [3, 4]})
    with pytest.raises(TargetError, match="did you mean 'Survived'"):
        check_target(frame, "survived")
    with pytest.raises(TargetError, match="every row is missing"):
        check_target(frame.assign(Survived=np.nan), "Survived")


def test_split_is_stratified_reproducible_and_disjoint():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=1000), "y": rng.choice([0, 1], 1000, p=[0.9, 0.1])})
    train, test, note = split_train_test(frame, "y", "binary", seed=3)
    again, _, _ = split_train_test(frame, "y", "binary", seed=3)
    assert np.array_equal(train, again) and not set(train) & set(test)
    assert len(test) == 200 and "stratified" in note
    assert abs(frame.y.iloc[test].mean() - frame.y.mean()) < 0.01


def test_grouped_and_time_ordered_splits():
    frame = pd.DataFrame({
        "g": np.repeat(np.arange(50), 4), "t": pd.date_range("2020", periods=200, freq="D"), "y": np.arange(200.0),
    })
    train, test, _ = split_train_test(frame, "y", "regression", group_by="g")
    assert not set(frame.g.iloc[train]) & set(frame.g.iloc[test])
    train, test, note = split_train_test(frame, "y", "regression", time_column="t")
    assert frame.t.iloc[train].max() < frame.t.iloc[test].min() and "latest" in note


@pytest.mark.parametrize("n", [3, 5, 8, 12])
def test_tiny_regression_tables_are_split_at_random_when_the_bins_cannot_be_stratified(n):
    frame = pd.DataFrame({"x": np.arange(n), "y": np.linspace(0, 1, n)})
    train, test, note = split_train_test(frame, "y", "regression")
    assert len(test) == int(np.ceil(0.2 * n)) and len(train) + len(test) == n
    assert not set(train) & set(test)


def test_more_classes_than_test_rows_leave_two_training_rows_of_every_class():
    frame = pd.DataFrame({"x": np.arange(200), "y": [f"c{i % 50}" for i in range(200)]})
    train, test, note = split_train_test(frame, "y", "multiclass")
    assert len(test) == 40 and "keeping at least 2 training rows of every class" in note
    assert frame.y.iloc[train].value_counts().min() >= 2 and frame.y.iloc[train].nunique() == 50


def test_a_rare_class_keeps_its_rows_for_training():
    frame = pd.DataFrame({"x": np.arange(102), "y": ["a"] * 60 + ["b"] * 40 + ["c"] * 2})
    train, test, note = split_train_test(frame, "y", "multiclass")
    assert (frame.y.iloc[train] == "c").sum() == 2 and "a class has fewer than 5 rows" in note


def test_classes_of_mixed_types_are_stratified_as_text():
    frame = pd.DataFrame({"x": np.arange(80), "y": pd.Series([1, "a", 2, "b"] * 20, dtype=object)})
    _, test, note = split_train_test(frame, "y", "multiclass")
    assert "stratified" in note and frame.y.iloc[test].astype(str).value_counts().tolist() == [4, 4, 4, 4]


@pytest.mark.parametrize("target", [3, None, ["y"], ""])
def test_a_target_that_is_not_a_column_name_is_refused(target):
    with pytest.raises(ConfigError, match="the target must be the name of a column"):
        check_target(pd.DataFrame({"y": [1, 2]}), target)


def test_dates_as_the_target_are_refused_with_a_pointer_to_forecasting():
    days = pd.Series(pd.date_range("2020-01-01", periods=20).strftime("%Y-%m-%d"), name="when")
    with pytest.raises(TargetError, match="'when' holds dates.*homl forecast"):
        detect_task(days)
    assert detect_task(pd.Series([20200101, 20200102, 20210101] * 10, name="y")) == "multiclass"  # numbers stay


def test_numbers_written_with_currency_and_separators_are_a_regression_target():
    assert detect_task(pd.Series([f"${v:,.2f}" for v in np.linspace(900, 5000, 40)], name="price")) == "regression"
