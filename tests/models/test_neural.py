"""The Keras multilayer perceptrons: scikit-learn's checks, each training technique shown by its
effect, saving, and the family in ``homl fit``. Skipped where the deep extra is not installed."""

from __future__ import annotations

import json
import os
import pickle
import re
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
from homl.models._keras import scheduled_rate  # noqa: E402

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

    from homl.models._keras import save_archive

    state = model.__getstate__()
    carrier = keras.Sequential([keras.Input((5,)), keras.layers.Lambda(lambda t: t * 2), keras.layers.Dense(1)])
    state["_keras_archive"] = save_archive(carrier)
    with pytest.raises(ConfigError, match="carries code"):
        MLPRegressor().__setstate__(state)
    legacy = {**state, "_keras_config": carrier.to_json(), "_keras_weights": carrier.get_weights()}
    del legacy["_keras_archive"]  # the form of the first saved networks is refused alike
    with pytest.raises(ConfigError, match="carries code"):
        MLPRegressor().__setstate__(legacy)


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
    import keras

    from homl.models._keras import find_network

    copy = keras.saving.load_model(tmp_path / "m" / "network.keras", safe_mode=True)  # Keras reads it alone
    for mine, theirs in zip(copy.get_weights(), find_network(loaded.pipeline).model_.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert any(line.startswith("network: ") for line in loaded.info().summary)
    assert "epoch-curves" in loaded.report().figures  # loss per epoch in the model report


def _first_kernel(model) -> np.ndarray:
    return np.asarray(model.model_.layers[0].get_weights()[0])


def test_gradient_clipping_bounds_each_step() -> None:
    X, y = _noisy_regression(200)
    y = y * 1000  # a large error, and so large gradients
    one_step = {"n_hidden": 1, "n_neurons": 8, "optimizer": "sgd", "learning_rate": 0.1, "epochs": 1,
                "batch_size": 200, "early_stopping": False, "random_state": 0}
    start = MLPRegressor(**{**one_step, "learning_rate": 1e-30}).fit(X, y)
    clipped = MLPRegressor(**one_step, clipnorm=0.01).fit(X, y)
    free = MLPRegressor(**one_step).fit(X, y)
    step = np.linalg.norm(_first_kernel(clipped) - _first_kernel(start))
    assert step <= 0.1 * 0.01 * 1.001  # the rate times the clipped gradient's norm
    assert np.linalg.norm(_first_kernel(free) - _first_kernel(start)) > 10 * step


def test_an_l1_penalty_drives_weights_to_zero_and_max_norm_caps_each_unit() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 20))
    y = X[:, 0] + rng.normal(scale=0.1, size=400)  # 19 of the 20 columns are noise
    settings = {"n_hidden": 1, "n_neurons": 16, "epochs": 40, "learning_rate": 0.01, "early_stopping": False,
                "random_state": 0}
    plain, sparse = MLPRegressor(**settings).fit(X, y), MLPRegressor(**settings, l1=0.01).fit(X, y)
    small = [np.mean(np.abs(_first_kernel(m)) < 1e-2) for m in (plain, sparse)]
    assert small[1] > 0.5 > small[0] + 0.2
    capped = MLPRegressor(**settings, max_norm=0.5).fit(X, y)
    norms = np.linalg.norm(_first_kernel(capped), axis=0)  # each unit's incoming weights
    assert norms.max() <= 0.5 + 1e-5 and np.linalg.norm(_first_kernel(plain), axis=0).max() > 0.5


def test_mixed_precision_computes_in_16_bits_and_keeps_32_bit_weights() -> None:
    X, y = _noisy_regression()
    model = MLPRegressor(**_SMALL, mixed_precision=True).fit(X, y)
    hidden, output = model.model_.layers[0], model.model_.layers[-1]
    assert hidden.compute_dtype == "bfloat16" and hidden.variable_dtype == "float32"  # no GPU here: bfloat16
    assert output.compute_dtype == "float32" and model.score(X, y) > 0.6
    import keras

    assert keras.config.dtype_policy().name == "float32"  # the global policy is left as it was


def test_tensorboard_logs_each_epochs_losses(tmp_path) -> None:
    import struct

    from tensorboardX.proto import event_pb2

    X, y = _noisy_regression()
    model = MLPRegressor(**{**_SMALL, "epochs": 6, "patience": 100}, tensorboard_dir=tmp_path).fit(X, y)
    [events] = list(tmp_path.glob("run-*/events.out.tfevents.*"))
    data, logged = events.read_bytes(), {}
    while data:  # TFRecord: length, its checksum, the record, its checksum
        (length,) = struct.unpack("<Q", data[:8])
        event = event_pb2.Event.FromString(data[12:12 + length])
        data = data[12 + length + 4:]
        for value in event.summary.value:
            logged.setdefault(value.tag, []).append((event.step, value.simple_value))
    assert [step for step, _ in logged["epoch/loss"]] == list(range(1, 7))
    np.testing.assert_allclose([v for _, v in logged["epoch/val_loss"]], model.history_["val_loss"], rtol=1e-5)


