"""Forecasting, end to end: read and regularise the series → backtest the short-list → test once →
refit on everything → forecast the next steps with prediction intervals → save.

>>> import homl
>>> result = homl.forecast("ridership.csv", time="service_date", target="rail_boardings", horizon=14)  # doctest: +SKIP
>>> result.leaderboard.head(3)                                                                # doctest: +SKIP
>>> result.forecast                                                     # the next 14 days, with intervals  # doctest: +SKIP
>>> homl.load("models/rail").predict_frame()                            # the same, from the saved model  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import logging
import time as _time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from homl import data as hdata
from homl._deadline import fit_deadline
from homl._progress import Progress
from homl.errors import ConfigError, DataError, ModelDirError
from homl.metrics import format_score

from ._kinds import ModelInfo
from ._model import check_output
from ._resume import data_hash
from ._targets import check_numbers, column_option, free_name, stack, target_names, unstack
from ._unsupervised import save_with_report, saved_diagnostics

logger = logging.getLogger("homl")

#: Steps of each series kept in the model directory: what ``predict`` forecasts from when given no rows.
HISTORY_STEPS = 2_000
#: Share of the time limit the backtests may use; the test period and the final refit have the rest.
BACKTEST_SHARE = 0.7
#: Seconds a network has at least to train for the test period and for the final refit.
MIN_FINAL_SECONDS = 1.0
#: Interval levels, in percent.
LEVELS = (80, 95)
#: The tables a forecast model keeps beside it.
TABLES = ("leaderboard", "history", "test_points", "backtest_points")


@dataclass
class ForecastSettings:
    """What a forecast model was made with: enough to read newer rows the same way.

    With several target columns (``targets``), the rows are read stacked (see
    :mod:`homl.tasks._targets`): ``target`` and ``id`` then name the stacked value and series
    columns, ``by`` the table's own id column, and ``past`` ends with the targets.
    """

    time: str
    target: str
    horizon: int
    id: str | None = None
    known: tuple[str, ...] = ()
    past: tuple[str, ...] = ()
    freq: str | None = None
    targets: tuple[str, ...] = ()
    by: str | None = None

    @classmethod
    def make(cls, columns: Any, *, time: str, target: str | list[str] | tuple[str, ...], horizon: int,
             id: str | None, known: tuple[str, ...], past: tuple[str, ...], freq: str | None) -> ForecastSettings:
        """The settings for a table with ``columns``: stacked when ``target`` names several columns."""
        names = [target] if isinstance(target, str) and target in set(map(str, columns)) else target_names(target)
        if len(names) == 1:
            return cls(time, names[0], horizon, id, known, past, freq)
        for name in names:
            if name in (time, id) or name in known or name in past:
                raise ConfigError(f"'{name}' is a target and also the time, id or a covariate; give it one role")
        series, value = free_name(columns, "series"), free_name(columns, "value")
        return cls(time, value, horizon, series, known, (*past, *names), freq, tuple(names), id)

    @property
    def target_columns(self) -> tuple[str, ...]:
        """The table's own target columns."""
        return self.targets or (self.target,)

    @property
    def id_column(self) -> str | None:
        """The table's own id column."""
        return self.by if self.targets else self.id

    def stacked(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` as the models read it: stacked when there are several targets."""
        return stack(frame, self.targets, self.by, self.id, self.target) if self.targets else frame

    def unstacked(self, forecast: pd.DataFrame) -> pd.DataFrame:
        """A forecast as the user reads it: a column per target when there are several."""
        if not self.targets:
            return forecast
        return unstack(forecast, self.targets, self.by, self.id, self.target, self.time)

    def read(self, source: Any, *, name: str | None = None, query: str | None = None,
             categories: dict[str, list[str]] | None = None, stacked: bool = False) -> Any:
        """``source`` read as these settings say (a :class:`homl.data.SeriesTable`); ``stacked``:
        its rows are stacked already (a saved history)."""
        if self.targets and not stacked:
            frame = source if isinstance(source, pd.DataFrame) else hdata.read_table(source, query=query)
            check_numbers(frame, self.targets, name or "the table")
            source, query = self.stacked(frame), None
        return hdata.read_series(source, time=self.time, target=self.target, id=self.id, known=list(self.known),
                                 past=list(self.past), freq=self.freq, name=name, query=query,
                                 categories=categories)


class ForecastModel:
    """A fitted forecaster with the series it forecasts from, its settings and its interval widths.

    ``predict_frame()`` forecasts the ``horizon`` steps after the end of the saved history;
    ``predict_frame(rows)`` after the end of newer rows of the same series (no refit). Rows after
    the last target value, with the target empty, give the known covariates of the steps to
    forecast; a table without the target column but with every known covariate gives only those.
    Output: one row per series and step, with the id (when there is one), the time, the forecast
    (named after the target) and the 80 % and 95 % interval bounds.
    """

    kind: ClassVar[str] = "forecast"

    def __init__(self, forecaster: Any, metadata: dict[str, Any], tables: dict[str, pd.DataFrame] | None = None,
                 path: Path | None = None):
        self.forecaster = forecaster
        self.metadata = dict(metadata)
        self.tables = dict(tables or {})
        self.path = path

    @property
    def settings(self) -> ForecastSettings:
        s = self.metadata["settings"]
        return ForecastSettings(s["time"], s["target"], int(s["horizon"]), s.get("id"), tuple(s.get("known", ())),
                                tuple(s.get("past", ())), s.get("freq"), tuple(s.get("targets", ())), s.get("by"))

    @property
    def horizon(self) -> int:
        return self.settings.horizon

    @property
    def leaderboard(self) -> pd.DataFrame | None:
        return self.tables.get("leaderboard")

    # ------------------------------------------------------------ prediction

    def check(self, data: Any) -> tuple[pd.DataFrame, list[str]]:
        """The newer rows as read for forecasting (regularised), and what was fixed on the way."""
        history, _future, issues = self._read_newer(data)
        return history.frame, issues

    def predict_frame(self, data: Any = None, *, issues: list[str] | None = None) -> pd.DataFrame:
        """The next ``horizon`` steps of every series, after the saved history or after ``data``'s end."""
        history, future, found = self._read_newer(data) if data is not None else (self._saved_history(), None, [])
        if issues is not None:
            issues.extend(found)
        settings = self.settings
        return settings.unstacked(forecast_frame(self.forecaster, history, self.horizon,
                                                 self.metadata.get("widths", {}), future, settings))

    def _saved_history(self) -> Any:
        frame = self.tables.get("history")
        if frame is None:
            raise ModelDirError("this forecast model keeps no history to forecast from; give newer rows")
        return self.settings.read(frame, name="the saved history", categories=self.metadata.get("categories"),
                                  stacked=True)

    def _read_newer(self, data: Any) -> tuple[Any, pd.DataFrame | None, list[str]]:
        settings = self.settings
        frame = data if isinstance(data, pd.DataFrame) else hdata.read_table(data)
        name = "the rows" if isinstance(data, pd.DataFrame) else f"'{data}'"
        if not any(t in frame.columns for t in settings.target_columns):
            if settings.known and all(c in frame.columns for c in settings.known):  # the known covariates to come
                return self._saved_history(), frame, []
            hdata.require_column(frame, settings.target_columns[0], "target", name)
        observed, future = split_future(frame, settings)
        table = settings.read(observed, name=name, categories=self.metadata.get("categories"))
        for note in table.notes:  # what reading did (sorted, gaps filled...): told, not warned
            logger.info(note)
        return table, future, list(table.notes)

    # ------------------------------------------------------------ model directory

    def save(self, path: str | Path, *, overwrite: bool = False, files: dict[str, Path] | None = None) -> Path:
        from homl.registry import write_model_dir

        return write_model_dir(path, self.forecaster, self.metadata, kind=self.kind, tables=self.tables or None,
                               files=files, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path) -> ForecastModel:
        from homl.registry import read_model_dir

        forecaster, metadata = read_model_dir(path, kind=cls.kind)
        if "settings" not in metadata:
            raise ModelDirError(f"{path}: metadata.json lacks the forecast settings")
        tables = {}
        for name in TABLES:
            file = Path(path) / f"{name}.csv"
            if file.exists():
                tables[name] = pd.read_csv(file)
        return cls(forecaster, metadata, tables, Path(path))

    def info(self) -> ModelInfo:
        meta = self.metadata
        s = meta["settings"]
        test = meta.get("test_scores", {})
        lines = [
            f"task: forecast {_quoted(s.get('targets') or [s['target']])} {s['horizon']} step(s) ahead ({meta.get('freq_name', s.get('freq'))}), "
            f"{meta.get('n_series', 1)} series",
            f"model: {meta.get('model_name', '?')}",
            f"backtest MASE {_num(meta.get('backtest_scores', {}).get('mase'))}; test MAE {_num(test.get('mae'))}, "
            f"MASE {_num(test.get('mase'))} over {meta.get('test_length', '?')} steps",
            "interval coverage on the test period: "
            + ", ".join(f"{k} % → {_pct(v)}" for k, v in meta.get("test_coverage", {}).items()),
            f"trained {meta.get('trained', '?')} on {meta.get('n_rows', '?')} steps, "
            f"data sha256 {meta.get('data_sha256', '?')[:16]}…",
        ]
        return ModelInfo(kind=self.kind, summary=lines, leaderboard=self.leaderboard, metric="mase",
                         versions=dict(meta.get("library_versions", {})))

    def report(self) -> Any:
        from homl.report.forecast import build_forecast_report

        return build_forecast_report(self.metadata, saved_diagnostics(self.path), self.tables)

    def __repr__(self) -> str:
        return f"ForecastModel(model={self.metadata.get('model')!r}, horizon={self.horizon})"


@dataclass
class ForecastResult:
    """What ``forecast`` found: the model, the leaderboard of backtests, the test scores and the forecast."""

    model: ForecastModel
    leaderboard: pd.DataFrame
    test_scores: dict[str, float]
    forecast: pd.DataFrame | None
    diagnostics: dict[str, Any] = field(repr=False)
    notes: list[str] = field(default_factory=list)

    def predict_frame(self, data: Any = None, *, issues: list[str] | None = None) -> pd.DataFrame:
        return self.model.predict_frame(data, issues=issues)

    def report(self, path: str | Path | None = None) -> Any:
        from homl.report.forecast import build_forecast_report

        report = build_forecast_report(self.model.metadata, self.diagnostics, self.model.tables)
        if path is not None:
            report.write(path)
        return report

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the model directory with ``diagnostics.json``, ``report.html`` and its figures."""
        return save_with_report(self.model, self.diagnostics, self.report, path, overwrite=overwrite)


# ---------------------------------------------------------------- the task


def forecast(
    data: Any,
    *,
    time: str,
    target: str | list[str],
    horizon: int,
    id: str | None = None,
    covariates: list[str] | tuple[str, ...] = (),
    past_covariates: list[str] | tuple[str, ...] = (),
    freq: str | None = None,
    test: int | None = None,
    folds: int = 3,
    models: list[str] | None = None,
    time_limit: float = 120,
    output: str | Path | None = None,
    overwrite: bool = False,
    seed: int = 42,
    query: str | None = None,
    progress: Progress | None = None,
) -> ForecastResult:
    """Forecast the next ``horizon`` steps of the ``target`` series of a table.

    ``target`` may name several columns (a list, or names separated by commas): they are forecast
    together, each reading the recent values of the others, and the forecast has a column per target
    with its own interval bounds (``<target>_lower_80``...).

    ``time`` names the time column, ``id`` the column telling several series apart.
    ``covariates`` are columns known in advance for the steps to forecast (a day's type, a planned
    price: rows after the last target value, with the target empty, give their future values);
    ``past_covariates`` are only known up to now (another measured series). The last ``test``
    steps of every series (default: one backtest window) are set aside first; the models are
    backtested on ``folds`` rolling-origin windows before them, the best (or a weighted mean of
    several, chosen by forward selection on the backtest points, when it backtests better) is
    scored once on the test steps, then refit on everything.
    Intervals come from the backtest errors; their coverage on the test steps is reported.
    """
    from homl import models as hmodels
    from homl import select

    progress = progress or Progress()
    time, id = str(column_option(time, "time")), column_option(id, "id", required=False)
    covariates, past_covariates = _column_list(covariates), _column_list(past_covariates)
    horizon = hmodels.check_horizon(horizon)
    if folds < 1:
        raise ConfigError(f"folds must be at least 1; got {folds}")
    if time_limit <= 0:
        raise ConfigError(f"time_limit must be positive; got {time_limit}")
    if output is not None:
        check_output(Path(output), overwrite)
    started = _time.perf_counter()
    progress.phase("reading the series")
    notes: list[str] = []
    decisions: list[str] = []  # what the selection decided, kept on the result and in the metadata

    def say(message: str) -> None:
        decisions.append(message)
        progress.note(message)

    frame = hdata.read_table(data, query=query, notes=notes)
    settings = ForecastSettings.make(frame.columns, time=time, target=target, horizon=horizon, id=id,
                                     known=tuple(covariates), past=tuple(past_covariates), freq=freq)
    name = "the table" if isinstance(data, pd.DataFrame) else f"'{data}'"
    observed, future = split_future(frame, settings)
    table = settings.read(observed, name=name)
    series = table.data
    notes += table.notes
    settings.freq = series.freq
    for note in notes:
        progress.note(note)

    shortest = min(series.length(s) for s in series.ids)
    length, folds = _windows(horizon, series.season, shortest, folds, test, name, progress)
    test_length = int(test) if test is not None else length
    train = series.drop_last(test_length)

    candidates, left_out = hmodels.forecast_candidates(train.drop_last(length * folds), horizon, models, seed=seed)
    for note in left_out:
        progress.note(note)
    if not candidates:
        raise DataError(f"no forecasting model can learn from {name} for {horizon} step(s): " + "; ".join(left_out))

    progress.phase("backtesting the models", total=len(candidates))
    tests: list[select.Backtest] = []
    failures: list[str] = []  # why each model failed, the first told if every one did
    by_name = {f.name: f for f in candidates}
    deadline = started + BACKTEST_SHARE * time_limit  # the rest for the test period and the final refit
    for forecaster in candidates:
        label = forecaster.display or forecaster.name
        spent = _time.perf_counter() - started
        if tests and _time.perf_counter() + _expected(tests, forecaster) > deadline:
            say(f"{label} skipped: the time limit ({time_limit:g} s) is near ({spent:.0f} s spent)")
            progress.advance(1, label)
            continue
        left = deadline - _time.perf_counter()
        try:  # a network trains for its share of what is left in each fold
            with fit_deadline(_time.monotonic() + left):
                done = select.backtest(forecaster, train, horizon=horizon, folds=folds, length=length,
                                       test_length=0, name=forecaster.name, fold_seconds=left / (folds + 1),
                                       deadline=deadline if tests else None)
        except select.OutOfTime as error:
            say(f"{label} skipped: {error} ({time_limit:g} s)")
            failures.append(f"{label} skipped: {error} ({time_limit:g} s)")
            progress.advance(1, label)
            continue
        except (ValueError, np.linalg.LinAlgError, RuntimeError) as error:
            say(f"{label} failed in its backtest and was left out: {error}")
            failures.append(f"{label}: {error}")
            progress.advance(1, label)
            continue
        tests.append(done)
        progress.advance(1, f"{label}: MASE {_num(done.scores['mase'])}")
    progress.end_phase()
    failures += [f"{by_name[t.name].display or t.name}: its backtest MASE is {t.scores['mase']}" for t in tests
                 if not np.isfinite(t.scores["mase"])]
    tests = [t for t in tests if np.isfinite(t.scores["mase"])]
    if not tests:
        first = f" (first: {failures[0]})" if failures else ""
        raise DataError(f"every forecasting model failed on {name}{first}")

    ranked = sorted(tests, key=lambda t: t.scores["mase"])
    chosen_names, chosen_weights = [ranked[0].name], None
    pool = _affordable(ranked, started + time_limit - _time.perf_counter())
    kept = {t.name for t in pool}
    dropped = [t.name for t in ranked if t.name not in kept]
    if dropped:
        say(f"{', '.join(by_name[n].display or n for n in dropped)} left out of the weighted mean: fitting again for the test period and "
            f"the refit would not end within the time limit ({time_limit:g} s)")
    blend = select.blend_backtest(pool)
    if blend is not None and blend.scores["mase"] < ranked[0].scores["mase"]:
        chosen_names, chosen_weights = blend.name.split("+"), blend.weights
        tests.append(blend)
        say(f"the weighted mean {_label(chosen_names, by_name, chosen_weights)} backtests best (MASE "
            f"{blend.scores['mase']:.3f} against {ranked[0].scores['mase']:.3f} for the best alone)")
    chosen_test = min(tests, key=lambda t: t.scores["mase"])
    board = _leaderboard(tests, by_name)

    def build() -> Any:
        if len(chosen_names) == 1:
            return _fresh(by_name[chosen_names[0]])
        return hmodels.ForecastEnsemble([_fresh(by_name[n]) for n in chosen_names], chosen_weights)

    progress.phase("scoring the chosen model once on the test period")
    def allowance(share: float) -> float:
        """Seconds a network may train: ``share`` of the time left, but as long as in a backtest fold at
        least (its backtest score was earned with that much training)."""
        left = started + time_limit - _time.perf_counter()
        return max(MIN_FINAL_SECONDS, share * left, chosen_test.fit_seconds)

    with fit_deadline(_time.monotonic() + allowance(0.5)):  # the other half for the refit
        test_points = select.forecast_window(build(), series, horizon=horizon, cut=test_length, length=test_length)
    test_scores = select.score_points(test_points)
    widths = select.interval_widths(chosen_test.points, horizon)
    test_coverage = select.coverage(test_points, widths)
    baseline = _baseline_test(series, horizon, test_length, by_name)
    baseline_name = "seasonal naive" if series.season > 1 else "naive"
    say(f"test period ({test_length} steps): MAE {_num(test_scores['mae'])}, MASE "
                  f"{_num(test_scores['mase'])}" + (f" ({baseline_name}: MAE {_num(baseline['mae'])})" if baseline else ""))

    progress.phase("refitting on every step")
    with fit_deadline(_time.monotonic() + allowance(1.0)):
        final = build().fit(series)
    categories = getattr(table, "categories", None)
    model_name = _label(chosen_names, by_name, chosen_weights)
    metadata = {
        "settings": {"time": time, "target": settings.target, "horizon": horizon, "id": settings.id,
                     "known": list(settings.known), "past": list(settings.past), "freq": series.freq,
                     "targets": list(settings.targets), "by": settings.by},
        "categories": categories, "model": "+".join(chosen_names), "model_name": model_name,
        "weights": chosen_weights,
        "season": series.season, "seasons": list(series.seasons), "n_series": len(series.ids),
        "n_rows": int(sum(series.length(s) for s in series.ids)), "folds": folds, "window": length,
        "test_length": test_length, "backtest_scores": chosen_test.scores, "test_scores": test_scores,
        "baseline_test_scores": baseline, "baseline_name": baseline_name, "widths": widths,
        # what the registry lists a version by
        "metric": "mae", "winner": "+".join(chosen_names),
        "test_score": {"metric": "mae", "value": test_scores["mae"], "n_rows": len(test_points)}, "test_coverage": test_coverage,
        "notes": notes + left_out, "source": name, "data_sha256": data_hash(table.frame), "seed": seed,
        "trained": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(_time.perf_counter() - started, 1),
    }
    tables = {"leaderboard": board, "history": _history(table), "test_points": _plain_points(test_points),
              "backtest_points": _plain_points(chosen_test.points)}
    model = ForecastModel(final, metadata, tables)
    upcoming = None
    if not (final.uses_known and series.known_names) or future is not None:
        upcoming = forecast_frame(final, table, horizon, widths, future, settings)
    else:
        say(f"no forecast of the next {horizon} steps yet: the model reads the known covariates "
                      f"{', '.join(covariates)}, whose future values the table does not give")
    model.metadata["notes"] = notes + left_out + decisions
    diagnostics = _diagnostics(series)
    if upcoming is not None:
        diagnostics["forecast"] = _plain_forecast(upcoming, settings)
    shown = settings.unstacked(upcoming) if upcoming is not None else None
    result = ForecastResult(model, board, test_scores, shown, diagnostics, notes + left_out + decisions)
    progress.end_phase()
    if output is not None:
        result.save(output, overwrite=overwrite)
    return result


def forecast_frame(forecaster: Any, table: Any, horizon: int, widths: dict[str, list[float]],
                   future: pd.DataFrame | None, settings: ForecastSettings) -> pd.DataFrame:
    """The ``horizon`` steps after the end of every series of ``table``: id, time, forecast and intervals."""
    from homl.metrics import mase_scale

    series = table.data
    known = None
    if forecaster.uses_known and series.known_names:
        known = hdata.known_future(table, settings.stacked(future) if future is not None else None, horizon)
    forecasts = forecaster.predict(series, horizon, known)
    rows = []
    for s in series.ids:
        scale = mase_scale(series.y[s], series.season)
        frame = pd.DataFrame({settings.time: hdata.future_index(series, s, horizon),
                              settings.target: forecasts[s]})
        for level in LEVELS:
            half = np.asarray(widths.get(str(level), [np.nan] * horizon), dtype=float)[:horizon] * scale
            frame[f"lower_{level}"] = forecasts[s] - half
            frame[f"upper_{level}"] = forecasts[s] + half
        if settings.id is not None:
            frame.insert(0, settings.id, s)
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)


def _column_list(columns: Any) -> tuple[str, ...]:
    """Covariate columns as tables name them (text): a list, or names separated by commas."""
    if isinstance(columns, str):
        return tuple(c.strip() for c in columns.split(",") if c.strip())
    return tuple(str(c) for c in columns)


def split_future(frame: pd.DataFrame, settings: ForecastSettings) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The rows with a target value, and the rows after each series' last target value (their target
    empty): the known covariates of the steps to forecast, when the table gives them."""
    from homl.errors import SchemaError

    missing = [t for t in settings.target_columns if t not in frame.columns]
    if missing:
        raise SchemaError(f"target column '{missing[0]}' is not in the table; its columns are "
                          f"{', '.join(map(str, frame.columns))}")
    values = frame[list(settings.target_columns)].apply(pd.to_numeric, errors="coerce")
    has_value = values.notna().any(axis=1).to_numpy()
    by = settings.id_column
    if by is not None and by in frame.columns:
        groups = frame[by].astype(str).to_numpy()
    else:
        groups = np.zeros(len(frame), dtype=int)
    # rows after the last value of their series, in time order (the file may not be sorted)
    times = pd.to_datetime(frame[settings.time], errors="coerce", format="mixed") \
        if settings.time in frame.columns else pd.Series(np.arange(len(frame)))
    last_time = pd.Series(times.where(has_value)).groupby(groups).transform("max")
    trailing = (~has_value) & (times > last_time).to_numpy()
    if not trailing.any():
        return frame, None
    return frame.loc[~trailing].reset_index(drop=True), frame.loc[trailing].reset_index(drop=True)


# ---------------------------------------------------------------- helpers


def _windows(horizon: int, season: int, shortest: int, folds: int, test: int | None, name: str,
             progress: Progress) -> tuple[int, int]:
    """The backtest window length and the number of folds the shortest series allows, or a DataError
    saying what is possible."""
    from homl.select import window_length

    if test is not None and (not isinstance(test, (int, np.integer)) or test < 1):
        raise ConfigError(f"test must be a number of steps of at least 1; got {test!r}")
    needed = horizon + 2
    if shortest < needed + horizon:
        raise DataError(f"the shortest series in {name} has {shortest} steps; forecasting {horizon} step(s) "
                        f"needs at least {2 * horizon + 2} (a test period, one backtest window and history "
                        f"before them); lower the horizon or give more history")
    length = window_length(horizon, season, shortest, folds)
    test_length = test if test is not None else length
    usable = max(1, (shortest - test_length - max(needed, shortest // 4)) // length)
    if usable < folds:
        progress.note(f"{min(folds, usable)} backtest fold(s) instead of {folds}: the shortest series has "
                      f"{shortest} steps")
        folds = max(1, min(folds, usable))
    if shortest - test_length - folds * length < 2:
        raise DataError(f"the shortest series in {name} has {shortest} steps, too few for a test period of "
                        f"{test_length} steps and a backtest window of {length}; lower the horizon or test")
    return length, folds


def _expected(tests: list[Any], forecaster: Any) -> float:
    """Seconds the next backtest is expected to take: the slowest so far of a similar kind, at least."""
    family = forecaster.name.split("_")[0]
    same = [t.fit_seconds * t.folds for t in tests if t.name.split("_")[0] == family]
    return max(same) if same else float(np.median([t.fit_seconds * t.folds for t in tests]))


def _affordable(ranked: list[Any], seconds: float) -> list[Any]:
    """The best backtest, then the next best ones while fitting them all twice more (for the test
    period and the final refit, about a backtest fold each) still fits in ``seconds``."""
    pool, cost = ranked[:1], 2 * ranked[0].fit_seconds
    for test in ranked[1:]:
        if cost + 2 * test.fit_seconds <= seconds:
            pool.append(test)
            cost += 2 * test.fit_seconds
    return pool


def _label(names: list[str], by_name: dict[str, Any], weights: list[float] | None = None) -> str:
    """The models' display names joined by "+", each with its weight when it has one:
    "ETS (0.65) + Linear model on lags (0.35)"."""
    labels = [(by_name[n].display or n) if n in by_name else n for n in names]
    if weights is not None:
        labels = [f"{label} ({w:.2f})" for label, w in zip(labels, weights, strict=True)]
    return " + ".join(labels)


def _leaderboard(tests: list[Any], by_name: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for t in tests:
        rows.append({"model": t.name, "name": _label(t.name.split("+"), by_name, t.weights),
                     **{k: t.scores[k] for k in ("mase", "mae", "rmse", "smape")},
                     "fit_seconds": round(t.fit_seconds, 3)})
    return pd.DataFrame(rows).sort_values("mase", kind="stable").reset_index(drop=True)


def _fresh(forecaster: Any) -> Any:
    from sklearn.base import clone

    return clone(forecaster)


def _baseline_test(series: Any, horizon: int, test_length: int, by_name: dict[str, Any]) -> dict[str, float] | None:
    """The seasonal naive forecast's scores on the test period, as a yardstick beside the chosen model's."""
    from homl.models import make_forecaster
    from homl.select import forecast_window, score_points

    name = "seasonal_naive" if series.season > 1 else "naive"
    try:
        forecaster = by_name.get(name) or make_forecaster(name)
        return score_points(forecast_window(forecaster, series, horizon=horizon, cut=test_length, length=test_length))
    except (ConfigError, ValueError):
        return None


def _history(table: Any) -> pd.DataFrame:
    """The last ``HISTORY_STEPS`` steps of every series, in the table's own columns (one-hot
    covariates turned back into their categories), as ``predict`` reads it back."""
    frame = table.frame
    if table.id_column is not None:
        frame = frame.groupby(table.id_column, sort=False, group_keys=False).tail(HISTORY_STEPS)
    else:
        frame = frame.tail(HISTORY_STEPS)
    frame = frame.reset_index(drop=True)
    for column, levels in (getattr(table, "categories", None) or {}).items():
        encoded = [f"{column}={level}" for level in levels]
        present = [c for c in encoded if c in frame.columns]
        if not present:
            continue
        values = frame[present].to_numpy()
        chosen = np.asarray(levels, dtype=object)[[encoded.index(c) for c in present]][values.argmax(axis=1)]
        frame = frame.drop(columns=present)
        frame[column] = np.where(values.max(axis=1) > 0, chosen, None)
    return frame


def _plain_points(points: pd.DataFrame) -> pd.DataFrame:
    out = points.copy()
    out["time"] = pd.to_datetime(out["time"]).dt.strftime("%Y-%m-%d %H:%M:%S")
    return out


def _diagnostics(series: Any) -> dict[str, Any]:
    """Autocorrelations and a seasonal decomposition of the first series, for the report (none without
    statsmodels, the ``forecast`` extra)."""
    try:
        from statsmodels.tsa.stattools import acf, pacf
    except ImportError:
        return {"series": series.ids[0]}

    first = series.ids[0]
    y = series.y[first]
    lags = int(min(max(2 * series.season, 30), len(y) // 2 - 1))
    out: dict[str, Any] = {"series": first}
    if np.nanstd(y) == 0:  # a constant series has no autocorrelation
        out["constant"] = True
    elif lags >= 2:
        out["acf"] = [float(v) for v in acf(y, nlags=lags, fft=True)]
        out["pacf"] = [float(v) for v in pacf(y, nlags=min(lags, len(y) // 2 - 1))]
    if series.season > 1 and len(y) >= 2 * series.season + 1:
        from statsmodels.tsa.seasonal import STL

        tail = y[-min(len(y), 50 * series.season):]
        fit = STL(tail, period=series.season, robust=True).fit()
        times = series.time[first][-len(tail):]
        out["decomposition"] = {"time": [t.isoformat() for t in times], "observed": tail.tolist(),
                                "trend": fit.trend.tolist(), "seasonal": fit.seasonal.tolist(),
                                "resid": fit.resid.tolist()}
    return out


def _plain_forecast(upcoming: pd.DataFrame, settings: ForecastSettings) -> dict[str, Any]:
    """The forecast of the first series as lists, for the report."""
    first = upcoming if settings.id is None else upcoming[upcoming[settings.id] == upcoming[settings.id].iloc[0]]
    out = {column: first[column].astype(float).tolist() for column in first.columns
           if column not in (settings.time, settings.id)}
    out["time"] = [t.isoformat() for t in pd.to_datetime(first[settings.time])]
    out["target"] = first[settings.target].astype(float).tolist()
    return out


def _quoted(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _num(value: Any) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    return format_score(float(value))


def _pct(value: Any) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.0%}"
