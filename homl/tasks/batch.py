"""Batch prediction over a file of any size: chunk by chunk, in constant memory, resumable.

``predict_batch(model, source, output)`` reads ``source`` ``chunk_rows`` rows at a time
(:func:`homl.data.read_chunks`), predicts each chunk with the same columns ``homl predict``
writes, and keeps each chunk's predictions as a part file (written whole, then renamed) in a
folder beside the output. A run that is killed leaves its finished parts; the same command then
goes on from the first chunk without one (the parts are kept only for the same model, source
and chunk size). Once every chunk is done, the parts are joined in input order into ``output``
(Parquet or CSV, by its suffix), written beside its place and renamed over it.

``model`` is a model directory, or a registered model: ``name``, ``name@3`` or ``name@staging``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from homl.data import read_chunks
from homl.errors import ConfigError, DataError, ModelDirError
from homl.registry import Registry, directory_sha256, is_model_dir, read_metadata

from ._kinds import load

#: Rows predicted at a time by default.
CHUNK_ROWS = 100_000
_MANIFEST = "manifest.json"


@dataclass
class BatchResult:
    """What a batch prediction did: rows and chunks written, and chunks a previous run had done."""

    output: Path
    rows: int
    chunks: int
    resumed_chunks: int
    model: str


def predict_batch(model: str | os.PathLike[str], source: str | os.PathLike[str], output: str | os.PathLike[str], *,
                  chunk_rows: int = CHUNK_ROWS, registry: str | None = None,
                  on_chunk: Callable[[int, int], None] | None = None) -> BatchResult:
    """Predict every row of ``source`` into ``output`` (``.parquet`` or ``.csv``), ``chunk_rows`` at a time;
    ``on_chunk(chunk, rows_so_far)`` is called after each chunk (progress)."""
    output, source_path = Path(output), Path(source)
    if output.suffix.lower() not in (".parquet", ".csv"):
        raise ConfigError(f"output '{output}': name a .parquet or .csv file")
    if source_path.exists() and output.resolve() == source_path.resolve():
        raise ConfigError(f"output '{output}' is the input file; choose another name so the input is kept")
    if output.is_dir():
        raise ConfigError(f"output '{output}' is a folder; expected the name of a .parquet or .csv file to write")
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ConfigError(f"chunk_rows={chunk_rows!r}: a chunk is a whole number of rows, at least 1")
    folder, label = model_folder(model, registry)
    loaded = load(folder)
    parts = output.with_name(f".{output.name}.parts")
    identity = {"model": directory_sha256(folder), "source": str(source_path.resolve()) if source_path.exists()
                else str(source), "source_bytes": source_path.stat().st_size if source_path.exists() else None,
                "source_mtime": source_path.stat().st_mtime if source_path.exists() else None,
                "chunk_rows": chunk_rows}
    resumed = _open_parts(parts, identity)
    try:
        rows, chunks, damaged = _predict_chunks(loaded, source, chunk_rows, parts, on_chunk)
    except DataError:  # the input is at fault: a parts folder with nothing finished is not kept
        if not any(parts.glob("part-*.parquet")):
            shutil.rmtree(parts, ignore_errors=True)
        raise
    _join(sorted(parts.glob("part-*.parquet")), output, source)
    shutil.rmtree(parts, ignore_errors=True)
    return BatchResult(output, rows, chunks, resumed - damaged, label)


def _predict_chunks(loaded: Any, source: Any, chunk_rows: int, parts: Path,
                    on_chunk: Callable[[int, int], None] | None) -> tuple[int, int, int]:
    """Each chunk's predictions as a part file (kept from an earlier run where it is whole); the rows,
    the chunks, and the parts of an earlier run predicted again because they were damaged."""
    rows = chunks = damaged = 0
    # Ragged rows are refused, not skipped: the predictions must line up with the input rows.
    for index, chunk in enumerate(read_chunks(source, chunk_rows, ragged="refuse")):
        part = parts / f"part-{index:06d}.parquet"
        existed = part.exists()
        count = _rows_in(part) if existed else None
        damaged += existed and count is None
        if count is None and len(chunk):  # absent, or damaged by an interrupted run: predicted again
            predicted = loaded.predict_frame(chunk)
            partial = parts / f".{part.name}.partial"
            predicted.to_parquet(partial, index=False)
            os.replace(partial, part)
            count = len(predicted)
        rows, chunks = rows + (count or 0), index + 1
        if on_chunk is not None:
            on_chunk(chunks, rows)
    return rows, chunks, damaged


def model_folder(model: str | os.PathLike[str], registry: str | None) -> tuple[Path, str]:
    """The model directory ``model`` names: a folder, or ``name[@version|@alias]`` in the registry."""
    if is_model_dir(model):
        return Path(model), str(model)
    name, _, ref = str(model).partition("@")
    if Path(model).exists():
        require_model_dir(model)
    opened = Registry(registry)
    path = opened.path(name, ref or None)
    return path, f"{name} version {opened.get(name, ref or None).version}"


def require_model_dir(path: str | os.PathLike[str]) -> NoReturn:
    """Raise the ModelDirError saying what ``path`` (a path that exists) lacks to be a model directory."""
    read_metadata(path)  # refuses a file, or a folder without model.skops or metadata.json
    raise ModelDirError(f"'{path}' is not a homl model directory")


def _open_parts(parts: Path, identity: dict[str, Any]) -> int:
    """The parts folder ready for this run; the finished chunks it already holds."""
    manifest = parts / _MANIFEST
    if manifest.exists():
        try:
            same = json.loads(manifest.read_text(encoding="utf-8")) == json.loads(json.dumps(identity))
        except ValueError:
            same = False
        if same:
            return len(list(parts.glob("part-*.parquet")))
        shutil.rmtree(parts)
    parts.mkdir(parents=True, exist_ok=True)
    partial = parts / f".{_MANIFEST}.partial"
    partial.write_text(json.dumps(identity), encoding="utf-8")
    os.replace(partial, manifest)
    return 0


def _rows_in(part: Path) -> int | None:
    """The rows a finished part holds; None, with the part removed, where it cannot be read (a run
    stopped while the disk was writing it), so that its chunk is predicted again."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(part).metadata.num_rows
    except (pa.ArrowException, OSError):
        part.unlink()
        return None


def _join(parts: list[Path], output: Path, source: Any) -> None:
    """The parts, in order, as one file (one part in memory at a time), put in place whole; a CSV
    is written as ``homl predict`` writes it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not parts:
        raise DataError(f"{source}: has no rows to predict")
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    part = parts[0]
    try:
        if output.suffix.lower() == ".csv":
            with open(partial, "w", encoding="utf-8", newline="") as handle:
                for i, part in enumerate(parts):
                    pq.read_table(part).to_pandas().to_csv(handle, header=i == 0, index=False)
        else:
            writer = None
            try:
                for part in parts:
                    table = pq.read_table(part)
                    writer = writer or pq.ParquetWriter(partial, table.schema)
                    writer.write_table(table.cast(writer.schema))
            finally:
                if writer is not None:
                    writer.close()
        os.replace(partial, output)
    except pa.ArrowException as error:  # a part damaged beyond its footer
        partial.unlink(missing_ok=True)
        raise DataError(f"{part}: cannot be read ({error}); delete it and run the same command again to "
                        "predict its chunk anew") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
