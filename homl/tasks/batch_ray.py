"""Batch prediction on a Ray cluster: many CSV or Parquet files, read and predicted in parallel
with Ray Data, one Parquet part per block, in input order.

``predict_batch_ray(model, ["big/*.parquet"], "preds/")`` connects to the cluster (``address``:
``"auto"`` for the one this machine belongs to, or ``host:port`` of its head), streams the rows
with ``ray.data.read_parquet`` / ``read_csv`` and predicts them with ``map_batches`` in a pool of
actors, one CPU each, that load the model once. Each file is one read task, fused with the actor
that predicts it, so the files are the unit of parallelism: split a big table into several. The
model directory travels as bytes through the object store and is unpacked in a temporary folder
on each worker, so the workers need not see the driver's files. The inputs and ``output_dir``
must be on storage every node sees (a shared filesystem; on one machine, any folder): each actor
writes its parts there itself, so no rows pass through the driver, and the driver numbers the
parts in input order as they finish.

``output_dir`` holds ``part-000000.parquet``, ... (the same columns ``homl predict`` writes) and
``manifest.json``: the parts in order with their rows, the model, the sources and the total. It is
written in a hidden folder beside it and renamed into place once every part is done.
"""

from __future__ import annotations

import glob
import io
import json
import logging
import os
import shutil
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from homl._atomic import replace_dir
from homl.errors import ConfigError, DataError, HomlError
from homl.registry import directory_sha256
from homl.select import join_cluster

from ._kinds import load
from .batch import model_folder

_SUFFIXES = {".csv": "csv", ".parquet": "parquet"}
_MANIFEST = "manifest.json"


@dataclass
class RayBatchResult:
    """What a Ray batch prediction did: the folder written, its rows and parts, and where it ran."""

    output_dir: Path
    rows: int
    parts: int
    model: str
    nodes: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


