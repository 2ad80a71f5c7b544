"""A fitted table model as ONNX, for ONNX Runtime on a server, a device or in a web page.

:func:`onnx_form` converts the model and checks the graph against the Python pipeline on
rows (the model's input example, the test rows saved with it, unless others are given):
predictions within ``REGRESSION_TOLERANCE`` of each other relative to their size, the same
labels and probabilities within ``PROBABILITY_TOLERANCE``. :func:`export_onnx` writes the
graph and a JSON schema of its inputs and outputs beside it, both atomically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from homl._atomic import write_bytes_atomic
from homl.errors import ConfigError, HomlError
from homl.models import NotConvertible, onnx_feeds, table_to_onnx

from ._model import TabularModel

#: Largest difference allowed between ONNX and Python regression predictions, relative to |y| (at least 1).
REGRESSION_TOLERANCE = 1e-5
#: Largest difference allowed between ONNX and Python class probabilities.
PROBABILITY_TOLERANCE = 1e-5
#: Format of the schema file written beside the graph.
SCHEMA_FORMAT = "homl-onnx-schema/1"
_INSTALL = "pip install 'homl[export]'"


class ExportError(HomlError):
    """The model has no ONNX form, or its ONNX form does not predict as the model does."""


@dataclass
class OnnxForm:
    """A model's ONNX graph and how it compared with the Python pipeline."""

    model: Any
    #: The graph as written to a file or given to ONNX Runtime.
    bytes: bytes
    columns: dict[str, str]
    rows: int
    max_error: float


def onnx_form(model: TabularModel, rows: Any = None) -> OnnxForm:
    """``model`` as a checked ONNX graph; an :class:`ExportError` says why where it cannot be.

    ``rows`` (a table, or anything :func:`homl.data.read_table` reads) are the rows it is
    checked on; by default the model's input example.
    """
    if model.kind != "supervised":
        raise ExportError(f"ONNX export takes supervised table models; this model is {model.kind!r}")
    try:
        import onnxruntime  # noqa: F401
        import skl2onnx  # noqa: F401
    except ImportError as error:
        raise ExportError(f"ONNX export needs {error.name}: {_INSTALL}") from None
    if rows is None:
        rows = model.input_example()
        if rows is None:
            raise ExportError("the model holds no input example (it was saved by an older homl): "
                              "give rows to check the export on (--data FILE)")
    X, _ = model.check(rows)
    if len(X) == 0:
        raise ExportError("no rows to check the export on")
    columns = {column.name: column.kind for column in model.schema.features}
    try:
        graph = table_to_onnx(model.pipeline, columns, model.classes)
    except NotConvertible as error:
        raise ExportError(f"this model has no ONNX form: {error}") from None
    serialized = graph.SerializeToString()
    error = _compare(model, serialized, X, columns)
    return OnnxForm(graph, serialized, columns, len(X), error)


def _compare(model: TabularModel, graph: bytes, X: pd.DataFrame, columns: dict[str, str]) -> float:
    """The largest difference between the graph's and the pipeline's outputs on ``X``; raises past tolerance."""
    session = session_of(graph)
    outputs = session.run(None, onnx_feeds(X, columns))
    if model.task == "regression":
        expected = np.asarray(model.pipeline.predict(X), dtype=float)
        got = np.asarray(outputs[0], dtype=float).reshape(expected.shape)
        errors = np.abs(got - expected) / np.maximum(np.abs(expected), 1.0)
        worst = int(np.nanargmax(errors)) if np.isfinite(errors).any() else 0
        if not np.isfinite(errors).all() or errors[worst] > REGRESSION_TOLERANCE:
            raise ExportError(f"the ONNX form predicts {got[worst]:.6g} for check row {worst + 1}, the model "
                              f"{expected[worst]:.6g}: a relative difference of {errors[worst]:.2g}, over "
                              f"{REGRESSION_TOLERANCE:g}")
        return float(errors.max())
    from homl.models import labels_from_proba

    expected = np.asarray(model.pipeline.predict_proba(X), dtype=float)
    got = np.asarray(outputs[1], dtype=float)
    differences = np.abs(got - expected).max(axis=1)
    worst = int(np.argmax(differences))
    if not np.isfinite(got).all() or differences[worst] > PROBABILITY_TOLERANCE:
        raise ExportError(f"the ONNX form's probabilities for check row {worst + 1} differ from the model's "
                          f"by {differences[worst]:.2g}, over {PROBABILITY_TOLERANCE:g}")
    labels = labels_from_proba(model.pipeline, expected)
    same = np.asarray(outputs[0]).astype(str) == np.asarray(labels).astype(str)
    if not same.all():
        row = int(np.flatnonzero(~same)[0])
        raise ExportError(f"the ONNX form labels check row {row + 1} {outputs[0][row]!r}, the model {labels[row]!r}")
    return float(differences.max())


