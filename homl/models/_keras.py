"""One way to train, checkpoint, save and report any Keras model as a scikit-learn estimator.

:class:`KerasModel` is the base of every homl neural estimator: a subclass says how to build
its network (``_build``), what its target looks like to the network (``_encode``) and which
loss fits it (``_loss``); the base trains it with one of the book's optimisers (gradient
clipping, learning-rate schedules, mixed precision), stops early on held-out rows restoring
the best epoch, stops at the fit deadline in force (:mod:`homl._deadline`), checkpoints each
epoch so that a killed training resumes, writes TensorBoard logs, and pickles the network as a
``.keras`` archive loaded back in Keras' safe mode (a file that carries code is refused).

The target mixins :class:`RegressionTarget` (standardised for training, mapped back) and
:class:`ClassTarget` (classes as codes; probabilities from a sigmoid or softmax output) are
shared by the multilayer perceptrons and by the estimators of a user's own Keras model.

Keras is imported on first use, with ``KERAS_BACKEND=torch`` unless the user chose another
backend; without the ``deep`` extra, fitting raises :class:`~homl.errors.ConfigError`.
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from homl._estimator import Estimator, fitting
from homl.errors import ConfigError

from ._callbacks import checkpoint_callback, resume_state, tensorboard_callback, time_limit_callback

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "nadam")
SCHEDULES = ("constant", "exponential", "power", "piecewise", "plateau", "1cycle")
#: Forward passes with dropout on that ``return_std`` (MC dropout) averages.
MC_SAMPLES = 100

TRAINING_CONSTRAINTS: dict[str, list[Any]] = {
    "optimizer": [StrOptions(set(OPTIMIZERS))],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "lr_schedule": [StrOptions(set(SCHEDULES))],
    "clipnorm": [None, Interval(Real, 0, None, closed="neither")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "epochs": [Interval(Integral, 1, None, closed="left")],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "patience": [Interval(Integral, 1, None, closed="left")],
    "warm_start": ["boolean"],
    "mixed_precision": ["boolean"],
    "checkpoint_dir": [None, str, os.PathLike],
    "tensorboard_dir": [None, str, os.PathLike],
    "random_state": [None, Interval(Integral, 0, None, closed="left")],
    "verbose": [Interval(Integral, 0, 2, closed="both")],
}
"""The training parameters every :class:`KerasModel` takes (their meaning: :class:`KerasModel`)."""


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


class KerasModel(Estimator):
    """The training every homl Keras estimator shares; subclasses say what network to build.

    Training parameters: ``optimizer`` (sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw
    or nadam) at ``learning_rate``, its gradients clipped to norm ``clipnorm`` if set;
    ``lr_schedule``: constant, exponential, power, piecewise, 1cycle (each epoch's rate by
    :func:`scheduled_rate`) or plateau (halved when the loss stops improving for
    ``patience // 2`` epochs); ``batch_size``; ``epochs``; ``early_stopping`` holds out
    ``validation_fraction`` of the rows and stops after ``patience`` epochs without a better
    loss there, restoring the best epoch's weights; ``warm_start`` goes on training the fitted
    network; ``mixed_precision`` computes in 16-bit floats (float16 on a GPU, bfloat16 on a
    CPU) and keeps the weights in 32; ``checkpoint_dir``: after each epoch the model (with its
    optimiser) and the epochs done are saved there, each file replaced whole, and a fit that
    finds a checkpoint of the same network there goes on from it; ``tensorboard_dir``: the
    losses and learning rate of each epoch are logged there for TensorBoard;
    ``random_state`` makes a fit repeatable (it seeds Python's, NumPy's and the backend's
    generators); ``verbose``: Keras' progress output (0, 1 or 2).

    Fitted: ``model_`` (the Keras model), ``history_`` (loss, val_loss and, under a schedule,
    learning_rate per epoch), ``n_epochs_``, ``best_epoch_``, ``initial_epoch_`` (the epochs a
    checkpoint had done), ``device_`` ("cpu" or "cuda").
    """

    _parameter_constraints = dict(TRAINING_CONSTRAINTS)
    _input_check = {"dtype": np.float32}

    def _store_training(self, arguments: dict[str, Any]) -> None:
        """Keep the training parameters among a subclass's ``__init__`` arguments, under their names."""
        for name in TRAINING_CONSTRAINTS:
            setattr(self, name, arguments[name])

    # -------------------------------------------------------------- what a subclass sets

    def _build(self, keras: Any, n_features: int) -> Any:
        """The network, not compiled, for inputs of ``n_features`` columns."""
        raise NotImplementedError

    def _encode(self, y: Any, reset: bool) -> Any:
        """The target as the network learns it (and, with ``reset``, what maps it back)."""
        raise NotImplementedError

    def _loss(self, model: Any) -> Any:
        """The loss ``model`` is compiled with."""
        raise NotImplementedError

    def _architecture(self, n_features: int) -> dict[str, Any]:
        """What makes two networks the same (a checkpoint resumes only its own)."""
        return {"inputs": int(n_features)}

    def _network_inputs(self, X: np.ndarray) -> Any:
        """What the network is fed for the checked rows ``X`` (one array, or one per input)."""
        return X

    def _compile_options(self, model: Any) -> dict[str, Any]:
        return {"loss": self._loss(model)}

    def _streamed_inputs(self, n_features: int) -> None:
        """Record the inputs of a stream's rows, as ``_check_input`` records those of a table's."""
        self.n_features_in_ = n_features
        self.__dict__.pop("feature_names_in_", None)

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

    def _check_rows(self, X: np.ndarray, target: Any) -> None:
        n_target = len(target[0] if isinstance(target, list) else target)
        if len(X) != n_target:
            raise ValueError(f"X has {len(X)} rows but y has {n_target}; each row needs its target")

    def _train(self, X: np.ndarray, target: Any, *, epochs: int, stop_early: bool, fresh: bool) -> None:
        keras = import_keras()
        keras.utils.set_random_seed(self._seed())
        if fresh:
            self._start(keras, X.shape[1], epochs)
        else:
            self.initial_epoch_ = 0
        self._run(keras, X, target, epochs=epochs, stop_early=stop_early, initial_epoch=self.initial_epoch_)

    def _start(self, keras: Any, n_features: int, epochs: int) -> None:
        """A new network (or the one a checkpoint of it left), with no history yet."""
        self.model_ = self._compiled(keras, n_features)
        self.history_: dict[str, list[float]] = {}
        self.device_ = training_device()
        self.initial_epoch_ = 0
        if self.checkpoint_dir is not None and epochs > 1:
            self._resume(keras, n_features)

    def _run(self, keras: Any, X: Any, target: Any, *, epochs: int, stop_early: bool, initial_epoch: int,
             validation: tuple[Any, Any] | None = None) -> None:
        """Epochs ``initial_epoch + 1`` to ``epochs`` of training, added to ``history_``: on the
        rows ``X, target`` (holding some out to stop early), or on a stream (``target`` None)
        with its ``validation`` rows."""
        streamed, callbacks = target is None, []
        held_out = 0 if streamed else int(round(len(X) * self.validation_fraction))
        if stop_early and held_out >= 1 and len(X) - held_out >= 1:
            order = np.random.default_rng(self._seed()).permutation(len(X))
            validation = (self._network_inputs(X[order[:held_out]]), _rows(target, order[:held_out]))
            X, target = X[order[held_out:]], _rows(target, order[held_out:])
        if stop_early and validation is not None:
            callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=self.patience,
                                                           restore_best_weights=True))
        callbacks += self._schedule_callbacks(keras, epochs, monitor="val_loss" if validation is not None else "loss")
        callbacks.append(time_limit_callback(keras))
        if self.checkpoint_dir is not None and epochs > 1:
            so_far = {name: list(values) for name, values in self.history_.items()}
            callbacks.append(checkpoint_callback(keras, Path(self.checkpoint_dir), so_far,
                                                 self._architecture(self.n_features_in_)))
        if self.tensorboard_dir is not None:
            callbacks.append(tensorboard_callback(keras, Path(self.tensorboard_dir)))
        # a stream shuffles itself, block by block: Keras' own shuffle would read a block per batch
        batches = {"shuffle": False} if streamed else {"batch_size": min(self.batch_size, len(X)), "shuffle": True}
        history = self.model_.fit(X if streamed else self._network_inputs(X), target, epochs=epochs,
                                  initial_epoch=initial_epoch, validation_data=validation, callbacks=callbacks,
                                  verbose=self.verbose, **batches)
        for name, values in history.history.items():
            self.history_.setdefault(name, []).extend(float(v) for v in values)
        self.n_epochs_ = initial_epoch + len(history.history.get("loss", []))
        self.best_epoch_ = (initial_epoch + int(np.argmin(history.history["val_loss"])) + 1
                            if validation is not None and history.history.get("val_loss") else self.n_epochs_)

    def fit_stream(self, source: str | os.PathLike[str], target: str, *, transform: Any,
                   validation: Any = None, block_rows: int = 8192, workers: int = 1) -> Any:
        """Train on a CSV or Parquet file larger than memory, streamed a block of rows at a time
        and shuffled every epoch (see :func:`~homl.models.table_stream`).

        ``transform`` maps a DataFrame of the file's feature columns (the ``target`` column
        removed) to the network's float inputs, e.g. a fitted preparation's ``transform``. The
        target column is read once first (it alone is held in memory) to fix the target's
        scaling or classes. ``validation``: a DataFrame of held-out rows with the target column,
        on which training stops early (``early_stopping``); without it every epoch runs.
        ``workers`` threads prepare the next batches while the network trains.
        """
        from homl.data import read_chunks

        from ._stream import table_stream

        self._validate_params()
        keras = import_keras()
        keras.utils.set_random_seed(self._seed())
        labels = []
        for chunk in read_chunks(source, block_rows):
            if target not in chunk.columns:
                raise ConfigError(f"{source}: no target column '{target}' (columns: {', '.join(chunk.columns[:10])})")
            labels.append(chunk[target].to_numpy())
        self._encode(np.concatenate(labels), reset=True)
        held = None
        if validation is not None:
            held = (self._network_inputs(np.asarray(transform(validation.drop(columns=[target])), dtype=np.float32)),
                    self._encode(validation[target].to_numpy(), reset=False))
        stream = table_stream(source, target, transform=transform, batch_size=self.batch_size, block_rows=block_rows,
                              encode_target=lambda y: self._encode(y, reset=False), seed=self._seed(),
                              workers=workers)
        try:
            self._streamed_inputs(stream.n_features)
            self._start(keras, stream.n_features, self.epochs)
            self._run(keras, stream, None, epochs=self.epochs, stop_early=self.early_stopping,
                      initial_epoch=self.initial_epoch_, validation=held)
        finally:
            stream.close()
        return self

    def _compiled(self, keras: Any, n_features: int) -> Any:
        """The subclass's network, built under the precision asked for and compiled."""
        policy = keras.config.dtype_policy()
        if self.mixed_precision:
            keras.config.set_dtype_policy("mixed_float16" if training_device() == "cuda" else "mixed_bfloat16")
        try:
            model = self._build(keras, n_features)
        finally:
            keras.config.set_dtype_policy(policy)
        model.compile(optimizer=self._optimizer(keras), **self._compile_options(model))
        return model

    def _resume(self, keras: Any, n_features: int) -> None:
        """Go on from the checkpoint in ``checkpoint_dir``, if one was left there by this network."""
        state = resume_state(Path(self.checkpoint_dir), self._architecture(n_features))
        if state is not None:
            self.model_ = load_archive(state["model"])
            self.history_ = state["history"]
            self.initial_epoch_ = state["epoch"]

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

    def _optimizer(self, keras: Any, rate: float | None = None) -> Any:
        optimizers, rate = keras.optimizers, self.learning_rate if rate is None else rate
        clip = {} if self.clipnorm is None else {"clipnorm": self.clipnorm}
        made = {
            "sgd": lambda: optimizers.SGD(rate, **clip),
            "momentum": lambda: optimizers.SGD(rate, momentum=0.9, **clip),
            "nesterov": lambda: optimizers.SGD(rate, momentum=0.9, nesterov=True, **clip),
            "adagrad": lambda: optimizers.Adagrad(rate, **clip),
            "rmsprop": lambda: optimizers.RMSprop(rate, **clip),
            "adam": lambda: optimizers.Adam(rate, **clip),
            "adamw": lambda: optimizers.AdamW(rate, **clip),
            "nadam": lambda: optimizers.Nadam(rate, **clip),
        }
        return made[self.optimizer]()

    # -------------------------------------------------------------- predicting

    def _network_output(self, X: Any) -> np.ndarray:
        """The network's (first) output for ``X``, as float64."""
        check_is_fitted(self, "model_")
        X = self._check_input(X, reset=False)
        if len(X) == 0:
            raise ValueError("X has 0 rows; at least one is needed to predict")
        output = self.model_.predict(self._network_inputs(X), batch_size=max(self.batch_size, 1024), verbose=0)
        return np.asarray(output[0] if isinstance(output, (list, tuple)) else output, dtype=np.float64)

    def _mc_outputs(self, X: Any, samples: int) -> np.ndarray:
        """``samples`` forward passes with dropout on (MC dropout; batch normalisation stays in inference)."""
        check_is_fitted(self, "model_")
        keras = import_keras()
        dropping = [layer for layer in _all_layers(self.model_)
                    if isinstance(layer, (keras.layers.Dropout, keras.layers.AlphaDropout))]
        if not dropping or all(not getattr(layer, "rate", 0) for layer in dropping):
            raise ValueError("return_std=True draws predictions with dropout on (MC dropout): the network "
                             "needs dropout > 0 (Dropout layers)")
        inputs = self._network_inputs(self._check_input(X, reset=False))
        originals = [layer.call for layer in dropping]
        try:
            for layer, call in zip(dropping, originals, strict=True):
                layer.call = (lambda inputs, training=None, _call=call: _call(inputs, training=True))
            draws = []
            for _ in range(samples):
                output = self.model_(inputs, training=False)
                output = output[0] if isinstance(output, (list, tuple)) else output
                draws.append(keras.ops.convert_to_numpy(output))
        finally:
            for layer, call in zip(dropping, originals, strict=True):
                layer.call = call
        return np.asarray(draws, dtype=np.float64)

    # -------------------------------------------------------------- pickling

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # a copy: the live estimator keeps its model
        for folder in ("checkpoint_dir", "tensorboard_dir"):  # a path object is not plain data
            if state.get(folder) is not None:
                state[folder] = os.fspath(state[folder])
        model = state.pop("model_", None)
        if model is not None:
            state["_keras_archive"] = save_archive(model)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        archive = state.pop("_keras_archive", None)
        config, weights = state.pop("_keras_config", None), state.pop("_keras_weights", None)
        super().__setstate__(state)
        if archive is not None:
            self.model_ = load_archive(archive)
        elif config is not None:  # saved by homl 0.2's first networks: configuration and weights
            self.model_ = _rebuild_from_config(config, weights)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


