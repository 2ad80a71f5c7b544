"""homl.forecast against statsforecast's AutoARIMA, AutoETS and AutoTheta, MAE and MASE on the same series.

    .venv/bin/python bench/forecast_peers.py [--time-limit 60] [--series air_passengers,nile]
                                             [--monthly-windows 3] [--out bench/results/forecast-peers.md]

Series: the monthly and daily ones in ../shared/data (air passengers, daily minimum temperatures,
as they are and as monthly means, bike sharing daily counts) and series bundled with statsmodels,
which are in neither this repository nor ../shared (CO2 at Mauna Loa as monthly means, El Niño sea
surface temperatures, the euro area's monthly electrical equipment orders, yearly sunspots,
quarterly US real GDP, the yearly Nile flow). Missing steps are filled by linear interpolation here,
so every tool reads the same regular series.

Protocol, the same for every tool: the horizon h is 12 steps for monthly series, 14 for daily, 8 for
quarterly, 10 for yearly, 13 for weekly; the test period is the last h steps, or several horizons
where one would score too few points to tell the tools apart: the last 4 x 14 = 56 days of a daily
series, the last 3 x 12 = 36 months of a monthly one (``--monthly-windows 1``: the last 12). Each tool learns once from the steps before
the test period, then forecasts the test period h steps at a time from rolling origins (the test
start, then + h, ...), each time from the whole history up to the origin, without refitting.

* homl: ``homl.forecast(train, horizon=h, time_limit=T)`` chooses its model on its own backtests
  and internal test period (all inside the training steps); ``result.model.predict_frame(history)``
  then forecasts from each origin. homl's seasonal naive forecaster (naive where homl finds no
  season) is scored the same way with ``forecast_window``, for reference.
* statsforecast (its own venv, bench/.venvs/statsforecast, made by ``bash bench/setup_peers.sh
  statsforecast``): ``StatsForecast(models=[AutoARIMA(m), AutoETS(m), AutoTheta(m)]).fit`` once,
  then each fitted model's ``forward`` from each origin (see bench/_peer_statsforecast.py).

MAE and MASE are computed here for every tool by the same code; the MASE scale is the in-sample MAE
of the seasonal naive forecast on the training steps, with the season m = 12 (monthly), 7 (daily),
4 (quarterly), 52 (weekly) or 1 (yearly: the one-step naive forecast). The summary counts the series
on which homl's MAE is at most AutoETS's, and at most the best statsforecast model's.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from _markdown import markdown_table

import homl
from homl.data import read_series
from homl.models import make_forecaster
from homl.select import forecast_window

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = ROOT / ".." / "shared" / "data"
RESULTS = BENCH / "results"
SEED = 42
#: Steps forecast at a time, by frequency.
HORIZON = {"monthly": 12, "daily": 14, "quarterly": 8, "yearly": 10, "weekly": 13}
#: Season length given to statsforecast and used for the MASE scale.
SEASON = {"monthly": 12, "daily": 7, "quarterly": 4, "yearly": 1, "weekly": 52}
#: Test period, in horizons.
WINDOWS = {"daily": 4, "monthly": 3}
PEER_MODELS = ("AutoARIMA", "AutoETS", "AutoTheta")


@dataclass(frozen=True)
class Spec:
    """One series: how to load it as a regular (date, value) table, its frequency and where it comes from."""

    load: Callable[[], pd.DataFrame]
    kind: str  # monthly, daily, quarterly, yearly or weekly
    freq: str  # pandas alias
    source: str  # "shared" or "statsmodels"


def regular(dates: pd.Series | pd.Index, values: pd.Series | np.ndarray, freq: str) -> pd.DataFrame:
    """A (date, value) table on a regular grid; missing steps inside it linearly interpolated."""
    series = pd.Series(np.asarray(values, dtype=float), index=pd.DatetimeIndex(dates)).sort_index()
    series = series.groupby(level=0).mean().asfreq(freq)
    series = series.loc[series.first_valid_index():series.last_valid_index()].interpolate("linear")
    return pd.DataFrame({"date": series.index, "value": series.to_numpy()})


def _shared(rel: str, time_col: str, value_col: str, freq: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        raw = pd.read_csv(DATA / rel)
        return regular(pd.to_datetime(raw[time_col]), raw[value_col], freq)

    return load


def _co2() -> pd.DataFrame:
    import statsmodels.api as sm

    monthly = sm.datasets.co2.load_pandas().data["co2"].resample("MS").mean().dropna()
    return regular(monthly.index, monthly, "MS")  # the 5 months without a reading interpolated


def _elnino() -> pd.DataFrame:
    import statsmodels.api as sm

    wide = sm.datasets.elnino.load_pandas().data
    long = wide.melt(id_vars="YEAR", var_name="month", value_name="value")
    months = {m: i for i, m in enumerate(wide.columns[1:], start=1)}
    long["date"] = pd.to_datetime({"year": long["YEAR"].astype(int), "month": long["month"].map(months), "day": 1})
    return regular(long["date"], long["value"], "MS")


def _monthly_means(rel: str, time_col: str, value_col: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        raw = pd.read_csv(DATA / rel)
        daily = pd.Series(raw[value_col].to_numpy(dtype=float), index=pd.to_datetime(raw[time_col]))
        monthly = daily.resample("MS").mean()
        return regular(monthly.index, monthly, "MS")

    return load


def _elec_equip() -> pd.DataFrame:
    from statsmodels.datasets import elec_equip

    raw = elec_equip.load().data
    return regular(pd.to_datetime(raw.index), raw.iloc[:, 0], "MS")


def _yearly(name: str, year: str, value: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import statsmodels.api as sm

        raw = getattr(sm.datasets, name).load_pandas().data
        return regular(pd.to_datetime(raw[year].astype(int).astype(str), format="%Y"), raw[value], "YS")

    return load


def _realgdp() -> pd.DataFrame:
    import statsmodels.api as sm

    raw = sm.datasets.macrodata.load_pandas().data
    dates = pd.PeriodIndex.from_fields(year=raw["year"].astype(int), quarter=raw["quarter"].astype(int),
                                       freq="Q").to_timestamp()
    return regular(dates, raw["realgdp"], "QS")


SERIES: dict[str, Spec] = {
    "air_passengers": Spec(_shared("air_passengers/AirPassengers.csv", "date", "value", "MS"), "monthly", "MS",
                           "shared"),
    "daily_min_temperatures": Spec(_shared("daily_min_temperatures/daily-min-temperatures.csv", "Date", "Temp", "D"),
                                   "daily", "D", "shared"),
    "bike_sharing_daily": Spec(_shared("bike_sharing/day.csv", "dteday", "cnt", "D"), "daily", "D", "shared"),
    "co2_monthly": Spec(_co2, "monthly", "MS", "statsmodels"),
    "elnino": Spec(_elnino, "monthly", "MS", "statsmodels"),
    "elec_equip": Spec(_elec_equip, "monthly", "MS", "statsmodels"),
    "min_temperatures_monthly": Spec(_monthly_means("daily_min_temperatures/daily-min-temperatures.csv", "Date", "Temp"),
                                     "monthly", "MS", "shared"),
    "macro_realgdp": Spec(_realgdp, "quarterly", "QS", "statsmodels"),
    "sunspots": Spec(_yearly("sunspots", "YEAR", "SUNACTIVITY"), "yearly", "YS", "statsmodels"),
    "nile": Spec(_yearly("nile", "year", "volume"), "yearly", "YS", "statsmodels"),
}


def mase_scale(train: np.ndarray, season: int) -> float:
    """In-sample MAE of the seasonal naive forecast (the one-step naive one without a season)."""
    lag = season if season > 1 and len(train) > season else 1
    return float(np.mean(np.abs(train[lag:] - train[:-lag])))


# ---------------------------------------------------------------- the tools


def run_homl(frame: pd.DataFrame, n_train: int, horizon: int, test: int, time_limit: float) -> dict:
    """homl's automatic choice, learned once from the training steps, forecasting from each origin."""
    progress = homl.Progress()  # quiet; keeps every note (models skipped for time or failing)
    started = time.perf_counter()
    result = homl.forecast(frame.iloc[:n_train], time="date", target="value", horizon=horizon,
                           time_limit=time_limit, seed=SEED, progress=progress)
    fit_s = time.perf_counter() - started
    points: list[float] = []
    started = time.perf_counter()
    for offset in range(0, test, horizon):
        history = frame.iloc[:n_train + offset]
        steps = min(horizon, test - offset)
        upcoming = result.model.predict_frame(history)
        expected = frame["date"].iloc[n_train + offset:n_train + offset + steps].to_numpy()
        got = pd.to_datetime(upcoming["date"]).to_numpy()[:steps]
        if not np.array_equal(got, expected):
            raise RuntimeError(f"homl forecast the steps {got[:2]}..., expected {expected[:2]}...")
        points.extend(upcoming["value"].to_numpy(dtype=float)[:steps].tolist())
    meta = result.model.metadata
    board = result.leaderboard
    return {"forecast": points, "fit_s": fit_s, "forecast_s": time.perf_counter() - started,
            "model": meta["model_name"], "season": meta["season"], "internal_test": meta["test_length"],
            "internal_mase": result.test_scores["mase"], "tried": int((~board["model"].str.contains("+", regex=False)).sum()),
            "notes": [n for n in progress.notes if "skipped" in n or "failed" in n]}


