"""The forecasters homl short-lists, cheapest first, and which of them suit a given data set.

>>> [name for name in FORECAST_ORDER][:3]
['naive', 'seasonal_naive', 'drift']
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from homl.data import SeriesData
from homl.errors import ConfigError

#: Where each family of forecasters lives, and the name of its catalogue there.
_CATALOGUES = {
    "homl.models._forecast_stats": "STAT_FORECASTERS",
    "homl.models._forecast_lags": "LAG_FORECASTERS",
    "homl.models._forecast_neural": "NEURAL_FORECASTERS",
}

#: The default short-list, in the order it is tried (fast baselines first, so a tight budget still
#: has them; the neural networks last, since they need the most time).
FORECAST_ORDER = ("naive", "seasonal_naive", "drift", "moving_average", "theta", "ets", "arima", "lag_linear",
                  "lag_lightgbm", "lag_lightgbm_direct", "gru")
#: Names the short-list never tries unless asked for by ``models``.
ON_REQUEST = ("rnn", "deep_rnn", "lstm", "conv_gru", "wavenet", "seq2seq", "layer_norm_rnn")


def forecaster_catalogue() -> dict[str, Any]:
    """Every forecaster homl knows, by name (a family whose library is missing is left out)."""
    catalogue: dict[str, Any] = {}
    for module, attribute in _CATALOGUES.items():
        try:
            catalogue.update(getattr(import_module(module), attribute))
        except ImportError:
            continue
    return catalogue


def make_forecaster(name: str, seed: int = 0) -> Any:
    """A new, unfitted forecaster of the family ``name``; a ConfigError naming the known families."""
    catalogue = forecaster_catalogue()
    if name not in catalogue:
        raise ConfigError(f"unknown forecasting model {name!r}; known: {', '.join(sorted(catalogue))}")
    factory = catalogue[name]
    forecaster = factory()
    if "random_state" in forecaster.get_params():
        forecaster.set_params(random_state=seed)
    return forecaster


def forecast_candidates(data: SeriesData, horizon: int, names: list[str] | str | None = None, *,
                        seed: int = 0) -> tuple[list[Any], list[str]]:
    """The forecasters to try on ``data`` (``names``: a list or names separated by commas; default the
    short-list), and a sentence for each one left out and why (series too short for it, its library missing...)."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    catalogue = forecaster_catalogue()
    wanted = list(names) if names else [n for n in FORECAST_ORDER if n in catalogue]
    unknown = [n for n in wanted if n not in catalogue]
    if unknown:
        raise ConfigError(f"unknown forecasting model(s) {', '.join(map(repr, unknown))}; "
                          f"known: {', '.join(sorted(catalogue))}")
    chosen, notes = [], []
    for name in wanted:
        forecaster = make_forecaster(name, seed)
        reason = forecaster.unsuitable(data, horizon)
        if reason:
            notes.append(f"{forecaster.display or name} left out: {reason}")
            continue
        chosen.append(forecaster)
    return chosen, notes
