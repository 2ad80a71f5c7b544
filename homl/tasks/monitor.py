"""Monitoring a model in use: has the data drifted from what it learned from, and does it still score?

``monitor(model, current, reference=None)`` compares current rows with the model's reference:
the summary of its training rows saved with it (``reference.json``: quantiles, category counts,
missing shares; never the rows), or a reference table given. Current rows are a table, or the
prediction log a server kept in the registry (``homl serve --log-inputs``). Each feature, and
the model's predictions, get a verdict; with true outcomes (a target column in the current
table, or labels fed back with ``homl feedback``) the live score is compared with the test
score over time windows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from homl._json import to_json
from homl.data import read_table
from homl.errors import ConfigError, DataError, ModelDirError

if TYPE_CHECKING:
    from homl.evaluate import DriftResult, DriftThresholds, FeatureDrift, LivePerformance
    from homl.report import Report

logger = logging.getLogger("homl")

#: The model directory's summary of its training rows and of its predictions on test rows.
REFERENCE_FILE = "reference.json"
#: Rows summarised at most (drawn at random beyond), for the reference and its predictions.
REFERENCE_ROWS = 100_000
PREDICTION_ROWS = 20_000


def reference_for(X_train: pd.DataFrame, kinds: dict[str, str], task: str, predict: Any,
                  X_check: pd.DataFrame, *, seed: int = 0) -> dict[str, Any]:
    """The reference saved with a model: a summary of ``X_train``'s columns and of ``predict(X_check)``
    (the model's predictions on rows it did not learn from, e.g. the test rows)."""
    from homl.evaluate import reference_summary, summary_of_predictions

    summary = reference_summary(_sample(X_train, REFERENCE_ROWS, seed), kinds)
    rows = _sample(X_check, PREDICTION_ROWS, seed)
    if len(rows):
        summary["predictions"] = summary_of_predictions(prediction_values(predict(rows), task), task)
    return summary


def prediction_values(values: Any, task: str) -> np.ndarray:
    """Predictions as their drift is measured: numbers for regression, labels as text for classes
    (so that a label read back from JSON, ``1.0``, is the class ``1``)."""
    if task == "regression":
        return pd.to_numeric(pd.Series(np.asarray(values)), errors="coerce").to_numpy(dtype=float)
    return np.array([_label_text(v) for v in np.asarray(values, dtype=object)], dtype=object)


@dataclass
class MonitorResult:
    """Drift per feature and of the predictions, and live performance when outcomes are known."""

    name: str
    task: str
    drift: DriftResult
    predictions: FeatureDrift | None = None
    live: LivePerformance | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def alerts(self) -> list[str]:
        """What calls for attention, one sentence each (empty when all is well)."""
        found = []
        if self.drift.drifted:
            found.append(f"{len(self.drift.drifted)} of {len(self.drift.features)} features drifted: "
                         f"{', '.join(self.drift.drifted)}")
        if self.predictions is not None and self.predictions.status == "drift":
            found.append(f"the predictions drifted: {self.predictions.reason}")
        if self.live is not None and self.live.alert:
            found.append(f"live performance dropped: {self.live.reason}")
        return found

    @property
    def status(self) -> str:
        """``alert`` when anything drifted or the score dropped, else ``too few rows`` (to judge
        any feature), ``warn`` or ``ok``."""
        if self.alerts:
            return "alert"
        if self.drift.features and all(f.status == "too few rows" for f in self.drift.features):
            return "too few rows"
        warned = self.drift.status == "warn" or (self.predictions is not None and self.predictions.status == "warn")
        return "warn" if warned else "ok"

    @property
    def exit_code(self) -> int:
        """1 past the thresholds (for cron and CI alerts), else 0."""
        return 1 if self.alerts else 0

    def table(self) -> pd.DataFrame:
        """One row per feature: its verdict and statistics (see :meth:`DriftResult.table`)."""
        return self.drift.table()

    def report(self, path: str | Path | None = None) -> Report:
        """The monitoring report: verdict, drift table, figures of the drifted features, live score."""
        from homl.report.monitor import build_monitor_report

        report = build_monitor_report(self.drift, title=f"Monitoring {self.name}", predictions=self.predictions,
                                      live=self.live, notes=[*self.alerts, *self.notes])
        if path is not None:
            report.write(path)
        return report

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "alerts": self.alerts, "drift": self.drift.to_dict(),
                "predictions": None if self.predictions is None else to_json(self.predictions),
                "live": None if self.live is None else self.live.to_dict(), "notes": self.notes}


