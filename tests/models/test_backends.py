"""The MLPs on a second Keras backend (JAX), run in a subprocess: the backend is fixed when Keras is
first imported, so it cannot change inside the test process. Skipped where JAX is not installed."""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")  # as homl sets it before importing Keras
pytest.importorskip("keras", reason="the neural networks need the deep extra: pip install 'homl[deep]'")

_SCRIPT = """
    import json, pickle, sys
    import keras
    import numpy as np
    from homl.models import MLPClassifier, MLPRegressor, training_device

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = X[:, 0] - 2 * X[:, 1] + rng.normal(scale=0.1, size=300)
    labels = np.where(X[:, 0] + X[:, 1] > 0, "up", "down")
    small = dict(n_neurons=16, epochs=5, learning_rate=0.01, random_state=0)
    regressor = MLPRegressor(**small, dropout=0.1).fit(X, y)
    classifier = MLPClassifier(**small).fit(X, labels)
    predictions, proba = regressor.predict(X), classifier.predict_proba(X)
    again = pickle.loads(pickle.dumps(regressor))
    mean, std = regressor.predict(X[:50], return_std=True)
    with open(sys.argv[1], "wb") as file:
        pickle.dump(regressor, file)
    np.save(sys.argv[2], predictions)
    print(json.dumps({
        "backend": keras.backend.backend(), "device": training_device(), "fitted_on": regressor.device_,
        "shapes": [list(predictions.shape), list(proba.shape), list(std.shape)],
        "finite": bool(np.isfinite(predictions).all() and np.isfinite(proba).all()),
        "r2": regressor.score(X, y), "accuracy": classifier.score(X, labels),
        "majority": float(max(np.mean(labels == "up"), np.mean(labels == "down"))),
        "classes": classifier.classes_.tolist(), "proba_sums": float(np.abs(proba.sum(axis=1) - 1).max()),
        "pickle_difference": float(np.abs(again.predict(X) - predictions).max()),
        "min_std": float(std.min()),
    }))
"""


@pytest.fixture(scope="module", params=["jax"])
def elsewhere(request, tmp_path_factory) -> dict[str, object]:
    """What the script found on the backend ``request.param``, and the files it left."""
    backend = request.param
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"no second Keras backend installed here: pip install {backend}")
    folder = tmp_path_factory.mktemp(backend)
    script, saved, predictions = folder / "run.py", folder / "regressor.pkl", folder / "predictions.npy"
    script.write_text(textwrap.dedent(_SCRIPT))
    run = subprocess.run([sys.executable, str(script), str(saved), str(predictions)], capture_output=True, text=True,
                         env={**os.environ, "KERAS_BACKEND": backend}, timeout=300)
    assert run.returncode == 0, f"the script failed on {backend}:\n{run.stderr[-3000:]}"
    found = json.loads(run.stdout.strip().splitlines()[-1])
    return {"backend": backend, "found": found, "saved": saved, "predictions": predictions}


def test_the_mlps_train_predict_and_pickle_on_another_backend(elsewhere) -> None:
    backend, found = elsewhere["backend"], elsewhere["found"]
    assert found["backend"] == found["device"] == found["fitted_on"] == backend
    assert found["shapes"] == [[300], [300, 2], [50]] and found["finite"]
    assert found["r2"] > 0.5  # the trivial baseline (the mean) scores 0
    assert found["accuracy"] > found["majority"] + 0.1 and found["classes"] == ["down", "up"]
    assert found["proba_sums"] < 1e-6
    assert found["pickle_difference"] == 0.0
    assert found["min_std"] > 0  # MC dropout spreads the draws


def test_a_network_pickled_on_another_backend_predicts_the_same_here(elsewhere) -> None:
    with open(elsewhere["saved"], "rb") as file:
        regressor = pickle.load(file)  # rebuilt on this process's backend (PyTorch by default)
    X = np.random.default_rng(0).normal(size=(300, 4))
    np.testing.assert_allclose(regressor.predict(X), np.load(elsewhere["predictions"]), rtol=1e-4, atol=1e-5)
