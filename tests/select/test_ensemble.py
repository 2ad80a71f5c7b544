"""Ensemble weights on out-of-fold predictions whose best blend is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold

from homl.metrics import get_metric
from homl.select import LAYERED, Evaluation, Folds, greedy_weights, layered, refit_time, stacking, voting


def folds(n: int = 400, seed: int = 0) -> Folds:
    """Four folds over a regression target scored by RMSE."""
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    splits = list(KFold(4, shuffle=True, random_state=seed).split(np.arange(n)))
    return Folds(X=pd.DataFrame({"row": np.arange(n)}), y=y, splits=splits,
                 metric=get_metric("rmse", "regression"), task="regression")


def member(name: str, oof: np.ndarray, on: Folds) -> Evaluation:
    return Evaluation(name, {}, on.score_folds(oof), 1.0, oof)


def noisy(on: Folds, scale: float, seed: int) -> np.ndarray:
    return on.y + np.random.default_rng(seed).normal(0, scale, len(on.y))


def test_greedy_weights_put_everything_on_a_perfect_member() -> None:
    on = folds()
    oofs = [noisy(on, 1.0, 1), on.y.copy(), noisy(on, 0.5, 2)]
    np.testing.assert_array_equal(greedy_weights(oofs, on, np.arange(len(on.y))), [0.0, 1.0, 0.0])


def test_greedy_weights_split_evenly_between_opposite_biases() -> None:
    # y + 1 and y - 1 average to y exactly: half each, up to one round of 25.
    on = folds()
    weights = greedy_weights([on.y + 1, on.y - 1], on, np.arange(len(on.y)))
    assert weights.sum() == pytest.approx(1.0)
    assert sorted(weights) == pytest.approx([12 / 25, 13 / 25])


def test_greedy_weights_read_only_the_rows_given() -> None:
    # The first member is perfect on the first half of the rows only: those rows choose it.
    on = folds()
    half = np.arange(len(on.y)) < len(on.y) // 2
    first = np.where(half, on.y, on.y + 3)
    second = on.y + 0.5
    np.testing.assert_array_equal(greedy_weights([first, second], on, np.flatnonzero(half)), [1.0, 0.0])
    np.testing.assert_array_equal(greedy_weights([first, second], on, np.flatnonzero(~half)), [0.0, 1.0])


def test_voting_averages_the_best_members_and_leaves_out_a_poor_one() -> None:
    on = folds()
    good = [member("a", noisy(on, 1.0, 1), on), member("b", noisy(on, 1.0, 2), on)]
    poor = member("poor", noisy(on, 5.0, 3), on)
    vote = voting([poor, *good], on)
    assert vote.name == "voting" and vote.stage == "ensemble"
    assert vote.params == {"a": 0.5, "b": 0.5}
    np.testing.assert_allclose(vote.oof, (good[0].oof + good[1].oof) / 2)
    # Independent errors of equal size: the average's RMSE is about 1/sqrt(2) of each one's.
    assert vote.mean == pytest.approx(min(m.mean for m in good) / np.sqrt(2), rel=0.15)
    assert vote.fit_time == 2.0


def test_voting_needs_two_members() -> None:
    on = folds()
    assert voting([member("a", noisy(on, 1.0, 1), on)], on) is None


def test_stacking_scores_each_fold_with_weights_learned_without_it() -> None:
    on = folds()
    members = [member("a", on.y + 1, on), member("b", on.y - 1, on), member("c", noisy(on, 2.0, 4), on)]
    stack = stacking(members, on)
    oofs = [m.oof for m in members]
    for score, (_, valid) in zip(stack.fold_scores, on.splits):
        others = np.setdiff1d(np.arange(len(on.y)), valid)
        weights = greedy_weights(oofs, on, others)
        blend = sum(w * o[valid] for w, o in zip(weights, oofs))
        assert score == pytest.approx(on.metric(on.y[valid], blend))
    assert set(stack.params) == {"a", "b"}  # the noisy member takes no weight
    assert sum(stack.params.values()) == pytest.approx(1.0)
    assert stack.mean < 0.1  # the opposite biases cancel


def test_stacking_that_keeps_a_single_member_is_no_ensemble() -> None:
    on = folds()
    assert stacking([member("perfect", on.y.copy(), on), member("noisy", noisy(on, 1.0, 1), on)], on) is None
    assert stacking([member("alone", on.y.copy(), on)], on) is None


def test_a_family_entered_twice_is_named_by_stage() -> None:
    on = folds()
    tuned = Evaluation("ridge", {}, on.score_folds(on.y + 1), 1.0, on.y + 1, stage="tuned")
    default = Evaluation("ridge", {}, on.score_folds(on.y - 1), 1.0, on.y - 1)
    assert set(voting([tuned, default], on).params) == {"ridge (tuned)", "ridge (short-list)"}


def _second_layer(columns: list[str]):
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline

    from homl.models import STACK_PREFIX

    assert all(c.startswith(STACK_PREFIX) for c in columns)
    return make_pipeline(Ridge(alpha=1e-6))


def test_the_second_layer_is_cross_validated_on_the_members_predictions_beside_the_columns() -> None:
    # y = row/100 + noise; member a knows the noise, member b knows the trend only through the column.
    on = folds()
    on.y = on.X["row"].to_numpy() / 100 + on.y
    a = member("a", on.y - on.X["row"].to_numpy() / 100 + np.random.default_rng(5).normal(0, 0.05, len(on.y)), on)
    b = member("b", noisy(on, 2.0, 6), on)
    stack = layered([a, b], on, _second_layer, second="ridge")
    assert stack.name == LAYERED and stack.stage == "ensemble" and stack.extra_fit_time > 0
    assert stack.params == {"second layer": "ridge", "first layer": ["a", "b"]}
    assert [m for m, _ in stack.members] == [a, b] and stack.fit_time > a.fit_time + b.fit_time
    # Neither member alone comes close: the second layer adds a's correction to the column's trend.
    assert stack.mean < 0.1 < min(a.mean, b.mean)
    assert refit_time(stack, len(on.y), on) > refit_time(voting([a, b], on), len(on.y), on)


def test_no_second_layer_over_time_ordered_folds_or_a_single_member() -> None:
    from homl.data import SplitStrategy

    on = folds()
    members = [member("a", noisy(on, 1.0, 1), on), member("b", noisy(on, 1.0, 2), on)]
    assert layered(members[:1], on, _second_layer, second="ridge") is None
    on.strategy = SplitStrategy("time")
    assert layered(members, on, _second_layer, second="ridge") is None
