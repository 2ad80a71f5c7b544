"""A user's own Keras model as an estimator: scikit-learn's checks, the book's wide & deep model
with two inputs and an auxiliary output, a subclassed model with custom pieces saved and loaded,
and transfer learning. Skipped where the deep extra is not installed."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

os.environ.setdefault("KERAS_BACKEND", "torch")  # as homl sets it before importing Keras
keras = pytest.importorskip("keras", reason="the neural networks need the deep extra: pip install 'homl[deep]'")

from homl.errors import ConfigError  # noqa: E402
from homl.models import (  # noqa: E402
    KerasClassifier,
    KerasRegressor,
    MLPClassifier,
    network_summary,
    register,
    reuse_layers,
)

_FAST = {"epochs": 30, "learning_rate": 0.01, "random_state": 0}


def _dense(n_features, n_outputs=None, n_classes=None):
    """A small network: as many outputs as targets, or one sigmoid / a softmax over the classes."""
    if n_outputs:
        units, activation = n_outputs, None
    else:
        units, activation = (1, "sigmoid") if (n_classes or 2) <= 2 else (n_classes, "softmax")
    return keras.Sequential([keras.Input((n_features,)), keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dense(units, activation=activation)])


_FLOAT32 = ("a float32 network: a batch and its subset go through different matrix kernels, so predictions "
            "agree to about 1e-6, not the 1e-7 the check asks")


def _expected_failures(estimator):
    return {"check_methods_subset_invariance": _FLOAT32} if isinstance(estimator, KerasRegressor) else {}


@parametrize_with_checks([KerasClassifier(_dense, **_FAST), KerasRegressor(_dense, **_FAST)],
                         expected_failed_checks=_expected_failures)
def test_sklearn_check(estimator, check):
    check(estimator)


def _wide_and_deep():
    """The book's wide & deep network: a wide path of 5 columns, a deep path of 6, and an
    auxiliary output on the deep path."""
    wide, deep = keras.Input((5,), name="wide"), keras.Input((6,), name="deep")
    hidden = keras.layers.Dense(30, activation="relu")(deep)
    hidden = keras.layers.Dense(30, activation="relu")(hidden)
    joined = keras.layers.concatenate([wide, hidden])
    main = keras.layers.Dense(1, name="main")(joined)
    auxiliary = keras.layers.Dense(1, name="auxiliary")(hidden)
    return keras.Model(inputs=[wide, deep], outputs=[main, auxiliary], name="wide_and_deep")


def _table(rows=600, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 8))
    return X, 3 * X[:, 0] + np.sin(2 * X[:, 5]) + X[:, 6] * X[:, 7] + rng.normal(scale=0.1, size=rows)


def test_the_wide_and_deep_model_learns_from_two_inputs_with_an_auxiliary_output():
    X, y = _table()
    model = KerasRegressor(_wide_and_deep, inputs=[[0, 1, 2, 3, 4], [2, 3, 4, 5, 6, 7]], loss_weights=[0.9, 0.1],
                           **{**_FAST, "epochs": 60})
    model.fit(X[:450], y[:450])
    assert model.score(X[450:], y[450:]) > 0.8
    assert {"main_loss", "auxiliary_loss", "val_main_loss"} <= set(model.history_)
    assert model.predict(X[:5]).shape == (5,)
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(loaded.predict(X[450:]), model.predict(X[450:]), rtol=1e-6)
    assert isinstance(loaded.model, str)  # a loaded estimator keeps the configuration, and refits from it
    assert clone(loaded).fit(X[:450], y[:450]).score(X[450:], y[450:]) > 0.8
    assert network_summary(model).startswith("network: Keras Functional 'wide_and_deep'")


def test_inputs_may_name_the_columns_of_a_table_and_unknown_ones_are_refused():
    import pandas as pd

    X, y = _table(200)
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(8)])
    wide, deep = ["c0", "c1", "c2", "c3", "c4"], ["c2", "c3", "c4", "c5", "c6", "c7"]
    KerasRegressor(_wide_and_deep, inputs=[wide, deep], **{**_FAST, "epochs": 2}).fit(frame, y)
    with pytest.raises(ConfigError, match="inputs names column 'nope'"):
        KerasRegressor(_wide_and_deep, inputs=[wide, [*deep[:-1], "nope"]], **_FAST).fit(frame, y)


def test_a_user_model_works_in_a_pipeline_and_cross_validation():
    X, y = _table(300)
    scores = cross_val_score(make_pipeline(StandardScaler(), KerasRegressor(_dense, **_FAST)), X, y, cv=3)
    assert scores.mean() > 0.5


@register
class _ScaledDense(keras.layers.Layer):
    """A custom layer: a dense layer whose output is multiplied by a fixed factor."""

    def __init__(self, units, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.factor = units, factor
        self.dense = keras.layers.Dense(units)

    def call(self, inputs):
        return self.dense(inputs) * self.factor

    def get_config(self):
        return {**super().get_config(), "units": self.units, "factor": self.factor}


@register
class _HuberLoss(keras.losses.Loss):
    """The book's custom loss: Huber with a threshold."""

    def __init__(self, threshold=1.0, **kwargs):
        super().__init__(**kwargs)
        self.threshold = threshold

    def call(self, y_true, y_pred):
        error = y_true - y_pred
        small = keras.ops.abs(error) < self.threshold
        return keras.ops.where(small, keras.ops.square(error) / 2,
                               self.threshold * keras.ops.abs(error) - self.threshold**2 / 2)

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


