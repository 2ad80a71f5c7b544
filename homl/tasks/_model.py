"""A fitted tabular model with its schema: checks new data, predicts, saves and loads."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from homl.data import Schema, coerce_frame, read_table
from homl.errors import ModelDirError, SchemaError
from homl.metrics import TestScore
from homl.models import network_summary

from ._kinds import ModelInfo

if TYPE_CHECKING:
    from homl.report import Report

logger = logging.getLogger("homl")

#: The model directory's table of test rows as given, and how many rows it keeps: an example of
#: the input, against which an exported form of the model is checked.
EXAMPLE_TABLE = "input_example"
EXAMPLE_ROWS = 100


class CheckedRows:
    """New rows read and checked against ``self.schema``, for every kind of model that has one."""

    schema: Schema

    def check(self, data: Any) -> tuple[pd.DataFrame, list[str]]:
        """The rows as the pipeline reads them (schema columns and types), and the problems found."""
        frame = data if isinstance(data, pd.DataFrame) else read_table(data)
        issues: list[str] = []
        X = coerce_frame(frame, self.schema, issues=issues)
        for issue in issues:
            logger.warning(issue)
        return X, issues

    def _checked(self, data: Any, issues: list[str] | None) -> pd.DataFrame:
        X, found = self.check(data)
        if issues is not None:
            issues.extend(found)
        return X


class TabularModel(CheckedRows):
    """A fitted pipeline plus what it was trained on: the schema, the task and the classes.

    ``predict`` accepts a DataFrame or anything :func:`homl.data.read_table` reads, checks it
    against the schema (a missing required column is an error naming it; extra columns,
    unseen categories and unreadable values are handled, logged as warnings and appended to
    ``issues`` when a list is given) and returns one prediction per input row, in input order.
    Nothing is kept on the model while predicting, so threads may share one model.
    """

    kind: ClassVar[str] = "supervised"

    def __init__(self, pipeline: Any, schema: Schema, task: str, metadata: dict[str, Any] | None = None,
                 leaderboard: pd.DataFrame | None = None, path: Path | None = None):
        self.pipeline = pipeline
        self.schema = schema
        self.task = task
        self.metadata = dict(metadata or {})
        self.leaderboard = leaderboard
        #: The model directory it was loaded from, where its report's diagnostics are.
        self.path = path

    @property
    def target(self) -> str:
        return self.schema.target or "prediction"

    @property
    def classes(self) -> np.ndarray | None:
        return None if self.task == "regression" else np.asarray(self.pipeline.classes_)

    def predict(self, data: Any, *, issues: list[str] | None = None) -> np.ndarray:
        """Predicted values (regression) or labels (classification), one per row."""
        X = self._checked(data, issues)
        if len(X) == 0:  # no rows, no predictions (the pipeline's steps refuse an empty table)
            return np.empty(0, dtype=float if self.task == "regression" else self.classes.dtype)
        return self.pipeline.predict(X)

    def predict_proba(self, data: Any, *, issues: list[str] | None = None) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes``."""
        if self.task == "regression":
            raise SchemaError("predict_proba is for classifiers; this model does regression")
        X = self._checked(data, issues)
        return np.empty((0, len(self.classes))) if len(X) == 0 else self.pipeline.predict_proba(X)

    def predict_frame(self, data: Any, *, issues: list[str] | None = None) -> pd.DataFrame:
        """A table with the prediction in a column named after the target, and ``proba_<class>``
        columns for classifiers; same rows, same order as the input."""
        X = self._checked(data, issues)
        out = pd.DataFrame(index=X.index)
        if self.task == "regression":
            out[self.target] = self.pipeline.predict(X) if len(X) else np.empty(0)
            return out
        from homl.models import labels_from_proba

        proba = self.pipeline.predict_proba(X) if len(X) else np.empty((0, len(self.classes)))
        classes = self.classes
        out[self.target] = labels_from_proba(self.pipeline, proba)  # as predict: its decision threshold, if any
        for j, label in enumerate(classes):
            out[f"proba_{label}"] = proba[:, j]
        return out

    def save(
        self, path: str | Path, *, overwrite: bool = False, files: dict[str, Path] | None = None,
        tables: dict[str, pd.DataFrame] | None = None,
    ) -> Path:
        """Write the model directory atomically (refuses to replace a model unless ``overwrite``)."""
        from homl.registry import write_model_dir

        metadata = {**self.metadata, "task": self.task, "target": self.target, "schema": self.schema.to_dict()}
        tables = dict(tables or {})
        if self.leaderboard is not None:
            tables["leaderboard"] = self.leaderboard
        return write_model_dir(path, self.pipeline, metadata, kind=self.kind, tables=tables, files=files,
                               overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path) -> TabularModel:
        """Read a model directory; only homl's trusted types are ever deserialised."""
        from homl.registry import read_model_dir

        pipeline, metadata = read_model_dir(path, kind=cls.kind)
        try:
            schema = Schema.from_dict(metadata["schema"])
            task = metadata["task"]
        except (KeyError, TypeError) as error:
            raise ModelDirError(f"{path}: metadata.json has no usable schema or task ({error})") from None
        return cls(pipeline, schema, task, metadata, _saved_leaderboard(Path(path) / "leaderboard.csv"), Path(path))

    def input_example(self) -> pd.DataFrame | None:
        """The test rows saved with the model (see ``EXAMPLE_TABLE``), or None for a model without them."""
        if self.path is None or not (Path(self.path) / f"{EXAMPLE_TABLE}.csv").exists():
            return None
        return read_table(Path(self.path) / f"{EXAMPLE_TABLE}.csv")

    def info(self) -> ModelInfo:
        """The summary, schema, leaderboard and library versions ``homl info`` shows."""
        meta = self.metadata
        lines = self.describe().splitlines()
        if meta.get("baseline_test_score"):
            lines.append(f"baseline test score: {TestScore(**meta['baseline_test_score'])}")
        lines.append(f"trained {meta.get('created', '?')} on data sha256 {meta.get('data_sha256', '?')[:16]}…")
        network = network_summary(self.pipeline)
        if network is not None:
            lines.append(network)
        return ModelInfo(kind=self.kind, summary=lines, schema=self.schema, leaderboard=self.leaderboard,
                         metric=meta.get("metric", ""), versions=dict(meta.get("library_versions", {})))

    def report(self) -> Report:
        """The model report, from the metadata, the leaderboard and the diagnostics saved with the model."""
        from homl.evaluate import DIAGNOSTICS_FILE
        from homl.report.model import build_model_report

        saved = self.path / DIAGNOSTICS_FILE if self.path is not None else None
        try:
            diagnostics = json.loads(saved.read_text(encoding="utf-8")) if saved and saved.exists() else None
        except (ValueError, OSError) as error:
            raise ModelDirError(f"{saved}: cannot be read ({error}); delete it to build the report without the "
                                "test-set diagnostics, or fit the model again") from None
        if diagnostics is not None and not isinstance(diagnostics, dict):
            raise ModelDirError(f"{saved}: holds a {type(diagnostics).__name__}, not the diagnostics' object; "
                                "delete it to build the report without them, or fit the model again")
        return build_model_report(self._report_metadata(), self.leaderboard, diagnostics)

    def _report_metadata(self) -> dict[str, Any]:
        return {**self.metadata, "task": self.task, "target": self.target}

    def __repr__(self) -> str:
        score = self.metadata.get("test_score")
        return summary_repr(self, self.kind, self.task, self.metadata.get("metric"), self.metadata.get("winner"),
                            score["value"] if score else None)

    def _repr_html_(self) -> str:
        """Jupyter: a short summary and the leaderboard."""
        from homl.report.model import summary_html

        return summary_html(self._report_metadata(), self.leaderboard)

    def describe(self) -> str:
        """A few lines a person reads first: task, target, metric and test score."""
        lines = [f"task: {self.task}, target: '{self.target}'"]
        if self.metadata.get("test_score"):
            lines.append(f"test score: {TestScore(**self.metadata['test_score'])}")
        if "winner" in self.metadata:
            lines.append(f"model: {self.metadata['winner']}")
        return "\n".join(lines)


