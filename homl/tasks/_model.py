"""A fitted tabular model with its schema: checks new data, predicts, saves and loads."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from homl.data import Schema, coerce_frame, read_table
from homl.errors import ModelDirError, SchemaError
from homl.metrics import TestScore

logger = logging.getLogger("homl")


class TabularModel:
    """A fitted pipeline plus what it was trained on: the schema, the task and the classes.

    ``predict`` accepts a DataFrame or anything :func:`homl.data.read_table` reads, checks it
    against the schema (a missing required column is an error naming it; extra columns,
    unseen categories and unreadable values are handled and listed in ``last_issues``) and
    returns one prediction per input row, in input order.
    """

    def __init__(self, pipeline: Any, schema: Schema, task: str, metadata: dict[str, Any] | None = None,
                 leaderboard: pd.DataFrame | None = None):
        self.pipeline = pipeline
        self.schema = schema
        self.task = task
        self.metadata = dict(metadata or {})
        self.leaderboard = leaderboard
        self.last_issues: list[str] = []

    @property
    def target(self) -> str:
        return self.schema.target or "prediction"

    @property
    def classes(self) -> np.ndarray | None:
        return None if self.task == "regression" else np.asarray(self.pipeline.classes_)

    def _prepare(self, data: Any) -> pd.DataFrame:
        frame = data if isinstance(data, pd.DataFrame) else read_table(data)
        self.last_issues = []
        X = coerce_frame(frame, self.schema, issues=self.last_issues)
        for issue in self.last_issues:
            logger.warning(issue)
        return X

    def predict(self, data: Any) -> np.ndarray:
        """Predicted values (regression) or labels (classification), one per row."""
        return self.pipeline.predict(self._prepare(data))

    def predict_proba(self, data: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes``."""
        if self.task == "regression":
            raise SchemaError("predict_proba is for classifiers; this model does regression")
        return self.pipeline.predict_proba(self._prepare(data))

    def predict_frame(self, data: Any) -> pd.DataFrame:
        """A table with the prediction in a column named after the target, and ``proba_<class>``
        columns for classifiers; same rows, same order as the input."""
        X = self._prepare(data)
        out = pd.DataFrame(index=X.index)
        if self.task == "regression":
            out[self.target] = self.pipeline.predict(X)
            return out
        proba = self.pipeline.predict_proba(X)
        classes = self.classes
        out[self.target] = classes[np.argmax(proba, axis=1)]
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
        return write_model_dir(path, self.pipeline, metadata, tables=tables, files=files, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path) -> TabularModel:
        """Read a model directory; only homl's trusted types are ever deserialised."""
        from homl.registry import read_model_dir

        pipeline, metadata = read_model_dir(path)
        try:
            schema = Schema.from_dict(metadata["schema"])
            task = metadata["task"]
        except (KeyError, TypeError) as error:
            raise ModelDirError(f"{path}: metadata.json lacks the model's schema or task ({error})") from None
        board_path = Path(path) / "leaderboard.csv"
        leaderboard = pd.read_csv(board_path) if board_path.exists() else None
        return cls(pipeline, schema, task, metadata, leaderboard)

    def _repr_html_(self) -> str:
        """Jupyter: a short summary and the leaderboard."""
        from homl.report.model import summary_html

        return summary_html({**self.metadata, "task": self.task, "target": self.target}, self.leaderboard)

    def describe(self) -> str:
        """A few lines a person reads first: task, target, metric and test score."""
        lines = [f"task: {self.task}, target: '{self.target}'"]
        if "test_score" in self.metadata:
            lines.append(f"test score: {TestScore(**self.metadata['test_score'])}")
        if "winner" in self.metadata:
            lines.append(f"model: {self.metadata['winner']}")
        return "\n".join(lines)
