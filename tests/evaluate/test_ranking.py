"""Ranking metrics and top-n selection, against small examples computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from homl.errors import ConfigError
from homl.evaluate._ranking import per_user_ranking, ranking_scores, top_items

LOG2_3 = np.log2(3)


def test_one_user_by_hand():
    # relevant {1, 2}: one hit at rank 2 of 3 (the third place is empty)
    scores = ranking_scores(np.array([[3, 1, -1]]), [np.array([1, 2])], k=3, n_items=4)
    assert scores == pytest.approx({
        "precision@3": 1 / 3, "recall@3": 1 / 2, "map@3": (1 / 2) / 2,
        "ndcg@3": (1 / LOG2_3) / (1 + 1 / LOG2_3), "hit_rate@3": 1.0, "coverage@3": 2 / 4,
    })


def test_more_relevant_than_k_and_averages_over_users():
    recommended = np.array([[0, 1], [5, 6], [2, 3]])
    relevant = [np.array([0, 1, 2, 3]), np.array([9]), np.array([], dtype=int)]  # third user: skipped
    table = per_user_ranking(recommended, relevant, k=2)
    assert list(table["user"]) == [0, 1]
    assert table["precision@2"].tolist() == [1.0, 0.0]
    assert table["recall@2"].tolist() == [0.5, 0.0]
    assert table["ndcg@2"].tolist() == pytest.approx([1.0, 0.0])  # ideal over min(k, 4) = 2 places
    assert table["map@2"].tolist() == pytest.approx([1.0, 0.0])
    assert table["hit@2"].tolist() == [1.0, 0.0]
    scores = ranking_scores(recommended, relevant, k=2, n_items=10)
    assert scores["precision@2"] == 0.5 and scores["hit_rate@2"] == 0.5
    assert scores["coverage@2"] == pytest.approx(6 / 10)  # items 0, 1, 2, 3, 5, 6


def test_duplicates_never_count_twice():
    recommended = np.array([[4, 4, 7, 4]])
    relevant = [np.array([4, 4, 7])]  # repeated relevant item: two distinct items
    table = per_user_ranking(recommended, relevant, k=4)
    assert table["precision@4"].item() == 2 / 4
    assert table["recall@4"].item() == 1.0
    assert table["ndcg@4"].item() == pytest.approx((1 + 1 / 2) / (1 + 1 / LOG2_3))  # hits at ranks 1 and 3
    assert table["map@4"].item() == pytest.approx((1 + 2 / 3) / 2)


def test_k_beyond_the_columns_pads_and_only_the_first_k_count():
    recommended = np.array([[1, 2, 3]])
    assert ranking_scores(recommended, [np.array([3])], k=2, n_items=5)["hit_rate@2"] == 0.0
    wide = ranking_scores(recommended, [np.array([3])], k=5, n_items=5)
    assert wide["precision@5"] == pytest.approx(1 / 5) and wide["coverage@5"] == pytest.approx(3 / 5)


def test_no_user_with_relevant_items_gives_nan():
    scores = ranking_scores(np.array([[0, 1]]), [np.array([], dtype=int)], k=2, n_items=2)
    assert np.isnan(scores["precision@2"]) and scores["coverage@2"] == 1.0


def test_bad_arguments_explain():
    with pytest.raises(ConfigError, match="k must be"):
        ranking_scores(np.array([[0]]), [np.array([0])], k=0, n_items=1)
    with pytest.raises(ConfigError, match="for 1 users and recommendations for 2"):
        per_user_ranking(np.array([[0], [1]]), [np.array([0])], k=1)
    with pytest.raises(ConfigError, match="2 rows of scores"):
        top_items(np.zeros((2, 3)), 1, [np.array([0])])


def test_top_items_best_first_with_exclusions_and_padding():
    scores = np.array([[0.1, 0.9, 0.5, 0.7], [3.0, 1.0, 2.0, 0.0]])
    codes, best = top_items(scores, 3, [np.array([1]), np.array([0, 1, 2, 9])])  # 9: not an item, ignored
    assert codes.tolist() == [[3, 2, 0], [3, -1, -1]]
    assert best[0].tolist() == [0.7, 0.5, 0.1] and best[1, 0] == 0.0 and np.isnan(best[1, 1:]).all()
    assert scores[0, 1] == 0.9  # the caller's scores are left as they were


def test_top_items_more_than_the_catalogue_and_ties():
    codes, _ = top_items(np.array([[1.0, 2.0, 2.0]]), 5)
    assert codes.tolist() == [[1, 2, 0, -1, -1]]  # ties to the lower code
    many = np.random.default_rng(0).random((50, 300))
    codes, best = top_items(many, 10)
    assert np.array_equal(codes, np.argsort(-many, axis=1)[:, :10])
    assert np.array_equal(best, -np.sort(-many, axis=1)[:, :10])
