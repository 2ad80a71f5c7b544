"""Dimensionality reduction of a table: read → prepare → reduce → one output row per input row.

>>> import homl
>>> result = homl.reduce("faces.csv", n_components=0.95)  # PCA keeping 95 % of the variance  # doctest: +SKIP
>>> result.embedding.head()                                          # doctest: +SKIP
>>> homl.reduce("digits.csv", method="tsne", color="label").report("tsne.html")  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from homl._atomic import write_text_atomic
from homl._progress import Progress
from homl.errors import ConfigError
from homl.models import EMBED_ONLY_METHODS as FIT_ONLY

from ._kinds import ModelInfo
from ._model import check_output
from ._reduce_chunks import reduce_in_chunks
from ._resume import data_hash
from ._unsupervised import Rows, UnsupervisedModel, UnsupervisedResult, distance_pipeline, read_rows

#: Methods whose cost grows with the square of the rows: fitted on a sample of this many rows
#: (the others placed by ``transform``), or refused above ``MAX_EMBED_ROWS`` when they cannot place
#: new rows (t-SNE, MDS).
MANIFOLD_ROWS = 5_000
MAX_EMBED_ROWS = 20_000
QUADRATIC = ("kernel_pca", "lle", "isomap")
#: Methods that place new rows in this process but whose fitted state cannot be saved safely
#: (UMAP holds compiled functions and generators that skops does not write).
UNSAVED = ("umap",)
#: Rows drawn in the report's scatter plots.
PLOT_ROWS = 3_000


class ReduceModel(UnsupervisedModel):
    """A fitted reduction ``schema → preparation → Reducer``: ``predict_frame`` places new rows."""

    kind: ClassVar[str] = "reduce"

    def _output_columns(self) -> dict[str, str]:
        return {str(c): "float64" for c in self.pipeline[-1].get_feature_names_out()}

    def _predict_rows(self, X: pd.DataFrame) -> pd.DataFrame:
        values = self.pipeline.transform(X)
        return pd.DataFrame(values, index=X.index, columns=list(self.pipeline[-1].get_feature_names_out()))

    def info(self) -> ModelInfo:
        meta = self.metadata
        lines = [f"reduction: {meta.get('method_name')} to {meta.get('n_components')} columns "
                 f"from {meta.get('n_prepared')} prepared ones"]
        if meta.get("explained") is not None:
            lines.append(f"variance kept: {meta['explained']:.1%}")
        if meta.get("reconstruction_error") is not None:
            lines.append(f"reconstruction error (mean squared, standardised units): {meta['reconstruction_error']:.4g}")
        lines.append(f"trained {meta.get('created', '?')} on {meta.get('n_rows', '?')} rows, "
                     f"data sha256 {meta.get('data_sha256', '?')[:16]}…")
        return ModelInfo(kind=self.kind, summary=lines, schema=self.schema,
                         versions=dict(meta.get("library_versions", {})))

    def _build_report(self, metadata: dict[str, Any], diagnostics: dict[str, Any] | None) -> Any:
        from homl.report.reduce import build_reduce_report

        return build_reduce_report(metadata, diagnostics)


@dataclass
class ReduceResult(UnsupervisedResult):
    """The reduced rows (same order and index as the input), the model and what the report draws."""

    embedding: pd.DataFrame
    model: ReduceModel
    diagnostics: dict[str, Any] = field(repr=False)
    notes: list[str] = field(default_factory=list)

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the model directory (for methods that place new rows), with its report."""
        _check_savable(self.model.metadata["method"])
        return super().save(path, overwrite=overwrite)

    def __repr__(self) -> str:
        meta = self.model.metadata
        return f"ReduceResult(method={meta['method']!r}, n_components={meta['n_components']}, rows={len(self.embedding)})"