def predict_batch_ray(model: str | os.PathLike[str], sources: Sequence[str | os.PathLike[str]],
                      output_dir: str | os.PathLike[str], *, address: str = "auto", registry: str | None = None,
                      batch_rows: int | None = None, overwrite: bool = False,
                      on_progress: Callable[[int, int], None] | None = None) -> RayBatchResult:
    """Predict every row of ``sources`` (files, folders or glob patterns) on the Ray cluster at
    ``address`` into ``output_dir``; ``batch_rows`` rows a part (default: one part per block read);
    ``on_progress(parts, rows_so_far)`` is called as each part is done, in order."""
    start = time.perf_counter()
    files = expand_sources(sources)
    output = _checked_output(Path(output_dir), overwrite)
    if batch_rows is not None and (isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1):
        raise ConfigError(f"batch_rows={batch_rows!r}: a batch is a whole number of rows, at least 1")
    folder, label = model_folder(model, registry)
    _check_columns(load(folder), files)
    connected = join_cluster(address)
    staging = output.with_name(f".{output.name}.{uuid.uuid4().hex[:8]}.partial")
    staging.mkdir(parents=True)
    try:
        parts = _predict_parts(folder, files, staging, batch_rows, on_progress)
        rows = sum(part["rows"] for part in parts)
        if rows == 0:
            raise DataError(f"{', '.join(map(str, files))}: the input has no rows to predict")
        manifest = {"model": {"name": label, "sha256": directory_sha256(folder)},
                    "sources": [str(f) for f in files], "rows": rows,
                    "parts": [{"file": p["file"], "rows": p["rows"], "node": p["node"]} for p in parts]}
        (staging / _MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        replace_dir(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if connected:
            import ray

            ray.shutdown()
    return RayBatchResult(output, rows, len(parts), label, len({p["node"] for p in parts}),
                          time.perf_counter() - start)


def expand_sources(sources: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The CSV and Parquet files ``sources`` name, in the order given: a file as is, a folder's
    files by name, a glob pattern's matches by name."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    files: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in _SUFFIXES)
            if not found:
                raise DataError(f"folder '{source}' holds no .csv or .parquet file")
        elif path.is_file():
            found = [path]
        else:
            found = sorted(Path(p) for p in glob.glob(str(source), recursive=True) if Path(p).is_file())
            if not found:
                raise DataError(f"no file matches '{source}'")
        odd = [p for p in found if p.suffix.lower() not in _SUFFIXES]
        if odd:
            raise DataError(f"'{odd[0]}' is neither .csv nor .parquet; Ray batch prediction reads those two formats")
        files.extend(p.resolve() for p in found)
    if not files:
        raise DataError("no input files given")
    return files


def _checked_output(output: Path, overwrite: bool) -> Path:
    """``output`` resolved, when it may be written: a new or empty folder, or with ``overwrite``
    the folder of an earlier run (never one whose files this did not write)."""
    if output.is_file():
        raise ConfigError(f"output '{output}' is a file; name a folder for the part files")
    if output.is_dir() and any(output.iterdir()):
        if not (output / _MANIFEST).is_file():
            raise ConfigError(f"output folder '{output}' holds files of its own (no {_MANIFEST}); choose another")
        if not overwrite:
            raise ConfigError(f"output folder '{output}' holds an earlier run's predictions; choose another, or "
                              "pass overwrite=True to replace them")
    return output.resolve()


def _check_columns(loaded: Any, files: list[Path], rows: int = 20) -> None:
    """The model's own error, naming the file, when a file lacks a column the model needs: before
    any work is sent to the cluster."""
    import pyarrow.parquet as pq

    for file in files:
        kind = _SUFFIXES[file.suffix.lower()]
        try:
            if kind == "parquet":
                head = next(pq.ParquetFile(file).iter_batches(batch_size=rows), None)
                frame = None if head is None else head.to_pandas()
            else:
                frame = pd.read_csv(file, nrows=rows)
        except (OSError, ValueError) as error:  # pyarrow's and pandas' errors derive from these
            raise DataError(f"{file}: cannot be read as {kind.upper()}: {error}") from None
        if frame is None:
            continue
        try:
            loaded.check(_stripped(frame))
        except HomlError as error:
            raise type(error)(f"{file}: {error}") from error


def _stripped(frame: pd.DataFrame) -> pd.DataFrame:
    """Column names stripped of spaces, as ``homl.data.read_table`` gives them."""
    return frame.rename(columns=lambda name: str(name).strip())


def _predict_parts(folder: Path, files: list[Path], staging: Path, batch_rows: int | None,
                   on_progress: Callable[[int, int], None] | None) -> list[dict[str, Any]]:
    """Read, predict and write every part with Ray Data; the parts renamed in input order."""
    import ray
    from ray.data import ActorPoolStrategy

    shipped = [ray.put(_pack(folder))]  # in a list, so each actor fetches it itself, once
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    parts: list[dict[str, Any]] = []
    rows = 0
    try:
        with _ray_data_settings():
            # One run of files of one format at a time: a read fused with the predicting actors
            # needs no CPU of its own, so the actors may hold every CPU without starving it.
            for kind, paths in _runs(files):
                # One read task a file, streaming its blocks: more would split the read from the actors.
                read = (ray.data.read_parquet(paths, file_extensions=None, override_num_blocks=len(paths))
                        if kind == "parquet" else ray.data.read_csv(paths, override_num_blocks=len(paths)))
                pool = ActorPoolStrategy(size=min(cpus, len(paths)), max_tasks_in_flight_per_actor=1)
                # Whole blocks (batch_size=None) keep the read fused; the actors cut them to batch_rows.
                done = read.map_batches(_Predictor, fn_constructor_args=(shipped, str(staging), batch_rows),
                                        batch_size=None, batch_format="pandas", compute=pool, num_cpus=1)
                for row in done.iter_rows():  # in input order, each as soon as it and those before are done
                    part = f"part-{len(parts):06d}.parquet"
                    os.replace(staging / row["file"], staging / part)
                    rows += int(row["rows"])
                    parts.append({"file": part, "rows": int(row["rows"]), "node": str(row["node"])})
                    if on_progress is not None:
                        on_progress(len(parts), rows)
    except Exception as error:
        found = _homl_error_in(error)
        if found is None:
            raise
        raise found from None
    return parts


@contextmanager
def _ray_data_settings() -> Iterator[None]:
    """Ray Data set for a run, and put back after: blocks kept in input order, no progress bars
    (``on_progress`` reports) nor plan lines, a worker's own exception raised (not a wrapper that
    loses it), and Parquet read by one operator that fuses with the actors (the newer reader lists
    files in tasks of their own, which need a CPU to run)."""
    from ray.data import DataContext
    from ray.util.debug import log_once

    context = DataContext.get_current()
    wanted = {"enable_progress_bars": False, "print_on_execution_start": False, "use_datasource_v2": False,
              "raise_original_map_exception": True}
    saved = {name: getattr(context, name) for name in wanted if hasattr(context, name)}
    kept_order = context.execution_options.preserve_order
    log = logging.getLogger("ray.data")
    kept_level = log.level
    log_once("ray_data_progress_manager_disabled")  # its warning that the bars are off: said above
    try:
        for name in saved:
            setattr(context, name, wanted[name])
        context.execution_options.preserve_order = True
        log.setLevel(max(kept_level, logging.WARNING))
        yield
    finally:
        for name, value in saved.items():
            setattr(context, name, value)
        context.execution_options.preserve_order = kept_order
        log.setLevel(kept_level)


def _runs(files: list[Path]) -> list[tuple[str, list[str]]]:
    """The files as runs of one format, in order: ``[("csv", [a, b]), ("parquet", [c])]``."""
    runs: list[tuple[str, list[str]]] = []
    for file in files:
        kind = _SUFFIXES[file.suffix.lower()]
        if runs and runs[-1][0] == kind:
            runs[-1][1].append(str(file))
        else:
            runs.append((kind, [str(file)]))
    return runs


def _homl_error_in(error: BaseException | None) -> HomlError | None:
    """The HomlError a worker raised, found through Ray's wrappers; None when there is none."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        cause = getattr(error, "cause", None)  # a RayTaskError: the worker's own exception
        if isinstance(cause, BaseException):
            error = cause
        elif isinstance(error, HomlError):
            # Without the note Ray Data appends on retrying, which bad input does not need.
            message = str(error.args[0]) if error.args else str(error)
            return type(error)(message.split("\nFailed to ", 1)[0])
        else:
            error = error.__cause__ or error.__context__
    return None


def _pack(folder: Path) -> bytes:
    """The model directory as the bytes of an uncompressed tar."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(folder, arcname="model")
    return buffer.getvalue()


def _unpack(data: bytes, into: Path) -> Path:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(into, filter="data")
        else:  # Python before 3.10.12: the archive is the one _pack wrote
            tar.extractall(into)
    return into / "model"


class _Predictor:
    """One per worker: unpacks and loads the model once, then predicts each block it is given,
    ``batch_rows`` rows at a time, each batch written as a hidden Parquet file in the staging
    folder; returns one row per file written (its name, rows and node)."""

    def __init__(self, shipped: list[Any], staging: str, batch_rows: int | None):
        import ray

        self._unpacked = tempfile.TemporaryDirectory(prefix="homl-model-")
        self.model = load(_unpack(ray.get(shipped[0]), Path(self._unpacked.name)))
        self.staging = Path(staging)
        self.batch_rows = batch_rows
        self.node = ray.get_runtime_context().get_node_id()

    def __call__(self, block: pd.DataFrame) -> pd.DataFrame:
        step = self.batch_rows or max(1, len(block))
        written = [self._write(block.iloc[start:start + step]) for start in range(0, len(block), step)]
        return pd.DataFrame({"file": [name for name, _ in written], "rows": [rows for _, rows in written],
                             "node": [self.node] * len(written)})

    def _write(self, batch: pd.DataFrame) -> tuple[str, int]:
        predicted = self.model.predict_frame(_stripped(batch))
        name = f".{uuid.uuid4().hex}.parquet"  # the driver names it part-NNNNNN.parquet, in input order
        partial = self.staging / f"{name}.partial"
        predicted.to_parquet(partial, index=False)
        os.replace(partial, self.staging / name)
        return name, len(predicted)
