"""Tests for homl.data._readers.read_table: every handled quirk and every refused case."""

from __future__ import annotations

import bz2
import gzip
import lzma
import math
import sqlite3
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from homl.data._readers import read_table
from homl.errors import DataError

CSV = "a,b,c\n1,x,2.5\n2,y,3.5\n3,z,4.5\n"


def write(path: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    """Write text (in ``encoding``) or bytes to ``path`` and return it."""
    data = content.encode(encoding) if isinstance(content, str) else content
    path.write_bytes(data)
    return path


def read(path: Path | str, **kwargs) -> tuple[pd.DataFrame, list[str]]:
    """read_table collecting notes."""
    notes: list[str] = []
    return read_table(path, notes=notes, **kwargs), notes


def assert_abc(df: pd.DataFrame) -> None:
    assert list(df.columns) == ["a", "b", "c"]
    assert df["a"].tolist() == [1, 2, 3]
    assert df["b"].tolist() == ["x", "y", "z"]
    assert df["c"].tolist() == [2.5, 3.5, 4.5]


# ---------------------------------------------------------------- plain reads


def test_plain_csv_str_and_path(tmp_path):
    path = write(tmp_path / "t.csv", CSV)
    for source in (path, str(path)):
        df, notes = read(source)
        assert_abc(df)
        assert notes == []


def test_notes_optional(tmp_path):
    assert_abc(read_table(write(tmp_path / "t.csv", CSV)))


@pytest.mark.parametrize(("delimiter", "name", "shown"), [
    (";", "t.csv", "';'"), ("\t", "t.csv", "tab"), ("|", "t.txt", "'|'"),
])
def test_delimiters_detected(tmp_path, delimiter, name, shown):
    df, notes = read(write(tmp_path / name, CSV.replace(",", delimiter)))
    assert_abc(df)
    assert notes == [f"{tmp_path / name}: delimiter {shown} detected"]


def test_tab_in_tsv_is_not_noted(tmp_path):
    df, notes = read(write(tmp_path / "t.tsv", CSV.replace(",", "\t")))
    assert_abc(df)
    assert notes == []


def test_semicolon_with_decimal_commas(tmp_path):
    df, notes = read(write(tmp_path / "eu.csv", "a;b;c\n1,5;x;1.234,5\n2,5;y;2.000,25\n3,0;z;7,1\n"))
    assert list(df.columns) == ["a", "b", "c"]
    assert df["a"].tolist() == [1.5, 2.5, 3.0]
    assert df["c"].tolist() == [1234.5, 2000.25, 7.1]  # '.' between thousands
    assert "delimiter ';' detected" in notes[0]
    assert "decimal commas detected" in notes[1]


def test_decimal_points_beside_commas_keep_the_commas_as_text(tmp_path):
    df, notes = read(write(tmp_path / "mixed.csv", "a;b\n1,5;2.5\n2,5;3.5\n"))
    assert df["a"].tolist() == ["1,5", "2,5"] and df["b"].tolist() == [2.5, 3.5]
    assert not any("decimal commas" in note for note in notes)


@pytest.mark.parametrize("newline", ["\r", "\r\n"])
def test_lines_ended_by_carriage_returns(tmp_path, newline):
    df, _ = read(write(tmp_path / "cr.csv", newline.join(["a,b", "1,x", "2,y", ""])))
    assert df["a"].tolist() == [1, 2] and df["b"].tolist() == ["x", "y"]


def test_comment_lines_before_the_header_are_skipped(tmp_path):
    df, notes = read(write(tmp_path / "c.csv", "# exported 2024-01-01\n# by a tool\na,b\n1,x\n2,y\n"))
    assert list(df.columns) == ["a", "b"] and len(df) == 2
    assert any("2 comment lines" in note for note in notes)


def test_json_of_columns_and_nested_cells(tmp_path):
    columns = tmp_path / "cols.json"
    columns.write_text('{"a": {"0": 1, "1": 2}, "b": {"0": "x", "1": "y"}}')
    df, _ = read(columns)
    assert df["a"].tolist() == [1, 2] and df["b"].tolist() == ["x", "y"]
    nested = tmp_path / "nested.jsonl"
    nested.write_text('{"a": 1, "b": {"k": 1}}\n{"a": 2, "b": [1, 2]}\n')
    df, notes = read(nested)
    assert df["b"].tolist() == ['{"k": 1}', "[1, 2]"]
    assert any("nested values" in note and "'b'" in note for note in notes)


def test_parquet_with_repeated_names_says_so(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "dup.parquet"
    pq.write_table(pa.table([[1, 2], [3, 4]], names=["x", "x"]), path)
    with pytest.raises(DataError, match="duplicated column names 'x'"):
        read(path)


def test_quoted_fields_with_newlines_and_delimiters(tmp_path):
    text = 'id,comment,score\n1,"hello, world",3\n2,"two\nlines, here",4\n3,plain,5\n'
    df, notes = read(write(tmp_path / "q.csv", text))
    assert df["comment"].tolist() == ["hello, world", "two\nlines, here", "plain"]
    assert df["score"].tolist() == [3, 4, 5]
    assert notes == []


def test_unicode_and_spaces_in_column_names(tmp_path):
    df, notes = read(write(tmp_path / "u.csv", " prix € , Größe,名前 \n1,2,x\n3,4,y\n"))
    assert list(df.columns) == ["prix €", "Größe", "名前"]
    assert notes == [f"{tmp_path / 'u.csv'}: column names stripped of surrounding spaces"]


def test_missing_markers_read_as_missing(tmp_path):
    text = "x,y\n1,a\nNA,b\n,c\n?,d\nnull,e\nN/A,f\nNaN,g\n8,h\n"
    df, _ = read(write(tmp_path / "na.csv", text))
    assert df["x"].dtype.kind == "f"
    assert df["x"].isna().tolist() == [False, True, True, True, True, True, True, False]


def test_infinite_values_kept(tmp_path):
    df, _ = read(write(tmp_path / "inf.csv", "x,y\n1,a\ninf,b\n-inf,c\n"))
    assert df["x"].tolist()[0] == 1
    assert math.isinf(df["x"][1]) and df["x"][1] > 0
    assert math.isinf(df["x"][2]) and df["x"][2] < 0


def test_trailing_delimiter_does_not_shift_columns(tmp_path):
    df, notes = read(write(tmp_path / "t.csv", "a,b,c\n1,x,2.5,\n2,y,3.5,\n3,z,4.5,\n"))
    assert_abc(df)
    assert notes == [f"{tmp_path / 't.csv'}: trailing delimiter at the end of lines ignored"]


def test_single_column(tmp_path):
    df, notes = read(write(tmp_path / "one.csv", "price\n1\n2\n3\n"))
    assert df["price"].tolist() == [1, 2, 3]
    assert "read as a single column" in notes[0]


# ---------------------------------------------------------------- encodings


def test_utf8_bom_removed(tmp_path):
    df, notes = read(write(tmp_path / "bom.csv", "\ufeff" + CSV))
    assert_abc(df)
    assert notes == [f"{tmp_path / 'bom.csv'}: UTF-8 byte-order mark removed"]


@pytest.mark.parametrize("text", [
    "ville;prix;naïve\nZürich;3;à\nRenée;4;ç\n",
    "name,city\nJosé,Besançon\nFrançois,Ærøskøbing\nCafé €5,Köln\n",
])
def test_cp1252_detected(tmp_path, text):
    df, notes = read(write(tmp_path / "w.csv", text, encoding="cp1252"))
    expected = pd.read_csv(tmp_path / "w.csv", sep=None, engine="python", encoding="cp1252")
    pd.testing.assert_frame_equal(df, expected)
    assert f"{tmp_path / 'w.csv'}: encoding cp1252 detected" in notes


def test_utf16_with_bom(tmp_path):
    df, notes = read(write(tmp_path / "excel.txt", "\ufeff" + CSV.replace(",", "\t"), "utf-16-le"))
    assert_abc(df)
    assert any("UTF-16" in n for n in notes)


def test_non_utf8_after_sample(tmp_path):
    rows = "".join(f"{i},x,{i}.5\n" for i in range(10000))
    path = write(tmp_path / "late.csv", ("a,b,c\n" + rows + "9,Zoë,1.0\n").encode("latin-1"))
    df, notes = read(path)
    assert df["b"].iloc[-1] == "Zoë"
    assert any("cp1252" in n for n in notes)


# ---------------------------------------------------------------- compression


@pytest.mark.parametrize(("name", "compress", "method"), [
    ("t.csv.gz", gzip.compress, "gzip"),
    ("t.csv", gzip.compress, "gzip"),  # misnamed: detected by magic bytes
    ("t.csv.bz2", bz2.compress, "bz2"),
    ("t.csv.xz", lzma.compress, "xz"),
    ("t.data", lzma.compress, "xz"),
])
def test_compressed(tmp_path, name, compress, method):
    df, notes = read(write(tmp_path / name, compress(CSV.encode())))
    assert_abc(df)
    assert notes == [f"{tmp_path / name}: {method}-compressed"]


def test_zip_with_one_member(tmp_path):
    path = tmp_path / "t.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("inner.csv", CSV.replace(",", ";"))
    df, notes = read(path)
    assert_abc(df)
    assert notes == [f"{path}: zip-compressed", f"{path}: delimiter ';' detected"]


def test_gzipped_jsonl(tmp_path):
    path = write(tmp_path / "t.jsonl.gz", gzip.compress(b'{"a": 1}\n{"a": 2}\n'))
    assert read(path)[0]["a"].tolist() == [1, 2]


# ---------------------------------------------------------------- ragged rows


def test_ragged_rows_skipped_and_reported(tmp_path):
    text = "a,b,c,d\n1,2,3,4\n5,6,7,8\n1,2,3,4\n9,9,9,9,9\n1,2,3,4\n1,2,3,4\n1,2,3,4\n1,2,3,4,5,6\n"
    df, notes = read(write(tmp_path / "r.csv", text))
    assert len(df) == 6
    assert notes == [f"{tmp_path / 'r.csv'}: skipped 2 ragged rows at lines 5, 9 "
                     "(expected 4 fields)"]


def test_many_ragged_rows_report_first_ten(tmp_path):
    rows = [f"{i},{i}" if i % 3 else f"{i},{i},{i}" for i in range(1, 61)]
    df, notes = read(write(tmp_path / "r.csv", "a,b\n" + "\n".join(rows) + "\n"))
    assert len(df) == 40
    lines = ", ".join(str(i + 1) for i in range(3, 31, 3))
    assert notes[0].endswith(f"skipped 20 ragged rows at lines {lines} and 10 more "
                             "(expected 2 fields)")


def test_short_rows_are_padded(tmp_path):
    df, notes = read(write(tmp_path / "s.csv", "a,b,c\n1,2,3\n4,5\n6,7,8\n"))
    assert df["c"].isna().tolist() == [False, True, False]
    assert notes == []


def test_rows_longer_than_header(tmp_path):
    # R's write.table: row names have no header cell
    df, notes = read(write(tmp_path / "r.txt", "a b\nr1 1 2\nr2 3 4\n".replace(" ", "\t")))
    assert list(df.columns) == ["Unnamed: 0", "a", "b"]
    assert df["b"].tolist() == [2, 4]
    assert "one field more than the header" in notes[-1]


def test_first_data_row_ragged(tmp_path):
    df, notes = read(write(tmp_path / "f.csv", "a,b,c\n1,2,3,4\n4,5,6\n7,8,9,1,2\n5,5,5\n"))
    assert df.values.tolist() == [[4, 5, 6], [5, 5, 5]]
    assert notes[-1].endswith("skipped 2 ragged rows at lines 2, 4 (expected 3 fields)")


def test_trailing_delimiter_on_most_lines(tmp_path):
    text = "a,b,c\n1,x,2.5\n2,y,3.5,\n3,z,4.5,\n4,w,5.5,\n5,v,6.5,\n"
    df, notes = read(write(tmp_path / "t.csv", text))
    assert df.shape == (5, 3)
    assert df["c"].tolist() == [2.5, 3.5, 4.5, 5.5, 6.5]
    assert notes == [f"{tmp_path / 't.csv'}: trailing delimiter at the end of lines ignored"]


def test_values_past_trailing_delimiter_kept(tmp_path):
    rows = "".join(f"{i},{i},\n" for i in range(3000)) + "7,7,late\n"
    df, _ = read(write(tmp_path / "t.csv", "a,b\n" + rows))
    assert list(df.columns) == ["a", "b", "Unnamed: 2"]
    assert df["Unnamed: 2"].iloc[-1] == "late"


def test_column_mixing_numbers_and_text_in_a_large_file(tmp_path):
    rows = "".join(f"{i},{i % 7}\n" for i in range(300_000))
    df, notes = read(write(tmp_path / "m.csv", "a,b\n" + rows + "7,unknown\n"))
    assert df["b"].iloc[0] == "0" and df["b"].iloc[-1] == "unknown"
    assert df["a"].dtype.kind == "i"
    assert notes == [f"{tmp_path / 'm.csv'}: columns mixing numbers and text read as text: b"]


# ---------------------------------------------------------------- other formats


def test_parquet_and_misnamed_parquet(tmp_path):
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    frame.to_parquet(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(read(tmp_path / "t.parquet")[0], frame)
    (tmp_path / "t.parquet").rename(tmp_path / "t.csv")
    df, notes = read(tmp_path / "t.csv")
    pd.testing.assert_frame_equal(df, frame)
    assert "content is parquet despite the '.csv' extension" in notes[0]


@pytest.mark.parametrize(("name", "text"), [
    ("t.jsonl", '{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n'),
    ("t.ndjson", '{"a": 1, "b": "x"}\n\n{"a": 2, "b": "y"}\n'),
    ("t.json", '[{"a": 1, "b": "x"},\n {"a": 2, "b": "y"}]'),
    ("t.json", '{"a": {"0": 1, "1": 2},\n "b": {"0": "x", "1": "y"}}'),
])
def test_json(tmp_path, name, text):
    df, _ = read(write(tmp_path / name, text))
    assert df["a"].tolist() == [1, 2]
    assert df["b"].tolist() == ["x", "y"]


def test_json_date_like_names_not_converted(tmp_path):
    df, _ = read(write(tmp_path / "t.jsonl", '{"date": 20200101, "x": 1}\n'))
    assert df["date"].tolist() == [20200101]


def test_excel_first_sheet(tmp_path):
    path = tmp_path / "t.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"a": [1, 2], 5: ["?", "y"]}).to_excel(writer, sheet_name="Data", index=False)
        pd.DataFrame({"z": [0]}).to_excel(writer, sheet_name="Other", index=False)
    df, notes = read(path)
    assert list(df.columns) == ["a", "5"]
    assert df["5"].isna().tolist() == [True, False]
    assert notes == [f"{path}: read the first of 2 sheets ('Data')"]


@pytest.mark.parametrize(("name", "extension", "text"), [
    ("t.unknown", ".unknown", CSV), ("t", "", CSV.replace(",", ";")),
])
def test_unknown_extension_sniffed_as_text(tmp_path, name, extension, text):
    df, notes = read(write(tmp_path / name, text))
    assert_abc(df)
    assert notes[0] == f"{tmp_path / name}: extension '{extension}' not known; content read as text"


def test_unknown_extension_sniffed_as_json(tmp_path):
    df, notes = read(write(tmp_path / "t.log", '{"a": 1}\n{"a": 2}\n'))
    assert df["a"].tolist() == [1, 2]
    assert notes == [f"{tmp_path / 't.log'}: extension '.log' not known; content read as json"]


# ---------------------------------------------------------------- in-memory tables


def test_pandas_frame_copied_and_names_to_str():
    frame = pd.DataFrame({0: [1, 2], "b": [3, 4]})
    df = read_table(frame)
    assert list(df.columns) == ["0", "b"]
    df.iloc[0, 0] = 99
    assert frame.iloc[0, 0] == 1


def test_polars_and_pyarrow():
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    assert read_table(pl.DataFrame({"a": [1, 2]}))["a"].tolist() == [1, 2]
    assert read_table(pa.table({"a": [1, 2]}))["a"].tolist() == [1, 2]


def test_query_on_a_frame_refused():
    with pytest.raises(DataError, match=r"the given table: query= only applies to database"):
        read_table(pd.DataFrame({"a": [1]}), query="a")


def test_blank_header_cells_named_like_pandas(tmp_path):
    df, _ = read(write(tmp_path / "b.csv", "a, ,c,\n1,2,3,4\n5,6,7,8\n"))
    assert list(df.columns) == ["a", "Unnamed: 1", "c", "Unnamed: 3"]


def test_unsupported_object():
    with pytest.raises(DataError, match=r"cannot read a table from a list; expected a file path"):
        read_table([1, 2, 3])


# ---------------------------------------------------------------- databases


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "t.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE people (a INTEGER, b TEXT, c REAL)")
        con.executemany("INSERT INTO people VALUES (?, ?, ?)",
                        [(1, "x", 2.5), (2, "y", 3.5), (3, "z", 4.5)])
    return path


def test_sql_only_table(db):
    df, notes = read(f"sqlite:///{db}")
    assert_abc(df)
    assert notes == [f"sqlite:///{db}: read its only table 'people'"]


def test_sql_table_name_and_query(db):
    assert_abc(read_table(f"sqlite:///{db}", query="people"))
    df = read_table(f"sqlite:///{db}", query="SELECT a, b FROM people WHERE a > 1")
    assert df["a"].tolist() == [2, 3]


def test_sql_several_tables_listed(db):
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE other (x INTEGER)")
    with pytest.raises(DataError, match=r"holds 2 tables \(other, people\); expected query="):
        read_table(f"sqlite:///{db}")


def test_sql_unknown_table(db):
    with pytest.raises(DataError, match=r"no table 'nope'; tables: people"):
        read_table(f"sqlite:///{db}", query="nope")


def test_sql_bad_query(db):
    with pytest.raises(DataError, match=r"t\.db: cannot connect or run the query \(no such "
                                        r"column: zz\)"):
        read_table(f"sqlite:///{db}", query="SELECT zz FROM people")


def test_sql_missing_sqlite_file_not_created(tmp_path):
    with pytest.raises(DataError, match=r"no such database file '.*missing\.db'"):
        read_table(f"sqlite:///{tmp_path / 'missing.db'}")
    assert not (tmp_path / "missing.db").exists()


def test_sql_cannot_connect_masks_password():
    url = "postgresql://ann:s3cret@127.0.0.1:1/db"
    with pytest.raises(DataError, match=r"postgresql://ann:\*\*\*@127\.0\.0\.1:1/db: "
                                        r"cannot connect") as info:
        read_table(url)
    assert "s3cret" not in str(info.value)


def test_sql_invalid_url():
    with pytest.raises(DataError, match=r"not a valid database URL; expected e\.g\. sqlite"):
        read_table("not a url://x")


def test_query_on_a_file_refused(tmp_path):
    with pytest.raises(DataError, match=r"t\.csv: query= only applies to database URLs"):
        read_table(write(tmp_path / "t.csv", CSV), query="SELECT 1")


# ---------------------------------------------------------------- refused files


def test_missing_file_suggests_close_names(tmp_path):
    write(tmp_path / "housing.csv", CSV)
    with pytest.raises(DataError, match=r"housing\.cvs: no such file; did you mean "
                                        r".*housing\.csv\?"):
        read_table(tmp_path / "housing.cvs")


def test_missing_file_without_suggestion(tmp_path):
    with pytest.raises(DataError, match=r"zzz\.csv: no such file$"):
        read_table(tmp_path / "zzz.csv")
    with pytest.raises(DataError, match=r"no such file \(folder '.*nowhere' does not exist\)"):
        read_table(tmp_path / "nowhere" / "zzz.csv")


def test_directory(tmp_path):
    with pytest.raises(DataError, match=r"is a folder; expected a table file"):
        read_table(tmp_path)


@pytest.mark.parametrize(("content", "message"), [
    (b"", r"e\.csv: is empty \(0 bytes\); expected a header row"),
    (b"  \n\n \t\n", r"e\.csv: is empty \(only whitespace\); expected a header row"),
    (gzip.compress(b""), r"e\.csv: is empty once decompressed"),
])
def test_empty_file(tmp_path, content, message):
    with pytest.raises(DataError, match=message):
        read_table(write(tmp_path / "e.csv", content))


@pytest.mark.parametrize("content", ["a,b,c\n", "a,b,c", "a;b;c\n\n\n"])
def test_header_only(tmp_path, content):
    with pytest.raises(DataError, match=r"h\.csv: has column names but no data rows"):
        read_table(write(tmp_path / "h.csv", content))


@pytest.mark.parametrize(("content", "message"), [
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, r"it looks like a PNG image"),
    (bytes(range(256)) * 8, r"it looks like binary data"),
    ("It was a bright cold day in April, and the clocks were striking thirteen.\n"
     "Winston Smith, his chin nuzzled into his breast in an effort to escape the vile wind,\n"
     "slipped quickly through the glass doors of Victory Mansions, though not quickly enough\n"
     "to prevent a swirl of gritty dust from entering along with him.\n"
     "The hallway smelt of boiled cabbage and old rag mats. At one end of it a coloured\n"
     "poster, too large for indoor display, had been tacked to the wall. It depicted simply\n",
     r"no delimiter"),
    ("The quick brown fox jumps over the lazy dog again and again\n"
     "and then it sleeps all afternoon in the warm sun by the river\n"
     "while the dog wonders what on earth has just happened to it\n", r"reads like plain text"),
])
@pytest.mark.parametrize("name", ["n.csv", "n.bin"])
def test_not_a_table(tmp_path, content, message, name):
    path = write(tmp_path / name, content)
    with pytest.raises(DataError, match=rf"{name}: is not a table: .*{message}"):
        read_table(path)


@pytest.mark.parametrize("header", ["a,b,a,c,b", "a, a ,c"])
def test_duplicated_column_names(tmp_path, header):
    path = write(tmp_path / "d.csv", header + "\n" + ",".join("1" * header.count(",")) + ",1\n")
    with pytest.raises(DataError, match=r"d\.csv: duplicated column names 'a'"):
        read_table(path)


def test_duplicated_excel_header(tmp_path):
    pd.DataFrame([["a", "a"], [1, 2]]).to_excel(tmp_path / "d.xlsx", header=False, index=False)
    with pytest.raises(DataError, match=r"d\.xlsx: duplicated column names 'a'"):
        read_table(tmp_path / "d.xlsx")


@pytest.mark.parametrize(("name", "message"), [
    ("bad.parquet", r"bad\.parquet: cannot be read as Parquet .*expected a valid Parquet"),
    ("bad.xlsx", r"bad\.xlsx: cannot be read as an Excel workbook .*expected a valid \.xlsx"),
])
def test_unreadable_binary_formats(tmp_path, name, message):
    with pytest.raises(DataError, match=message):
        read_table(write(tmp_path / name, CSV))


def test_corrupt_zip_and_multi_member_zip(tmp_path):
    with pytest.raises(DataError, match=r"z\.zip: starts like a zip archive but cannot be opened"):
        read_table(write(tmp_path / "z.zip", b"PK\x03\x04garbage"))
    path = tmp_path / "m.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("one.csv", CSV)
        archive.writestr("two.csv", CSV)
    with pytest.raises(DataError, match=r"m\.zip: zip archive holds 2 files \(one\.csv, "
                                        r"two\.csv\); expected exactly one table file"):
        read_table(path)


def test_corrupt_gzip(tmp_path):
    with pytest.raises(DataError, match=r"g\.csv\.gz: looks gzip-compressed but cannot be "
                                        r"decompressed"):
        read_table(write(tmp_path / "g.csv.gz", gzip.compress(CSV.encode())[:15]))


def test_legacy_xls_without_reader(tmp_path, monkeypatch):
    for package in ("xlrd", "python_calamine"):  # neither .xls reader importable, installed or not
        monkeypatch.setitem(sys.modules, package, None)
    path = write(tmp_path / "old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    with pytest.raises(DataError, match=r"old\.xls: needs an extra package to read this Excel format \("):
        read_table(path)


def test_sql_empty_result(db):
    with pytest.raises(DataError, match=r"t\.db: has column names but no data rows"):
        read_table(f"sqlite:///{db}", query="SELECT * FROM people WHERE a > 99")


def test_sql_no_tables(tmp_path):
    sqlite3.connect(tmp_path / "e.db").close()
    (tmp_path / "e.db").touch()
    with pytest.raises(DataError, match=r"e\.db: holds no tables; expected query="):
        read_table(f"sqlite:///{tmp_path / 'e.db'}")


def test_bad_json(tmp_path):
    with pytest.raises(DataError, match=r"b\.json: is not valid JSON lines or a JSON array"):
        read_table(write(tmp_path / "b.json", '{"a": 1,\n'))


def test_inconsistent_delimiters(tmp_path):
    text = "a,b,c\n1;2\n1,2,3,4,5\nx|y\n1,2\n1,2,3,4\n5\n"
    with pytest.raises(DataError, match=r"is not a table: no delimiter .* consistent number"):
        read_table(write(tmp_path / "i.csv", text))
