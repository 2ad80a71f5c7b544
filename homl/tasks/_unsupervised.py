"""What the tasks without a target share: reading the table, the columns distances can use, their
preparation (identifiers dropped, missing values imputed, heavy tails logged, all scaled), and the
model directory with its report."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from homl import data as hdata
from homl._progress import Progress
from homl.errors import DataError, ModelDirError, SchemaError

from ._model import CheckedRows

#: Largest magnitude a value may have: scaling squares the values, and beyond this the squares overflow.
MAX_MAGNITUDE = 1e150


@dataclass
class Rows:
    """A table read for a task without a target: the rows as read, their schema and typed
    features, and the column ``label`` kept out of the features (when one was named)."""

    frame: pd.DataFrame
    schema: hdata.Schema
    features: pd.DataFrame
    name: str
    notes: list[str] = field(default_factory=list)
    label: str | None = None

    @property
    def unlabelled(self) -> pd.DataFrame:
        """The rows without the ``label`` column: what the pipeline learns from."""
        return self.frame if self.label is None else self.frame.drop(columns=[self.label])


def read_rows(data: Any, *, query: str | None, what: str, progress: Progress, label: str | None = None,
              role: str = "label", name: str | None = None) -> Rows:
    """The table at ``data`` for ``what`` ("segmenting", "anomaly detection"...); a ``label`` column
    (named in errors by its ``role``) must be there and is left out of the features. The notes of
    what was done go to ``progress``; ``name`` names the table in messages (default: its path)."""
    progress.phase("reading the table")
    notes: list[str] = []
    frame = hdata.read_table(data, query=query, notes=notes)
    name = name or ("the table" if isinstance(data, pd.DataFrame) else f"'{data}'")
    if len(frame) < 2:
        raise DataError(f"{name} has {len(frame)} row(s); {what} needs at least 2")
    if label is not None and label not in frame.columns:
        raise SchemaError(f"{role} column '{label}' is not in {name}; its columns are "
                          f"{', '.join(map(str, frame.columns))}")
    schema = _distance_schema(frame.drop(columns=[label] if label is not None else []), name, what)
    notes += schema.notes
    features = hdata.coerce_frame(frame, schema)
    _check_magnitudes(features, name)
    missing = {c: int(n) for c, n in features.isna().sum().items() if n}
    if missing:
        listed = ", ".join(f"'{c}' ({n})" for c, n in missing.items())
        notes.append(f"missing values imputed (median for numbers, a '(missing)' level for categories): {listed}")
    for note in notes:
        progress.note(note)
    return Rows(frame, schema, features, name, notes, label)


def _check_magnitudes(features: pd.DataFrame, name: str) -> None:
    """A DataError naming the first value too large to scale (its column and row)."""
    for column in features.columns:
        values = features[column]
        if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
            continue
        huge = np.abs(values.to_numpy(dtype=float, na_value=np.nan)) > MAX_MAGNITUDE
        if huge.any():
            row, n = int(np.flatnonzero(huge)[0]), int(huge.sum())
            raise DataError(f"{name}: column '{column}' holds {values.iloc[row]:g} on row {row + 1}, too large to "
                            f"scale ({n} value(s) beyond {MAX_MAGNITUDE:g} in size); expected smaller numbers "
                            "(rescale the column, e.g. to other units)")


def _distance_schema(frame: pd.DataFrame, name: str, what: str) -> hdata.Schema:
    """The table's schema with free text left out (distances between texts mean little here); an
    error naming every dropped column when nothing is left."""
    schema = hdata.infer_schema(frame)
    texts = schema.names("text")
    if texts:
        schema = schema.without(texts, f"free text, which {what} by distance does not use")
    if not schema.features:
        reasons = "; ".join(f"'{c.name}': {c.reason or c.kind}" for c in schema.columns) or "no columns"
        raise DataError(f"{name} has no column for {what} ({reasons}); "
                        f"{what} needs numbers, categories, yes/no values or dates")
    return schema


def distance_pipeline(schema: hdata.Schema, last: tuple[str, Any], seed: int) -> Any:
    """``schema → preparation for distances → last``: every feature standardised, categories one-hot."""
    from sklearn.pipeline import Pipeline

    from homl.prep import TablePreprocessor

    prep = TablePreprocessor(columns=schema.kinds(), scale=True, log_heavy_tails=True, categorical="onehot",
                             geo=False, random_state=seed)
    return Pipeline([("schema", hdata.SchemaCoercer(schema.to_dict())), ("prep", prep), last])


class UnsupervisedModel(CheckedRows):
    """What the model kinds without a target share: ``schema → preparation → estimator``, its
    metadata and tables, the model directory, and the report rebuilt from saved diagnostics.

    A kind sets ``kind``, the names of the ``TABLES`` it keeps beside the model (``<name>.csv``),
    and ``_build_report``; ``_check_metadata`` may refuse a directory that lacks what it needs.
    """

    kind: ClassVar[str]
    TABLES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, pipeline: Any, schema: hdata.Schema, metadata: dict[str, Any] | None = None,
                 tables: dict[str, pd.DataFrame] | None = None, path: Path | None = None):
        self.pipeline = pipeline
        self.schema = schema
        self.metadata = dict(metadata or {})
        self.tables = dict(tables or {})
        #: The model directory it was loaded from, where its report's diagnostics are.
        self.path = path

    def save(self, path: str | Path, *, overwrite: bool = False, files: dict[str, Path] | None = None) -> Path:
        """Write the model directory atomically (refuses to replace a model unless ``overwrite``)."""
        from homl.registry import write_model_dir

        metadata = {**self.metadata, "schema": self.schema.to_dict()}
        return write_model_dir(path, self.pipeline, metadata, kind=self.kind, tables=self.tables or None,
                               files=files, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path) -> Any:
        """Read a model directory of this kind; only homl's trusted types are deserialised."""
        from homl.registry import read_model_dir

        pipeline, metadata = read_model_dir(path, kind=cls.kind)
        try:
            schema = hdata.Schema.from_dict(metadata["schema"])
            cls._check_metadata(metadata)
        except (KeyError, TypeError, ValueError) as error:
            raise ModelDirError(f"{path}: metadata.json lacks what a {cls.kind} model needs ({error})") from None
        tables = {name: pd.read_csv(Path(path) / f"{name}.csv") for name in cls.TABLES
                  if (Path(path) / f"{name}.csv").exists()}
        return cls(pipeline, schema, metadata, tables, Path(path))

    @classmethod
    def _check_metadata(cls, metadata: dict[str, Any]) -> None:
        """Raise KeyError, TypeError or ValueError when ``metadata`` lacks what the kind needs."""

    def predict_frame(self, data: Any, *, issues: list[str] | None = None) -> pd.DataFrame:
        """One row of named columns per input row, in input order (an empty table: no rows, the same columns)."""
        X = self._checked(data, issues)
        if len(X) == 0:  # the pipeline's steps refuse an empty table
            return pd.DataFrame({c: pd.Series(dtype=d) for c, d in self._output_columns().items()}, index=X.index)
        return self._predict_rows(X)

    def _output_columns(self) -> dict[str, str]:
        """The columns of ``predict_frame``, with their dtypes."""
        raise NotImplementedError

    def _predict_rows(self, X: pd.DataFrame) -> pd.DataFrame:
        """``predict_frame`` of checked rows, at least one."""
        raise NotImplementedError

    def report(self) -> Any:
        """The report, from the metadata and the diagnostics saved in the model directory."""
        return self._build_report(self.metadata, saved_diagnostics(self.path))

    def _build_report(self, metadata: dict[str, Any], diagnostics: dict[str, Any] | None) -> Any:
        raise NotImplementedError