def run_homl_baseline(frame: pd.DataFrame, horizon: int, test: int) -> dict:
    """homl's seasonal naive forecaster (naive where homl finds no season) over the same test steps."""
    data = read_series(frame, time="date", target="value").data
    name = "seasonal_naive" if data.season > 1 else "naive"
    started = time.perf_counter()
    points = forecast_window(make_forecaster(name, SEED), data, horizon=horizon, cut=test, length=test)
    return {"forecast": points["forecast"].to_numpy(dtype=float).tolist(), "model": name,
            "season": data.season, "fit_s": time.perf_counter() - started}


def run_statsforecast(frame: pd.DataFrame, spec: Spec, horizon: int, test: int, workdir: Path) -> dict:
    """statsforecast in its own venv (bench/_peer_statsforecast.py); its JSON plus the process's wall time."""
    python = BENCH / ".venvs" / "statsforecast" / "bin" / "python"
    data, out = workdir / "series.csv", workdir / "statsforecast.json"
    frame.rename(columns={"date": "ds", "value": "y"}).to_csv(data, index=False)
    cmd = [str(python), str(BENCH / "_peer_statsforecast.py"), "--data", str(data),
           "--season", str(SEASON[spec.kind]), "--freq", spec.freq, "--horizon", str(horizon),
           "--test", str(test), "--out", str(out)]
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=1800)
    except subprocess.TimeoutExpired:
        return {"error": "timed out", "wall_s": time.perf_counter() - started}
    wall = time.perf_counter() - started
    if not out.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"error": f"exit {proc.returncode}: {tail[0]}", "wall_s": wall}
    res = json.loads(out.read_text())
    res["wall_s"] = wall
    return res