def session_of(graph: bytes) -> Any:
    """An ONNX Runtime session of ``graph`` on the CPU, one thread per call (requests run side by side)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


def onnx_schema(model: TabularModel, form: OnnxForm, name: str, example: pd.DataFrame | None = None) -> dict[str, Any]:
    """What a program needs to call the graph: inputs with their types and categories, outputs, classes."""
    graph_inputs = {tensor.name: _described(tensor) for tensor in form.model.graph.input}
    inputs = []
    for column in model.schema.features:
        entry: dict[str, Any] = {"name": column.name, "kind": column.kind, **graph_inputs[column.name]}
        entry["missing"] = "NaN" if entry["type"] == "double" else ""
        if column.categories:
            entry["categories"] = [str(c) for c in column.categories]
        inputs.append(entry)
    outputs = [{"name": tensor.name, **_described(tensor)} for tensor in form.model.graph.output]
    schema: dict[str, Any] = {
        "format": SCHEMA_FORMAT, "model": name, "task": model.task, "target": model.target,
        "inputs": inputs, "outputs": outputs,
        "check": {"rows": form.rows, "max_error": form.max_error,
                  "tolerance": REGRESSION_TOLERANCE if model.task == "regression" else PROBABILITY_TOLERANCE},
    }
    if model.classes is not None:
        schema["classes"] = [c.item() if hasattr(c, "item") else c for c in model.classes]
    if example is not None and len(example):
        schema["example"] = _example(model, example, form)
    return schema


def _described(tensor: Any) -> dict[str, Any]:
    """A graph input's or output's element type ("double", "string", "int64"...) and shape (None: any)."""
    from onnx import TensorProto

    typed = tensor.type.tensor_type
    shape = [dim.dim_value if dim.HasField("dim_value") else None for dim in typed.shape.dim]
    return {"type": TensorProto.DataType.Name(typed.elem_type).lower(), "shape": shape}


def _example(model: TabularModel, rows: pd.DataFrame, form: OnnxForm, limit: int = 5) -> dict[str, Any]:
    """A few rows as the graph takes them, with the model's predictions for them."""
    X, _ = model.check(rows.head(limit))
    feeds = onnx_feeds(X, form.columns)
    records = [{name: _plain(values[i, 0]) for name, values in feeds.items()} for i in range(len(X))]
    if model.task == "regression":
        expected = [float(v) for v in model.pipeline.predict(X)]
    else:
        expected = [[float(p) for p in row] for row in model.pipeline.predict_proba(X)]
    return {"rows": records, "expected": expected}


def _plain(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    return str(value)


def export_onnx(model: TabularModel, path: str | Path, *, rows: Any = None, name: str | None = None,
                overwrite: bool = False) -> tuple[Path, Path, OnnxForm]:
    """Write ``model`` to ``path`` as ONNX and its schema to ``<path without .onnx>.schema.json``.

    The graph is checked first (see :func:`onnx_form`); nothing is written when it fails.
    Returns both paths and the form. An existing file is replaced only with ``overwrite``.
    """
    path = Path(path)
    if path.suffix != ".onnx":
        raise ConfigError(f"{path}: an ONNX file's name ends in .onnx")
    schema_path = path.with_suffix(".schema.json")
    for target in (path, schema_path):
        if target.exists() and not overwrite:
            raise ConfigError(f"{target} exists; pass overwrite=True to replace it")
    rows = model.input_example() if rows is None else rows
    form = onnx_form(model, rows)
    example = rows if isinstance(rows, pd.DataFrame) else None
    schema = onnx_schema(model, form, name or (model.path.name if model.path else path.stem), example)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, form.bytes)
    write_bytes_atomic(schema_path, json.dumps(schema, indent=2, allow_nan=False).encode())
    return path, schema_path, form