class UnsupervisedResult:
    """What the results of the tasks without a target share (and a recommender's): their ``model``
    (an :class:`UnsupervisedModel`, or any model with its ``_build_report``) and the ``diagnostics``
    its report is drawn from."""

    model: UnsupervisedModel
    diagnostics: dict[str, Any]

    def predict_frame(self, data: Any, *, issues: list[str] | None = None) -> pd.DataFrame:
        """As the model's: one row of named columns per input row, in input order."""
        return self.model.predict_frame(data, issues=issues)

    def report(self, path: str | Path | None = None) -> Any:
        """The report (:class:`homl.report.Report`); written to ``path`` when given."""
        report = self.model._build_report(self.model.metadata, self.diagnostics)
        if path is not None:
            report.write(path)
        return report

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the model directory with ``diagnostics.json``, ``report.html`` and its figures."""
        return save_with_report(self.model, self.diagnostics, self.report, path, overwrite=overwrite)


def saved_diagnostics(path: Path | None) -> dict[str, Any] | None:
    """The diagnostics saved in the model directory at ``path`` (None when there are none)."""
    from homl.evaluate import DIAGNOSTICS_FILE

    saved = path / DIAGNOSTICS_FILE if path is not None else None
    return json.loads(saved.read_text(encoding="utf-8")) if saved and saved.exists() else None


def save_with_report(model: Any, diagnostics: dict[str, Any], report: Any, path: str | Path, *,
                     overwrite: bool) -> Path:
    """``model.save(path)`` with ``diagnostics.json``, the report ``report(file)`` writes and its figures
    as files of the model directory (all written atomically with it)."""
    from homl.evaluate import DIAGNOSTICS_FILE
    from homl.report.model import REPORT_FILE

    with tempfile.TemporaryDirectory(prefix="homl-report-") as folder:
        folder = Path(folder)
        (folder / DIAGNOSTICS_FILE).write_text(json.dumps(diagnostics), encoding="utf-8")
        report(folder / REPORT_FILE)
        files = {DIAGNOSTICS_FILE: folder / DIAGNOSTICS_FILE, REPORT_FILE: folder / REPORT_FILE}
        files.update({f"figures/{p.name}": p for p in sorted((folder / "figures").glob("*.png"))})
        return model.save(path, overwrite=overwrite, files=files)
