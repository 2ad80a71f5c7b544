"""A binary fit scored by a threshold metric predicts with the threshold its out-of-fold rows chose."""

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification

import homl


def _imbalanced(n: int = 3000) -> pd.DataFrame:
    X, y = make_classification(n_samples=n, n_features=8, n_informative=4, weights=[0.9], flip_y=0.05,
                               class_sep=0.6, random_state=3)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["label"] = np.where(y == 1, "yes", "no")
    return frame


def test_f1_sets_a_lower_threshold_that_predict_follows_and_the_model_keeps(tmp_path):
    frame = _imbalanced()
    result = homl.fit(frame, "label", metric="f1", models=["linear"], tune=False, ensemble=False, time_limit=20)
    decision = result.metadata["decision"]
    assert decision is not None and decision["metric"] == "f1"
    assert 0.05 < decision["threshold"] < 0.45
    proba = result.predict_proba(frame)
    positive = list(result.model.classes_).index("yes")
    expected = np.where(proba[:, positive] >= decision["threshold"], "yes", "no")
    np.testing.assert_array_equal(result.predict(frame), expected)
    result.save(tmp_path / "model")
    loaded = homl.load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.predict(frame), expected)
    assert loaded.metadata["decision"]["threshold"] == decision["threshold"]
    assert (loaded.predict_frame(frame)["label"].to_numpy() == expected).all()


def test_threshold_free_metrics_keep_the_plain_decision():
    result = homl.fit(_imbalanced(1000), "label", models=["linear"], tune=False, ensemble=False, time_limit=15)
    assert result.metadata["decision"] is None
