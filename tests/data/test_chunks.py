"""Reading a table chunk by chunk: the chunks, put together, are the table ``read_table`` reads."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from homl.data import read_chunks, read_table
from homl.errors import DataError


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"size": rng.normal(size=250).round(3), "colour": rng.choice(["red", "blue"], 250),
                         "count": rng.integers(0, 9, 250)})


def _together(chunks) -> pd.DataFrame:
    return pd.concat(list(chunks), ignore_index=True)


@pytest.mark.parametrize("rows", [1, 7, 100, 250, 1000])
def test_csv_chunks_put_together_are_the_table(tmp_path, table, rows) -> None:
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    chunks = list(read_chunks(path, rows))
    assert [len(c) for c in chunks[:-1]] == [rows] * (len(chunks) - 1) and 0 < len(chunks[-1]) <= rows
    pd.testing.assert_frame_equal(_together(chunks), read_table(path))


def test_sniffing_applies_to_every_chunk(tmp_path, table) -> None:
    """Compression, encoding, delimiter and spaced names: handled as read_table handles them."""
    path = tmp_path / "t.txt.gz"
    text = table.rename(columns={"size": " size "}).to_csv(index=False, sep=";")
    with gzip.open(path, "wb") as stream:
        stream.write(("\ufeff" + text).encode("utf-8"))
    notes: list[str] = []
    together = _together(read_chunks(path, 60, notes=notes))
    pd.testing.assert_frame_equal(together, read_table(path))
    assert list(together.columns) == ["size", "colour", "count"]
    assert any("gzip" in n for n in notes) and any("';'" in n for n in notes)


def test_parquet_is_read_in_record_batches(tmp_path, table) -> None:
    path = tmp_path / "t.parquet"
    table.to_parquet(path, row_group_size=40)
    chunks = list(read_chunks(path, 100))
    assert max(len(c) for c in chunks) <= 100
    pd.testing.assert_frame_equal(_together(chunks), table)


def test_other_sources_are_read_whole_and_sliced_and_the_notes_say_so(table) -> None:
    notes: list[str] = []
    chunks = list(read_chunks(table, 100, notes=notes))
    assert [len(c) for c in chunks] == [100, 100, 50]
    assert "read whole, then taken 100 rows at a time" in notes[-1]


def test_ragged_rows_are_skipped_and_reported_once_read(tmp_path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n" + "1,2\n" * 30 + "3,4,5\n" + "6,7\n" * 30)
    notes: list[str] = []
    chunks = list(read_chunks(path, 10, notes=notes))
    assert sum(len(c) for c in chunks) == 60
    assert any("skipped 1 ragged row at line 32" in n for n in notes)


def test_a_table_without_rows_and_a_bad_chunk_size_are_refused(tmp_path) -> None:
    header_only = tmp_path / "empty.csv"
    header_only.write_text("a,b\n")
    with pytest.raises(DataError, match="empty.csv: has column names but no data rows"):
        list(read_chunks(header_only, 10))
    with pytest.raises(DataError, match="no such file"):
        list(read_chunks(tmp_path / "missing.csv", 10))
    with pytest.raises(ValueError, match="a chunk is a whole number of rows"):
        list(read_chunks(header_only, 0))


def test_ragged_rows_are_skipped_with_a_note_or_refused_naming_their_lines(tmp_path) -> None:
    """Fitting skips a row with more fields than the header; prediction refuses it (its result would shift)."""
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3,4,5\n6,7\n8,9,10\n11,12\n", encoding="utf-8")
    notes: list[str] = []
    assert _together(read_chunks(path, 2, notes=notes))["a"].tolist() == [1, 6, 11]
    assert any("skipped 2 ragged rows at lines 3, 5" in note for note in notes)
    with pytest.raises(DataError, match=r"ragged.csv: 1 ragged row at line 3 \(expected 2 fields\); rows are not "
                                        "skipped where each result must line up"):
        list(read_chunks(path, 2, ragged="refuse"))
    leading = tmp_path / "leading.csv"  # a ragged first row is found before any chunk is read
    leading.write_text("a,b\n1,2,3\n4,5\n6,7\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"leading.csv: 1 ragged row at line 2 "):
        next(read_chunks(leading, 10, ragged="refuse"))
    with pytest.raises(ValueError, match="ragged='drop'"):
        next(read_chunks(path, 2, ragged="drop"))
