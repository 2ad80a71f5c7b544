"""Neural networks as scikit-learn estimators: Keras 3 multilayer perceptrons, on PyTorch by default.

:class:`MLPRegressor` and :class:`MLPClassifier` build a Keras ``Sequential`` of dense layers
from their parameters (width and depth, activation, initialiser, batch normalisation, dropout,
l2 penalty), train it with one of the book's optimisers, stop early on a held-out share of the
rows (restoring the best epoch's weights), and keep what a user asks of a scikit-learn model:
``get_params``/``set_params``, ``clone``, ``Pipeline``, searches, ``warm_start``,
``partial_fit``, pickling. A regression target is standardised for training and mapped back.

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

import os
from numbers import Integral, Real
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
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "random_state": [None, Interval(Integral, 0, None, closed="left")],
        "verbose": [Interval(Integral, 0, 2, closed="both")],
    }
    _input_check = {"dtype": np.float32}

    def __init__(self, n_hidden: int = 2, n_neurons: int = 512, *, activation: str = "relu",
                 kernel_initializer: str = "auto", batch_norm: bool = False, dropout: float = 0.0, l2: float = 0.0,
                 optimizer: str = "adam", learning_rate: float = 5e-4, batch_size: int = 64, epochs: int = 200,
                 early_stopping: bool = True, validation_fraction: float = 0.1, patience: int = 10,
                 warm_start: bool = False, random_state: int | None = None, verbose: int = 0):
        self.n_hidden = n_hidden
        self.n_neurons = n_neurons
        self.activation = activation
        self.kernel_initializer = kernel_initializer
        self.batch_norm = batch_norm
        self.dropout = dropout
        self.l2 = l2
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.warm_start = warm_start
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
        if fresh:
            self.model_ = self._build(keras, X.shape[1])
            self.history_: dict[str, list[float]] = {}
            self.device_ = training_device()
        validation, callbacks = None, []
        held_out = int(round(len(X) * self.validation_fraction))
        if stop_early and held_out >= 1 and len(X) - held_out >= 1:
            order = np.random.default_rng(seed).permutation(len(X))
            X, target, validation = X[order[held_out:]], target[order[held_out:]], (X[order[:held_out]],
                                                                                      target[order[:held_out]])
            callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=self.patience,
                                                           restore_best_weights=True))
        history = self.model_.fit(X, target, batch_size=min(self.batch_size, len(X)), epochs=epochs,
                                  validation_data=validation, callbacks=callbacks, verbose=self.verbose,
                                  shuffle=True)
        for name, values in history.history.items():
            self.history_.setdefault(name, []).extend(float(v) for v in values)
        self.n_epochs_ = len(history.history.get("loss", []))
        self.best_epoch_ = (int(np.argmin(history.history["val_loss"])) + 1 if validation is not None
                            else self.n_epochs_)

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
        return (f"network: {layers} units{extras}; {self.optimizer} at {self.learning_rate:g}; "
                f"{self.n_epochs_} epochs{stopped}; trained on {self.device_}")

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


def network_summary(model: Any) -> str | None:
    """:meth:`summary` of the fitted network inside ``model`` (a pipeline, a wrapper...), or None."""
    pending, seen = [model], set()
    while pending:
        item = pending.pop()
        if id(item) in seen or item is None:
            continue
        seen.add(id(item))
        if isinstance(item, _MLP):
            return item.summary() if hasattr(item, "model_") else None
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
    nadam, at ``learning_rate``; ``early_stopping`` holds out ``validation_fraction`` of the
    rows and stops after ``patience`` epochs without a better loss there, restoring the best
    epoch's weights; ``warm_start`` goes on training the fitted network; ``random_state``
    makes a fit repeatable (it seeds Python's, NumPy's and the backend's generators).

    Fitted: ``model_`` (the Keras model), ``history_`` (loss and val_loss per epoch),
    ``n_epochs_``, ``best_epoch_``, ``device_`` ("cpu" or "cuda"), ``y_mean_``, ``y_scale_``.
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

    def predict(self, X: Any) -> np.ndarray:
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

    def predict_proba(self, X: Any) -> np.ndarray:
        output = self._network_output(X)
        if len(self.classes_) == 1:
            return np.ones((len(output), 1))
        if len(self.classes_) == 2:
            positive = np.clip(output[:, 0], 0.0, 1.0)
            return np.column_stack([1.0 - positive, positive])
        return output / output.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        chosen = np.argmax(self.predict_proba(X), axis=1)
        return self.classes_[chosen]
