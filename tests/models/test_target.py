"""Regression on a transformed target: offered for skewed targets, fitted and inverted by the pipeline."""

import numpy as np
import pandas as pd
import pytest

from homl.data import infer_schema
from homl.errors import ConfigError
from homl.models import TARGET_TRANSFORM, build_pipeline, get_spec, target_space
from homl.registry import FORMATS


def _skewed_table(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """A price-like target: the exponential of a linear function, so its log is linear."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n)})
    frame["price"] = np.exp(0.8 * frame["a"] - 0.5 * frame["b"] + 0.1 * rng.normal(size=n))
    return frame


def test_only_skewed_targets_are_offered_transforms_and_log_needs_no_negative_values():
    rng = np.random.default_rng(1)
    assert target_space(rng.normal(size=500)) == {}
    assert target_space(np.ones(50)) == {}
    assert set(target_space(rng.lognormal(size=500))[TARGET_TRANSFORM].options) == {"none", "log", "yeo-johnson"}
    shifted = rng.lognormal(size=500) - 2.0
    assert target_space(shifted)[TARGET_TRANSFORM].options == ("none", "yeo-johnson")


@pytest.mark.parametrize("family", ["ridge", "sgd"])
def test_a_log_target_lets_a_linear_model_learn_an_exponential_relation(family):
    frame = _skewed_table()
    schema = infer_schema(frame, "price")
    train, test = frame.iloc[:500], frame.iloc[500:]
    spec = get_spec(family)
    rmse, median_error = {}, {}
    for transform in ("none", "log", "yeo-johnson"):
        model = build_pipeline(spec, "regression", schema, {TARGET_TRANSFORM: transform}, seed=0)
        model.fit(train, train["price"].to_numpy())
        error = model.predict(test) - test["price"].to_numpy()
        assert np.all(np.isfinite(error))
        rmse[transform], median_error[transform] = np.sqrt(np.mean(error**2)), np.median(np.abs(error))
    # Transformed, the relation is (nearly) linear: typical errors fall several-fold, the RMSE too.
    for transform in ("log", "yeo-johnson"):
        assert median_error[transform] < 0.5 * median_error["none"]
        assert rmse[transform] < 0.8 * rmse["none"]


def test_a_transformed_target_model_saves_and_loads_with_the_trusted_types(tmp_path):
    frame = _skewed_table()
    model = build_pipeline(get_spec("lightgbm"), "regression", infer_schema(frame, "price"),
                           {TARGET_TRANSFORM: "log"}, seed=0)
    model.fit(frame, frame["price"].to_numpy())
    skops = FORMATS[".skops"]
    skops.dump(model, tmp_path / "model.skops")
    loaded = skops.load(tmp_path / "model.skops")
    np.testing.assert_allclose(loaded.predict(frame), model.predict(frame), rtol=1e-12)


def test_an_unknown_target_transform_is_refused_by_name():
    frame = _skewed_table(50)
    with pytest.raises(ConfigError, match=r"target:transform must be one of none, log, yeo-johnson; got 'cube'"):
        build_pipeline(get_spec("ridge"), "regression", infer_schema(frame, "price"), {TARGET_TRANSFORM: "cube"})
