"""The forecast report: the history with the forecast and its intervals, how the models backtested,
the test period, and the series' seasonality, autocorrelation and residuals.

Built from plain data only (the model's metadata, its saved tables and diagnostics), so
``homl report MODEL_DIR`` rebuilds it without the training data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._figures import BLUE, GREY, ORANGE, WIDE, new_figure
from ._html import Report, Section
from ._html import num as _plain_num

#: Section titles, in order.
SECTIONS = ("Summary", "Forecast", "Models compared", "Test period", "Backtests", "Seasonality and autocorrelation",
            "Residuals")
#: Steps of history drawn before the forecast.
HISTORY_DRAWN = 400


def build_forecast_report(metadata: dict[str, Any], diagnostics: dict[str, Any] | None,
                          tables: dict[str, pd.DataFrame]) -> Report:
    """The report of one forecast model, from its metadata, diagnostics and tables."""
    diag = diagnostics or {}
    settings = metadata.get("settings", {})
    target = ", ".join(settings.get("targets") or [settings.get("target", "target")])
    report = Report(f"Forecast of {target}: {settings.get('horizon', '?')} step(s) ahead",
                    f"{metadata.get('model_name', '')} · {metadata.get('n_series', 1)} series · "
                    f"{metadata.get('source', '')}")
    _summary(report.section("Summary"), metadata)
    _forecast(report.section("Forecast"), diag, tables.get("history"), settings)
    _models(report.section("Models compared"), tables.get("leaderboard"))
    _test(report.section("Test period"), tables.get("test_points"), metadata)
    _backtests(report.section("Backtests"), tables.get("backtest_points"), metadata)
    _seasonality(report.section("Seasonality and autocorrelation"), diag, metadata)
    _residuals(report.section("Residuals"), tables.get("backtest_points"))
    return report


def _summary(section: Section, meta: dict[str, Any]) -> None:
    test = meta.get("test_scores", {})
    base = meta.get("baseline_test_scores") or {}
    coverage = meta.get("test_coverage", {})
    section.cards({"model": meta.get("model_name", "?"), "test MAE": num(test.get("mae")),
                   "test MASE": num(test.get("mase")),
                   f"{meta.get('baseline_name', 'seasonal naive')} MAE": num(base.get("mae")),
                   "80 % interval coverage": _pct(coverage.get("80")),
                   "95 % interval coverage": _pct(coverage.get("95"))})
    season = meta.get("season", 1)
    section.text(f"Frequency {meta.get('settings', {}).get('freq', '?')}, main season "
                 f"{season if season > 1 else 'none found'} step(s). The models were compared on "
                 f"{meta.get('folds', '?')} rolling-origin backtest windows of {meta.get('window', '?')} steps; the "
                 f"chosen one was scored once on the last {meta.get('test_length', '?')} steps, then refit on "
                 "every step. MASE below 1 beats the seasonal naive forecast's in-sample error.")
    if meta.get("notes"):
        section.heading("What was done to the data")
        section.bullets(list(meta["notes"]))


def _forecast(section: Section, diag: dict[str, Any], history: pd.DataFrame | None, settings: dict[str, Any]) -> None:
    forecast = diag.get("forecast")
    if history is None or not len(history):
        section.note("No history was saved with this model.")
        return
    time, target, ident = settings.get("time"), settings.get("target"), settings.get("id")
    first = history if ident is None else history[history[ident].astype(str) == str(history[ident].iloc[0])]
    first = first.tail(HISTORY_DRAWN)
    fig, ax = new_figure(WIDE)
    ax.plot(pd.to_datetime(first[time]), first[target], color=BLUE, lw=1, label="history")
    if forecast:
        when = pd.to_datetime(forecast["time"])
        ax.plot(when, forecast["target"], color=ORANGE, lw=1.5, label="forecast")
        for level, alpha in (("95", 0.15), ("80", 0.3)):
            if f"lower_{level}" in forecast:
                ax.fill_between(when, forecast[f"lower_{level}"], forecast[f"upper_{level}"], color=ORANGE,
                                alpha=alpha, lw=0, label=f"{level} % interval")
        ax.legend(fontsize="small")
    ax.set_ylabel(str(target))
    ax.set_title("History and forecast" + (f" (series {first[ident].iloc[0]})" if ident else ""), fontsize="medium")
    section.figure(fig, "forecast", "" if forecast else "The next steps need the future values of the known "
                                                        "covariates: see homl predict.")


def _models(section: Section, board: pd.DataFrame | None) -> None:
    if board is None or not len(board):
        section.note("No leaderboard was saved with this model.")
        return
    section.text("Every model tried, by backtest MASE (lower is better); MAE and RMSE in the target's units, sMAPE "
                 "in percent, seconds per backtest fold.")
    shown = board[["name", "mase", "mae", "rmse", "smape", "fit_seconds"]]
    section.table(shown.rename(columns={"name": "model", "fit_seconds": "seconds per fold"}))
    fig, ax = new_figure((WIDE[0], max(2.5, 0.35 * len(board) + 1)))
    ordered = board.iloc[::-1]
    ax.barh(ordered["name"].astype(str), ordered["mase"], color=[ORANGE if i == 0 else BLUE for i in
                                                                  range(len(board))][::-1])
    ax.axvline(1.0, color=GREY, lw=1, ls="--")
    ax.set_xlabel("backtest MASE")
    ax.set_title("Models by backtest error", fontsize="medium")
    section.figure(fig, "leaderboard")


def _actual_forecast(points: pd.DataFrame, title: str, widths: dict[str, list[float]] | None = None) -> Any:
    first = points[points["series"].astype(str) == str(points["series"].iloc[0])]
    when = pd.to_datetime(first["time"])
    fig, ax = new_figure(WIDE)
    ax.plot(when, first["actual"], color=BLUE, lw=1, label="actual")
    ax.plot(when, first["forecast"], color=ORANGE, lw=1, label="forecast")
    if widths and "80" in widths:
        step = first["step"].to_numpy().astype(int) - 1
        half = np.asarray(widths["80"])[np.minimum(step, len(widths["80"]) - 1)] * first["scale"].to_numpy()
        ax.fill_between(when, first["forecast"] - half, first["forecast"] + half, color=ORANGE, alpha=0.25, lw=0,
                        label="80 % interval")
    ax.legend(fontsize="small")
    ax.set_title(title, fontsize="medium")
    return fig


def _test(section: Section, points: pd.DataFrame | None, meta: dict[str, Any]) -> None:
    if points is None or not len(points):
        section.note("No test forecasts were saved with this model.")
        return
    section.text(f"The chosen model forecast the last {meta.get('test_length', '?')} steps from rolling origins "
                 f"{meta.get('settings', {}).get('horizon', '?')} step(s) at a time, learning only from the steps "
                 "before them; the intervals come from the backtests, so their coverage here is an honest check.")
    section.figure(_actual_forecast(points, "Test period: actual and forecast", meta.get("widths")), "test-period")


def _backtests(section: Section, points: pd.DataFrame | None, meta: dict[str, Any]) -> None:
    if points is None or not len(points):
        section.note("No backtest forecasts were saved with this model.")
        return
    section.figure(_actual_forecast(points, f"Backtest windows of {meta.get('model_name', 'the chosen model')}"),
                   "backtests")
    by_step = points.assign(error=(points["forecast"] - points["actual"]).abs()).groupby("step")["error"].mean()
    if len(by_step) > 1:
        fig, ax = new_figure()
        ax.plot(by_step.index, by_step.to_numpy(), marker="o", color=BLUE)
        ax.set_xlabel("steps ahead")
        ax.set_ylabel("mean absolute error")
        ax.set_title("Backtest error by steps ahead", fontsize="medium")
        section.figure(fig, "error-by-step")


def _seasonality(section: Section, diag: dict[str, Any], meta: dict[str, Any]) -> None:
    parts = diag.get("decomposition")
    if parts:
        fig, axes = _subplots(4)
        when = pd.to_datetime(parts["time"])
        for ax, key in zip(axes, ("observed", "trend", "seasonal", "resid"), strict=True):
            ax.plot(when, parts[key], color=BLUE, lw=0.8)
            ax.set_ylabel(key, fontsize="small")
        axes[0].set_title(f"Seasonal decomposition (STL, season {meta.get('season')})", fontsize="medium")
        section.figure(fig, "decomposition")
    else:
        section.note("No season was found, so the series was not decomposed.")
    if diag.get("constant"):
        section.note(f"Series '{diag.get('series')}' is constant: it has no autocorrelation to show.")
    if diag.get("acf"):
        fig, axes = _subplots(2, height=4.5)
        for ax, key, label in ((axes[0], "acf", "autocorrelation"), (axes[1], "pacf", "partial autocorrelation")):
            values = np.asarray(diag.get(key, []))
            ax.bar(np.arange(len(values)), values, color=BLUE, width=0.6)
            ax.axhline(0, color=GREY, lw=0.8)
            ax.set_ylabel(label, fontsize="small")
        axes[1].set_xlabel("lag (steps)")
        section.figure(fig, "autocorrelation", "Peaks at multiples of the season show seasonality; a slow decay "
                                               "shows a trend.")


def _residuals(section: Section, points: pd.DataFrame | None) -> None:
    if points is None or not len(points):
        return
    errors = (points["actual"] - points["forecast"]).to_numpy()
    fig, ax = new_figure()
    ax.hist(errors, bins=40, color=BLUE, alpha=0.8)
    ax.axvline(0, color=GREY, lw=1)
    ax.set_xlabel("actual − forecast")
    ax.set_title("Backtest errors", fontsize="medium")
    section.figure(fig, "residuals", f"Mean error {num(float(np.mean(errors)))}: far from 0 means the forecasts "
                                     "lean one way.")


def _subplots(rows: int, height: float = 6.0) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDE[0], height), layout="constrained")
    return fig, fig.subplots(rows, 1, sharex=True)


def num(value: Any) -> str:
    """A number for a sentence, or "-" when there is none."""
    return "-" if value is None or not np.isfinite(float(value)) else _plain_num(value)


def _pct(value: Any) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.0%}"
