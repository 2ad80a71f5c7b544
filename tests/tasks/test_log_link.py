"""The Poisson-loss LightGBM family: offered for skewed non-negative targets only."""

import numpy as np
import pandas as pd
import pytest

import homl
from homl.errors import ConfigError
from homl.models import get_spec, suits_log_link


def _counts(n: int = 600, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    frame["visits"] = rng.poisson(np.exp(0.8 + 1.1 * frame["a"] - 0.5 * frame["b"])) + shift
    return frame


def test_only_skewed_targets_that_are_never_negative_suit_a_log_link():
    rng = np.random.default_rng(1)
    assert suits_log_link(rng.lognormal(size=400))
    assert suits_log_link(_counts()["visits"].to_numpy())
    assert not suits_log_link(rng.normal(size=400))  # not skewed
    assert not suits_log_link(rng.lognormal(size=400) - 1.0)  # below zero
    assert not suits_log_link(np.zeros(50))
    assert get_spec("lightgbm_poisson").log_link and not get_spec("lightgbm").log_link


def test_the_poisson_family_joins_the_short_list_on_counts_and_is_left_out_below_zero():
    counts = homl.fit(_counts(), "visits", models=["lightgbm", "lightgbm_poisson"], tune=False, ensemble=False,
                      time_limit=20)
    board = counts.leaderboard.set_index("model")
    assert {"lightgbm", "lightgbm_poisson"} <= set(board.index)
    assert np.isfinite(board.loc["lightgbm_poisson", "cv_mean"])

    # Unnamed, it is left out quietly where it does not suit the target.
    from homl.models import candidates_for
    from homl.tasks._settings import TrainTest
    from homl.tasks.tabular import _for_target

    every = candidates_for("regression")
    assert "lightgbm_poisson" in {s.name for s in every}
    frame, shifted = _counts(), _counts(shift=-5.0)
    for y, suits in ((frame["visits"].to_numpy(), True), (shifted["visits"].to_numpy(), False)):
        rows = TrainTest(frame.head(500), y[:500], frame.tail(100), y[500:])
        kept = {s.name for s in _for_target(every, rows, "regression", named=False)}
        assert ("lightgbm_poisson" in kept) is suits and "lightgbm" in kept


def test_the_poisson_family_takes_the_target_as_it_is():
    from homl.data import infer_schema
    from homl.models import TARGET_TRANSFORM, build_pipeline
    from homl.tasks.tabular import _context, _space

    frame = _counts()
    context = _context(frame.drop(columns="visits"), infer_schema(frame, "visits"), frame["visits"].to_numpy())
    assert TARGET_TRANSFORM in _space("lightgbm", "regression", context)
    assert TARGET_TRANSFORM not in _space("lightgbm_poisson", "regression", context)
    with pytest.raises(ConfigError, match="lightgbm_poisson models the log of the target's mean itself"):
        build_pipeline(get_spec("lightgbm_poisson"), "regression", infer_schema(frame, "visits"),
                       {TARGET_TRANSFORM: "yeo-johnson"})


def test_naming_the_poisson_family_for_a_target_below_zero_is_refused():
    with pytest.raises(ConfigError, match="lightgbm_poisson models the log of the target's mean: it needs a skewed"):
        homl.fit(_counts(shift=-5.0), "visits", models=["lightgbm_poisson"], time_limit=10)
    # Counts in the training rows, but a value below zero among the test rows the final model learns from too.
    frame = _counts()
    test = frame.tail(100).assign(visits=lambda f: f["visits"] - 3.0)
    with pytest.raises(ConfigError, match="lightgbm_poisson models the log of the target's mean"):
        homl.fit(frame.head(500), "visits", test=test, models=["lightgbm_poisson"], time_limit=10)
