"""statsforecast runner for bench/forecast_peers.py; run with bench/.venvs/statsforecast/bin/python.

Reads one regular series (CSV with columns ``ds``, ``y``), fits
``StatsForecast(models=[AutoARIMA(m), AutoETS(m), AutoTheta(m)])`` with their defaults ONCE on the
steps before the last ``--test`` steps, then forecasts the test period ``--horizon`` steps at a time
from rolling origins (origin at the test start, then + horizon, ...). At each origin every fitted
model's ``forward(y=history, h=horizon)`` applies its fitted model to the longer history without
re-selecting or re-estimating it (ARIMA: the same orders and coefficients, re-filtered; ETS: the same
model and smoothing parameters; Theta: the same variant and parameters). A model without ``forward``,
or whose ``forward`` fails, is refit at that origin instead and the output says so. Writes JSON:

    {"tool", "version", "method", "fit_s", "models": {name: {"forecast": [...], "forward_s",
     "refits", "model", "error"?}}}   or   {"tool", "error"}

Only the standard library, numpy, pandas and statsforecast are used here (this runs in the peer's
venv); bench/forecast_peers.py scores the forecasts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import statsforecast
from statsforecast import StatsForecast
from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

MODELS = ("AutoARIMA", "AutoETS", "AutoTheta")


def make_models(season: int) -> list[Any]:
    """The three automatic models with statsforecast's defaults, bar the season length."""
    return [AutoARIMA(season_length=season), AutoETS(season_length=season), AutoTheta(season_length=season)]


def describe(model: Any) -> str:
    """The model each automatic search settled on, e.g. ``ARIMA(1,1,0)(0,1,0)[12]`` or ``ETS(M,Ad,M)``."""
    fitted = getattr(model, "model_", None)
    if fitted is None:
        return "-"
    try:
        if isinstance(model, AutoARIMA):
            from statsforecast.arima import arima_string

            return arima_string(fitted).strip()
        if isinstance(model, AutoETS):
            return str(fitted["method"])
        if isinstance(model, AutoTheta):
            return str(getattr(fitted["modeltype"], "name", fitted["modeltype"]))
    except Exception as exc:  # a name only: it never spoils a result
        return f"? ({type(exc).__name__})"
    return type(model).__name__


def warm_up(season: int) -> None:
    """Compile statsforecast's numba code on a small series, so the timed fit is the fit alone."""
    rng = np.random.default_rng(0)
    n = max(4 * season, 40)
    y = 10 + np.sin(np.arange(n) * 2 * np.pi / max(season, 2)) + rng.normal(0, 0.1, n)
    for model in make_models(season):
        try:
            model.fit(y=y).forward(y=y, h=2)
        except Exception:  # the real fit reports its own errors
            pass


def run(frame: pd.DataFrame, *, season: int, freq: str, horizon: int, test: int) -> dict[str, Any]:
    y = frame["y"].to_numpy(dtype=float)
    n_train = len(y) - test
    train = pd.DataFrame({"unique_id": "series", "ds": pd.to_datetime(frame["ds"].iloc[:n_train]),
                          "y": y[:n_train]})
    warm_up(season)
    sf = StatsForecast(models=make_models(season), freq=freq, n_jobs=1)
    started = time.perf_counter()
    sf.fit(df=train)
    fit_s = time.perf_counter() - started
    fitted = {name: sf.fitted_[0, i] for i, name in enumerate(MODELS)}
    out: dict[str, Any] = {"fit_s": fit_s, "models": {}}
    for name, model in fitted.items():
        points: list[float] = []
        refits = 0
        error = None
        started = time.perf_counter()
        for offset in range(0, test, horizon):
            history = y[:n_train + offset]
            steps = min(horizon, test - offset)
            try:
                mean = model.forward(y=history, h=horizon)["mean"]
            except Exception as exc:  # no usable forward: refit at this origin
                refits += 1
                error = f"forward failed ({type(exc).__name__}: {exc}); refit at each such origin"[:300]
                mean = model.new().fit(y=history).predict(h=horizon)["mean"]
            points.extend(np.asarray(mean, dtype=float)[:steps].tolist())
        entry = {"forecast": points, "forward_s": time.perf_counter() - started, "refits": refits,
                 "model": describe(model)}
        if error:
            entry["error"] = error
        out["models"][name] = entry
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="CSV with columns ds, y (one regular series)")
    ap.add_argument("--season", type=int, required=True, help="season length (1: none)")
    ap.add_argument("--freq", required=True, help="pandas frequency alias of the series")
    ap.add_argument("--horizon", type=int, required=True)
    ap.add_argument("--test", type=int, required=True, help="steps at the end to forecast")
    ap.add_argument("--out", type=Path, required=True, help="result JSON to write")
    args = ap.parse_args()
    out: dict[str, Any] = {"tool": "statsforecast", "version": statsforecast.__version__,
                           "method": "fit once, then forward() from each origin (no refit)"}
    try:
        frame = pd.read_csv(args.data)
        out.update(run(frame, season=args.season, freq=args.freq, horizon=args.horizon, test=args.test))
    except Exception as exc:  # report, don't crash the whole benchmark
        traceback.print_exc()
        out["error"] = f"{type(exc).__name__}: {exc}"[:500]
    args.out.write_text(json.dumps(out))
    sys.exit(1 if "error" in out else 0)


if __name__ == "__main__":
    main()
