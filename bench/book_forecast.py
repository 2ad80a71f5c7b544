"""The book's forecasting protocol on Chicago rail ridership, with every homl forecaster.

Chapter 15: daily rail boardings from 2016-01 (duplicated rows dropped); each model learns from the
days up to 2019-02-28 and forecasts one day ahead for every day of March-May 2019, the origin moving
forward a day at a time with the model's parameters fixed (no refit). Printed beside the book's
figures: seasonal naive 42,143; SARIMA(1,0,0)(0,1,1,7) refit daily 32,041; linear model on 56 lags
37,866; univariate RNN 29,015; multivariate RNN with bus and the next day's type 22,062.
Last row: ``homl.forecast`` choosing by itself on backtests before March (the March-May days its
test period), with the day type as a known covariate and bus as a past one.

    .venv/bin/python bench/book_forecast.py [--models naive,ets,...] [--out bench/results/book-forecast.md]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _markdown import markdown_table

import homl
from homl.data import SeriesData
from homl.models import FORECAST_ORDER, make_forecaster
from homl.select import forecast_window

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ridership"
BOOK = {"seasonal_naive": 42_143, "arima": 32_041, "lag_linear": 37_866, "gru": 29_015, "gru (bus, day type)": 22_062}
START, TEST_START, END = "2016-01-01", "2019-03-01", "2019-05-31"


def ridership() -> pd.DataFrame:
    frame = pd.read_csv(DATA / "CTA_-_Ridership_-_Daily_Boarding_Totals.csv")
    frame["date"] = pd.to_datetime(frame["service_date"], format="%m/%d/%Y")
    frame = frame.drop_duplicates().sort_values("date")
    return frame[(frame["date"] >= START) & (frame["date"] <= END)].reset_index(drop=True)


def series(frame: pd.DataFrame, *, covariates: bool) -> SeriesData:
    known = pd.get_dummies(frame["day_type"]).astype(float)
    extra = {}
    if covariates:
        extra = {"known": known.to_numpy(), "known_names": tuple(f"day_type={c}" for c in known.columns),
                 "past": frame[["bus"]].to_numpy(float), "past_names": ("bus",)}
    return SeriesData.single(frame["rail_boardings"].to_numpy(float), pd.DatetimeIndex(frame["date"]), freq="D",
                             season=7, target="rail_boardings", **extra)


def one_day_ahead(name: str, data: SeriesData, test_days: int) -> dict:
    forecaster = make_forecaster(name)
    started = time.perf_counter()
    points = forecast_window(forecaster, data, horizon=1, cut=test_days, length=test_days)
    mae = float(np.mean(np.abs(points["forecast"] - points["actual"])))
    return {"model": name, "MAE": mae, "book": BOOK.get(name, "-"), "seconds": time.perf_counter() - started}


def automatic(frame: pd.DataFrame, test_days: int, time_limit: float) -> dict:
    started = time.perf_counter()
    result = homl.forecast(frame[["service_date", "day_type", "bus", "rail_boardings"]], time="service_date",
                           target="rail_boardings", horizon=1, covariates=["day_type"], past_covariates=["bus"],
                           test=test_days, time_limit=time_limit)
    return {"model": f"homl.forecast: {result.model.metadata['model_name']}", "MAE": result.test_scores["mae"],
            "book": BOOK["gru (bus, day type)"], "seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(FORECAST_ORDER))
    parser.add_argument("--time-limit", type=float, default=300)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--no-automatic", action="store_true", help="score the named models only, not homl.forecast")
    args = parser.parse_args()
    frame = ridership()
    test_days = int((frame["date"] >= TEST_START).sum())
    rows = []
    for covariates in (False, True):
        data = series(frame, covariates=covariates)
        for name in args.models.split(","):
            forecaster = make_forecaster(name)
            if covariates and not (forecaster.uses_known or forecaster.uses_past):
                continue
            row = one_day_ahead(name, data, test_days)
            if covariates:
                row["model"] += " (bus, day type)"
                row["book"] = BOOK.get(row["model"], "-")
            rows.append(row)
            print(f"{row['model']}: MAE {row['MAE']:,.0f} ({row['seconds']:.1f} s)", flush=True)
    if not args.no_automatic:
        rows.append(automatic(frame, test_days, args.time_limit))
    shown = pd.DataFrame(rows)
    shown["MAE"] = shown["MAE"].map("{:,.0f}".format)
    shown["book"] = shown["book"].map(lambda v: f"{v:,}" if isinstance(v, int) else v)
    table = markdown_table(shown)
    text = (f"# Rail ridership, one day ahead over {TEST_START} to {END} ({test_days} days)\n\n"
            f"Learned from {START} to the day before {TEST_START}; parameters fixed while the origin moves.\n\n{table}\n")
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
