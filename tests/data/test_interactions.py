"""Reading interaction logs (bad input named, duplicates folded) and splitting them by user."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from homl.data import identifiers, per_user_folds, per_user_split, read_interactions
from homl.errors import ConfigError, DataError, SchemaError, TargetError


def test_ratings_are_read_with_their_scale_and_identifiers_as_text():
    log = pd.DataFrame({"userId": [1, 1, 2, 2], "movieId": [10.0, 20.0, 10.0, 30.0], "rating": [4, 3.5, 5, 1]})
    read = read_interactions(log, user="userId", item="movieId", rating="rating")
    assert read.explicit and read.scale == (1.0, 5.0)
    assert read.frame["item"].tolist() == ["10", "20", "10", "30"]  # 10.0 from a float column is item "10"
    assert read.columns == {"user": "userId", "item": "movieId", "rating": "rating", "time": None}
    assert (read.n_users, read.n_items) == (2, 3)


def test_repeated_pairs_are_averaged_for_ratings_and_counted_for_implicit_feedback():
    log = pd.DataFrame({"u": ["a", "a", "b", "b", "b"], "i": ["x", "x", "x", "y", "y"], "r": [2, 4, 5, 1, 1]})
    rated = read_interactions(log, user="u", item="i", rating="r")
    assert rated.frame.set_index(["user", "item"])["rating"].to_dict() == {("a", "x"): 3.0, ("b", "x"): 5.0,
                                                                           ("b", "y"): 1.0}
    assert any("rated more than once: their ratings averaged" in n for n in rated.notes)
    bought = read_interactions(log, user="u", item="i")
    assert bought.frame.set_index(["user", "item"])["rating"].to_dict() == {("a", "x"): 2.0, ("b", "x"): 1.0,
                                                                            ("b", "y"): 2.0}
    assert any("occur more than once" in n for n in bought.notes)


def test_rows_without_a_user_or_item_are_left_out_and_counted():
    log = pd.DataFrame({"u": ["a", None, "b", "b"], "i": ["x", "y", " ", "y"]})
    read = read_interactions(log, user="u", item="i")
    assert read.frame[["user", "item"]].values.tolist() == [["a", "x"], ["b", "y"]]
    assert any(n.startswith("2 row(s) without a value") and "the first is row 2" in n for n in read.notes)


def test_latest_time_of_a_pair_is_kept_and_text_times_are_read():
    log = pd.DataFrame({"u": ["a", "a", "b", "c"], "i": ["x", "x", "y", "x"],
                        "when": ["2024-01-01", "2024-03-01", "2024-02-01", "2024-02-02"]})
    read = read_interactions(log, user="u", item="i", time="when").frame.set_index(["user", "item"])
    assert read.loc[("a", "x"), "time"] == pd.Timestamp("2024-03-01", tz="UTC").timestamp()


@pytest.mark.parametrize("kwargs, error, fragments", [
    ({"user": "user_id", "item": "item"}, SchemaError, ["no column 'user_id' (the user column)", "did you mean 'user'"]),
    ({"user": "user", "item": "user"}, ConfigError, ["'user' is given for more than one role"]),
    ({"user": "user", "item": "item", "rating": "stars"}, TargetError, ["'stars'", "'lots' on row 3",
                                                                         "expected numbers"]),
    ({"user": "user", "item": "item", "rating": "score", "scale": (1, 5)}, TargetError,
     ["holds 7 on row 2", "outside the stated scale 1 to 5"]),
    ({"user": "user", "item": "item", "rating": "score", "scale": (5, 1)}, ConfigError, ["lower to a higher"]),
    ({"user": "user", "item": "item", "time": "when"}, SchemaError, ["'when' (the time)", "'soon' on row 1"]),
])
def test_bad_logs_are_refused_naming_the_column_and_row(kwargs, error, fragments):
    log = pd.DataFrame({"user": ["a", "b", "c"], "item": ["x", "y", "z"], "stars": [1, 2, "lots"],
                        "score": [1, 7, 3], "when": ["soon", "2024-01-01", "2024-01-02"]})
    with pytest.raises(error) as raised:
        read_interactions(log, **kwargs)
    for fragment in fragments:
        assert fragment in str(raised.value)


def test_a_single_user_or_item_is_refused():
    with pytest.raises(DataError, match="1 user.*at least 2 of each"):
        read_interactions(pd.DataFrame({"u": [1, 1], "i": [1, 2]}), user="u", item="i")
    with pytest.raises(DataError, match="1 item"):
        read_interactions(pd.DataFrame({"u": [1, 2], "i": [1, 1]}), user="u", item="i")


def test_identifiers_read_the_same_however_typed():
    assert identifiers(pd.Series([1.0, 2.0, None])).tolist() == ["1", "2", None]
    assert identifiers(pd.Series([1, 2])).tolist() == ["1", "2"]
    assert identifiers(pd.Series([" a ", "", 3])).tolist() == ["a", None, "3"]
    assert identifiers(pd.Series([1.5, 2.0])).tolist() == ["1.5", "2.0"]


def test_per_user_split_holds_out_a_share_of_every_user_never_all():
    rng = np.random.default_rng(0)
    users = rng.integers(0, 50, 2000)
    train, test = per_user_split(users, 0.25, seed=1)
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == len(users)
    assert set(users[train]) == set(users)  # every user still trains
    for user in np.unique(users):
        held = (users[test] == user).sum()
        assert held == max(1, round((users == user).sum() * 0.25))


def test_per_user_split_holds_out_the_latest_with_times_and_keeps_single_users():
    users = np.array([0, 0, 0, 0, 1, 2, 2])
    times = np.array([4.0, 1.0, 3.0, 2.0, 5.0, 9.0, 8.0])
    train, test = per_user_split(users, 0.5, times=times)
    assert test.tolist() == [0, 2, 5]  # user 0's two latest, user 2's latest; user 1 has a single row


def test_per_user_folds_cover_each_held_out_row_once():
    users = np.random.default_rng(3).integers(0, 30, 600)
    folds = per_user_folds(users, 4, seed=0)
    held = np.concatenate([test for _, test in folds])
    assert len(held) == len(np.unique(held))
    singles = [u for u in np.unique(users) if (users == u).sum() == 1]
    assert not np.isin(users[held], singles).any()
    for train, test in folds:
        assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == len(users)
    with pytest.raises(ConfigError, match="n_folds"):
        per_user_folds(users, 1)


def test_ratings_of_one_value_are_refused_as_nothing_to_learn() -> None:
    log = pd.DataFrame({"u": ["a", "a", "b", "b"], "i": ["x", "y", "x", "y"], "r": [3, 3, 3, 3]})
    with pytest.raises(TargetError, match="column 'r' .*the one value 3 on every row; there is nothing to learn"):
        read_interactions(log, user="u", item="i", rating="r")


def test_an_infinite_rating_is_refused_naming_its_row() -> None:
    log = pd.DataFrame({"u": ["a", "a", "b", "b"], "i": ["x", "y", "x", "y"], "r": [1.0, 2.0, np.inf, 4.0]})
    with pytest.raises(TargetError, match=r"column 'r' \(the rating\) holds inf on row 3"):
        read_interactions(log, user="u", item="i", rating="r")


def test_columns_named_by_numbers_are_matched_as_text_and_none_is_refused() -> None:
    log = pd.DataFrame({0: ["a", "a", "b", "b"], 1: ["x", "y", "x", "y"], 2: [1, 2, 3, 4]})
    found = read_interactions(log, user=0, item=1, rating=2)
    assert found.columns == {"user": "0", "item": "1", "rating": "2", "time": None}
    assert found.frame["rating"].tolist() == [1.0, 2.0, 3.0, 4.0]
    with pytest.raises(ConfigError, match="user= must name a column"):
        read_interactions(log, user=None, item=1)
