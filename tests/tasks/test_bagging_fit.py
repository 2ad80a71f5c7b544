"""The finish bags the final model when it is cheap, and never with time-ordered folds."""

import numpy as np
import pandas as pd

import homl
from homl.models import FoldBagged


def _table(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n),
                          "day": pd.date_range("2024-01-01", periods=n, freq="D")})
    frame["y"] = 2 * frame["x"] - frame["z"] + rng.normal(scale=0.3, size=n)
    return frame


def _fit(frame: pd.DataFrame, **options) -> homl.FitResult:
    return homl.fit(frame, "y", models=["decision_tree"], tune=False, ensemble=False, time_limit=20, **options)


def test_a_cheap_winner_is_bagged_over_five_folds_and_said_so():
    result = _fit(_table())
    bag = result.model.steps[-1][1]
    assert isinstance(bag, FoldBagged) and len(bag.estimators_) == 5
    assert any("final model bagged" in note for note in result.notes)


def test_no_bag_without_bagging_or_with_a_time_column():
    for options in ({"bagging": False}, {"time_column": "day"}):
        result = _fit(_table(), **options)
        assert not isinstance(result.model.steps[-1][1], FoldBagged), options


def test_the_bag_on_the_training_rows_is_the_cross_validation_fold_models():
    from sklearn.ensemble import VotingRegressor
    from sklearn.frozen import FrozenEstimator

    result = _fit(_table(), refit_full=False)
    model = result.model
    assert isinstance(model, VotingRegressor) and len(model.estimators_) == result.metadata["cv"]["folds"] == 5
    assert all(isinstance(step, FrozenEstimator) for step in model.estimators_)
    assert any("cross-validation fold models" in note for note in result.notes)
    assert result.test_score is not None and result.test_score.value < 1.0  # noise 0.3, signal ~2.2


def test_a_final_booster_grows_on_every_row_the_rounds_cross_validation_kept_grown_with_the_rows():
    import re

    from homl.models import EarlyStopping

    result = homl.fit(_table(1500), "y", models=["lightgbm"], tune=False, ensemble=False, bagging=False,
                      time_limit=30)
    stopper = result.model.steps[-1][1]
    assert isinstance(stopper, EarlyStopping) and stopper.rounds is not None and stopper.held_out_.size == 0
    assert stopper.estimator_.booster_.num_trees() == stopper.rounds
    note = next(note for note in result.notes if note.startswith("boosters refitted"))
    kept = int(re.search(r"lightgbm (\d+)", note).group(1))
    # 1,500 rows in all; each fold learned from 4/5 of the 1,200 training rows.
    growth = (1500 / 960) ** 0.5
    assert "1.25 times on all rows" in note
    assert stopper.rounds == round(kept * growth) > kept
