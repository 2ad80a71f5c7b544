"""Stream a table larger than memory into Keras, one block of rows at a time, shuffled every epoch.

:func:`table_stream` returns a ``keras.utils.PyDataset`` over a CSV (any delimited text
:func:`homl.data.read_chunks` reads) or a Parquet file. Design:

- **Random access.** A plain Parquet file is read in place with ``pyarrow.parquet.ParquetFile``;
  anything else is converted once, chunk by chunk, into a temporary Parquet file whose row groups
  hold ``block_rows`` rows, kept in a temporary folder removed by :meth:`close` or when the stream
  is garbage collected. A *block* is a row group, or a slice of at most ``block_rows`` rows of a
  larger one.
- **Shuffling.** Each epoch (Keras calls ``on_epoch_end``) a numpy Generator seeded by ``seed``
  draws a new order of the row groups, of the blocks inside each row group, and of the rows inside
  each block (from a key of the epoch and the block's number, so that threads reading blocks in
  any order see the same permutation). Batches are consecutive rows of that order, so every row
  is seen once per epoch, and only the last batch is short. ``shuffle=False`` keeps the file order.
- **Bounded memory.** A block is read, its features go through ``transform`` (and its target
  through ``encode_target``) once, and the two blocks used last are kept, under a lock so that
  Keras' prefetching threads (``workers > 1``) share them. Memory holds about two transformed
  blocks, the raw block being read, the last row group decoded when row groups are larger than a
  block (the blocks of one row group follow each other, so it is decoded once per epoch: rewrite
  files whose row groups do not fit in memory), and Keras' queue of ``max_queue_size`` batches.

Pass ``shuffle=False`` to ``model.fit``: the stream shuffles itself, while Keras' own shuffle
visits batches at random, reading and transforming a block for nearly every batch.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from homl.errors import DataError

#: Transformed blocks kept in memory: the one being read and the one before, as a batch may span both.
CACHED_BLOCKS = 2
_PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class _Epoch:
    """One epoch's order: blocks in reading order, the row each starts at, and the rows' key."""

    number: int
    order: np.ndarray
    starts: np.ndarray  # len(order) + 1 positions
    key: int | None  # None: rows in file order


def table_stream(source: str | os.PathLike, target: str | None, *, transform: Callable[[pd.DataFrame], Any],
                 encode_target: Callable[[Any], Any] | None = None, batch_size: int = 64, block_rows: int = 8192,
                 shuffle: bool = True, seed: int | None = None, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10) -> Any:
    """A ``keras.utils.PyDataset`` of ``(X, y)`` batches (``X`` alone when ``target`` is None) read from ``source``.

    ``transform`` maps a DataFrame of the feature columns (the target removed) to a float32 array,
    e.g. a fitted preprocessing pipeline's ``transform``; a numeric target becomes float32, and
    ``encode_target`` (e.g. a fitted ``LabelEncoder``'s ``transform``) may map it, as a text target
    must be before training. ``workers``, ``use_multiprocessing`` and ``max_queue_size`` go to
    ``PyDataset`` (prefetching). The stream has ``n_rows``, ``n_features`` (from the first block),
    ``columns`` and ``feature_names``; :meth:`close` removes its temporary files.

    >>> stream = table_stream("houses.csv", "price", transform=pipeline.transform, seed=0)  # doctest: +SKIP
    >>> model.fit(stream, epochs=10, shuffle=False)  # doctest: +SKIP
    """
    return _stream_class()(source, target, transform=transform, encode_target=encode_target, batch_size=batch_size,
                           block_rows=block_rows, shuffle=shuffle, seed=seed, workers=workers,
                           use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size)


def __getattr__(name: str) -> Any:
    # The class subclasses Keras', so it is built on first use; this lets pickle find it by name
    # in the worker processes that use_multiprocessing starts.
    if name == "TableStream":
        return _stream_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_CLASS: type | None = None


def _stream_class() -> type:
    global _CLASS
    if _CLASS is None:
        from ._keras import import_keras

        _CLASS = type("TableStream", (_TableStream, import_keras().utils.PyDataset), {"__module__": __name__})
    return _CLASS


class _TableStream:
    """What :func:`table_stream` returns, less its Keras base class (see the module's docstring)."""

    def __init__(self, source: str | os.PathLike, target: str | None, *, transform: Callable[[pd.DataFrame], Any],
                 encode_target: Callable[[Any], Any] | None = None, batch_size: int = 64, block_rows: int = 8192,
                 shuffle: bool = True, seed: int | None = None, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10):
        super().__init__(workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size)
        for name, value in (("batch_size", batch_size), ("block_rows", block_rows)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r}: expected a whole number of rows, at least 1")
        self.source, self.target, self.transform, self.encode_target = source, target, transform, encode_target
        self.batch_size, self.block_rows, self.shuffle = batch_size, block_rows, shuffle
        self._name = str(source)
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[int, int], tuple[np.ndarray, np.ndarray | None]] = OrderedDict()
        self._group: tuple[int, Any] | None = None  # the last row group decoded, when larger than a block
        self._file: Any = None
        self._rng = np.random.default_rng(seed)
        self._path, folder = _parquet_of(source, block_rows, target)
        self._finalizer = None if folder is None else weakref.finalize(self, _remove, folder, os.getpid())
        try:
            self._index()
            self._epoch = self._draw(0)
            self.n_features = self._block(self._epoch, 0)[0].shape[1]
        except BaseException:
            self.close()
            raise

    def _index(self) -> None:
        """Read the file's footer: columns, rows, and the blocks each row group is cut into."""
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(self._path).metadata
        self.columns = list(meta.schema.to_arrow_schema().names)
        if self.target is not None and self.target not in self.columns:
            raise DataError(f"{self._name}: no column {self.target!r} for the target; columns are "
                            f"{_listed(self.columns)}")
        self.feature_names = [c for c in self.columns if c != self.target]
        self.n_rows = meta.num_rows
        if self.n_rows == 0:
            raise DataError(f"{self._name}: has column names but no data rows; expected at least one row")
        # blocks as (row group, first row in it, rows), and the blocks of each row group
        self._blocks: list[tuple[int, int, int]] = []
        self._groups: list[np.ndarray] = []
        for group in range(meta.num_row_groups):
            rows = meta.row_group(group).num_rows
            first = len(self._blocks)
            size = self.block_rows
            self._blocks += [(group, start, min(size, rows - start)) for start in range(0, rows, size)]
            self._groups.append(np.arange(first, len(self._blocks)))
        self._first = np.concatenate([[0], np.cumsum([rows for _, _, rows in self._blocks])])  # in the file

    @property
    def n_blocks(self) -> int:
        return len(self._blocks)

    def __len__(self) -> int:
        return math.ceil(self.n_rows / self.batch_size)

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of a stream of {len(self)} batches")
        epoch = self._epoch  # one snapshot: on_epoch_end swaps it whole
        low, high = index * self.batch_size, min((index + 1) * self.batch_size, self.n_rows)
        k = int(np.searchsorted(epoch.starts, low, side="right")) - 1
        xs, ys = [], []
        while low < high:
            X, y = self._block(epoch, k)
            end = min(high, int(epoch.starts[k + 1]))
            part = slice(low - int(epoch.starts[k]), end - int(epoch.starts[k]))
            xs.append(X[part])
            ys.append(None if y is None else y[part])
            low, k = end, k + 1
        # copies, so that batches waiting in Keras' queue do not keep whole blocks alive
        X = np.concatenate(xs) if len(xs) > 1 else xs[0].copy()
        if self.target is None:
            return X
        return X, (np.concatenate(ys) if len(ys) > 1 else ys[0].copy())

    def on_epoch_end(self) -> None:
        """Draw the next epoch's order (Keras calls this after each epoch, and once before the first)."""
        self._epoch = self._draw(self._epoch.number + 1)
        with self._lock:
            self._cache.clear()

    def close(self) -> None:
        """Close the file and remove the temporary Parquet file, if any; the stream cannot be read after."""
        with self._lock:
            if self._file is not None:
                self._file.close()
            self._file, self._group = None, None
            self._cache.clear()
        if self._finalizer is not None:
            self._finalizer()

    def __enter__(self) -> _TableStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        # a copy (a worker process) reads the same file but neither caches across nor removes it
        state = {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_cache", "_group", "_file")}
        state["_finalizer"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock(), _cache=OrderedDict(), _group=None, _file=None)

    def _draw(self, number: int) -> _Epoch:
        if self.shuffle:
            groups = self._rng.permutation(len(self._groups))
            order = np.concatenate([self._rng.permutation(self._groups[g]) for g in groups])
            key = int(self._rng.integers(2**63))
        else:
            order, key = np.arange(len(self._blocks)), None
        sizes = np.array([self._blocks[b][2] for b in order], dtype=np.int64)
        return _Epoch(number, order, np.concatenate([[0], np.cumsum(sizes)]), key)

    def _block(self, epoch: _Epoch, k: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The ``k``-th block of ``epoch``, transformed and in the epoch's order of rows."""
        b = int(epoch.order[k])
        with self._lock:
            cached = self._cache.get((epoch.number, b))
            if cached is not None:
                self._cache.move_to_end((epoch.number, b))
                return cached
            X, y = self._transformed(b)
            if epoch.key is not None:
                rows = np.random.default_rng([epoch.key, b]).permutation(len(X))
                X, y = X[rows], (None if y is None else y[rows])
            self._cache[(epoch.number, b)] = X, y
            while len(self._cache) > CACHED_BLOCKS:
                self._cache.popitem(last=False)
            return X, y

    def _transformed(self, b: int) -> tuple[np.ndarray, np.ndarray | None]:
        group, start, rows = self._blocks[b]
        frame = self._read(group, start, rows)
        first = int(self._first[b])
        where = f"{self._name}, rows {first + 1:,} to {first + rows:,}"
        y = None
        if self.target is not None:
            column = frame.pop(self.target)
            if self.encode_target is not None:
                y = np.asarray(self.encode_target(column))
            else:
                y = column.to_numpy()
                if y.dtype.kind in "biuf":
                    y = y.astype(np.float32)
                    if np.isnan(y).any():
                        row = first + int(np.flatnonzero(np.isnan(y))[0]) + 1
                        raise DataError(f"{where}: target {self.target!r} is missing in row {row:,}; "
                                        "expected a value in every row (drop those rows first)")
        X = np.asarray(self.transform(frame), dtype=np.float32)
        expected = getattr(self, "n_features", None)
        if X.ndim != 2 or len(X) != rows or (expected is not None and X.shape[1] != expected):
            raise DataError(f"{where}: transform gave an array of shape {X.shape}; expected ({rows}, "
                            f"{expected if expected is not None else 'features'}), one row per row of the block")
        return X, y

    def _read(self, group: int, start: int, rows: int) -> pd.DataFrame:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            if self._file is None:
                self._file = pq.ParquetFile(self._path)
            if rows == self._file.metadata.row_group(group).num_rows:
                return self._file.read_row_group(group).to_pandas()
            if self._group is None or self._group[0] != group:
                self._group = None  # free the last row group before decoding the next
                self._group = group, self._file.read_row_group(group)
            return self._group[1].slice(start, rows).to_pandas()
        except (OSError, pa.ArrowException) as e:
            raise DataError(f"{self._name}: cannot read row group {group} ({e}); expected a readable Parquet file") from e


def _parquet_of(source: str | os.PathLike, block_rows: int, target: str | None) -> tuple[Path, str | None]:
    """``source`` itself when it is a Parquet file, else a copy of it in a new temporary folder (also returned)."""
    path = Path(source)
    if path.is_file():
        with path.open("rb") as f:
            if f.read(4) == _PARQUET_MAGIC:
                _check_parquet(path, str(source))
                return path, None
    folder = tempfile.mkdtemp(prefix="homl-stream-")
    copy = Path(folder) / "table.parquet"
    try:
        _write_parquet(source, copy, block_rows, target)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return copy, folder


def _remove(folder: str, pid: int) -> None:
    if os.getpid() == pid:  # not from a forked worker process
        shutil.rmtree(folder, ignore_errors=True)


def _check_parquet(path: Path, name: str) -> None:
    import pyarrow.parquet as pq

    try:
        pq.ParquetFile(path).metadata  # noqa: B018 - reading the footer is the check
    except Exception as e:  # pyarrow raises assorted types on corrupt files
        raise DataError(f"{name}: cannot be read as Parquet ({e}); expected a valid Parquet file") from e


def _write_parquet(source: str | os.PathLike, copy: Path, block_rows: int, target: str | None) -> None:
    """Write ``source`` to ``copy`` chunk by chunk, one row group per chunk, in the first chunk's schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from homl.data import read_chunks

    name, writer, schema, done = str(source), None, None, 0
    try:
        for chunk in read_chunks(source, block_rows):
            try:
                table = pa.Table.from_pandas(chunk, preserve_index=False)
                if writer is None:
                    if target is not None and target not in table.column_names:
                        raise DataError(f"{name}: no column {target!r} for the target; columns are "
                                        f"{_listed(table.column_names)}")
                    schema = table.schema
                    writer = pq.ParquetWriter(copy, schema)
                else:
                    table = _cast(table, schema, f"{name}, rows {done + 1:,} to "
                                  f"{done + len(chunk):,}")
            except pa.ArrowException as e:
                raise DataError(f"{name}, rows {done + 1:,} to {done + len(chunk):,}: cannot be stored as a "
                                f"table ({e}); expected one type of value per column") from e
            writer.write_table(table, row_group_size=block_rows)
            done += len(chunk)
    finally:
        if writer is not None:
            writer.close()


def _cast(table: Any, schema: Any, where: str) -> Any:
    import pyarrow as pa

    if table.schema.equals(schema):
        return table
    for field in schema:
        column = table.column(field.name) if field.name in table.column_names else None
        if column is None or column.type == field.type:
            continue
        try:
            column.cast(field.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise DataError(f"{where}: column {field.name!r} holds {column.type} values, the first rows "
                            f"{field.type}; expected one type throughout (convert the file to Parquet "
                            "with that column's type set)") from None
    return table.select(schema.names).cast(schema)


def _listed(names: list[str], most: int = 10) -> str:
    shown = ", ".join(repr(n) for n in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")
