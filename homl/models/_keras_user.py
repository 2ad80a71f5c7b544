"""A user's own Keras model as a scikit-learn estimator, custom pieces, and transfer learning.

:class:`KerasRegressor` and :class:`KerasClassifier` wrap any Keras model (Sequential,
Functional with several inputs and outputs, or subclassed) given as a function that builds it,
and train it as homl trains its own networks (:class:`~homl.models.KerasModel`): the same
optimisers, schedules, early stopping, checkpoints, deadlines, reports and safe saving.

- Several inputs: ``inputs`` lists, for each input of the model, the columns of ``X`` it is fed
  (positions, or names when ``X`` is a DataFrame), e.g. the book's wide & deep model takes
  ``inputs=[[0, 1, 2, 3, 4], [2, 3, 4, 5, 6, 7]]``.
- Several outputs: each output learns the same target (the book's auxiliary output),
  weighted by ``loss_weights``; predictions come from the first output.

A custom piece (loss, metric, layer, model) is a Keras class decorated with :func:`register`,
with a ``get_config`` that gives its constructor's arguments: a model that uses it then saves
and loads (in safe mode), provided the module that defines it is imported before loading.

:func:`reuse_layers` hands out the lower layers of a fitted network, with their weights, for a
new model (transfer learning); ``unfreeze_after`` trains the new head first with those layers
frozen, then every layer at ``fine_tune_rate``.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from homl.errors import ConfigError

from ._keras import TRAINING_CONSTRAINTS, ClassTarget, KerasModel, RegressionTarget, import_keras, load_archive


def register(piece: Any = None, *, name: str | None = None) -> Any:
    """Register a custom Keras class (loss, metric, layer, model) so that models using it save
    and load: use as ``@register`` or ``@register(name="MyLoss")``. The class needs a
    ``get_config`` returning its constructor's arguments (Keras layers and models get one from
    their base when those arguments are plain values)."""
    keras = import_keras()
    decorate = keras.saving.register_keras_serializable(package="homl_custom", name=name)
    return decorate if piece is None else decorate(piece)


def reuse_layers(source: Any, *, drop: int = 1, trainable: bool = False) -> list[Any]:
    """The layers of a fitted network but its last ``drop`` ones, copied with their weights, to
    stack under a new head (the book's transfer learning); frozen unless ``trainable``.

    ``source`` is a fitted homl Keras estimator (or a pipeline ending in one), a Keras model, or
    the path of a ``.keras`` file. The source itself is left unchanged.
    """
    from ._keras import find_network

    keras = import_keras()
    if isinstance(source, (str, os.PathLike)):
        from pathlib import Path

        model = load_archive(Path(source))
    elif isinstance(source, keras.Model):
        model = source
    else:
        network = find_network(source)
        if network is None:
            raise ValueError(f"reuse_layers needs a fitted homl network, a Keras model or a .keras file; got "
                             f"{type(source).__name__}")
        model = network.model_
    if not 0 <= drop < len(model.layers):
        raise ValueError(f"drop={drop}: the network has {len(model.layers)} layers; at least one must be kept")
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    kept = copy.layers[: len(copy.layers) - drop]
    for layer in kept:
        layer.trainable = trainable
    return kept


class KerasEstimator(KerasModel):
    """A user-built Keras model trained as homl's networks are; use :class:`KerasRegressor` or
    :class:`KerasClassifier`.

    ``model``: a function returning the model (not compiled; it may take any of the keyword
    arguments ``n_features``, ``n_outputs`` and ``n_classes``), or a model's JSON configuration
    (what a saved estimator keeps, so that a loaded one can be refitted). ``loss``: a Keras loss
    name or object (default: mean squared error, or cross-entropy for classes); ``metrics``:
    Keras metrics to log each epoch; ``inputs``: for a model of several inputs, the columns each
    is fed; ``loss_weights``: for a model of several outputs, each output's share of the loss.
    ``unfreeze_after``: train that many epochs with the layers that are not trainable frozen
    (see :func:`reuse_layers`), then make every layer trainable and go on at ``fine_tune_rate``
    (default: a tenth of ``learning_rate``). Training parameters: see :class:`~homl.models.KerasModel`.
    """

    _parameter_constraints = {
        "model": [callable, str],
        "loss": [None, str, dict, object],
        "metrics": [None, list, tuple],
        "inputs": [None, list, tuple],
        "loss_weights": [None, list, tuple],
        "unfreeze_after": [None, Interval(Integral, 1, None, closed="left")],
        "fine_tune_rate": [None, Interval(Real, 0, None, closed="neither")],
        **TRAINING_CONSTRAINTS,
    }

    def __init__(self, model: Callable[..., Any] | str, *, loss: Any = None, metrics: Any = None, inputs: Any = None,
                 loss_weights: Any = None, unfreeze_after: int | None = None, fine_tune_rate: float | None = None,
                 optimizer: str = "adam", learning_rate: float = 1e-3, lr_schedule: str = "constant",
                 clipnorm: float | None = None, batch_size: int = 32, epochs: int = 100,
                 early_stopping: bool = True, validation_fraction: float = 0.1, patience: int = 10,
                 warm_start: bool = False, mixed_precision: bool = False,
                 checkpoint_dir: str | os.PathLike[str] | None = None,
                 tensorboard_dir: str | os.PathLike[str] | None = None,
                 random_state: int | None = None, verbose: int = 0):
        self.model = model
        self.loss = loss
        self.metrics = metrics
        self.inputs = inputs
        self.loss_weights = loss_weights
        self.unfreeze_after = unfreeze_after
        self.fine_tune_rate = fine_tune_rate
        self._store_training(locals())

    # -------------------------------------------------------------- the network

    def _build(self, keras: Any, n_features: int) -> Any:
        if isinstance(self.model, str):
            from keras.src.saving import serialization_lib

            with serialization_lib.SafeModeScope(True):
                return keras.models.model_from_json(self.model)
        offered = {"n_features": n_features, "n_outputs": getattr(self, "n_outputs_", None),
                   "n_classes": len(getattr(self, "classes_", [])) or None}
        wanted = inspect.signature(self.model).parameters
        takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in wanted.values())
        model = self.model(**{k: v for k, v in offered.items() if takes_all or k in wanted})
        if not isinstance(model, keras.Model):
            raise ConfigError(f"model= must build a Keras model; the function returned {type(model).__name__}")
        return model

    def _compile_options(self, model: Any) -> dict[str, Any]:
        n_outputs = len(model.outputs) if getattr(model, "outputs", None) else 1
        loss = self._loss(model) if self.loss is None else _live(self.loss)
        options = {"loss": [loss] * n_outputs if n_outputs > 1 and not isinstance(loss, (list, tuple)) else loss}
        if self.loss_weights is not None:
            if len(self.loss_weights) != n_outputs:
                raise ConfigError(f"loss_weights has {len(self.loss_weights)} weights; the model has {n_outputs} "
                                  "outputs, and each needs one")
            options["loss_weights"] = list(self.loss_weights)
        if self.metrics is not None:
            metrics = [_live(metric) for metric in self.metrics]
            options["metrics"] = metrics if n_outputs == 1 else [metrics] * n_outputs
        return options

    def _network_inputs(self, X: np.ndarray) -> Any:
        if self.inputs is None:
            return X
        return [X[:, self._columns(columns)] for columns in self.inputs]

    def _columns(self, columns: Any) -> list[int]:
        names = list(getattr(self, "feature_names_in_", []))
        found = []
        for column in columns:
            if isinstance(column, (int, np.integer)) and 0 <= column < self.n_features_in_:
                found.append(int(column))
            elif isinstance(column, str) and column in names:
                found.append(names.index(column))
            else:
                raise ConfigError(f"inputs names column {column!r}, which X does not have (X has "
                                  f"{self.n_features_in_} columns{': ' + ', '.join(names[:10]) if names else ''})")
        return found

    def _train(self, X: np.ndarray, target: Any, *, epochs: int, stop_early: bool, fresh: bool) -> None:
        keras = import_keras()
        keras.utils.set_random_seed(self._seed())
        if fresh:
            self._start(keras, X.shape[1], epochs)
            self.frozen_epochs_ = self.frozen_weights_ = None
        else:
            self.initial_epoch_ = 0
        n_outputs = len(getattr(self.model_, "outputs", None) or [None])
        target = [target] * n_outputs if n_outputs > 1 else target  # every output learns the target
        phases = fresh and self.unfreeze_after is not None and self.unfreeze_after < epochs
        if not phases or self.initial_epoch_ > 0:
            self._run(keras, X, target, epochs=epochs, stop_early=stop_early, initial_epoch=self.initial_epoch_)
            return
        frozen = len(self.model_.non_trainable_weights)
        self._run(keras, X, target, epochs=self.unfreeze_after, stop_early=stop_early, initial_epoch=0)
        self.frozen_epochs_, self.frozen_weights_ = self.n_epochs_, frozen
        for layer in self.model_.layers:
            layer.trainable = True
        rate = self.fine_tune_rate or self.learning_rate / 10
        self.model_.compile(optimizer=self._optimizer(keras, rate), **self._compile_options(self.model_))
        self._run(keras, X, target, epochs=epochs, stop_early=stop_early, initial_epoch=self.n_epochs_)

    # -------------------------------------------------------------- saving and reporting

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        if callable(state.get("model")) and "_keras_archive" in state:
            # the building function is code: a saved estimator keeps the model's configuration instead
            state["model"] = json.dumps(json.loads(self.model_.to_json()))
        # Keras objects (a custom loss, metrics) are kept as their configurations: plain data
        if state.get("loss") is not None and not isinstance(state["loss"], (str, dict)):
            state["loss"] = _configuration(state["loss"])
        if state.get("metrics") is not None:
            state["metrics"] = [m if isinstance(m, (str, dict)) else _configuration(m) for m in state["metrics"]]
        return state

    def summary(self) -> str:
        """One line on the fitted network: its size, its training and where it ran."""
        check_is_fitted(self, "model_")
        weights = sum(int(np.prod(w.shape)) for w in self.model_.weights)
        stopped = f" (weights of epoch {self.best_epoch_})" if self.best_epoch_ != self.n_epochs_ else ""
        frozen = (f", the first {self.frozen_epochs_} with {self.frozen_weights_} weight arrays frozen"
                  if getattr(self, "frozen_epochs_", None) else "")
        return (f"network: Keras {type(self.model_).__name__} '{self.model_.name}' of {len(self.model_.layers)} layers, "
                f"{weights:,} weights; {self.optimizer} at {self.learning_rate:g}; "
                f"{self.n_epochs_} epochs{stopped}{frozen}; trained on {self.device_}")


def _configuration(piece: Any) -> dict[str, Any]:
    """A Keras object (loss, metric) as its configuration, plain data that skops saves safely."""
    return import_keras().saving.serialize_keras_object(piece)


def _live(piece: Any) -> Any:
    """A loss or metric as Keras takes it: a saved configuration becomes the object again (safe mode)."""
    if isinstance(piece, dict):
        return import_keras().saving.deserialize_keras_object(piece, safe_mode=True)
    return piece


class KerasRegressor(RegressionTarget, RegressorMixin, KerasEstimator):
    """A user-built Keras model for regression. ``scale_target`` (default True): the model
    learns the target standardised, and its predictions are mapped back. Parameters as
    :class:`KerasEstimator`'s."""

    _parameter_constraints = {**KerasEstimator._parameter_constraints, "scale_target": ["boolean"]}

    def __init__(self, model: Callable[..., Any] | str, *, scale_target: bool = True, loss: Any = None,
                 metrics: Any = None, inputs: Any = None, loss_weights: Any = None, unfreeze_after: int | None = None,
                 fine_tune_rate: float | None = None, optimizer: str = "adam", learning_rate: float = 1e-3,
                 lr_schedule: str = "constant", clipnorm: float | None = None, batch_size: int = 32,
                 epochs: int = 100, early_stopping: bool = True, validation_fraction: float = 0.1, patience: int = 10,
                 warm_start: bool = False, mixed_precision: bool = False,
                 checkpoint_dir: str | os.PathLike[str] | None = None,
                 tensorboard_dir: str | os.PathLike[str] | None = None,
                 random_state: int | None = None, verbose: int = 0):
        super().__init__(model, loss=loss, metrics=metrics, inputs=inputs, loss_weights=loss_weights,
                         unfreeze_after=unfreeze_after, fine_tune_rate=fine_tune_rate, optimizer=optimizer,
                         learning_rate=learning_rate, lr_schedule=lr_schedule, clipnorm=clipnorm,
                         batch_size=batch_size, epochs=epochs, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, patience=patience, warm_start=warm_start,
                         mixed_precision=mixed_precision, checkpoint_dir=checkpoint_dir,
                         tensorboard_dir=tensorboard_dir, random_state=random_state, verbose=verbose)
        self.scale_target = scale_target


class KerasClassifier(ClassTarget, ClassifierMixin, KerasEstimator):
    """A user-built Keras model for classification: its (first) output is one sigmoid unit for
    two classes, or a softmax over the classes. Parameters as :class:`KerasEstimator`'s."""