def monitor(
    model: Any,
    current: Any = None,
    *,
    reference: Any = None,
    registry: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    version: int | None = None,
    thresholds: DriftThresholds | None = None,
    window: str | None = None,
) -> MonitorResult:
    """Check ``model`` (a loaded model, a model directory, or a registered ``NAME[@VERSION]``) on
    ``current`` rows (a table or DataFrame; None: the prediction log of the registered model,
    between ``since`` and ``until``) against ``reference`` (a table of training rows; None: the
    summary saved with the model). ``window`` is the live score's time window (e.g. ``"1D"``)."""
    from homl.evaluate import DriftThresholds, check_drift, check_prediction_drift, reference_summary, window_offset

    if window is not None:
        window_offset(window)  # refused before any rows are read or predicted
    thresholds = thresholds or DriftThresholds()
    loaded, name, log_name = _resolve(model, registry)
    schema = getattr(loaded, "schema", None)
    if schema is None:
        raise ConfigError(f"{name} is a {loaded.kind} model, which has no table of features to monitor")
    task = getattr(loaded, "task", loaded.kind)
    notes: list[str] = []

    # Current rows: a table, or what the server logged.
    labels = times = outputs = None  # outputs: as the prediction log holds them
    if current is not None:
        frame = _read(current, "current")
        with _quiet():  # its problems go to the notes
            X, issues = loaded.check(frame)
        notes.extend(issues[:5])
        target = schema.target
        if target and target in frame.columns and task in ("regression", "binary", "multiclass"):
            labelled = frame[target].notna().to_numpy()
            labels = pd.Series(frame[target].to_numpy(), index=X.index).where(labelled)
        time_column = (getattr(loaded, "metadata", {}).get("settings") or {}).get("time_column")
        if time_column and time_column in frame.columns:
            times = pd.to_datetime(frame[time_column], errors="coerce", format="mixed", utc=True).dt.tz_localize(None)
        where = str(current) if not isinstance(current, pd.DataFrame) else "the current rows"
    else:
        if log_name is None:
            raise ConfigError(f"give the current rows to check {name} against (--current TABLE); a model directory "
                              "has no prediction log: register it and serve it with --log-inputs")
        from homl.registry import Registry

        log = Registry(registry).prediction_log(log_name, since=since, until=until, version=version)
        if not len(log):
            raise DataError(f"no logged predictions of {log_name}{_period(since, until)}: serve it with "
                            f"`homl serve {log_name} --log-inputs 0.1`, or give --current TABLE")
        with _quiet():
            X, issues = loaded.check(log.inputs)
        notes.extend(issues[:5])
        labels = log.info["label"].where(log.labelled)
        times = log.info["logged_at"]
        outputs = log.outputs
        where = f"{len(log):,} logged rows of {log_name}{_period(since, until)}"
        notes.append(f"current rows: {where}, {int(log.labelled.sum()):,} with outcomes fed back")

    # Reference: a table given, or the summary saved with the model.
    kinds = schema.kinds()
    if reference is not None:
        ref_frame = _read(reference, "reference")
        with _quiet():
            ref_X, _ = loaded.check(ref_frame)
        summary = reference_summary(ref_X, kinds)
        if task in ("regression", "binary", "multiclass"):
            from homl.evaluate import summary_of_predictions

            sampled = _sample(ref_X, PREDICTION_ROWS, 0)
            with _quiet():
                values = prediction_values(loaded.predict(sampled), task)
            summary["predictions"] = summary_of_predictions(values, task)
    else:
        summary = _saved_reference(loaded, name)
    drift = check_drift(summary, X, thresholds=thresholds, columns=[c for c in kinds if c in summary["columns"]])

    # Predictions: as logged, or the model's on the current rows, once for both checks.
    predictions = live = None
    supervised = task in ("regression", "binary", "multiclass")
    labelled = labels is not None and labels.notna().any()
    if supervised and ("predictions" in summary or labelled):
        if outputs is None:
            with _quiet():  # the rows were checked above, their problems said once
                outputs = loaded.predict_frame(X).rename(columns={loaded.target: "prediction"})
        outputs = outputs.reset_index(drop=True)
        if "predictions" in summary:
            values = prediction_values(outputs["prediction"].to_numpy(), task)
            predictions = check_prediction_drift(summary["predictions"], values, task, thresholds)
        if labelled:
            live = _live(loaded, task, outputs, labels, times, window, notes)
    if live is None and supervised:
        notes.append("no true outcomes for these rows: live performance is not measured (feed them back with "
                     "`homl feedback`, or give a current table with the target column)")
    return MonitorResult(name, task, drift, predictions, live, notes)