def test_a_search_can_stop_a_network_by_its_first_epochs() -> None:
    from homl.data import SplitStrategy
    from homl.metrics import get_metric
    from homl.select import cross_validate, make_folds
    from homl.select._executor import Pruned

    X, y = _noisy_regression(300)
    folds = make_folds(pd.DataFrame(X), y, "regression", get_metric("rmse", "regression"), SplitStrategy(n_folds=3))
    seen: list[tuple[int, float]] = []

    def watcher(epoch: int, loss: float) -> None:
        seen.append((epoch, loss))
        if epoch == 3:
            raise Pruned()

    with pytest.raises(Pruned):
        cross_validate("mlp", MLPRegressor(**_SMALL), folds, on_epoch=watcher)
    assert [epoch for epoch, _ in seen] == [1, 2, 3] and all(loss > 0 for _, loss in seen)
    seen.clear()
    cross_validate("mlp", MLPRegressor(**{**_SMALL, "epochs": 4}), folds,
                   on_epoch=lambda epoch, loss: seen.append((epoch, loss)))
    assert [epoch for epoch, _ in seen] == [1, 2, 3, 4]  # the first fold only


def test_a_network_trains_on_a_file_streamed_block_by_block(tmp_path) -> None:
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(3000, 4)), columns=list("abcd"))
    frame["y"] = 2 * frame.a - frame.b + rng.normal(scale=0.1, size=3000)
    frame["kind"] = np.where(frame.a + frame.c > 0, "high", "low")
    path = tmp_path / "rows.csv"
    frame.to_csv(path, index=False)
    features = frame[list("abcd")]
    scaler = StandardScaler().fit(features)  # a preparation fitted on a sample, as on a file too large to read

    def prepare(rows):
        return scaler.transform(rows[list("abcd")])

    regressor = MLPRegressor(**{**_SMALL, "epochs": 8}).fit_stream(path, "y", transform=prepare, block_rows=700,
                                                                     validation=frame.tail(300))
    assert regressor.score(features, frame.y) > 0.9 and regressor.n_features_in_ == 4
    assert len(regressor.history_["val_loss"]) == regressor.n_epochs_
    classifier = MLPClassifier(**{**_SMALL, "epochs": 5}).fit_stream(path, "kind", transform=prepare, block_rows=700)
    assert list(classifier.classes_) == ["high", "low"] and classifier.score(features, frame.kind) > 0.9
    with pytest.raises(ConfigError, match="no target column 'nope'"):
        MLPRegressor(**_SMALL).fit_stream(path, "nope", transform=prepare)


def test_category_columns_are_embedded_when_the_preparation_keeps_them_as_categories() -> None:
    from sklearn.pipeline import make_pipeline

    from homl.prep import TablePreprocessor

    rng = np.random.default_rng(0)
    levels = [f"shop{i}" for i in range(60)]
    offsets = dict(zip(levels, rng.normal(scale=3.0, size=60), strict=True))
    frame = pd.DataFrame({"x": rng.normal(size=3000), "shop": rng.choice(levels, 3000)})
    y = frame.shop.map(offsets).to_numpy() + frame.x.to_numpy() + rng.normal(scale=0.1, size=3000)
    model = make_pipeline(TablePreprocessor(categorical="native"),
                          MLPRegressor(**{**_SMALL, "epochs": 60, "patience": 5}))
    model.fit(frame[:2400], y[:2400])
    network = model[-1]
    [embedding] = [layer for layer in network.model_.layers if "embedding" in layer.name]
    levels_seen = network.category_levels_[0]
    assert embedding.input_dim == levels_seen + 1 and embedding.output_dim == round(1.6 * levels_seen**0.56)
    assert model.score(frame[2400:], y[2400:]) > 0.95  # each shop's offset learnt through its embedding
    unseen = pd.DataFrame({"x": [0.0], "shop": ["a shop never seen"]})
    assert np.isfinite(model.predict(unseen)).all() and "embeddings of 1 category column" in network.summary()
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(loaded.predict(frame[:50]), model.predict(frame[:50]), rtol=1e-6)


def test_homl_fit_caps_a_networks_epochs_and_names_it_in_info(tmp_path) -> None:
    from typer.testing import CliRunner

    from homl.cli import app

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    frame["y"] = frame.a - frame.b + rng.normal(scale=0.1, size=300)
    frame.to_csv(tmp_path / "rows.csv", index=False)
    model_dir = tmp_path / "m"
    run = CliRunner().invoke(app, ["fit", str(tmp_path / "rows.csv"), "--target", "y", "--models", "mlp",
                                   "--epochs", "3", "--time-limit", "20", "--cv", "3", "--no-ensemble",
                                   "-o", str(model_dir)])  # a stack of networks would name no single one
    assert run.exit_code == 0, run.output
    info = CliRunner().invoke(app, ["info", str(model_dir)])
    assert info.exit_code == 0 and "network: " in info.output  # the search may have chosen its layers
    epochs = int(re.search(r"(\d+)\s+epochs", info.output).group(1))
    assert 1 <= epochs <= 3
    with pytest.raises(ConfigError, match="epochs=0"):
        homl.fit(frame, "y", models=["mlp"], epochs=0)
