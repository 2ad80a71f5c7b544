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