def _live(model: Any, task: str, outputs: pd.DataFrame, labels: pd.Series, times: pd.Series | None,
          window: str | None, notes: list[str]) -> LivePerformance:
    """The live score of the rows with outcomes, beside the test score; ``outputs`` are the model's
    for every row, as the prediction log holds them (``prediction``, then ``proba_<class>``)."""
    from homl.evaluate import live_performance
    from homl.metrics import get_metric

    metric = get_metric(model.metadata.get("metric"), task)
    known = labels.notna().to_numpy()
    outputs = outputs[known]
    y = labels.to_numpy()[known]
    classes = None
    if task == "regression":
        y_true = pd.to_numeric(pd.Series(y), errors="coerce").to_numpy(dtype=float)
        prediction = pd.to_numeric(outputs["prediction"], errors="coerce").to_numpy(dtype=float)
        usable = np.isfinite(y_true) & np.isfinite(prediction)
    else:
        classes = np.asarray(model.classes)
        by_text = {_label_text(c): i for i, c in enumerate(classes)}
        positions = np.array([by_text.get(_label_text(v), -1) for v in y])
        usable = positions >= 0
        y_true = np.where(usable, classes[np.clip(positions, 0, None)], classes[0])
        prediction = np.column_stack([pd.to_numeric(outputs[f"proba_{c}"], errors="coerce").to_numpy(dtype=float)
                                      for c in classes])
        usable &= np.isfinite(prediction).all(axis=1)
    if not usable.all():
        notes.append(f"{int((~usable).sum()):,} outcomes are not values the model predicts (or their prediction "
                     "is missing); they are left out of the live score")
    moments = None if times is None else pd.Series(pd.to_datetime(times.to_numpy()[known][usable], utc=True))
    test_score = model.metadata.get("test_score") or {}
    interval = (test_score["low"], test_score["high"]) if "low" in test_score and "high" in test_score else None
    return live_performance(y_true[usable], prediction[usable], moments, metric, classes,
                            reference=test_score.get("value"), reference_interval=interval, window=window)


@contextmanager
def _quiet() -> Iterator[None]:
    """homl's warnings held back: rows checked (and their problems said) once are predicted again."""
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _resolve(model: Any, registry: str | None) -> tuple[Any, str, str | None]:
    """The loaded model, the name a person knows it by, and its registered name (None for a directory)."""
    import homl
    from homl.registry import is_model_dir

    from .batch import require_model_dir

    if not isinstance(model, (str, Path)):
        return model, Path(getattr(model, "path", None) or "model").name, None
    if is_model_dir(model):
        return homl.load(model), Path(model).name, None
    if Path(model).exists():
        require_model_dir(model)
    from homl.registry import Registry

    name, _, ref = str(model).partition("@")
    opened = Registry(registry)
    record = opened.get(name, ref or None)
    return homl.load(opened.path(name, record.version)), f"{name} version {record.version}", name


def _saved_reference(model: Any, name: str) -> dict[str, Any]:
    path = Path(model.path) / REFERENCE_FILE if getattr(model, "path", None) is not None else None
    if path is None or not path.exists():
        raise ConfigError(f"{name} was saved without a summary of its training data (an older homl, or a kind "
                          "that keeps none): give its training table with --reference")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ModelDirError(f"{path} is not valid JSON ({error})") from None
    problem = _summary_problem(summary, "")
    if problem is None and isinstance(summary, dict) and "predictions" in summary:
        problem = _summary_problem(summary["predictions"], "'predictions': ")
    if problem is not None:
        raise ModelDirError(f"{path}: {problem}; it is not the summary of the training rows homl saves with a "
                            "model: fit the model again, or give its training table with --reference")
    return summary


def _summary_problem(summary: Any, where: str) -> str | None:
    """What makes ``summary`` unlike a reference summary (``{"rows": n, "columns": {name: {"kind": ...}}}``),
    or None."""
    if not isinstance(summary, dict):
        return f"{where}holds a {type(summary).__name__} ({json.dumps(summary)[:40]}), not an object"
    rows, columns = summary.get("rows"), summary.get("columns")
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
        return f"{where}'rows' is {json.dumps(rows)[:40]}, not a number of rows"
    if not isinstance(columns, dict):
        return f"{where}'columns' is {json.dumps(columns)[:40]}, not an object of column summaries"
    for name, column in columns.items():
        if not isinstance(column, dict) or not isinstance(column.get("kind"), str):
            return f"{where}column {name!r} has no summary with a 'kind'"
    return None


def _read(source: Any, role: str) -> pd.DataFrame:
    frame = source if isinstance(source, pd.DataFrame) else read_table(source)
    if not len(frame):
        where = "the DataFrame" if isinstance(source, pd.DataFrame) else str(source)
        raise DataError(f"the {role} table ({where}) has no rows")
    return frame


def _sample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    return frame.sample(rows, random_state=seed) if len(frame) > rows else frame


def _label_text(value: Any) -> str:
    """A fed-back label as the text of a class: ``1.0`` read back from JSON matches the class ``1``."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


def _period(since: datetime | None, until: datetime | None) -> str:
    parts = ([f" since {since:%Y-%m-%d %H:%M}"] if since else []) + ([f" until {until:%Y-%m-%d %H:%M}"] if until else [])
    return "".join(parts)
