"""Neural networks as scikit-learn estimators: Keras 3 multilayer perceptrons, on PyTorch by default.

:class:`MLPRegressor` and :class:`MLPClassifier` build a Keras ``Sequential`` of dense layers
from their parameters (width and depth, activation, initialiser, batch normalisation, dropout,
l2 penalty), train it with one of the book's optimisers and learning-rate schedules, stop
early on a held-out share of the rows (restoring the best epoch's weights), checkpoint each
epoch so that a killed training resumes, give MC-dropout spreads, and keep what a user asks of
a scikit-learn model: ``get_params``/``set_params``, ``clone``, ``Pipeline``, searches,
``warm_start``, ``partial_fit``, pickling. A regression target is standardised for training and
mapped back. :func:`find_learning_rate` is the book's learning-rate finder.

Keras is imported on first use, with ``KERAS_BACKEND=torch`` unless the user chose another
backend; without the ``deep`` extra, fitting raises :class:`~homl.errors.ConfigError` saying
how to install it. Keras 3's own ``keras.wrappers.SKLearnRegressor``/``SKLearnClassifier``
take a model-building function and have no seed, no parameters of their own for a search, no
early stopping and no target scaling: with a 16-unit network, 4 of scikit-learn's 50 regressor
checks and 7 of its 53 classifier checks fail on them (unreproducible fits, untrained
predictions), which is why these estimators drive Keras themselves.

A fitted network is pickled (and saved by skops inside a model directory) as its Keras
configuration in JSON and its weights as arrays, and rebuilt with Keras' safe mode on: a
configuration that carries code (a ``Lambda`` layer's bytecode) is refused. The optimiser's
state is not kept: ``warm_start`` after loading starts a fresh optimiser from the saved weights.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from homl._estimator import Estimator, fitting
from homl.errors import ConfigError

ACTIVATIONS = ("relu", "leaky_relu", "elu", "selu", "gelu", "swish", "mish")
INITIALIZERS = ("auto", "he_normal", "he_uniform", "glorot_normal", "glorot_uniform", "lecun_normal", "lecun_uniform")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "nadam")
SCHEDULES = ("constant", "exponential", "power", "piecewise", "plateau", "1cycle")
#: Files a checkpoint is made of in ``checkpoint_dir``: the model with its optimiser, and the
#: epochs done with the history so far.
CHECKPOINT_MODEL = "checkpoint.keras"
CHECKPOINT_STATE = "checkpoint.json"
#: Weight of the past in the learning-rate finder's moving average of the batches' losses.
SMOOTHING = 0.9
#: Forward passes with dropout on that ``return_std`` (MC dropout) averages.
MC_SAMPLES = 100


def scheduled_rate(schedule: str, initial: float, epoch: int, epochs: int) -> float:
    """The learning rate of ``epoch`` (0 = the first) of ``epochs`` under one of the book's schedules.

    - exponential: divided by 10 every ``epochs / 4`` epochs;
    - power: ``initial / (1 + epoch / s)`` with ``s = epochs / 10``;
    - piecewise: ``initial``, then a tenth of it from half the epochs, a hundredth from three quarters;
    - 1cycle: up linearly from a tenth of ``initial`` to ``initial`` over the first 45 % of the
      epochs, down to a tenth over the next 45 %, then down to a thousandth in the last 10 %;
    - constant (and plateau, which halves the rate when the loss stops improving instead): ``initial``.
    """
    if schedule == "exponential":
        return initial * 0.1 ** (epoch / max(epochs / 4, 1))
    if schedule == "power":
        return initial / (1 + epoch / max(epochs / 10, 1))
    if schedule == "piecewise":
        return initial * (1.0 if epoch < epochs / 2 else 0.1 if epoch < 3 * epochs / 4 else 0.01)
    if schedule == "1cycle":
        rise = 0.45 * epochs
        if epoch < rise:
            return initial * (0.1 + 0.9 * epoch / rise)
        if epoch < 2 * rise:
            return initial * (1.0 - 0.9 * (epoch - rise) / rise)
        return initial * (0.1 - 0.099 * (epoch - 2 * rise) / max(epochs - 2 * rise, 1))
    return initial


def import_keras() -> Any:
    """Keras, on the PyTorch backend unless ``KERAS_BACKEND`` says otherwise; a ConfigError if missing."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError:
        raise ConfigError("neural networks need Keras and PyTorch: pip install 'homl[deep]' (install torch first, "
                          "e.g. pip install torch --index-url https://download.pytorch.org/whl/cpu)") from None
    return keras