def _saved_leaderboard(path: Path) -> pd.DataFrame | None:
    """The leaderboard saved with a model; None, with a warning, where it is missing or damaged
    (the model predicts without it)."""
    from homl.select import LEADERBOARD_COLUMNS

    if not path.exists():
        return None
    try:
        board = pd.read_csv(path)
    except (ValueError, OSError) as error:
        logger.warning(f"{path}: cannot be read ({error}); the model is shown without its leaderboard")
        return None
    lacking = [c for c in LEADERBOARD_COLUMNS if c not in board.columns]
    if lacking:
        logger.warning(f"{path}: lacks the column(s) {', '.join(lacking)}; the model is shown without its leaderboard")
        return None
    return board


def summary_repr(obj: object, kind: str, task: str, metric: str | None, winner: str | None,
                 test_score: float | None) -> str:
    """One line: the kind, task, metric, winning model and test score (a model's or a fit result's ``repr``)."""
    score = "None" if test_score is None else f"{test_score:.5g}"
    return (f"{type(obj).__name__}(kind={kind!r}, task={task!r}, metric={metric!r}, winner={winner!r}, "
            f"test_score={score})")


def check_output(path: Path, overwrite: bool) -> None:
    """Refuse before any work starts, rather than after minutes of training."""
    from homl.registry import is_model_dir

    if path.exists() and not path.is_dir():
        raise ModelDirError(f"output '{path}' is a file; expected a directory for the model")
    if is_model_dir(path) and not overwrite:
        raise ModelDirError(f"output '{path}' holds a model already; use overwrite=True to replace it")
    if path.is_dir() and any(path.iterdir()) and not is_model_dir(path):
        raise ModelDirError(f"output '{path}' is a folder with other files in it; choose a new or empty folder")
