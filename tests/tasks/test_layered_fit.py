"""A two-layer stack that wins in cross-validation becomes the final model, saved and loaded like any other."""

import numpy as np
import pandas as pd
import pytest

import homl
from homl.models import LayeredStack, OutOfFold


def _table(n: int = 2600) -> pd.DataFrame:
    # A step in x that the tree finds, a sum of four columns that the linear model finds: each
    # member misses one, and a blend of the two cannot add them, but the second layer, which
    # sees the columns beside their predictions, can.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.uniform(-1, 1, n), **{f"z{i}": rng.normal(size=n) for i in range(4)}})
    frame["y"] = 3 * (frame["x"] > 0) + frame[[f"z{i}" for i in range(4)]].sum(axis=1) + rng.normal(scale=0.2, size=n)
    return frame


@pytest.fixture(scope="module")
def result() -> homl.FitResult:
    return homl.fit(_table(), "y", models=["decision_tree", "linear"], tune=False, time_limit=30)


def test_the_two_layer_stack_wins_and_is_the_final_model(result):
    board = result.leaderboard.set_index("model")
    assert result.winner == "layered_stack"
    assert board.loc["layered_stack", "cv_mean"] < min(board.loc[["voting", "stacking"], "cv_mean"])
    stack = result.model.steps[-1][1]
    assert isinstance(stack, LayeredStack) and len(stack.members_) == 2
    assert result.test_score.value < 0.5 * result.baseline_score.value


def test_the_final_second_layer_learns_from_out_of_fold_predictions_of_every_row(monkeypatch):
    # Refitted on all rows: the training rows' from cross-validation, the test rows' from the
    # first layer fitted on the training rows. The saved model keeps none of them.
    given = []
    original = LayeredStack.fit

    def fit(self, X, y, groups=None):
        given.append([member.oof for _, member in self.estimators if isinstance(member, OutOfFold)])
        return original(self, X, y, groups)

    monkeypatch.setattr(LayeredStack, "fit", fit)
    result = homl.fit(_table(), "y", models=["decision_tree", "linear"], tune=False, time_limit=30)
    assert result.winner == "layered_stack" and [len(g) for g in given] == [2, 2]
    n_train, n_test = result.metadata["split"]["train_rows"], result.metadata["split"]["test_rows"]
    assert [len(oof) for oof in given[0]] == [n_train] * 2 and [len(oof) for oof in given[1]] == [n_train + n_test] * 2
    np.testing.assert_array_equal(given[1][0][:n_train], given[0][0])  # the training rows' are cross-validation's
    assert all(np.isfinite(oof).all() for oof in given[1])
    stack = result.model.steps[-1][1]
    assert not any(isinstance(member, OutOfFold) for _, member in stack.estimators)


def test_a_saved_stack_loads_and_predicts_the_same(result, tmp_path):
    frame = _table(50)
    result.save(tmp_path / "model")
    loaded = homl.load(tmp_path / "model")
    np.testing.assert_allclose(loaded.predict(frame), result.model.predict(frame))


def test_no_two_layer_stack_on_a_small_table():
    result = homl.fit(_table(1000), "y", models=["decision_tree", "linear"], tune=False, time_limit=30)
    assert "layered_stack" not in set(result.leaderboard["model"])
    assert {"voting", "stacking"} <= set(result.leaderboard["model"])