def training_device() -> str:
    """Where Keras trains: "cuda" when the PyTorch backend sees a GPU, else "cpu" (or the backend's name)."""
    keras = import_keras()
    if keras.backend.backend() != "torch":
        return keras.backend.backend()
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class _MLP(Estimator):
    """What the two MLPs share: the network, its training and its pickled form."""

    _parameter_constraints = {
        "n_hidden": [Interval(Integral, 0, None, closed="left")],
        "n_neurons": [Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "kernel_initializer": [StrOptions(set(INITIALIZERS))],
        "batch_norm": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "l2": [Interval(Real, 0, None, closed="left")],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions(set(SCHEDULES))],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "checkpoint_dir": [None, str, os.PathLike],
        "random_state": [None, Interval(Integral, 0, None, closed="left")],
        "verbose": [Interval(Integral, 0, 2, closed="both")],
    }
    _input_check = {"dtype": np.float32}

    def __init__(self, n_hidden: int = 2, n_neurons: int = 512, *, activation: str = "relu",
                 kernel_initializer: str = "auto", batch_norm: bool = False, dropout: float = 0.0, l2: float = 0.0,
                 optimizer: str = "adam", learning_rate: float = 5e-4, lr_schedule: str = "constant",
                 batch_size: int = 64, epochs: int = 200,
                 early_stopping: bool = True, validation_fraction: float = 0.1, patience: int = 10,
                 warm_start: bool = False, checkpoint_dir: str | os.PathLike[str] | None = None,
                 random_state: int | None = None, verbose: int = 0):
        self.n_hidden = n_hidden
        self.n_neurons = n_neurons
        self.activation = activation
        self.kernel_initializer = kernel_initializer
        self.batch_norm = batch_norm
        self.dropout = dropout
        self.l2 = l2
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.warm_start = warm_start
        self.checkpoint_dir = checkpoint_dir
        self.random_state = random_state
        self.verbose = verbose

    # -------------------------------------------------------------- what each MLP sets

    def _outputs(self) -> tuple[int, str | None, str]:
        """Units of the output layer, its activation and the loss."""
        raise NotImplementedError

    def _encode(self, y: Any, reset: bool) -> np.ndarray:
        """The target as the network learns it (and, with ``reset``, what maps it back)."""
        raise NotImplementedError

    # -------------------------------------------------------------- fitting

    @fitting
    def fit(self, X: Any, y: Any) -> Any:
        """Trains the network for up to ``epochs`` epochs (stopping early on held-out rows if asked)."""
        keep = self.warm_start and hasattr(self, "model_")
        X = self._check_input(X, reset=not keep)
        target = self._encode(y, reset=not keep)
        self._check_rows(X, target)
        self._train(X, target, epochs=self.epochs, stop_early=self.early_stopping, fresh=not keep)
        return self

    def _partial_fit(self, X: Any, y: Any, reset: bool) -> Any:
        self._validate_params()
        X = self._check_input(X, reset=reset)
        target = self._encode(y, reset=reset)
        self._check_rows(X, target)
        self._train(X, target, epochs=1, stop_early=False, fresh=reset)
        return self

    def _check_rows(self, X: np.ndarray, target: np.ndarray) -> None:
        if len(X) != len(target):
            raise ValueError(f"X has {len(X)} rows but y has {len(target)}; each row needs its target")

    def _train(self, X: np.ndarray, target: np.ndarray, *, epochs: int, stop_early: bool, fresh: bool) -> None:
        keras = import_keras()
        seed = self._seed()
        keras.utils.set_random_seed(seed)
        self.initial_epoch_ = 0
        if fresh:
            self.model_ = self._build(keras, X.shape[1])
            self.history_: dict[str, list[float]] = {}
            self.device_ = training_device()
            if self.checkpoint_dir is not None and epochs > 1:
                self._resume(keras, X.shape[1])
        validation, callbacks = None, []
        held_out = int(round(len(X) * self.validation_fraction))
        if stop_early and held_out >= 1 and len(X) - held_out >= 1:
            order = np.random.default_rng(seed).permutation(len(X))
            X, target, validation = X[order[held_out:]], target[order[held_out:]], (X[order[:held_out]],
                                                                                      target[order[:held_out]])
            callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=self.patience,
                                                           restore_best_weights=True))
        callbacks += self._schedule_callbacks(keras, epochs, monitor="val_loss" if validation is not None else "loss")
        callbacks.append(_time_limit_callback(keras))
        if self.checkpoint_dir is not None and epochs > 1:
            so_far = {name: list(values) for name, values in self.history_.items()}
            network = self._architecture(X.shape[1])
            callbacks.append(_checkpoint_callback(keras, Path(self.checkpoint_dir), so_far, network))
        history = self.model_.fit(X, target, batch_size=min(self.batch_size, len(X)), epochs=epochs,
                                  initial_epoch=self.initial_epoch_, validation_data=validation, callbacks=callbacks,
                                  verbose=self.verbose, shuffle=True)
        for name, values in history.history.items():
            self.history_.setdefault(name, []).extend(float(v) for v in values)
        self.n_epochs_ = self.initial_epoch_ + len(history.history.get("loss", []))
        self.best_epoch_ = (self.initial_epoch_ + int(np.argmin(history.history["val_loss"])) + 1
                            if validation is not None and history.history.get("val_loss") else self.n_epochs_)

    def _architecture(self, n_features: int) -> dict[str, Any]:
        """What makes two networks the same: inputs, layers, outputs (a checkpoint resumes only its own)."""
        names = ("n_hidden", "n_neurons", "activation", "kernel_initializer", "batch_norm", "dropout", "l2")
        return {"inputs": int(n_features), "outputs": list(self._outputs()), **{n: getattr(self, n) for n in names}}

    def _resume(self, keras: Any, n_features: int) -> None:
        """Go on from the checkpoint in ``checkpoint_dir``, if one was left there by this network."""
        folder = Path(self.checkpoint_dir)
        state_file, model_file = folder / CHECKPOINT_STATE, folder / CHECKPOINT_MODEL
        if not state_file.exists() or not model_file.exists():
            return
        state = json.loads(state_file.read_text(encoding="utf-8"))
        if state.get("network") != self._architecture(n_features):
            raise ConfigError(f"checkpoint in '{folder}' is of another network (other layers, inputs or outputs); "
                              "remove it or choose another checkpoint_dir")
        self.model_ = keras.saving.load_model(model_file, safe_mode=True)
        self.history_ = {name: list(values) for name, values in state["history"].items()}
        self.initial_epoch_ = int(state["epoch"])

    def _schedule_callbacks(self, keras: Any, epochs: int, monitor: str) -> list[Any]:
        """The callback that sets each epoch's learning rate (none for a constant rate)."""
        if self.lr_schedule == "constant":
            return []
        if self.lr_schedule == "plateau":
            return [keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5, patience=max(self.patience // 2, 1))]
        schedule, initial = self.lr_schedule, self.learning_rate
        return [keras.callbacks.LearningRateScheduler(lambda epoch, rate: scheduled_rate(schedule, initial, epoch,
                                                                                          epochs))]

    def _seed(self) -> int:
        if self.random_state is not None:
            return int(self.random_state)
        return int(np.random.default_rng().integers(2**31 - 1))

    def _build(self, keras: Any, n_features: int) -> Any:
        layers, regularizer = keras.layers, keras.regularizers.L2(self.l2) if self.l2 else None
        initializer = self.kernel_initializer
        if initializer == "auto":  # the book's pairing: LeCun with SELU, He with the ReLU family
            initializer = "lecun_normal" if self.activation == "selu" else "he_normal"
        activation = "silu" if self.activation == "swish" else self.activation
        model = keras.Sequential([keras.Input((n_features,))])
        for _ in range(self.n_hidden):
            if self.batch_norm:
                model.add(layers.Dense(self.n_neurons, kernel_initializer=initializer, kernel_regularizer=regularizer,
                                       use_bias=False))
                model.add(layers.BatchNormalization())
                model.add(layers.Activation(activation))
            else:
                model.add(layers.Dense(self.n_neurons, activation=activation, kernel_initializer=initializer,
                                       kernel_regularizer=regularizer))
            if self.dropout:
                # SELU keeps its self-normalisation only with alpha dropout
                model.add(layers.AlphaDropout(self.dropout) if self.activation == "selu"
                          else layers.Dropout(self.dropout))
        units, output_activation, loss = self._outputs()
        model.add(layers.Dense(units, activation=output_activation))
        model.compile(optimizer=self._optimizer(keras), loss=loss)
        return model

    def _optimizer(self, keras: Any) -> Any:
        optimizers, rate = keras.optimizers, self.learning_rate
        made = {
            "sgd": lambda: optimizers.SGD(rate),
            "momentum": lambda: optimizers.SGD(rate, momentum=0.9),
            "nesterov": lambda: optimizers.SGD(rate, momentum=0.9, nesterov=True),
            "adagrad": lambda: optimizers.Adagrad(rate),
            "rmsprop": lambda: optimizers.RMSprop(rate),
            "adam": lambda: optimizers.Adam(rate),
            "adamw": lambda: optimizers.AdamW(rate),
            "nadam": lambda: optimizers.Nadam(rate),
        }
        return made[self.optimizer]()

    def _network_output(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = self._check_input(X, reset=False)
        if len(X) == 0:
            raise ValueError("X has 0 rows; at least one is needed to predict")
        return np.asarray(self.model_.predict(X, batch_size=max(self.batch_size, 1024), verbose=0), dtype=np.float64)

    def _mc_outputs(self, X: Any, samples: int) -> np.ndarray:
        """``samples`` forward passes with dropout left on (and batch normalisation in inference)."""
        check_is_fitted(self, "model_")
        if not self.dropout:
            raise ValueError("return_std=True draws predictions with dropout on (MC dropout): it needs dropout > 0")
        keras = import_keras()
        inputs = keras.ops.convert_to_tensor(self._check_input(X, reset=False))
        draws = []
        for _ in range(samples):
            values = inputs
            for layer in self.model_.layers:
                dropping = isinstance(layer, (keras.layers.Dropout, keras.layers.AlphaDropout))
                values = layer(values, training=dropping)
            draws.append(keras.ops.convert_to_numpy(values))
        return np.asarray(draws, dtype=np.float64)

    # -------------------------------------------------------------- pickling

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # a copy: the live estimator keeps its model
        model = state.pop("model_", None)
        if model is not None:
            state["_keras_config"] = model.to_json()
            state["_keras_weights"] = [np.asarray(w) for w in model.get_weights()]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        config, weights = state.pop("_keras_config", None), state.pop("_keras_weights", None)
        super().__setstate__(state)
        if config is not None:
            self.model_ = rebuild_model(config, weights)

    def summary(self) -> str:
        """One line on the fitted network: its layers, its training and where it ran."""
        check_is_fitted(self, "model_")
        layers = f"{self.n_hidden} hidden layer{'s' if self.n_hidden != 1 else ''} of {self.n_neurons} {self.activation}"
        extras = ", batch normalisation" * self.batch_norm + f", dropout {self.dropout:g}" * bool(self.dropout)
        stopped = f" (weights of epoch {self.best_epoch_})" if self.best_epoch_ != self.n_epochs_ else ""
        schedule = "" if self.lr_schedule == "constant" else f" ({self.lr_schedule} schedule)"
        return (f"network: {layers} units{extras}; {self.optimizer} at {self.learning_rate:g}{schedule}; "
                f"{self.n_epochs_} epochs{stopped}; trained on {self.device_}")

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


def _time_limit_callback(keras: Any) -> Any:
    """A callback that stops training when the next epoch would end past the fit deadline in
    force (see :mod:`homl._deadline`); early stopping then restores the best epoch's weights."""
    import time

    from homl._deadline import seconds_left

    class TimeLimit(keras.callbacks.Callback):
        def on_train_begin(self, logs: Any = None) -> None:
            self.started, self.done = time.monotonic(), 0

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.done += 1
            left = seconds_left()
            if left is not None and left < (time.monotonic() - self.started) / self.done:
                self.model.stop_training = True

    return TimeLimit()


def _checkpoint_callback(keras: Any, folder: Path, history: dict[str, list[float]], network: dict[str, Any]) -> Any:
    """A callback that saves the model (with its optimiser) and the epochs done, with ``history``
    up to them and the ``network`` they belong to, after each epoch: each file is written beside its place and renamed over it, so
    that a run killed at any moment leaves the last whole checkpoint."""

    class Checkpoint(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            folder.mkdir(parents=True, exist_ok=True)
            for name, value in (logs or {}).items():
                history.setdefault(name, []).append(float(value))
            partial_model = folder / f".partial-{CHECKPOINT_MODEL}"  # Keras wants the .keras suffix
            self.model.save(partial_model)
            os.replace(partial_model, folder / CHECKPOINT_MODEL)
            partial_state = folder / f".partial-{CHECKPOINT_STATE}"
            partial_state.write_text(json.dumps({"epoch": epoch + 1, "history": history, "network": network}),
                                     encoding="utf-8")
            os.replace(partial_state, folder / CHECKPOINT_STATE)

    return Checkpoint()


def network_summary(model: Any) -> str | None:
    """:meth:`summary` of the fitted network inside ``model`` (a pipeline, a wrapper...), or None."""
    network = _find_network(model)
    return None if network is None else network.summary()


def network_history(model: Any) -> dict[str, Any] | None:
    """The loss per epoch of the fitted network inside ``model`` (``loss``, ``val_loss`` when rows
    were held out, ``learning_rate`` under a schedule) and its ``best_epoch``, or None."""
    network = _find_network(model)
    if network is None:
        return None
    return {**{name: list(values) for name, values in network.history_.items()}, "best_epoch": network.best_epoch_}


def _find_network(model: Any) -> _MLP | None:
    """The fitted MLP inside ``model``: the model itself, a pipeline step or a wrapped estimator."""
    pending, seen = [model], set()
    while pending:
        item = pending.pop()
        if id(item) in seen or item is None:
            continue
        seen.add(id(item))
        if isinstance(item, _MLP):
            return item if hasattr(item, "model_") else None
        if hasattr(item, "steps"):
            pending.extend(step for _, step in item.steps)
        pending.extend(value for name, value in vars(item).items()
                       if hasattr(value, "get_params") and (name.endswith("_") or "estimator" in name))
    return None


def rebuild_model(config: str, weights: list[np.ndarray]) -> Any:
    """A Keras model from its JSON configuration and weights, in safe mode (no code from the file runs)."""
    keras = import_keras()
    from keras.src.saving import serialization_lib

    with serialization_lib.SafeModeScope(True):
        model = keras.models.model_from_json(config)
    model.set_weights(weights)
    return model


def _target(y: Any, name: str, dtype: Any = None) -> np.ndarray:
    """``y`` as an array; a column vector becomes one column (with scikit-learn's warning)."""
    from sklearn.utils.validation import column_or_1d

    if y is None:
        raise ValueError(f"{name} requires y to be passed, but the target y is None")
    y = np.asarray(y, dtype=dtype)
    return column_or_1d(y, warn=True) if y.ndim == 2 and y.shape[1] == 1 else y


class MLPRegressor(RegressorMixin, _MLP):
    """A multilayer perceptron for regression (one output a target column), trained with Keras.

    ``n_hidden`` hidden layers of ``n_neurons`` units each (the book's two knobs); ``activation``: relu, leaky_relu, elu,
    selu, gelu, swish or mish; ``kernel_initializer``: "auto" (LeCun for SELU, He otherwise) or
    a Keras initialiser name; ``batch_norm``: batch normalisation before each activation;
    ``dropout``: the share of units dropped in training (alpha dropout with SELU); ``l2``: the
    weights' penalty; ``optimizer``: sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw or
    nadam, at ``learning_rate``; ``lr_schedule``: constant, exponential, power, piecewise, 1cycle
    (each epoch's rate by :func:`scheduled_rate`) or plateau (halved when the loss stops
    improving for ``patience // 2`` epochs); ``early_stopping`` holds out ``validation_fraction`` of the
    rows and stops after ``patience`` epochs without a better loss there, restoring the best
    epoch's weights; ``warm_start`` goes on training the fitted network; ``checkpoint_dir``:
    after each epoch the model (with its optimiser) and the epochs done are saved there, each
    file replaced whole, and a fit that finds a checkpoint of the same network there goes on
    from it (after a crash or a kill; remove it to start over); ``random_state``
    makes a fit repeatable (it seeds Python's, NumPy's and the backend's generators).

    ``predict(X, return_std=True)`` gives the mean and spread of predictions drawn with dropout
    on (MC dropout, with ``dropout`` > 0).

    Fitted: ``model_`` (the Keras model), ``history_`` (loss, val_loss and, under a schedule,
    learning_rate per epoch), ``n_epochs_``, ``best_epoch_``, ``initial_epoch_`` (the epochs a
    checkpoint had done), ``device_`` ("cpu" or "cuda"), ``y_mean_``, ``y_scale_``.
    """

    def _outputs(self) -> tuple[int, str | None, str]:
        return self.n_outputs_, None, "mse"

    def _encode(self, y: Any, reset: bool) -> np.ndarray:
        y = _target(y, type(self).__name__, np.float64)
        if y.ndim not in (1, 2):
            raise ValueError(f"y must be one target column or a table of them; got {y.ndim} dimensions")
        if not np.isfinite(y).all():
            raise ValueError("y has missing or infinite values; each row needs a finite target")
        column = y.ndim == 1
        y = y.reshape(len(y), -1)
        if reset:
            self._single_target = column
            self.n_outputs_ = y.shape[1]
            self.y_mean_ = y.mean(axis=0)
            self.y_scale_ = np.where(y.std(axis=0) > 0, y.std(axis=0), 1.0)
        return ((y - self.y_mean_) / self.y_scale_).astype(np.float32)

    def partial_fit(self, X: Any, y: Any) -> MLPRegressor:
        """One epoch over ``X, y``; the first call builds the network and fixes the target's scaling."""
        return self._partial_fit(X, y, reset=not hasattr(self, "model_"))

    def predict(self, X: Any, return_std: bool = False) -> Any:
        """The predictions; with ``return_std``, the mean and spread of ``MC_SAMPLES`` predictions
        with dropout on (MC dropout: the spread says how unsure the network is of each row)."""
        if return_std:
            draws = self._mc_outputs(X, MC_SAMPLES) * self.y_scale_ + self.y_mean_
            mean, std = draws.mean(axis=0), draws.std(axis=0)
            return (mean.ravel(), std.ravel()) if self._single_target else (mean, std)
        values = self._network_output(X) * self.y_scale_ + self.y_mean_
        return values.ravel() if self._single_target else values


class MLPClassifier(ClassifierMixin, _MLP):
    """A multilayer perceptron for classification (sigmoid for two classes, softmax for more),
    trained with Keras. Parameters as :class:`MLPRegressor`'s.

    Fitted: ``classes_`` (sorted), ``model_``, ``history_``, ``n_epochs_``, ``best_epoch_``, ``device_``.
    """

    def _outputs(self) -> tuple[int, str | None, str]:
        if len(self.classes_) <= 2:
            return 1, "sigmoid", "binary_crossentropy"
        return len(self.classes_), "softmax", "sparse_categorical_crossentropy"

    def _encode(self, y: Any, reset: bool, classes: Any = None) -> np.ndarray:
        y = _target(y, type(self).__name__)
        if y.ndim != 1:
            raise ValueError(f"y must be one column of class labels; got shape {y.shape}")
        check_classification_targets(y)
        if reset:
            self.classes_ = np.unique(y) if classes is None else np.unique(np.asarray(classes))
        codes = np.searchsorted(self.classes_, y)
        unknown = (codes >= len(self.classes_)) | (self.classes_[np.minimum(codes, len(self.classes_) - 1)] != y)
        if unknown.any():
            raise ValueError(f"y has classes not in classes_={self.classes_.tolist()}: "
                             f"{sorted(set(y[unknown].tolist()))[:5]}")
        return codes.astype(np.float32 if len(self.classes_) <= 2 else np.int64)

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> MLPClassifier:
        """One epoch over ``X, y``; the first call needs ``classes`` (every label the model will see)."""
        first = not hasattr(self, "model_")
        if first and classes is None:
            raise ValueError("the first call to partial_fit needs classes=, every class label the model will see")
        if first:
            self._validate_params()
            X = self._check_input(X, reset=True)
            target = self._encode(y, reset=True, classes=classes)
            self._check_rows(X, target)
            self._train(X, target, epochs=1, stop_early=False, fresh=True)
            return self
        return self._partial_fit(X, y, reset=False)

    def predict_proba(self, X: Any, return_std: bool = False) -> Any:
        """Class probabilities; with ``return_std``, the mean and spread of ``MC_SAMPLES`` of them
        drawn with dropout on (MC dropout)."""
        if return_std:
            draws = np.asarray([self._probabilities(d) for d in self._mc_outputs(X, MC_SAMPLES)])
            return draws.mean(axis=0), draws.std(axis=0)
        return self._probabilities(self._network_output(X))

    def _probabilities(self, output: np.ndarray) -> np.ndarray:
        if len(self.classes_) == 1:
            return np.ones((len(output), 1))
        if len(self.classes_) == 2:
            positive = np.clip(output[:, 0], 0.0, 1.0)
            return np.column_stack([1.0 - positive, positive])
        return output / output.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        chosen = np.argmax(self.predict_proba(X), axis=1)
        return self.classes_[chosen]


@dataclass
class LearningRateSearch:
    """What :func:`find_learning_rate` measured: the training loss at each batch's rate (an
    exponential moving average of the batches' losses, weight ``SMOOTHING``), where it took off
    (``diverged_at``: None if it never did) and the rate it suggests (a tenth of the rate of the
    lowest loss, the book's rule)."""

    rates: list[float]
    losses: list[float]
    suggested: float
    diverged_at: float | None

    def plot(self) -> Any:
        """The loss against the rate (log scale), with the suggested rate marked: a matplotlib figure."""
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(6, 4))
        axes.plot(self.rates, self.losses)
        axes.axvline(self.suggested, color="tab:green", linestyle="--", label=f"suggested {self.suggested:.2g}")
        if self.diverged_at is not None:
            axes.axvline(self.diverged_at, color="tab:red", linestyle=":", label=f"diverged {self.diverged_at:.2g}")
        axes.set(xscale="log", xlabel="learning rate", ylabel="training loss (moving average)",
                 title="Learning-rate finder")
        axes.legend()
        return figure


def find_learning_rate(estimator: _MLP, X: Any, y: Any, *, min_rate: float = 1e-6, max_rate: float = 10.0,
                       steps: int = 200) -> LearningRateSearch:
    """Train a fresh copy of ``estimator`` for ``steps`` batches while its learning rate grows
    exponentially from ``min_rate`` to ``max_rate``, and stop once the loss is four times its lowest.

    The estimator itself is left untouched; set its ``learning_rate`` to the ``suggested`` rate.
    """
    from sklearn.base import clone

    if not 0 < min_rate < max_rate:
        raise ValueError(f"min_rate={min_rate} and max_rate={max_rate}: need 0 < min_rate < max_rate")
    probe = clone(estimator).set_params(early_stopping=False, warm_start=False, lr_schedule="constant",
                                        learning_rate=min_rate)
    keras = import_keras()
    X = probe._check_input(X, reset=True)
    target = probe._encode(y, reset=True)
    probe._check_rows(X, target)
    keras.utils.set_random_seed(probe._seed())
    model = probe._build(keras, X.shape[1])
    growth = (max_rate / min_rate) ** (1 / steps)
    rates: list[float] = []
    losses: list[float] = []
    batch_size = min(probe.batch_size, len(X))

    class Probe(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            model.optimizer.learning_rate.assign(min_rate * growth ** len(rates))

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            # Keras logs the epoch's running mean: the batch's own loss is what it added to it
            running, seen = float(logs["loss"]), batch + 1
            loss = running * seen - self.previous * (seen - 1) if batch else running
            self.previous = running
            self.average = SMOOTHING * self.average + (1 - SMOOTHING) * loss  # bias-corrected below
            rates.append(min_rate * growth ** len(rates))
            losses.append(self.average / (1 - SMOOTHING ** (len(rates))))
            if not math.isfinite(loss) or losses[-1] > 4 * min(losses) or len(rates) >= steps:
                model.stop_training = True

        previous = average = 0.0

    epochs = math.ceil(steps / math.ceil(len(X) / batch_size))
    model.fit(X, target, batch_size=batch_size, epochs=epochs, callbacks=[Probe()], verbose=0, shuffle=True)
    best = int(np.nanargmin(losses))
    diverged = rates[-1] if not math.isfinite(losses[-1]) or losses[-1] > 4 * losses[best] else None
    return LearningRateSearch(rates, losses, suggested=rates[best] / 10, diverged_at=diverged)
