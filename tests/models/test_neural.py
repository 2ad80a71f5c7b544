"""The Keras multilayer perceptrons: scikit-learn's checks, each training technique shown by its
effect, saving, and the family in ``homl fit``. Skipped where the deep extra is not installed."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

os.environ.setdefault("KERAS_BACKEND", "torch")  # as homl sets it before importing Keras
pytest.importorskip("keras", reason="the neural networks need the deep extra: pip install 'homl[deep]'")

import homl  # noqa: E402
from homl.errors import ConfigError  # noqa: E402
from homl.models import (  # noqa: E402
    MLPClassifier,
    MLPRegressor,
    candidates_for,
    find_learning_rate,
    network_summary,
)
from homl.models._neural import scheduled_rate  # noqa: E402

_SMALL = {"n_hidden": 1, "n_neurons": 32, "epochs": 30, "learning_rate": 0.01, "random_state": 0}
_FLOAT32 = ("a float32 network: a batch and its subset go through different matrix kernels, so predictions "
            "agree to about 1e-6, not the 1e-7 the check asks")


def _expected_failures(estimator):
    return {"check_methods_subset_invariance": _FLOAT32} if isinstance(estimator, MLPRegressor) else {}


@parametrize_with_checks([MLPClassifier(**_SMALL), MLPRegressor(**_SMALL)], expected_failed_checks=_expected_failures)
def test_sklearn_check(estimator, check):
    check(estimator)


def _noisy_regression(rows: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 5))
    return X, X[:, 0] - 2 * X[:, 1] + rng.normal(scale=1.0, size=rows)


def test_early_stopping_keeps_the_weights_of_the_best_epoch() -> None:
    X, y = _noisy_regression(120)
    model = MLPRegressor(n_neurons=256, learning_rate=0.01, patience=5, epochs=200, random_state=0).fit(X, y)
    val_loss = model.history_["val_loss"]
    assert model.n_epochs_ == model.best_epoch_ + 5 < 200  # stopped 5 epochs after the best
    assert model.best_epoch_ == int(np.argmin(val_loss)) + 1
    held = np.random.default_rng(0).permutation(len(X))[:12]  # the rows held out, as fit drew them
    target = ((y[held] - model.y_mean_) / model.y_scale_).astype(np.float32)
    now = model.model_.evaluate(X[held].astype(np.float32), target, verbose=0)
    assert now == pytest.approx(min(val_loss), rel=1e-4) and now < val_loss[-1]


def test_a_seeded_fit_is_repeated_exactly_and_another_seed_differs() -> None:
    X, y = _noisy_regression()
    first, again = (MLPRegressor(**_SMALL).fit(X, y).predict(X) for _ in range(2))
    other = MLPRegressor(**{**_SMALL, "random_state": 1}).fit(X, y).predict(X)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_warm_start_and_partial_fit_go_on_training() -> None:
    X, y = _noisy_regression()
    model = MLPRegressor(**{**_SMALL, "epochs": 3, "early_stopping": False}).fit(X, y)
    after_three = model.history_["loss"][-1]
    model.set_params(warm_start=True).fit(X, y)
    assert len(model.history_["loss"]) == 6 and model.history_["loss"][-1] < after_three
    labels = np.where(X[:, 0] > 0, "yes", "no")
    classifier = MLPClassifier(**_SMALL)
    with pytest.raises(ValueError, match="first call to partial_fit needs classes="):
        classifier.partial_fit(X, labels)
    for _ in range(5):
        classifier.partial_fit(X, labels, classes=["no", "yes"])
    assert len(classifier.history_["loss"]) == 5 and classifier.history_["loss"][-1] < classifier.history_["loss"][0]
    assert classifier.score(X, labels) > 0.9


@pytest.mark.parametrize("schedule", ["exponential", "power", "piecewise", "1cycle"])
def test_a_schedule_sets_the_rates_it_promises(schedule) -> None:
    X, y = _noisy_regression(100)
    model = MLPRegressor(**{**_SMALL, "epochs": 12, "early_stopping": False, "lr_schedule": schedule}).fit(X, y)
    promised = [scheduled_rate(schedule, 0.01, epoch, 12) for epoch in range(12)]
    np.testing.assert_allclose(model.history_["learning_rate"], promised, rtol=1e-5)
    assert promised[0] != promised[-1]  # the rate does move
    if schedule == "1cycle":  # up, then down below where it started
        assert max(promised) == pytest.approx(0.01, rel=0.1) and promised[-1] < promised[0] < max(promised)


def test_the_plateau_schedule_halves_the_rate_when_the_held_out_loss_stalls() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 5)), rng.normal(size=200)  # nothing to learn: the held-out loss soon stalls
    model = MLPRegressor(**{**_SMALL, "lr_schedule": "plateau", "patience": 6}).fit(X, y)
    rates = model.history_["learning_rate"]
    assert rates[0] == pytest.approx(0.01) and min(rates) <= 0.005 + 1e-9
    assert all(later <= earlier for earlier, later in zip(rates, rates[1:]))


def test_the_learning_rate_finder_suggests_a_rate_below_the_divergence_point() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 5))
    y = X[:, 0] - 2 * X[:, 1] + rng.normal(scale=0.1, size=2000)
    estimator = MLPRegressor(random_state=0)
    search = find_learning_rate(estimator, X, y)
    assert search.diverged_at is not None and 1e-6 < search.suggested < search.diverged_at / 5
    assert search.losses[-1] > 4 * min(search.losses) and len(search.rates) == len(search.losses) > 20
    assert not hasattr(estimator, "model_") and estimator.learning_rate == 5e-4  # a copy was probed
    assert MLPRegressor(**{**_SMALL, "learning_rate": search.suggested}).fit(X, y).score(X, y) > 0.9


def test_mc_dropout_gives_a_spread_around_the_prediction() -> None:
    X, y = _noisy_regression()
    model = MLPRegressor(**{**_SMALL, "dropout": 0.3}).fit(X, y)
    mean, std = model.predict(X[:50], return_std=True)
    assert mean.shape == std.shape == (50,) and (std > 0).all()
    assert np.corrcoef(mean, model.predict(X[:50]))[0, 1] > 0.95
    classifier = MLPClassifier(**{**_SMALL, "dropout": 0.3}).fit(X, X[:, 0] > 0)
    proba, spread = classifier.predict_proba(X[:50], return_std=True)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert spread.shape == proba.shape and (spread > 0).any()
    with pytest.raises(ValueError, match="needs dropout > 0"):
        MLPRegressor(**_SMALL).fit(X, y).predict(X, return_std=True)


def test_a_training_killed_mid_way_resumes_from_its_last_checkpoint(tmp_path) -> None:
    folder, data = tmp_path / "checkpoints", tmp_path / "data.npz"
    X, y = _noisy_regression(2000)
    np.savez(data, X=X, y=y)
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(f"""
        import numpy as np
        from homl.models import MLPRegressor
        data = np.load({str(data)!r})
        MLPRegressor(n_hidden=1, n_neurons=16, epochs=100_000, early_stopping=False, random_state=0,
                     checkpoint_dir={str(folder)!r}).fit(data["X"], data["y"])
    """))
    training = subprocess.Popen([sys.executable, str(script)])
    state = folder / "checkpoint.json"
    deadline = time.monotonic() + 180
    while training.poll() is None and time.monotonic() < deadline:
        if state.exists() and json.loads(state.read_text())["epoch"] >= 3:
            break
        time.sleep(0.1)
    training.send_signal(signal.SIGKILL)  # kill -9: no handler runs, files may be mid-write
    training.wait()
    done = json.loads(state.read_text())["epoch"]
    assert done >= 3
    resumed = MLPRegressor(n_hidden=1, n_neurons=16, epochs=done + 2, early_stopping=False, random_state=0,
                           checkpoint_dir=folder).fit(X, y)
    assert resumed.initial_epoch_ == done and resumed.n_epochs_ == done + 2
    assert len(resumed.history_["loss"]) == done + 2
    assert resumed.history_["loss"][-1] < resumed.history_["loss"][0]
    other = MLPRegressor(n_hidden=2, n_neurons=16, epochs=5, checkpoint_dir=folder)
    with pytest.raises(ConfigError, match="checkpoint in .* is of another network"):
        other.fit(X, y)


def test_a_fit_deadline_stops_the_epochs_and_keeps_the_best_weights() -> None:
    from homl._deadline import fit_deadline

    X, y = _noisy_regression(2000)
    start = time.monotonic()
    with fit_deadline(start + 2.0):
        model = MLPRegressor(**{**_SMALL, "epochs": 100_000, "patience": 100_000}).fit(X, y)
    assert time.monotonic() - start < 10 and 1 <= model.n_epochs_ < 100_000
    assert model.best_epoch_ == int(np.argmin(model.history_["val_loss"])) + 1


def test_the_refit_trains_for_the_epochs_the_held_out_rows_chose() -> None:
    from sklearn.pipeline import make_pipeline

    from homl.models import stopped_rounds, with_rounds

    X, y = _noisy_regression()
    fitted = make_pipeline(MLPRegressor(**{**_SMALL, "learning_rate": 0.05})).fit(X, y)
    best = fitted[-1].best_epoch_
    assert stopped_rounds(fitted) == best < 30
    refit = with_rounds(make_pipeline(MLPRegressor(**_SMALL)), best).fit(X, y)[-1]
    assert refit.epochs == refit.n_epochs_ == best and not refit.early_stopping


def test_probabilities_follow_the_sorted_classes_and_sum_to_one() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    labels = np.array(["cat", "dog", "bird"])[np.argmax(X[:, :3], axis=1)]
    model = MLPClassifier(**_SMALL).fit(X, labels)
    proba = model.predict_proba(X)
    assert list(model.classes_) == ["bird", "cat", "dog"] and proba.shape == (300, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert model.score(X, labels) > 0.9


@pytest.mark.parametrize(("params", "message"), [
    ({"activation": "sigmoidal"}, r"'activation' parameter of MLPRegressor must be a str among .* Got 'sigmoidal'"),
    ({"optimizer": "lbfgs"}, r"'optimizer' parameter of MLPRegressor must be a str among .* Got 'lbfgs'"),
    ({"dropout": 1.0}, r"'dropout' parameter of MLPRegressor must be a float in the range \[0.0, 1.0\)"),
    ({"n_neurons": 0}, r"'n_neurons' parameter of MLPRegressor must be an int in the range \[1, inf\)"),
])
def test_bad_parameters_name_the_parameter(params, message) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        MLPRegressor(**params).fit(np.ones((4, 2)), np.arange(4.0))


def test_pickled_model_predicts_the_same_and_code_in_its_config_is_refused() -> None:
    X, y = _noisy_regression()
    model = MLPRegressor(**_SMALL).fit(X, y)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(X), model.predict(X))
    import keras

    state = model.__getstate__()
    carrier = keras.Sequential([keras.Input((5,)), keras.layers.Lambda(lambda t: t * 2), keras.layers.Dense(1)])
    state["_keras_config"], state["_keras_weights"] = carrier.to_json(), carrier.get_weights()
    with pytest.raises(ValueError, match="safe_mode"):
        MLPRegressor().__setstate__(state)


def test_without_keras_a_fit_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "keras", None)  # import keras now fails
    with pytest.raises(ConfigError, match=r"pip install 'homl\[deep\]'"):
        MLPClassifier().fit(np.ones((4, 2)), [0, 1, 0, 1])


def test_the_mlp_family_joins_homl_fit_only_when_asked_and_is_saved(tmp_path) -> None:
    assert "mlp" not in [spec.name for spec in candidates_for("regression")]
    assert [spec.name for spec in candidates_for("regression", ["mlp"])] == ["mlp"]
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300),
                          "colour": rng.choice(["red", "blue"], 300)})
    frame["y"] = 3 * frame["a"] - frame["b"] + (frame["colour"] == "red") + rng.normal(scale=0.1, size=300)
    result = homl.fit(frame, "y", time_limit=20, models=["mlp"], cv=3, output=tmp_path / "m")
    assert result.leaderboard["model"].iloc[0] == "mlp" and result.test_score.value < 0.5  # RMSE, target sd ~3.3
    loaded = homl.load(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict(frame.head(20)), result.model.predict(frame.head(20)), rtol=1e-6)
    assert network_summary(loaded.pipeline).startswith("network: 2 hidden layers of 512 relu units")
    assert any(line.startswith("network: ") for line in loaded.info().summary)
    assert "epoch-curves" in loaded.report().figures  # loss per epoch in the model report
