"""``homl.recommend`` end to end: explicit ratings (a MovieLens sample) and a generated purchase log."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import homl
from homl.errors import ConfigError, DataError, SchemaError, TargetError
from homl.report.recommend import SECTIONS

DATA = Path(__file__).parents[1] / "data"
RATINGS = DATA / "movielens_sample.csv"
MOVIES = DATA / "movielens_movies_sample.csv"


def purchase_log(n_users: int = 240, n_items: int = 120, groups: int = 4, seed: int = 0) -> pd.DataFrame:
    """Customers who buy mostly within their own group of products, some products popular with all,
    repeats included; customer and product codes are text."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(n_users):
        group = user % groups
        own = np.arange(n_items)[np.arange(n_items) % groups == group]
        bought = np.concatenate([rng.choice(own, 12, replace=False), rng.choice(8, 2, replace=False)])
        bought = np.concatenate([bought, rng.choice(bought, 3)])  # some bought twice
        rows += [(f"c{user:03d}", f"p{item:03d}", day) for day, item in enumerate(bought)]
    return pd.DataFrame(rows, columns=["customer", "product", "day"])


@pytest.fixture(scope="module")
def rated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("movies") / "model"
    result = homl.recommend(RATINGS, user="userId", item="movieId", rating="rating", items=MOVIES, time_limit=30,
                            output=folder)
    return result, folder


