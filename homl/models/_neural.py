"""Multilayer perceptrons as scikit-learn estimators, and the book's learning-rate finder.

:class:`MLPRegressor` and :class:`MLPClassifier` build a Keras ``Sequential`` of dense layers
from their parameters (width and depth, activation, initialiser, batch normalisation, dropout,
l1/l2 penalties, max-norm) and are trained by :class:`~homl.models._keras.KerasModel` (the
book's optimisers and schedules, gradient clipping, early stopping with the best epoch restored,
checkpoints, MC dropout, safe saving). A regression target is standardised for training and
mapped back. :func:`find_learning_rate` is the book's learning-rate finder, for any homl
Keras estimator.

Keras 3's own ``keras.wrappers.SKLearnRegressor``/``SKLearnClassifier`` take a model-building
function and have no seed, no parameters of their own for a search, no early stopping and no
target scaling: with a 16-unit network, 4 of scikit-learn's 50 regressor checks and 7 of its 53
classifier checks fail on them (unreproducible fits, untrained predictions), which is why these
estimators drive Keras themselves.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from ._keras import TRAINING_CONSTRAINTS, ClassTarget, KerasModel, RegressionTarget, import_keras

ACTIVATIONS = ("relu", "leaky_relu", "elu", "selu", "gelu", "swish", "mish")
INITIALIZERS = ("auto", "he_normal", "he_uniform", "glorot_normal", "glorot_uniform", "lecun_normal", "lecun_uniform")
#: Weight of the past in the learning-rate finder's moving average of the batches' losses.
SMOOTHING = 0.9


class _MLP(KerasModel):
    """What the two MLPs share: the network's layers, and embeddings for category columns."""

    _keep_tables = True  # a table's category columns are embedded, not read as numbers

    _parameter_constraints = {
        "n_hidden": [Interval(Integral, 0, None, closed="left")],
        "n_neurons": [Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "kernel_initializer": [StrOptions(set(INITIALIZERS))],
        "batch_norm": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "l1": [Interval(Real, 0, None, closed="left")],
        "l2": [Interval(Real, 0, None, closed="left")],
        "max_norm": [None, Interval(Real, 0, None, closed="neither")],
        **TRAINING_CONSTRAINTS,
    }

    def __init__(self, n_hidden: int = 2, n_neurons: int = 512, *, activation: str = "relu",
                 kernel_initializer: str = "auto", batch_norm: bool = False, dropout: float = 0.0, l1: float = 0.0,
                 l2: float = 0.0, max_norm: float | None = None,
                 optimizer: str = "adam", learning_rate: float = 5e-4, lr_schedule: str = "constant",
                 clipnorm: float | None = None, batch_size: int = 64, epochs: int = 200,
                 early_stopping: bool = True, validation_fraction: float = 0.1, patience: int = 10,
                 warm_start: bool = False, mixed_precision: bool = False,
                 checkpoint_dir: str | os.PathLike[str] | None = None,
                 tensorboard_dir: str | os.PathLike[str] | None = None,
                 random_state: int | None = None, verbose: int = 0):
        self.n_hidden = n_hidden
        self.n_neurons = n_neurons
        self.activation = activation
        self.kernel_initializer = kernel_initializer
        self.batch_norm = batch_norm
        self.dropout = dropout
        self.l1 = l1
        self.l2 = l2
        self.max_norm = max_norm
        self._store_training(locals())

    def _output_layer(self) -> tuple[int, str | None]:
        """Units of the output layer and its activation."""
        raise NotImplementedError

    def _architecture(self, n_features: int) -> dict[str, Any]:
        names = ("n_hidden", "n_neurons", "activation", "kernel_initializer", "batch_norm", "dropout", "l1", "l2",
                 "max_norm", "mixed_precision")
        return {"inputs": int(n_features), "outputs": list(self._output_layer()),
                "categories": list(self._levels()), **{n: getattr(self, n) for n in names}}

    # -------------------------------------------------------------- category columns

    def _check_input(self, X: Any, *, reset: bool) -> Any:
        """The rows as one float32 array: numbers first, then each category column's code + 1 (0:
        missing or unseen), for a table whose category columns (pandas' category dtype, e.g. the
        preparation's ``categorical="native"``) the network embeds."""
        X = super()._check_input(X, reset=reset)
        categories = ([c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
                      if isinstance(X, pd.DataFrame) else [])
        if reset:
            self.category_levels_ = [len(X[c].cat.categories) for c in categories]
        elif len(categories) != len(self._levels()):
            raise ValueError(f"the network was fitted on {len(self._levels())} category columns (pandas' "
                             f"category dtype); X has {len(categories)}")
        if not isinstance(X, pd.DataFrame):
            return X
        numbers = check_array(X.drop(columns=categories), dtype=np.float32, ensure_min_features=0)
        codes = [X[c].cat.codes.to_numpy(np.float32)[:, None] + 1 for c in categories]
        return np.hstack([numbers, *codes]).astype(np.float32)

    def _levels(self) -> list[int]:
        """The levels of each category column the network embeds (none for a network of numbers)."""
        return getattr(self, "category_levels_", [])

    def _streamed_inputs(self, n_features: int) -> None:
        super()._streamed_inputs(n_features)
        self.category_levels_ = []

    def _network_inputs(self, X: np.ndarray) -> Any:
        levels = self._levels()
        if not levels:
            return X
        n_numbers = X.shape[1] - len(levels)
        return [X[:, :n_numbers], *(X[:, [n_numbers + j]].astype(np.int32) for j in range(len(levels)))]

    def _inputs_and_features(self, keras: Any, n_features: int) -> tuple[list[Any], Any]:
        """The network's inputs, and the features they give: the numbers joined to each category
        column's embedding (of ``round(1.6 * levels ** 0.56)`` values, at most 50)."""
        n_numbers = n_features - len(self._levels())
        numbers = keras.Input((n_numbers,), name="numbers")
        inputs, features = [numbers], [numbers] if n_numbers else []
        for j, levels in enumerate(self._levels()):
            codes = keras.Input((1,), dtype="int32", name=f"category_{j}")
            size = min(50, max(2, round(1.6 * levels**0.56)))
            embedded = keras.layers.Embedding(levels + 1, size, name=f"embedding_{j}")(codes)
            inputs.append(codes)
            features.append(keras.layers.Flatten()(embedded))
        joined = features[0] if len(features) == 1 else keras.layers.Concatenate()(features)
        return inputs, joined

    def _build(self, keras: Any, n_features: int) -> Any:
        layers = keras.layers
        regularizer = keras.regularizers.L1L2(l1=self.l1, l2=self.l2) if self.l1 or self.l2 else None
        constraint = keras.constraints.MaxNorm(self.max_norm) if self.max_norm is not None else None
        initializer = self.kernel_initializer
        if initializer == "auto":  # the book's pairing: LeCun with SELU, He with the ReLU family
            initializer = "lecun_normal" if self.activation == "selu" else "he_normal"
        activation = "silu" if self.activation == "swish" else self.activation
        dense = {"kernel_initializer": initializer, "kernel_regularizer": regularizer, "kernel_constraint": constraint}
        stack = []
        for _ in range(self.n_hidden):
            if self.batch_norm:
                stack += [layers.Dense(self.n_neurons, use_bias=False, **dense), layers.BatchNormalization(),
                          layers.Activation(activation)]
            else:
                stack.append(layers.Dense(self.n_neurons, activation=activation, **dense))
            if self.dropout:
                # SELU keeps its self-normalisation only with alpha dropout
                stack.append(layers.AlphaDropout(self.dropout) if self.activation == "selu"
                             else layers.Dropout(self.dropout))
        units, output_activation = self._output_layer()
        stack.append(layers.Dense(units, activation=output_activation, dtype="float32"))  # outputs in full precision
        if not self._levels():
            return keras.Sequential([keras.Input((n_features,)), *stack])
        inputs, values = self._inputs_and_features(keras, n_features)
        for layer in stack:
            values = layer(values)
        return keras.Model(inputs, values)

    def summary(self) -> str:
        """One line on the fitted network: its layers, its training and where it ran."""
        check_is_fitted(self, "model_")
        layers = f"{self.n_hidden} hidden layer{'s' if self.n_hidden != 1 else ''} of {self.n_neurons} {self.activation}"
        extras = ", batch normalisation" * self.batch_norm + f", dropout {self.dropout:g}" * bool(self.dropout)
        if self._levels():
            extras += f", embeddings of {len(self._levels())} category column{'s' * (len(self._levels()) > 1)}"
        stopped = f" (weights of epoch {self.best_epoch_})" if self.best_epoch_ != self.n_epochs_ else ""
        schedule = "" if self.lr_schedule == "constant" else f" ({self.lr_schedule} schedule)"
        return (f"network: {layers} units{extras}; {self.optimizer} at {self.learning_rate:g}{schedule}; "
                f"{self.n_epochs_} epochs{stopped}; trained on {self.device_}")


class MLPRegressor(RegressionTarget, RegressorMixin, _MLP):
    """A multilayer perceptron for regression (one output a target column), trained with Keras.

    ``n_hidden`` hidden layers of ``n_neurons`` units each (the book's two knobs); ``activation``:
    relu, leaky_relu, elu, selu, gelu, swish or mish; ``kernel_initializer``: "auto" (LeCun for
    SELU, He otherwise) or a Keras initialiser name; ``batch_norm``: batch normalisation before
    each activation; ``dropout``: the share of units dropped in training (alpha dropout with
    SELU); ``l1``, ``l2``: the weights' penalties; ``max_norm``: each unit's incoming weights
    rescaled after every step to a norm of at most this. Training parameters (optimiser,
    schedule, clipping, early stopping, checkpoints...): see :class:`~homl.models.KerasModel`.

    ``predict(X, return_std=True)`` gives the mean and spread of predictions drawn with dropout
    on (MC dropout, with ``dropout`` > 0).

    Fitted: as :class:`~homl.models.KerasModel`, with ``n_outputs_``, ``y_mean_``, ``y_scale_``.
    """

    def _output_layer(self) -> tuple[int, str | None]:
        return self.n_outputs_, None


class MLPClassifier(ClassTarget, ClassifierMixin, _MLP):
    """A multilayer perceptron for classification (sigmoid for two classes, softmax for more),
    trained with Keras. Parameters as :class:`MLPRegressor`'s.

    Fitted: as :class:`~homl.models.KerasModel`, with ``classes_`` (sorted).
    """

    def _output_layer(self) -> tuple[int, str | None]:
        if len(self.classes_) <= 2:
            return 1, "sigmoid"
        return len(self.classes_), "softmax"


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


def find_learning_rate(estimator: KerasModel, X: Any, y: Any, *, min_rate: float = 1e-6, max_rate: float = 10.0,
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
    model = probe._compiled(keras, X.shape[1])
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
    model.fit(probe._network_inputs(X), target, batch_size=batch_size, epochs=epochs, callbacks=[Probe()],
              verbose=0, shuffle=True)
    best = int(np.nanargmin(losses))
    diverged = rates[-1] if not math.isfinite(losses[-1]) or losses[-1] > 4 * losses[best] else None
    return LearningRateSearch(rates, losses, suggested=rates[best] / 10, diverged_at=diverged)