class OnnxPredictor:
    """A table model whose predictions run in ONNX Runtime: rows are checked against the schema as
    the model checks them, then go through the checked graph (see :func:`served_form`).

    ``predict_frame`` gives what :meth:`TabularModel.predict_frame` gives; every other attribute
    is the model's. One session serves every thread.
    """

    def __init__(self, model: TabularModel, form: OnnxForm):
        self.model = model
        self.form = form
        self.session = session_of(form.bytes)
        self._categories = {c.name: frozenset(map(str, c.categories)) for c in model.schema.features
                            if c.kind == "categorical" and c.categories}
        self._numbers = {tensor.name for tensor in self.session.get_inputs() if tensor.type == "tensor(double)"}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def predict_rows(self, rows: list[dict[str, Any]], *, issues: list[str] | None = None) -> dict[str, list[Any]]:
        """The columns of :meth:`predict_frame` for rows already checked against the schema's types
        (a number or None for numbers, True/False/None for booleans, a string or None otherwise,
        as the server's request model checks them): no table is built on the way."""
        feeds = {}
        for name in self.form.columns:
            if name in self._numbers:  # None becomes NaN
                feeds[name] = np.array([[row.get(name)] for row in rows], dtype=np.float64)
            else:
                feeds[name] = np.array([["" if (v := row.get(name)) is None else str(v)] for row in rows], dtype=object)
                self._unseen(name, feeds[name][:, 0], issues)
        try:
            outputs = self.session.run(None, feeds)
        except Exception as error:  # the runtime's own kinds of error: the rows could not be predicted
            raise ValueError(f"ONNX Runtime could not predict these rows: {error}") from None
        columns: dict[str, list[Any]] = {self.model.target: outputs[0].tolist()}
        if self.model.task != "regression":
            for j, label in enumerate(self.model.classes):
                columns[f"proba_{label}"] = outputs[1][:, j].tolist()
        return columns

    def _unseen(self, name: str, values: np.ndarray, issues: list[str] | None) -> None:
        known = self._categories.get(name)
        if issues is None or known is None:
            return
        unseen = [v for v in values if v and v not in known]
        if unseen:
            issues.append(f"column '{name}': {len(unseen)} value(s) never seen in training "
                          f"(e.g. {unseen[0]!r}); encoded as unknown")

    def predict_frame(self, data: Any, *, issues: list[str] | None = None) -> pd.DataFrame:
        X = self.model._checked(data, issues)
        outputs = self.session.run(None, onnx_feeds(X, self.form.columns))
        out = pd.DataFrame(index=X.index)
        if self.model.task == "regression":
            out[self.model.target] = outputs[0]
            return out
        out[self.model.target] = outputs[0]
        for j, label in enumerate(self.model.classes):
            out[f"proba_{label}"] = outputs[1][:, j]
        return out


def served_form(model: Any) -> tuple[Any, str]:
    """What serves ``model``'s predictions, and a line saying which: its checked ONNX form in ONNX
    Runtime where it has one (checked on its input example), else the model itself (the Python
    pipeline), with the reason."""
    if getattr(model, "kind", None) != "supervised":
        return model, "Python pipeline (ONNX serving takes supervised table models)"
    rows = model.input_example()
    if rows is None:
        return model, "Python pipeline (no input example to check an ONNX form on)"
    try:
        form = onnx_form(model, rows)
    except (ExportError, HomlError) as error:
        return model, f"Python pipeline ({error})"
    return OnnxPredictor(model, form), (f"ONNX Runtime (checked on {form.rows} test rows: "
                                        f"outputs within {form.max_error:.1e} of the Python pipeline's)")