@register
class _ResidualModel(keras.Model):
    """A subclassed model: a hidden layer, the custom layer and a skip connection."""

    def __init__(self, units=16, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(units, activation="relu")
        self.scaled = _ScaledDense(units, factor=0.5)
        self.out = keras.layers.Dense(1)

    def call(self, inputs):
        hidden = self.hidden(inputs)
        return self.out(hidden + self.scaled(hidden))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def _residual(n_features):
    model = _ResidualModel(16)
    model(keras.ops.zeros((1, n_features)))  # one call builds every layer
    return model


def test_a_subclassed_model_with_custom_pieces_trains_saves_and_loads():
    X, y = _table(400)
    model = KerasRegressor(_residual, loss=_HuberLoss(threshold=2.0), metrics=["mae"], **_FAST).fit(X, y)
    assert model.score(X, y) > 0.7 and "mae" in model.history_
    assert isinstance(model.model_.loss, _HuberLoss) and model.model_.loss.threshold == 2.0
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-6)
    assert loaded.model_.loss.threshold == 2.0  # the loss comes back with its setting


def test_a_network_with_an_unregistered_piece_says_what_to_import():
    X, y = _table(100)
    saved = pickle.dumps(KerasRegressor(_residual, **{**_FAST, "epochs": 1}).fit(X, y))
    custom = keras.saving.get_custom_objects()
    registered = {name: custom.pop(name) for name in list(custom) if "_ResidualModel" in name}
    try:
        with pytest.raises(ConfigError, match="not registered here"):
            pickle.loads(saved)
    finally:
        custom.update(registered)


def test_transfer_learning_trains_a_new_head_on_frozen_layers_then_fine_tunes():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 6))
    source = MLPClassifier(n_hidden=2, n_neurons=32, epochs=20, learning_rate=0.01, random_state=0)
    source.fit(X, X[:, 0] + X[:, 1] > 0)
    before = [w.copy() for w in source.model_.get_weights()]

    def new_head():
        return keras.Sequential([keras.Input((6,)), *reuse_layers(source), keras.layers.Dense(1, activation="sigmoid")])

    y = X[:, 0] + X[:, 1] > 0.5  # a related task
    frozen = KerasClassifier(new_head, early_stopping=False, **{**_FAST, "epochs": 4}).fit(X, y)
    reused = frozen.model_.get_weights()[: len(before) - 2]
    for kept, original in zip(reused, before, strict=False):
        np.testing.assert_array_equal(kept, original)  # the reused layers did not learn
    tuned = KerasClassifier(new_head, early_stopping=False, unfreeze_after=4, fine_tune_rate=1e-3,
                            **{**_FAST, "epochs": 8}).fit(X, y)
    assert tuned.frozen_epochs_ == 4 and tuned.n_epochs_ == 8 and len(tuned.history_["loss"]) == 8
    assert any(not np.allclose(w, o) for w, o in zip(tuned.model_.get_weights(), before, strict=False))
    assert float(tuned.model_.optimizer.learning_rate) == pytest.approx(1e-3)
    assert tuned.score(X, y) > 0.9 and "frozen" in network_summary(tuned)
    for now, original in zip(source.model_.get_weights(), before, strict=True):
        np.testing.assert_array_equal(now, original)  # the source network is untouched


def test_a_builder_that_returns_no_model_is_refused():
    with pytest.raises(ConfigError, match="must build a Keras model"):
        KerasRegressor(lambda: "not a model", **_FAST).fit(np.ones((10, 2)), np.arange(10.0))


def test_the_custom_training_step_example_trains_through_homl_and_saves():
    import importlib.util
    from pathlib import Path

    pytest.importorskip("torch", reason="the example's training step is written for the PyTorch backend")
    if keras.backend.backend() != "torch":
        pytest.skip("the example's training step is written for the PyTorch backend")
    path = Path(__file__).parents[2] / "examples" / "custom_training_step.py"
    spec = importlib.util.spec_from_file_location("custom_training_step", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    model = example.main()
    norms = model.history_["gradient_norm"]
    assert len(norms) == model.n_epochs_ and norms[-1] < norms[0]  # the hand-written step ran, and learned
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 6))
    np.testing.assert_allclose(pickle.loads(pickle.dumps(model)).predict(X), model.predict(X), rtol=1e-6)


def test_a_saved_user_model_holds_only_types_homl_trusts():
    import skops.io

    from homl.registry import is_trusted_type

    X, y = _table(100)
    model = KerasRegressor(_residual, loss=_HuberLoss(threshold=2.0), metrics=["mae", keras.metrics.RootMeanSquaredError()],
                           **{**_FAST, "epochs": 2}).fit(X, y)
    data = skops.io.dumps(model)
    assert all(is_trusted_type(name) for name in skops.io.get_untrusted_types(data=data))
    loaded = skops.io.loads(data, trusted=skops.io.get_untrusted_types(data=data))
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-6)
    refitted = clone(loaded).fit(X, y)  # from the saved configuration, loss and metrics
    assert isinstance(refitted.model_.loss, _HuberLoss) and "root_mean_squared_error" in refitted.history_
