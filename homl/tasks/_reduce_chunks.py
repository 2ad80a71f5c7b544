"""Incremental PCA over a table read chunk by chunk, so that the whole file never sits in memory.

The first chunk fixes the schema and fits the preparation (identifiers dropped, missing values
imputed, heavy tails logged, scaling); every chunk, the first included, then teaches the
incremental PCA; a second reading of the file places every row. Only the reduced columns (and
the colour column) are kept in memory.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from homl import data as hdata
from homl._progress import Progress
from homl.errors import ConfigError

from ._unsupervised import Rows, distance_pipeline, read_rows


@dataclass
class ChunkedReduction:
    """What reducing chunk by chunk gives: the pipeline, the first chunk as read (its schema and
    notes), every row's reduced columns and colour, the rows counted and their fingerprint."""

    pipeline: Any
    first: Rows
    embedding: pd.DataFrame
    colours: pd.Series | None
    n_rows: int
    data_sha256: str


def reduce_in_chunks(source: Any, *, n_components: int | float | str, chunk_rows: int, color: str | None,
                     seed: int, query: str | None, progress: Progress) -> ChunkedReduction:
    """Learn an incremental PCA of ``source`` ``chunk_rows`` rows at a time, then place every row."""
    from homl.models import Reducer, components_for_variance

    if isinstance(n_components, str):
        raise ConfigError(f"incremental PCA needs a number of components (2) or a share of the variance (0.95); "
                          f"got {n_components!r}")
    if isinstance(n_components, int) and chunk_rows < n_components:
        raise ConfigError(f"chunks of {chunk_rows:,} rows cannot teach {n_components} components: each chunk needs "
                          f"at least as many rows as components; read more rows a chunk")
    notes: list[str] = []
    chunks = hdata.read_chunks(source, chunk_rows, query=query, notes=notes)
    name = "the table" if isinstance(source, pd.DataFrame) else f"'{source}'"
    first = read_rows(next(chunks), query=None, what="dimensionality reduction", progress=progress, label=color,
                      role="colour", name=name)
    reducer = Reducer(method="incremental_pca", n_components=n_components, random_state=seed)
    pipeline = distance_pipeline(first.schema, ("reducer", reducer), seed)
    prepare = pipeline[:-1].fit(first.unlabelled)
    if isinstance(n_components, float):  # a share of the variance: the first chunk says how many components
        try:
            wanted = components_for_variance(prepare.transform(first.unlabelled), n_components)
        except ValueError as error:  # every row alike
            raise ConfigError(f"cannot reduce {name} to {n_components!r} of its variance: {error}") from None
        reducer.set_params(n_components=wanted)
        first.notes.append(f"{n_components:.0%} of the variance of the first {len(first.frame):,} rows needs "
                           f"{reducer.n_components} components: incremental PCA learned that many")
        progress.note(first.notes[-1])
    digest = hashlib.sha256("\x1f".join(map(str, first.frame.columns)).encode())

    def learn(frame: pd.DataFrame) -> None:
        try:
            reducer.partial_fit(prepare.transform(_features(frame, color)))
        except ValueError as error:  # more components than a chunk has rows or columns...
            raise ConfigError(f"cannot reduce {name} chunk by chunk to {n_components!r} with incremental PCA: "
                              f"{error}") from None
        progress.advance(len(frame))

    progress.phase(f"learning incremental PCA, {chunk_rows:,} rows at a time")
    pending, n_rows = first.frame, len(first.frame)
    _fingerprint(digest, first.frame)
    for chunk in chunks:
        _fingerprint(digest, chunk)
        n_rows += len(chunk)
        if len(pending) >= chunk_rows and len(chunk) >= reducer.n_components:
            learn(pending)
            pending = chunk
        else:  # a short chunk (the last, or a small Parquet batch) joins the one before it
            pending = pd.concat([pending, chunk], ignore_index=True)
    learn(pending)
    progress.end_phase()
    first.notes.extend(notes)
    first.notes.append(f"read in chunks of {chunk_rows:,} rows: the preparation (imputation, scaling) learned from "
                       f"the first {len(first.frame):,} rows, the incremental PCA from all {n_rows:,}")
    progress.note(first.notes[-1])

    progress.phase("placing every row")
    parts, colours = [], []
    for chunk in hdata.read_chunks(source, chunk_rows, query=query):
        parts.append(pipeline.transform(_features(chunk, color)))
        if color is not None:
            colours.append(chunk[color])
        progress.advance(len(chunk))
    progress.end_phase()
    values = np.vstack(parts)
    embedding = pd.DataFrame(values, columns=list(reducer.get_feature_names_out()))
    colour = pd.concat(colours, ignore_index=True) if colours else None
    return ChunkedReduction(pipeline, first, embedding, colour, n_rows, digest.hexdigest())


def _fingerprint(digest: Any, frame: pd.DataFrame) -> None:
    """Add a chunk's rows to the running SHA-256 of the table (as ``data_hash`` takes a whole one)."""
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())


def _features(frame: pd.DataFrame, color: str | None) -> pd.DataFrame:
    return frame.drop(columns=[color]) if color is not None and color in frame else frame