# ---------------------------------------------------------------- one series


def run_series(name: str, spec: Spec, time_limit: float, peer: bool, workdir: Path) -> dict:
    frame = spec.load()
    horizon = HORIZON[spec.kind]
    test = WINDOWS.get(spec.kind, 1) * horizon
    n_train = len(frame) - test
    y = frame["value"].to_numpy(dtype=float)
    actual, scale = y[n_train:], mase_scale(y[:n_train], SEASON[spec.kind])
    row = {"series": name, "kind": spec.kind, "source": spec.source, "n_train": n_train, "h": horizon,
           "test": test, "scale": scale, "mae": {}, "mase": {}, "info": {}}

    def score(tool: str, forecast: list[float]) -> None:
        f = np.asarray(forecast, dtype=float)
        if len(f) != len(actual) or not np.all(np.isfinite(f)):
            row["info"].setdefault("errors", []).append(f"{tool}: {len(f)} forecasts, some not finite")
            return
        mae = float(np.mean(np.abs(f - actual)))
        row["mae"][tool], row["mase"][tool] = mae, mae / scale

    print(f"[{name}] {spec.kind}, {n_train} training steps, h = {horizon}, test = {test}", flush=True)
    try:
        res = run_homl(frame, n_train, horizon, test, time_limit)
        score("homl", res.pop("forecast"))
        row["info"]["homl"] = res
        print(f"  homl: {res['model']} ({res['tried']} models backtested, season {res['season']}), "
              f"MAE {row['mae'].get('homl', float('nan')):.4g}, fit {res['fit_s']:.1f} s, "
              f"forecasts {res['forecast_s']:.1f} s", flush=True)
        for note in res["notes"]:
            print(f"    {note}", flush=True)
    except Exception as exc:  # report, don't stop the benchmark
        row["info"]["homl"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        print(f"  homl failed: {row['info']['homl']['error']}", flush=True)
    try:
        res = run_homl_baseline(frame, horizon, test)
        score("seasonal_naive", res.pop("forecast"))
        row["info"]["seasonal_naive"] = res
    except Exception as exc:
        row["info"]["seasonal_naive"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    if peer:
        res = run_statsforecast(frame, spec, horizon, test, workdir)
        for model, out in res.get("models", {}).items():
            score(model, out.pop("forecast"))
        row["info"]["statsforecast"] = res
        if "error" in res:
            print(f"  statsforecast failed: {res['error']}", flush=True)
        else:
            chosen = ", ".join(f"{m} {o['model']} MAE {row['mae'].get(m, float('nan')):.4g}"
                               for m, o in res["models"].items())
            print(f"  statsforecast: {chosen}; fit {res['fit_s']:.1f} s, process {res['wall_s']:.1f} s", flush=True)
    return row


# ---------------------------------------------------------------- the report


def fmt(x: float | None, digits: int = 4) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:.{digits}g}"


def tools_of(peer: bool) -> list[str]:
    return ["homl", "seasonal_naive", *(PEER_MODELS if peer else ())]


def score_table(rows: list[dict], metric: str, peer: bool) -> pd.DataFrame:
    tools = tools_of(peer)
    out = []
    for r in rows:
        cells = {"series": r["series"], "freq": r["kind"], "train": r["n_train"], "h": r["h"], "test": r["test"]}
        best = min((v, t) for t, v in r[metric].items()) if r[metric] else (np.nan, "-")
        for t in tools:
            value = r[metric].get(t)
            cells[t] = fmt(value) + (" *" if t == best[1] else "")
        out.append(cells)
    return pd.DataFrame(out)


def detail_table(rows: list[dict], peer: bool) -> pd.DataFrame:
    out = []
    for r in rows:
        h, sf = r["info"].get("homl", {}), r["info"].get("statsforecast", {})
        base = r["info"].get("seasonal_naive", {})
        cells = {"series": r["series"], "source": r["source"],
                 "homl model": h.get("model", h.get("error", "-")),
                 "homl season": h.get("season", "-"),
                 "homl models backtested": h.get("tried", "-"),
                 "homl internal test MASE": fmt(h.get("internal_mase"), 3),
                 "homl fit s": fmt(h.get("fit_s"), 3), "homl forecasts s": fmt(h.get("forecast_s"), 3),
                 "homl baseline": f"{base.get('model', base.get('error', '-'))} (season {base.get('season', '-')})"}
        if peer:
            models = sf.get("models", {})
            cells["statsforecast models"] = "; ".join(f"{o['model']}" + (f" [{o['refits']} refits]" if o.get("refits")
                                                                         else "") for o in models.values()) \
                or sf.get("error", "-")
            cells["statsforecast fit s"] = fmt(sf.get("fit_s"), 3)
            cells["statsforecast forward s"] = fmt(sum(o.get("forward_s", 0.0) for o in models.values()), 3) \
                if models else "-"
            cells["statsforecast process s"] = fmt(sf.get("wall_s"), 3)
        out.append(cells)
    return pd.DataFrame(out)


def summary(rows: list[dict], peer: bool) -> list[str]:
    lines = []
    if peer:
        for label, chosen in (("all series", rows), ("monthly series", [r for r in rows if r["kind"] == "monthly"])):
            scored = [r for r in chosen if "homl" in r["mae"] and all(m in r["mae"] for m in PEER_MODELS)]
            vs_ets = sum(r["mae"]["homl"] <= r["mae"]["AutoETS"] for r in scored)
            vs_best = sum(r["mae"]["homl"] <= min(r["mae"][m] for m in PEER_MODELS) for r in scored)
            lines.append(f"{label}: homl's MAE ≤ AutoETS's on {vs_ets} of {len(scored)}; ≤ the best statsforecast "
                         f"model's (AutoARIMA, AutoETS, AutoTheta) on {vs_best} of {len(scored)}.")
    means = {t: float(np.mean([r["mase"][t] for r in rows if t in r["mase"]])) for t in tools_of(peer)
             if any(t in r["mase"] for r in rows)}
    lines.append("Mean MASE over the series: " + ", ".join(f"{t} {v:.3f}" for t, v in means.items()) + ".")
    return lines


def report(rows: list[dict], peer: bool, command: str) -> str:
    header = (
        f"# homl vs statsforecast: forecasting\n\n"
        f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, seed {SEED}. Command: `{command}`\n\n"
        "Protocol: each tool learns once from the steps before the test period (the last h steps; the last "
        f"4 x 14 days of a daily series, {WINDOWS['monthly']} x 12 months of a monthly one; h = 12 monthly, "
        "14 daily, 8 quarterly, 10 yearly), then forecasts "
        "the test period h steps at a time from rolling origins without refitting (homl: `homl.forecast` "
        "choosing by itself, then `predict_frame` on the longer histories; statsforecast: AutoARIMA, AutoETS "
        "and AutoTheta with their defaults, `fit` once, then each model's `forward`). MAE and MASE are "
        "computed by the same code for every tool, MASE scaled by the in-sample seasonal naive MAE of the "
        "training steps (m = 12 monthly, 7 daily, 4 quarterly, 1 yearly).\n\n")
    parts = [header, "## MAE (* the lowest of the row)\n", markdown_table(score_table(rows, "mae", peer)), "",
             "## MASE\n", markdown_table(score_table(rows, "mase", peer)), "", "## Summary\n",
             *[f"- {line}" for line in summary(rows, peer)], "",
             "## Models and seconds\n",
             "homl fit s is the whole `homl.forecast` call (backtests, internal test, refit); homl forecasts s "
             "all the `predict_frame` calls. statsforecast fit s is `StatsForecast.fit` after a warm-up that "
             "compiles its numba code; forward s all the `forward` calls of the three models; process s the "
             "runner's wall time (interpreter start and imports included). homl baseline: the forecaster "
             "scored in the seasonal_naive column.\n",
             markdown_table(detail_table(rows, peer))]
    errors = [f"- {r['series']}: {e}" for r in rows for e in r["info"].get("errors", [])]
    errors += [f"- {r['series']}: homl notes: {'; '.join(r['info']['homl']['notes'])}" for r in rows
               if r["info"].get("homl", {}).get("notes")]
    if errors:
        parts += ["", "## Notes\n", *errors]
    return "\n".join(parts) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=60, help="homl's time limit per series, in seconds")
    ap.add_argument("--series", default=",".join(SERIES), help=f"comma-separated subset of: {', '.join(SERIES)}")
    ap.add_argument("--monthly-windows", type=int, default=WINDOWS["monthly"],
                    help="horizons of 12 months in a monthly series' test period")
    ap.add_argument("--out", type=Path, default=RESULTS / "forecast-peers.md", help="markdown results file")
    args = ap.parse_args()
    names = [s.strip() for s in args.series.split(",") if s.strip()]
    if args.monthly_windows < 1:
        sys.exit("--monthly-windows must be at least 1")
    WINDOWS["monthly"] = args.monthly_windows
    if unknown := [s for s in names if s not in SERIES]:
        sys.exit(f"unknown series {unknown}; known: {', '.join(SERIES)}")
    if any(SERIES[n].source == "shared" for n in names) and not DATA.is_dir():
        sys.exit(f"data folder not found: {DATA} (expected ../shared/data beside the repository)")
    peer = (BENCH / ".venvs" / "statsforecast" / "bin" / "python").exists()
    if not peer:
        print("note: bench/.venvs/statsforecast is missing, scoring homl alone: run "
              "`bash bench/setup_peers.sh statsforecast` first", file=sys.stderr)
    logging.getLogger("homl").setLevel(logging.ERROR)  # predict_frame logs how it read each history

    rows = []
    with tempfile.TemporaryDirectory(prefix="homl-forecast-peers-") as tmp:
        for name in names:
            work = Path(tmp) / name
            work.mkdir()
            started = time.perf_counter()
            rows.append(run_series(name, SERIES[name], args.time_limit, peer, work))
            print(f"  {name}: {time.perf_counter() - started:.0f} s in all", flush=True)

    argv = ["bench/forecast_peers.py", "--time-limit", f"{args.time_limit:g}"]
    if names != list(SERIES):
        argv += ["--series", ",".join(names)]
    if args.monthly_windows != 3:
        argv += ["--monthly-windows", str(args.monthly_windows)]
    try:
        out_name = str(args.out.resolve().relative_to(ROOT))
    except ValueError:
        out_name = args.out.name
    argv += ["--out", out_name]
    text = report(rows, peer, ".venv/bin/python " + shlex.join(argv))
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {out_name}", file=sys.stderr)


if __name__ == "__main__":
    main()
