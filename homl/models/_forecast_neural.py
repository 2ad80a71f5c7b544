"""Recurrent and convolutional networks that forecast series (the book's chapter 15), one network for all series.

:class:`SequenceForecaster` cuts every series into windows of ``window`` steps and trains one Keras
network on all of them. Each input step holds the series' value, its past-only covariates at that
step and its known covariates of the *next* step (the book's multivariate model: bus and rail
ridership with tomorrow's day type). Each series is standardised with its own training mean and
spread, and mapped back when forecasting.

The architectures are the book's: a simple RNN (32 units and a dense output, since the book's
one-unit first try is poor), a deep RNN, an LSTM, a GRU, a 1D convolution under a GRU, WaveNet
(causal convolutions dilated 1, 2, 4, 8, twice), a sequence-to-sequence GRU (trained to forecast
the ``horizon`` next steps from every step of its window) and an RNN whose cell applies layer
normalisation.

How far a network forecasts in one pass is ``horizon``:

* ``horizon=1`` (the default): the network forecasts the next step of the series *and of its
  past-only covariates*, and is rolled forward one step at a time, feeding its forecasts back.
  Any horizon can then be forecast without refitting, covariates or not.
* ``horizon > 1``: the network forecasts the next ``horizon`` values of the series at once (the
  known covariates of those steps in each input step). A longer horizon is forecast block by
  block, which needs the past-only covariates of the steps in between: with past-only
  covariates, forecasting more than ``horizon`` steps is refused (refit with a larger one).

Fitted networks are saved as ``.keras`` archives inside the estimator (bytes, loaded back in
Keras' safe mode on the first forecast after loading), so a fitted forecaster is plain data
for skops.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, StrOptions

from homl.data import SeriesData
from homl.errors import ConfigError, DataError

from ._forecast_base import Forecaster, check_horizon

#: Each architecture's name in the forecaster catalogue and what the leaderboard shows.
ARCHITECTURES: dict[str, tuple[str, str]] = {
    "simple_rnn": ("rnn", "Simple RNN"),
    "deep_rnn": ("deep_rnn", "Deep RNN"),
    "lstm": ("lstm", "LSTM"),
    "gru": ("gru", "GRU"),
    "conv_gru": ("conv_gru", "1D CNN + GRU"),
    "wavenet": ("wavenet", "WaveNet"),
    "seq2seq": ("seq2seq", "Seq2seq GRU"),
    "layer_norm_rnn": ("layer_norm_rnn", "Layer-norm RNN"),
}
#: Input steps of a daily series when ``window`` is None (eight weeks, as in the book).
DAILY_WINDOW = 56
#: Fewest training windows a network learns from.
MIN_WINDOWS = 10
#: Steps the catalogue's sequence-to-sequence network forecasts at once (two weeks of days, as in the book).
SEQ2SEQ_HORIZON = 14
#: Dilation rates of WaveNet's causal convolutions.
WAVENET_RATES = (1, 2, 4, 8) * 2

_DEEP_EXTRA = ("needs Keras and PyTorch, which are not installed: pip install 'homl[deep]' (install torch first, "
               "e.g. pip install torch --index-url https://download.pytorch.org/whl/cpu)")


class SequenceForecaster(Forecaster):
    """One Keras network that forecasts every series from its last ``window`` steps.

    ``architecture``: simple_rnn, deep_rnn, lstm, gru, conv_gru, wavenet, seq2seq or
    layer_norm_rnn (see the module). ``window``: input steps (None: 56 for daily series, else
    ``max(3 * season, 24)``; at most half the longest series). ``horizon``: steps forecast in one
    pass (1: rolled forward step by step; see the module). ``units``: width of each recurrent or
    convolutional layer. Training: Nadam at ``learning_rate`` on the Huber loss, ``batch_size``
    windows a batch, up to ``epochs`` epochs, stopping after ``patience`` epochs without a better
    loss on the most recent ``validation_share`` of each series' windows (best epoch restored), on
    the most recent ``max_windows`` training windows (shared among the series; None: all).
    ``random_state`` makes a fit repeatable; ``verbose`` is Keras' progress output.

    Fitted: ``window_``, ``steps_`` (the ``horizon`` trained), ``n_past_``, ``n_known_``,
    ``scales_`` (id → mean and spread of the target and covariates), ``history_`` (loss and
    val_loss per epoch), ``n_epochs_``, ``best_epoch_``, ``device_``, and the network ``model_``.
    """

    uses_known = True
    uses_past = True

    _parameter_constraints: dict[str, list[Any]] = {
        "architecture": [StrOptions(set(ARCHITECTURES))],
        "window": [None, Interval(Integral, 2, None, closed="left")],
        "horizon": [Interval(Integral, 1, None, closed="left")],
        "units": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "validation_share": [Interval(Real, 0, 1, closed="left")],
        "max_windows": [None, Interval(Integral, 1, None, closed="left")],
        "random_state": [None, Interval(Integral, 0, None, closed="left")],
        "verbose": [Interval(Integral, 0, 2, closed="both")],
    }

    def __init__(self, architecture: str = "gru", *, window: int | None = None, horizon: int = 1, units: int = 32,
                 epochs: int = 100, batch_size: int = 32, learning_rate: float = 1e-3, patience: int = 10,
                 validation_share: float = 0.1, max_windows: int | None = 2000, random_state: int | None = 0,
                 verbose: int = 0):
        self.architecture = architecture
        self.window = window
        self.horizon = horizon
        self.units = units
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.validation_share = validation_share
        self.max_windows = max_windows
        self.random_state = random_state
        self.verbose = verbose

    @property
    def name(self) -> str:  # type: ignore[override]
        return ARCHITECTURES.get(self.architecture, (self.architecture, ""))[0]

    @property
    def display(self) -> str:  # type: ignore[override]
        return ARCHITECTURES.get(self.architecture, ("", self.architecture))[1]

    # -------------------------------------------------------------- suitability

    def unsuitable(self, data: SeriesData, horizon: int) -> str | None:
        if _keras_missing():
            return _DEEP_EXTRA
        if not data.ids:
            return "there is no series to learn from"
        steps = int(self.horizon)
        if steps > 1 and data.past_names and horizon > steps:
            return (f"with past-only covariates it forecasts at most horizon={steps} steps (it cannot feed back "
                    f"covariates it does not forecast); {horizon} were asked: set its horizon to {horizon}")
        window = self._window_for(data, steps)
        windows = sum(max(0, data.length(s) - steps - window + 1) for s in data.ids)
        if windows < MIN_WINDOWS:
            longest = max(data.length(s) for s in data.ids)
            return (f"learns from windows of {window} steps followed by {steps} to forecast, and needs {MIN_WINDOWS} "
                    f"of them (a series of {window + steps + MIN_WINDOWS - 1} steps); the longest series has {longest}")
        return None

    def _window_for(self, data: SeriesData, steps: int) -> int:
        if self.window is not None:
            return int(self.window)
        wanted = DAILY_WINDOW if _daily(data.freq) else max(3 * int(data.season), 24)
        longest = max(data.length(s) for s in data.ids)
        return max(2, min(wanted, (longest - steps) // 2))

    # -------------------------------------------------------------- fitting

    def fit(self, data: SeriesData) -> SequenceForecaster:
        """Train the network on windows of every series of ``data``."""
        self._validate_params()
        reason = self.unsuitable(data, 1)
        if reason is not None:
            raise (ConfigError if reason == _DEEP_EXTRA else DataError)(f"{self.display} cannot be fitted: {reason}")
        from ._callbacks import time_limit_callback
        from ._keras import import_keras, training_device

        keras = import_keras()
        keras.utils.set_random_seed(self._seed())
        for stale in ("model_", "_keras_archive"):
            self.__dict__.pop(stale, None)
        self.steps_ = int(self.horizon)
        self.window_ = self._window_for(data, self.steps_)
        self.n_past_, self.n_known_ = len(data.past_names), len(data.known_names)
        self.past_names_, self.known_names_ = tuple(data.past_names), tuple(data.known_names)
        self.season_ = int(data.season)
        self.scales_ = {s: _scales(_raw(data, s)) for s in data.ids}
        (X, target), validation = self._windows(data)
        model = self._build(keras, X.shape[-1])
        model.compile(optimizer=keras.optimizers.Nadam(self.learning_rate), loss=keras.losses.Huber())
        callbacks = [time_limit_callback(keras)]
        if validation is not None:
            callbacks.insert(0, keras.callbacks.EarlyStopping(monitor="val_loss", patience=self.patience,
                                                              restore_best_weights=True))
        history = model.fit(X, target, batch_size=min(self.batch_size, len(X)), epochs=self.epochs,
                            validation_data=validation, callbacks=callbacks, shuffle=True, verbose=self.verbose)
        self.model_ = model
        self.history_ = {key: [float(v) for v in values] for key, values in history.history.items()}
        self.n_epochs_ = len(self.history_.get("loss", []))
        losses = self.history_.get("val_loss")
        self.best_epoch_ = int(np.argmin(losses)) + 1 if losses else self.n_epochs_
        self.device_ = training_device()
        return self

    def _windows(self, data: SeriesData) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray] | None]:
        """Training windows and their targets, and the most recent ``validation_share`` of each
        series' windows held out (None when too few), in time order within each series."""
        window, steps, sequence = self.window_, self.steps_, self.architecture == "seq2seq"
        parts: dict[str, list[np.ndarray]] = {"X": [], "T": [], "Xv": [], "Tv": []}
        for series in data.ids:
            values, known = self._scaled(data, series)
            usable = len(values) - steps  # steps whose targets lie in the series
            count = usable - window + 1
            if count < 1:
                continue
            features = _features(values, known, np.arange(usable), steps)
            targets = values[1:usable + 1] if steps == 1 else _ahead(values[:, 0], steps)[:usable]
            X = _slide(features, window)
            T = _slide(targets, window) if sequence else targets[window - 1:]
            held = math.ceil(self.validation_share * count) if self.validation_share > 0 else 0
            kept = count - held - (steps - 1)  # no training target overlaps a held-out one
            if held == 0 or kept < 1:
                held, kept = 0, count
            first = 0 if self.max_windows is None else max(0, kept - max(1, self.max_windows // len(data.ids)))
            parts["X"].append(X[first:kept])  # the most recent windows
            parts["T"].append(T[first:kept])
            if held:
                parts["Xv"].append(X[count - held:])
                parts["Tv"].append(T[count - held:])
        joined = {key: np.ascontiguousarray(np.concatenate(value), dtype=np.float32) if value else None
                  for key, value in parts.items()}
        validation = (joined["Xv"], joined["Tv"]) if joined["Xv"] is not None else None
        return (joined["X"], joined["T"]), validation

    def _build(self, keras: Any, n_inputs: int) -> Any:
        """The network, not compiled, for windows of ``n_inputs`` values a step."""
        layers, units, window = keras.layers, self.units, self.window_
        outputs = self.steps_ if self.steps_ > 1 else 1 + self.n_past_
        made = {
            "simple_rnn": lambda: [layers.SimpleRNN(units)],
            "deep_rnn": lambda: [layers.SimpleRNN(units, return_sequences=True),
                                 layers.SimpleRNN(units, return_sequences=True), layers.SimpleRNN(units)],
            "lstm": lambda: [layers.LSTM(units)],
            "gru": lambda: [layers.GRU(units)],
            "conv_gru": lambda: [layers.Conv1D(units, kernel_size=min(4, window), strides=2, activation="relu"),
                                 layers.GRU(units)],
            "wavenet": lambda: [*(layers.Conv1D(units, kernel_size=2, padding="causal", activation="relu",
                                                dilation_rate=rate) for rate in WAVENET_RATES),
                                layers.Cropping1D((window - 1, 0)), layers.Flatten()],  # the last step's features
            "seq2seq": lambda: [layers.GRU(units, return_sequences=True)],
            "layer_norm_rnn": lambda: [layers.RNN(_layer_norm_cell(keras)(units))],
        }
        body = made[self.architecture]()
        return keras.Sequential([keras.Input((window, n_inputs)), *body, layers.Dense(outputs, dtype="float32")])

    def _seed(self) -> int:
        if self.random_state is not None:
            return int(self.random_state)
        return int(np.random.default_rng().integers(2**31 - 1))

    # -------------------------------------------------------------- forecasting

    def predict(self, data: SeriesData, horizon: int,
                known_future: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        horizon = check_horizon(horizon)
        if not hasattr(self, "window_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit first")
        self._check_covariates(data, horizon, known_future)
        model = self._network()
        steps, ids = self.steps_, data.ids
        values, known, starts = {}, {}, {}
        for series in ids:
            if data.length(series) == 0:
                raise DataError(f"series {series!r} has no value to forecast from")
            values[series], history = self._scaled(data, series)
            keep = self.window_ + self.season_  # the steps a forecast reads (a season more, to extend `known`)
            values[series], history = values[series][-keep:], history[-keep:]
            future = np.zeros((horizon, 0))
            if self.n_known_:
                mean, spread = self._stats(data, series)[:, 1 + self.n_past_:]
                future = (np.asarray(known_future[series], dtype=float)[:horizon] - mean) / spread  # type: ignore[index]
            known[series] = _extend(np.vstack([history, future]), len(history) + horizon + steps, self.season_)
            starts[series] = len(history)
        done = 0
        while done < horizon:
            batch = np.stack([_features(values[s], known[s], _last_rows(len(values[s]), self.window_), steps)
                              for s in ids]).astype(np.float32)
            output = np.asarray(model.predict_on_batch(batch), dtype=float)
            if self.architecture == "seq2seq":
                output = output[:, -1, :]
            for i, series in enumerate(ids):
                rows = output[i][None, :] if steps == 1 else np.zeros((steps, 1 + self.n_past_))
                if steps > 1:
                    rows[:, 0] = output[i]  # past-only covariates (if any) are never read again: see predict's check
                values[series] = np.vstack([values[series], rows])
            done += steps
        forecasts = {}
        for series in ids:
            mean, spread = self._stats(data, series)[:, 0]
            start = starts[series]
            forecasts[series] = values[series][start:start + horizon, 0] * spread + mean
        return forecasts

    def _check_covariates(self, data: SeriesData, horizon: int, known_future: dict[str, np.ndarray] | None) -> None:
        for kind, names, fitted in (("past-only", data.past_names, self.past_names_),
                                    ("known", data.known_names, self.known_names_)):
            if len(names) != len(fitted):
                raise ConfigError(f"the network was fitted with {len(fitted)} {kind} covariate(s) "
                                  f"({', '.join(fitted) or 'none'}); the data has {len(names)} "
                                  f"({', '.join(names) or 'none'})")
        if self.steps_ > 1 and self.n_past_ and horizon > self.steps_:
            raise ConfigError(f"with past-only covariates this network forecasts at most {self.steps_} steps "
                              f"(its horizon); {horizon} were asked: refit with horizon={horizon}")
        if not self.n_known_:
            return
        if known_future is None:
            raise ConfigError(f"the network reads known covariates ({', '.join(self.known_names_)}): "
                              "predict needs known_future, their values over the horizon")
        for series in data.ids:
            rows = np.asarray(known_future.get(series, np.zeros((0, self.n_known_))), dtype=float)
            if rows.ndim != 2 or rows.shape[0] < horizon or rows.shape[1] != self.n_known_:
                raise ConfigError(f"known_future[{series!r}] must have shape ({horizon}, {self.n_known_}): the "
                                  f"known covariates of each step to forecast; got {rows.shape}")
            if not np.isfinite(rows[:horizon]).all():
                raise DataError(f"known_future[{series!r}] has missing or infinite values")

    def _stats(self, data: SeriesData, series: str) -> np.ndarray:
        """Mean and spread (2 rows) of the target and covariates of ``series``: from fitting, or,
        for a series the network never saw, from its history in ``data``."""
        stats = self.scales_.get(series)
        return _scales(_raw(data, series)) if stats is None else stats

    def _scaled(self, data: SeriesData, series: str) -> tuple[np.ndarray, np.ndarray]:
        """The standardised target and past-only covariates ``(n, 1 + n_past)``, and known covariates ``(n, k)``."""
        mean, spread = self._stats(data, series)
        scaled = (_raw(data, series) - mean) / spread
        return scaled[:, :1 + self.n_past_], scaled[:, 1 + self.n_past_:]

    def _network(self) -> Any:
        """The Keras model: the live one, or the one saved inside the estimator, loaded on first use."""
        model = self.__dict__.get("model_")
        if model is None:
            from ._keras import import_keras, load_archive

            archive = self.__dict__.get("_keras_archive")
            if archive is None:
                raise RuntimeError(f"{type(self).__name__} holds no network; call fit first")
            _layer_norm_cell(import_keras())  # registered before the archive is read
            model = self.model_ = load_archive(archive)
        return model

    # -------------------------------------------------------------- saving

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # a copy: the live estimator keeps its network
        model = state.pop("model_", None)
        if model is not None:
            from ._keras import save_archive

            state["_keras_archive"] = save_archive(model)
        return state


#: Each forecaster of the catalogue, by name: a function that makes it (unfitted, default settings).
NEURAL_FORECASTERS: dict[str, Any] = {
    name: functools.partial(SequenceForecaster, architecture,
                            **({"horizon": SEQ2SEQ_HORIZON} if architecture == "seq2seq" else {}))
    for architecture, (name, _) in ARCHITECTURES.items()
}


# ------------------------------------------------------------------ arrays

def _raw(data: SeriesData, series: str) -> np.ndarray:
    """The series' target, past-only and known covariates side by side, ``(n, 1 + m + k)``."""
    n = data.length(series)
    past = data.past.get(series, np.zeros((n, 0))) if data.past_names else np.zeros((n, 0))
    known = data.known.get(series, np.zeros((n, 0))) if data.known_names else np.zeros((n, 0))
    return np.column_stack([np.asarray(data.y[series], dtype=float), np.asarray(past, dtype=float).reshape(n, -1),
                            np.asarray(known, dtype=float).reshape(n, -1)])


def _scales(raw: np.ndarray) -> np.ndarray:
    """Mean and standard deviation of each column (2 rows), a spread of 1 for a constant column."""
    mean, spread = raw.mean(axis=0), raw.std(axis=0)
    return np.vstack([mean, np.where(spread > 1e-12 * np.maximum(np.abs(mean), 1.0), spread, 1.0)])


def _features(values: np.ndarray, known: np.ndarray, rows: np.ndarray, steps: int) -> np.ndarray:
    """The inputs at steps ``rows``: the target and past-only covariates there, and the known
    covariates of the ``steps`` steps after (``known`` must reach ``rows.max() + steps``)."""
    ahead = known[rows[:, None] + 1 + np.arange(steps)].reshape(len(rows), -1)
    return np.hstack([values[rows], ahead])


def _ahead(y: np.ndarray, steps: int) -> np.ndarray:
    """Row ``t``: the ``steps`` values after step ``t``."""
    return np.lib.stride_tricks.sliding_window_view(y[1:], steps)


def _slide(rows: np.ndarray, window: int) -> np.ndarray:
    """Every run of ``window`` consecutive rows, ``(count, window, columns)``."""
    return np.lib.stride_tricks.sliding_window_view(rows, window, axis=0).transpose(0, 2, 1)


def _last_rows(n: int, window: int) -> np.ndarray:
    """The last ``window`` steps of ``n``; a shorter history repeats its first step in front."""
    return np.clip(np.arange(n - window, n), 0, None)


def _extend(known: np.ndarray, length: int, season: int) -> np.ndarray:
    """``known`` carried on to ``length`` rows, each new row the one a season before (the last
    row without a season): values past the horizon that a network reads but whose forecasts are dropped."""
    extended = np.vstack([known, np.zeros((max(0, length - len(known)), known.shape[1]))])
    for row in range(len(known), length):
        back = season if season > 1 and row >= season else 1
        if row >= back:
            extended[row] = extended[row - back]
    return extended


def _daily(freq: str) -> bool:
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        return False
    return getattr(offset, "rule_code", "") == "D" and offset.n == 1


def _keras_missing() -> bool:
    """Whether Keras, or PyTorch under Keras' default backend here, cannot be imported."""
    try:
        if importlib.util.find_spec("keras") is None:
            return True
        return os.environ.get("KERAS_BACKEND", "torch") == "torch" and importlib.util.find_spec("torch") is None
    except (ImportError, ValueError):
        return True


# ------------------------------------------------------------------ the layer-normalised cell

@functools.cache
def _layer_norm_cell(keras: Any) -> type:
    """The book's ``LNSimpleRNNCell`` (a simple RNN cell whose output is layer-normalised before
    its activation), registered with Keras so that a saved network loads back in safe mode."""

    @keras.saving.register_keras_serializable(package="homl")
    class LayerNormSimpleRNNCell(keras.layers.Layer):
        def __init__(self, units: int, activation: str = "tanh", **kwargs: Any):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units
            self.output_size = units
            self.cell = keras.layers.SimpleRNNCell(units, activation=None)
            self.norm = keras.layers.LayerNormalization()
            self.activation = keras.activations.get(activation)

        def build(self, input_shape: Any) -> None:
            self.cell.build(input_shape)
            self.norm.build((input_shape[0], self.units))
            self.built = True

        def call(self, inputs: Any, states: Any, training: bool = False) -> Any:
            outputs, _ = self.cell(inputs, states, training=training)
            outputs = self.activation(self.norm(outputs))
            return outputs, [outputs]

        def get_config(self) -> dict[str, Any]:
            return {**super().get_config(), "units": self.units,
                    "activation": keras.activations.serialize(self.activation)}

    return LayerNormSimpleRNNCell