class RegressionTarget:
    """A numeric target (one column or several), standardised for training and mapped back.

    Fitted: ``n_outputs_``, ``y_mean_``, ``y_scale_``.
    """

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
            scale = getattr(self, "scale_target", True)
            self.y_mean_ = y.mean(axis=0) if scale else np.zeros(y.shape[1])
            self.y_scale_ = np.where(y.std(axis=0) > 0, y.std(axis=0), 1.0) if scale else np.ones(y.shape[1])
        return ((y - self.y_mean_) / self.y_scale_).astype(np.float32)

    def _loss(self, model: Any) -> Any:
        return "mse"

    def partial_fit(self, X: Any, y: Any) -> Any:
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


class ClassTarget:
    """Class labels as codes; probabilities from one sigmoid output (two classes) or a softmax.

    Fitted: ``classes_`` (sorted).
    """

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

    def _loss(self, model: Any) -> Any:
        return "binary_crossentropy" if len(self.classes_) <= 2 else "sparse_categorical_crossentropy"

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> Any:
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


# ------------------------------------------------------------------ saving

def save_archive(model: Any) -> bytes:
    """``model`` as the bytes of a ``.keras`` archive (configuration, weights, optimiser state)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return path.read_bytes()


def load_archive(archive: bytes | Path) -> Any:
    """The model in a ``.keras`` archive (bytes or a file), in Keras' safe mode: a layer that
    carries code (a ``Lambda``) is refused, and a custom piece must be registered (imported) first."""
    keras = import_keras()
    with tempfile.TemporaryDirectory() as folder:
        path = archive if isinstance(archive, Path) else Path(folder) / "model.keras"
        if not isinstance(archive, Path):
            if not zipfile.is_zipfile(io.BytesIO(archive)):
                raise ConfigError("the saved network is not a .keras archive; the model file is damaged")
            path.write_bytes(archive)
        try:
            return keras.saving.load_model(path, safe_mode=True)
        except (TypeError, ValueError) as error:
            raise ConfigError(_load_failure(str(error))) from None


def _load_failure(message: str) -> str:
    if "Lambda" in message or "safe_mode" in message or "unsafe" in message.lower():
        return ("the saved network carries code (a Lambda layer or a function), which homl refuses to load: "
                "write that piece as a registered layer (homl.models.register) instead")
    if "Could not locate" in message or "not registered" in message or "custom" in message.lower():
        return (f"the saved network uses a custom piece that is not registered here ({message.splitlines()[0]}); "
                "import the module that defines it (decorated with homl.models.register) before loading")
    return f"the saved network could not be rebuilt: {message.splitlines()[0]}"


def _rebuild_from_config(config: str, weights: list[np.ndarray]) -> Any:
    keras = import_keras()
    from keras.src.saving import serialization_lib

    try:
        with serialization_lib.SafeModeScope(True):
            model = keras.models.model_from_json(config)
    except (TypeError, ValueError) as error:
        raise ConfigError(_load_failure(str(error))) from None
    model.set_weights(weights)
    return model


# ------------------------------------------------------------------ helpers

def _rows(target: Any, index: np.ndarray) -> Any:
    """The rows ``index`` of a target, or of each target when the network has several outputs."""
    return [t[index] for t in target] if isinstance(target, list) else target[index]


def _all_layers(model: Any) -> list[Any]:
    """Every layer of ``model``, those of nested models included."""
    found = []
    for layer in model.layers:
        found.append(layer)
        if hasattr(layer, "layers"):
            found.extend(_all_layers(layer))
    return found


def _target(y: Any, name: str, dtype: Any = None) -> np.ndarray:
    """``y`` as an array; a column vector becomes one column (with scikit-learn's warning)."""
    if y is None:
        raise ValueError(f"{name} requires y to be passed, but the target y is None")
    y = np.asarray(y, dtype=dtype)
    return column_or_1d(y, warn=True) if y.ndim == 2 and y.shape[1] == 1 else y


def network_summary(model: Any) -> str | None:
    """The ``summary()`` of the fitted network inside ``model`` (a pipeline, a wrapper...), or None."""
    network = find_network(model)
    return None if network is None else network.summary()


def network_history(model: Any) -> dict[str, Any] | None:
    """The loss per epoch of the fitted network inside ``model`` (``loss``, ``val_loss`` when rows
    were held out, ``learning_rate`` under a schedule) and its ``best_epoch``, or None."""
    network = find_network(model)
    if network is None:
        return None
    return {**{name: list(values) for name, values in network.history_.items()}, "best_epoch": network.best_epoch_}


def save_network(model: Any, path: Path) -> bool:
    """Write the fitted network inside ``model`` as a ``.keras`` file at ``path`` (for Keras
    itself: ``keras.saving.load_model(path)``); False, writing nothing, when it holds none."""
    network = find_network(model)
    if network is None:
        return False
    network.model_.save(path)
    return True


def find_network(model: Any) -> KerasModel | None:
    """The fitted Keras estimator inside ``model``: the model itself, a pipeline step or a wrapped estimator."""
    pending, seen = [model], set()
    while pending:
        item = pending.pop()
        if id(item) in seen or item is None:
            continue
        seen.add(id(item))
        if isinstance(item, KerasModel):
            return item if hasattr(item, "model_") else None
        if hasattr(item, "steps"):
            pending.extend(step for _, step in item.steps)
        pending.extend(value for name, value in vars(item).items()
                       if hasattr(value, "get_params") and (name.endswith("_") or "estimator" in name))
    return None