@pytest.fixture(scope="module")
def bought(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shop") / "model"
    result = homl.recommend(purchase_log(), user="customer", item="product", time="day", time_limit=20, output=folder)
    return result, folder


def test_ratings_beat_the_baselines_on_held_out_ratings(rated):
    result, _ = rated
    board = result.leaderboard
    assert {"Mean rating", "User and item biases"} <= set(board["name"])
    mean_rmse = board.loc[board["name"] == "Mean rating", "rmse"].item()
    assert board["rmse"].iloc[0] < mean_rmse and board["name"].iloc[0] == result.model.metadata["model_name"]
    assert result.test_scores["rmse"] < result.baseline_test_scores["rmse"] * 1.02
    assert 0.5 < result.test_scores["mae"] < result.test_scores["rmse"] < 1.1
    assert result.model.metadata["form"] == "ratings" and tuple(result.model.metadata["scale"]) == (0.5, 5.0)


def test_rating_predictions_survive_a_save_and_load_and_say_cold_starts(rated, caplog):
    result, folder = rated
    loaded = homl.load(folder)
    assert loaded.kind == "recommend"
    ratings = pd.read_csv(RATINGS)
    user, items = float(ratings["userId"].iloc[0]), ratings["movieId"].astype(str).unique()[:2]
    pairs = pd.DataFrame({"userId": [user, user, 999999.0, user], "movieId": [*items, items[0], "no-such-movie"]},
                         index=[7, 3, 11, 5])  # rows come back by position, in this order
    with caplog.at_level(logging.WARNING, logger="homl"):
        issues: list[str] = []
        predicted = loaded.predict_frame(pairs, issues=issues)
    assert list(predicted.columns) == ["rating", "cold_start"] and list(predicted.index) == list(pairs.index)
    assert predicted["cold_start"].tolist() == ["", "", "user", "item"]
    assert predicted["rating"].between(0.5, 5.0).all()
    assert any("never seen in training (cold_start = user)" in issue for issue in issues)
    np.testing.assert_allclose(predicted["rating"], result.predict_frame(pairs)["rating"])


def test_recommendations_leave_out_seen_items_and_name_them(rated):
    result, _ = rated
    ratings = pd.read_csv(RATINGS)
    user = ratings["userId"].iloc[0]
    top = result.recommend([user, "a-new-user"], n=5)
    assert list(top.columns) == ["userId", "movieId", "title", "rank", "score", "cold_start"]
    mine = top[top["userId"] == str(user)]
    assert mine["rank"].tolist() == [1, 2, 3, 4, 5] and mine["score"].is_monotonic_decreasing
    seen = set(ratings.loc[ratings["userId"] == user, "movieId"].astype(str))
    assert not seen & set(mine["movieId"])
    assert (top.loc[top["userId"] == "a-new-user", "cold_start"] == "user").all()


def test_similar_items_leave_out_the_item_and_refuse_an_unknown_one(rated):
    result, _ = rated
    item = str(pd.read_csv(RATINGS)["movieId"].value_counts().index[0])
    similar = result.similar_items(item, n=4)
    assert len(similar) == 4 and item not in set(similar["movieId"])
    assert similar["similarity"].is_monotonic_decreasing
    with pytest.raises(SchemaError, match="'nothing' was not seen in training"):
        result.similar_items("nothing")


def test_report_is_saved_and_rebuilt_from_the_model_directory(rated):
    result, folder = rated
    assert (folder / "report.html").exists()
    html = homl.load(folder).report().html()
    for title in SECTIONS:
        assert title in html
    assert "Toy Story" in html or "Forrest Gump" in html or "Pulp Fiction" in html  # names from the items table


def test_implicit_feedback_ranks_better_than_the_most_popular(bought):
    result, folder = bought
    meta = result.model.metadata
    assert meta["form"] == "implicit" and meta["metric"] == "ndcg@10"
    assert result.test_scores["precision@10"] > 1.2 * result.baseline_test_scores["precision@10"]
    assert any("occur more than once" in note for note in result.notes)
    loaded = homl.load(folder)
    top = loaded.recommend(["c001", "c002"], n=10)
    assert len(top) == 20 and set(top.columns) >= {"customer", "product", "rank", "score"}
    log = purchase_log()
    seen = set(log.loc[log["customer"] == "c001", "product"])
    assert not seen & set(top.loc[top["customer"] == "c001", "product"])
    own_group = top.loc[top["customer"] == "c001", "product"].str[1:].astype(int) % 4 == 1
    assert own_group.mean() >= 0.6  # mostly the customer's own kind of product


def test_implicit_pairs_are_scored_with_higher_scores_for_likely_items(bought):
    result, _ = bought
    pairs = pd.DataFrame({"customer": ["c001"] * 2 + ["nobody"], "product": ["p005", "p006", "p005"]})
    scored = result.predict_frame(pairs)
    assert list(scored.columns) == ["score", "cold_start"]
    assert scored["score"].iloc[0] > scored["score"].iloc[1]  # p005 is in c001's group (1), p006 is not
    assert scored["cold_start"].tolist() == ["", "", "user"]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"user": "user_id"}, SchemaError, "no column 'user_id' .*did you mean 'userId'"),
    ({"rating": "rating", "scale": (1, 5)}, TargetError, "outside the stated scale 1 to 5"),
    ({"top": 0}, ConfigError, "at least 1"),
    ({"test_size": 1.5}, ConfigError, "test_size"),
    ({"models": ["deep_magic"]}, ConfigError, "unknown recommender model"),
    ({"item_name": "title"}, ConfigError, "give the table too"),
])
def test_bad_settings_are_refused_before_any_training(kwargs, error, match):
    settings = {"user": "userId", "item": "movieId", "time_limit": 5, **kwargs}
    with pytest.raises(error, match=match):
        homl.recommend(RATINGS, **settings)


def test_a_log_where_nobody_has_two_interactions_cannot_be_tested():
    log = pd.DataFrame({"u": ["a", "b", "c"], "i": ["x", "y", "z"]})
    with pytest.raises(DataError, match="no user has two interactions"):
        homl.recommend(log, user="u", item="i", time_limit=5)


