"""Read a table a chunk of rows at a time, so that a file larger than memory can still be learned from.

``read_chunks`` sniffs a file as ``read_table`` does (compression, encoding, delimiter, header,
ragged rows) and yields DataFrames of at most ``rows`` rows: delimited text through pandas'
chunked reader, Parquet through pyarrow's record batches. Other sources (Excel, JSON, databases,
tables in memory) are read whole and handed out in slices, which ``notes`` says.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from homl.errors import DataError

from ._readers import (
    _TRAILING,
    NA_VALUES,
    _check_duplicates,
    _csv_layout,
    _File,
    _note_skipped,
    _sniff,
    _sniffed_text,
    ragged_error,
    read_table,
)


def read_chunks(source: Any, rows: int, *, query: str | None = None, notes: list[str] | None = None,
                ragged: str = "skip") -> Iterator[pd.DataFrame]:
    """The rows of ``source`` in order, ``rows`` at a time (the last chunk may be shorter).

    Every chunk has the same column names, stripped of spaces as ``read_table`` gives them.
    What was handled silently goes to ``notes``, some of it (the ragged rows skipped) only once
    the last chunk has been read. Rows with more fields than the header are skipped
    (``ragged="skip"``), or refused with a DataError naming their lines (``ragged="refuse"``:
    for results that must line up with the input rows). Raises DataError naming the source
    when it cannot be read as a table, or holds no rows.
    """
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ValueError(f"rows={rows!r}: a chunk is a whole number of rows, at least 1")
    if ragged not in ("skip", "refuse"):
        raise ValueError(f"ragged={ragged!r}: expected 'skip' or 'refuse'")
    notes = notes if notes is not None else []
    is_file = isinstance(source, (str, PathLike)) and "://" not in str(source)
    if is_file and query is None:
        file = _sniff(Path(source), str(source), notes)
        if file.kind == "text":
            yield from _text_chunks(file, rows, refuse_ragged=ragged == "refuse")
            return
        if file.kind == "parquet" and file.compression is None:
            yield from _parquet_chunks(file, rows)
            return
    whole = read_table(source, query=query, notes=notes, ragged=ragged)
    label = str(source) if is_file else "the table"
    notes.append(f"{label}: read whole, then taken {rows:,} rows at a time (delimited text and Parquet "
                 "files outside an archive are read chunk by chunk)")
    for start in range(0, len(whole), rows):
        yield whole.iloc[start:start + rows]


def _text_chunks(f: _File, rows: int, *, refuse_ragged: bool = False) -> Iterator[pd.DataFrame]:
    encoding, text = _sniffed_text(f)
    layout, skipped = _csv_layout(f, text)
    width = len(layout["names"]) - (_TRAILING in layout["names"])
    if refuse_ragged and skipped:
        raise ragged_error(f.name, skipped, width)
    options = {**layout, "encoding": encoding, "na_values": NA_VALUES, "on_bad_lines": "warn",
               "compression": f.pandas_compression, "chunksize": rows}
    names = _Names(f)
    with pd.read_csv(f.path, **options) as reader:
        while True:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    chunk = next(reader)
                except StopIteration:
                    break
                except UnicodeDecodeError as e:
                    raise f.error(f"is not valid {encoding} text beyond its first 64 KB ({e.reason} at byte "
                                  f"{e.start} of a chunk); save it as UTF-8") from e
                except (pd.errors.ParserError, ValueError) as e:
                    raise f.error(f"cannot be parsed as a delimited table ({e})") from e
            found = [int(n) for w in caught for n in re.findall(r"Skipping line (\d+)", str(w.message))]
            if refuse_ragged and found:
                raise ragged_error(f.name, found, width)
            skipped += found
            yield names.apply(chunk)
    if skipped:
        _note_skipped(f, skipped, width)
    names.check_rows()


def _parquet_chunks(f: _File, rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(f.path)
    except Exception as e:  # pyarrow raises assorted types on corrupt files
        raise f.error(f"cannot be read as Parquet ({e}); expected a valid Parquet file") from e
    names = _Names(f)
    for batch in parquet.iter_batches(batch_size=rows):
        yield names.apply(batch.to_pandas())
    names.check_rows()


class _Names:
    """Gives every chunk of one file the column names ``read_table`` would give the whole file."""

    def __init__(self, f: _File):
        self.file = f
        self.rows = 0
        self.drop_trailing: bool | None = None

    def apply(self, chunk: pd.DataFrame) -> pd.DataFrame:
        if self.rows == 0:
            names = [str(c) for c in chunk.columns if c != _TRAILING]
            if [n.strip() for n in names] != names:
                self.file.note("column names stripped of surrounding spaces")
            _check_duplicates([n.strip() for n in names], self.file.name)
            if not names:
                raise self.file.error("has no columns; expected a table with a header row")
        if _TRAILING in chunk:  # decided on the first chunk, so that every chunk has the same columns
            if self.drop_trailing is None:
                self.drop_trailing = bool(chunk[_TRAILING].isna().all())
            chunk = (chunk.drop(columns=_TRAILING) if self.drop_trailing
                     else chunk.rename(columns={_TRAILING: f"Unnamed: {chunk.shape[1] - 1}"}))
        chunk.columns = [str(c).strip() for c in chunk.columns]
        self.rows += len(chunk)
        return chunk

    def check_rows(self) -> None:
        if self.rows == 0:
            raise DataError(f"{self.file.name}: has column names but no data rows; expected at least one row")