def reduce(
    data: Any,
    *,
    n_components: int | float | str = 2,
    method: str = "pca",
    color: str | None = None,
    output: str | Path | None = None,
    model_output: str | Path | None = None,
    overwrite: bool = False,
    seed: int = 42,
    query: str | None = None,
    chunk_rows: int | None = None,
    progress: Progress | None = None,
) -> ReduceResult:
    """Fewer columns for the rows of a table: one output row per input row, in input order.

    ``n_components``: a number of columns, or with ``pca`` a share of the variance to keep
    (0.95), or with a random projection "auto" (the Johnson-Lindenstrauss bound). ``method``:
    one of :data:`homl.models.REDUCE_METHODS`. ``color`` names a column kept out of the
    reduction and used to colour the report's plots (a label, a group). ``output`` writes the
    reduced rows as CSV; ``model_output`` writes a model directory that places new rows
    (``homl predict``), for every method but t-SNE, MDS and UMAP. ``chunk_rows`` reads the table
    that many rows at a time, for a file larger than memory: with ``incremental_pca`` only.
    """
    from homl.models import REDUCE_METHODS

    progress = progress or Progress()
    if method not in REDUCE_METHODS:
        raise ConfigError(f"unknown reduction method {method!r}; expected one of {', '.join(REDUCE_METHODS)}")
    if model_output is not None:
        _check_savable(method)
        check_output(Path(model_output), overwrite)
    if output is not None and Path(output).exists() and not overwrite:
        raise ConfigError(f"output '{output}' exists; use overwrite to replace it")
    if chunk_rows is not None:
        if method != "incremental_pca":
            raise ConfigError(f"reading in chunks needs method incremental_pca, the one method that learns chunk by "
                              f"chunk; got {method!r}")
        if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 2:
            raise ConfigError(f"chunk_rows must be a whole number of rows, at least 2; got {chunk_rows!r}")
        chunked = reduce_in_chunks(data, n_components=n_components, chunk_rows=chunk_rows, color=color, seed=seed,
                                   query=query, progress=progress)
        rows, pipeline, embedding, colours = chunked.first, chunked.pipeline, chunked.embedding, chunked.colours
        n_rows, fingerprint = chunked.n_rows, chunked.data_sha256
    else:
        rows, pipeline, embedding = _reduce_whole(data, n_components, method, color, seed, query, progress)
        colours = rows.frame[color] if color is not None else None
        n_rows, fingerprint = len(rows.frame), data_hash(rows.frame)
    reducer = pipeline[-1]
    ratios = getattr(reducer, "explained_variance_ratio_", None)
    error = getattr(reducer, "reconstruction_error_", None)
    metadata = {
        "method": method, "method_name": REDUCE_METHODS[method], "n_components": int(reducer.n_components_),
        "n_prepared": int(reducer.n_features_in_), "explained": None if ratios is None else float(np.sum(ratios)),
        "reconstruction_error": None if error is None else float(error), "color": color, "n_rows": n_rows,
        "source": rows.name, "data_sha256": fingerprint, "notes": rows.notes, "seed": seed,
    }
    diagnostics = _diagnostics(embedding, colours, reducer, seed)
    result = ReduceResult(embedding, ReduceModel(pipeline, rows.schema, metadata), diagnostics, rows.notes)
    progress.end_phase()
    if output is not None:
        write_text_atomic(Path(output), embedding.to_csv(index=False))
    if model_output is not None:
        result.save(model_output, overwrite=overwrite)
    return result


def _check_savable(method: str) -> None:
    """Refuse to save a model of a method that places only its own rows or holds compiled code."""
    from homl.models import REDUCE_METHODS

    name = REDUCE_METHODS[method]
    if method in FIT_ONLY:
        raise ConfigError(f"{name} places only the rows it is fitted on: it makes no model to save; drop the model "
                          "output, or use pca, isomap or lle to place new rows later")
    if method in UNSAVED:
        raise ConfigError(f"a fitted {name} cannot be saved safely (it holds compiled code); drop the model output, "
                          "or use pca, isomap or lle to place new rows later")


def _reduce_whole(data: Any, n_components: int | float | str, method: str, color: str | None, seed: int,
                  query: str | None, progress: Progress) -> tuple[Rows, Any, pd.DataFrame]:
    """Read the whole table, fit the reduction (on a sample for the quadratic methods) and reduce every row."""
    from homl.models import REDUCE_METHODS, Reducer

    rows = read_rows(data, query=query, what="dimensionality reduction", progress=progress, label=color,
                     role="colour")
    frame = rows.unlabelled
    if method in FIT_ONLY and len(frame) > MAX_EMBED_ROWS:
        raise ConfigError(f"{REDUCE_METHODS[method]} of {len(frame):,} rows would take hours: it costs the square of "
                          f"the rows; sample at most {MAX_EMBED_ROWS:,} rows, or reduce with pca first")
    reducer = Reducer(method=method, n_components=n_components, random_state=seed)
    pipeline = distance_pipeline(rows.schema, ("reducer", reducer), seed)
    progress.phase(f"reducing with {REDUCE_METHODS[method]}")
    learn = frame
    if method in QUADRATIC and len(frame) > MANIFOLD_ROWS:
        learn = frame.sample(MANIFOLD_ROWS, random_state=seed)
        rows.notes.append(f"{REDUCE_METHODS[method]} learned from {MANIFOLD_ROWS:,} sampled rows (its cost grows with "
                          f"the square of the rows) and placed all {len(frame):,}")
        progress.note(rows.notes[-1])
    try:
        if method in FIT_ONLY:
            values = pipeline.fit_transform(frame)
        else:
            pipeline.fit(learn)
            values = pipeline.transform(frame)
    except ValueError as error:  # more components than columns or rows, a bound out of reach...
        raise ConfigError(f"cannot reduce {rows.name} to {n_components!r} with {REDUCE_METHODS[method]}: {error}") from None
    names = list(pipeline[-1].get_feature_names_out())
    return rows, pipeline, pd.DataFrame(values, index=rows.frame.index, columns=names)


def _diagnostics(embedding: pd.DataFrame, colours: pd.Series | None, reducer: Any, seed: int) -> dict[str, Any]:
    from homl._json import to_json

    shown = embedding if len(embedding) <= PLOT_ROWS else embedding.sample(PLOT_ROWS, random_state=seed)
    points = {name: shown[name].round(6).tolist() for name in list(shown.columns)[:3]}
    return to_json({
        "points": points,
        "colour": None if colours is None else colours.loc[shown.index].astype(str).tolist(),
        "explained": getattr(reducer, "explained_variance_ratio_", None),
        "search": getattr(reducer, "search_results_", None),
    })