def test_item_attributes_rate_the_items_no_one_rated_yet():
    """Items of a "good" kind are rated one star higher: an item known only from the items table is
    predicted by its kind, and said to be a cold start."""
    rng = np.random.default_rng(0)
    kinds = {f"i{k:03d}": ("good|new" if k % 2 else "bad|new") for k in range(120)}
    rows = [(f"u{u:02d}", item, 3.0 + (1.0 if "good" in kinds[item] else -1.0) + rng.normal(0, 0.3))
            for u in range(60) for item in rng.choice(sorted(kinds)[:100], 25, replace=False)]
    log = pd.DataFrame(rows, columns=["user", "item", "stars"])
    table = pd.DataFrame({"item": list(kinds), "title": [f"Item {k}" for k in kinds], "kind": list(kinds.values())})
    result = homl.recommend(log, user="user", item="item", rating="stars", items=table, models=["factors"],
                            time_limit=10)
    assert any("attributes explain" in note and "the 20 items of the items table" in note for note in result.notes)
    pairs = pd.DataFrame({"user": ["u01", "u01", "u01"], "item": ["i101", "i102", "nowhere"]})
    scored = result.predict_frame(pairs)
    assert scored["cold_start"].tolist() == ["item", "item", "item"]
    good, bad, unknown = scored["stars"]
    assert good - bad > 1.2 and bad < unknown < good
    with pytest.raises(SchemaError, match="'i101' was not seen in training"):
        result.similar_items("i101")


def test_the_server_leaves_out_a_recommender_saying_why(bought, tmp_path, caplog):
    from homl.registry import Registry
    from homl.serve import ModelPool

    _, folder = bought
    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}")
    registry.add(folder, "shop")
    with caplog.at_level(logging.WARNING, logger="homl"):
        assert ModelPool(registry).names == []
    assert "shop is not served: a recommender" in caplog.text
    with pytest.raises(homl.HomlError, match="shop version 1 cannot be served: a recommender"):
        ModelPool(registry, ["shop"])


def _small_ratings() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    log = pd.DataFrame({"u": rng.integers(0, 30, 400), "i": rng.integers(0, 40, 400), "r": rng.integers(1, 6, 400)})
    return log.drop_duplicates(["u", "i"]).reset_index(drop=True)


def test_models_given_as_text_are_read_as_names_separated_by_commas():
    result = homl.recommend(_small_ratings(), user="u", item="i", rating="r", models="biases", time_limit=20)
    assert sorted(result.leaderboard["name"]) == ["Mean rating", "User and item biases"]
    both = homl.recommend(_small_ratings(), user="u", item="i", rating="r", models="biases, item_neighbours",
                          time_limit=20)
    assert {name.split(" (")[0] for name in both.leaderboard["name"]} == {
        "Mean rating", "User and item biases", "Item neighbours"}


def test_columns_named_by_numbers_are_matched_as_text_and_none_is_refused():
    log = _small_ratings().set_axis([0, 1, 2], axis=1)
    result = homl.recommend(log, user=0, item=1, rating=2, models=["biases"], time_limit=20)
    assert result.model.columns["user"] == "0" and result.model.output_column == "2"
    with pytest.raises(ConfigError, match="user= must name a column"):
        homl.recommend(log, user=None, item=1, time_limit=5)
    with pytest.raises(ConfigError, match="item= must name a column"):
        homl.recommend(log, user=0, item=None, time_limit=5)


def test_ratings_of_one_value_are_refused_before_any_training():
    with pytest.raises(TargetError, match="the one value 3 on every row; there is nothing to learn"):
        homl.recommend(_small_ratings().assign(r=3), user="u", item="i", rating="r", time_limit=5)


def test_when_every_recommender_fails_the_first_reason_is_told(monkeypatch):
    import homl.tasks._recommend_search as search

    def broken(*args, **kwargs):
        raise ValueError("the factors diverged")

    monkeypatch.setattr(search, "timed_fit", broken)
    with pytest.raises(DataError, match=r"every recommender failed on the table \(first: .*the factors diverged\)"):
        homl.recommend(_small_ratings(), user="u", item="i", rating="r", models=["biases"], time_limit=5)
