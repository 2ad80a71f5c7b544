"""Read a table from a file, a database or an in-memory frame into a pandas DataFrame.

``read_table`` is homl's single entry point for data. It works out what pandas would
otherwise get wrong or refuse with a cryptic message: compression (by magic bytes, not
only by extension), text encoding, delimiter, byte-order marks, ragged rows, duplicated
header names. What it fixes silently is told as one sentence per fix in ``notes``; what it
cannot fix raises :class:`~homl.errors.DataError` naming the source and what was expected.
"""

from __future__ import annotations

import bz2
import csv
import difflib
import gzip
import io
import lzma
import re
import statistics
import warnings
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import IO, Any

import pandas as pd

from homl.errors import DataError

SAMPLE_BYTES = 64 * 1024  # sniffing never reads more than this from the start of a file
DELIMITERS = ",;\t|"
NA_VALUES = ["?"]  # on top of pandas' defaults: "", "NA", "N/A", "null", "NaN", "None", ...
MAX_LINES_REPORTED = 10

_KINDS = {".csv": "text", ".tsv": "text", ".tab": "text", ".txt": "text", ".dat": "text",
          ".data": "text", ".json": "json", ".jsonl": "json", ".ndjson": "json",
          ".parquet": "parquet", ".pq": "parquet", ".xlsx": "excel", ".xlsm": "excel",
          ".xls": "excel"}
_COMPRESSED_EXTS = {".gz", ".gzip", ".bz2", ".xz", ".zip"}
_COMPRESSION_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz"}
_OPENERS = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls workbooks
_BINARY_MAGIC = {b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image",
                 b"GIF8": "a GIF image", b"%PDF": "a PDF document"}
_TRAILING = "\x00trailing"  # name of the empty column a trailing delimiter makes
_EXPECTED = "expected a table file (CSV/TSV, Parquet, JSON lines or Excel)"


@dataclass
class _File:
    """A file on disk as sniffed from its first bytes."""

    name: str  # as the user gave it, for messages
    path: Path
    notes: list[str]
    compression: str | None = None  # "gzip", "bz2", "xz", "zip" or None
    member: str = ""  # name of the table inside: zip member, or file name minus ".gz"
    head: bytes = b""  # first SAMPLE_BYTES of the (decompressed) content
    kind: str = "text"  # "text", "json", "parquet" or "excel"

    @property
    def truncated(self) -> bool:
        return len(self.head) == SAMPLE_BYTES

    @property
    def pandas_compression(self) -> dict[str, str] | None:
        """Compression argument for pandas' text readers: sniffed, not from the extension."""
        return {"method": self.compression} if self.compression else None

    def note(self, text: str) -> None:
        self.notes.append(f"{self.name}: {text}")

    def error(self, text: str) -> DataError:
        return DataError(f"{self.name}: {text}")

    def open(self) -> IO[bytes]:
        """Open the decompressed content as a binary stream."""
        if self.compression == "zip":
            # the member stream keeps the archive's file open until it is itself closed
            with zipfile.ZipFile(self.path) as archive:
                return archive.open(self.member)
        if self.compression:
            return _OPENERS[self.compression](self.path, "rb")
        return self.path.open("rb")

    def pandas_source(self) -> Any:
        """What to hand to binary readers (Parquet, Excel), which cannot decompress."""
        if self.compression is None:
            return self.path
        with self.open() as stream:
            return io.BytesIO(stream.read())


def read_table(source: Any, *, query: str | None = None, notes: list[str] | None = None,
               ragged: str = "skip") -> pd.DataFrame:
    """Read ``source`` (file path, SQLAlchemy URL or in-memory table) into a DataFrame.

    ``query`` is an SQL query or table name for database URLs. Each thing handled
    silently (encoding, delimiter, skipped rows...) is appended to ``notes`` as a sentence.
    Rows of delimited text with more fields than the header are skipped (``ragged="skip"``),
    or refused naming their lines (``"refuse"``: where each result must line up with its row).
    Raises DataError naming the source when it cannot be read as a table.
    """
    if ragged not in ("skip", "refuse"):
        raise ValueError(f"ragged={ragged!r}: expected 'skip' or 'refuse'")
    notes = notes if notes is not None else []
    is_path = isinstance(source, (str, PathLike))
    if isinstance(source, str) and "://" in source:
        label = _mask_url(source)
        return _finish(_read_sql(source, label, query, notes), label, notes)
    label = str(source) if is_path else "the given table"
    if query is not None:
        raise DataError(f"{label}: query= only applies to database URLs (sqlite:///file.db)")
    df = _read_file(_sniff(Path(source), label, notes), ragged == "refuse") if is_path else _from_memory(source)
    return _finish(df, label, notes)


def _finish(df: pd.DataFrame, label: str, notes: list[str]) -> pd.DataFrame:
    """Give columns stripped str names and refuse tables with no columns or rows."""
    names = [str(c) for c in df.columns]
    stripped = [n.strip() for n in names]
    if stripped != names:
        notes.append(f"{label}: column names stripped of surrounding spaces")
    _check_duplicates(stripped, label)
    df.columns = stripped
    if df.shape[1] == 0:
        raise DataError(f"{label}: has no columns; expected a table with a header row")
    if len(df) == 0:
        raise DataError(f"{label}: has column names but no data rows; expected at least one row")
    _flatten_nested(df, label, notes)
    return df


def _flatten_nested(df: pd.DataFrame, label: str, notes: list[str]) -> None:
    """Write lists and objects held in cells (nested JSON) as their JSON text: a value a model can use."""
    import json

    nested = [c for c in df.columns if df[c].dtype == object
              and df[c].map(lambda v: isinstance(v, (dict, list, tuple, set))).any()]
    for column in nested:
        df[column] = df[column].map(lambda v: json.dumps(sorted(v) if isinstance(v, set) else v, default=str,
                                                         sort_keys=True)
                                    if isinstance(v, (dict, list, tuple, set)) else v)
    if nested:
        listed = ", ".join(f"'{c}'" for c in nested)
        notes.append(f"{label}: nested values (lists or objects) in {listed} read as their JSON text")


def _check_duplicates(names: list[Any], label: str) -> None:
    """Refuse repeated column names (pandas would silently rename them to 'x.1')."""
    counts = Counter(str(n).strip() for n in names if n is not None and str(n).strip())
    dupes = [n for n, c in counts.items() if c > 1]
    if dupes:
        listed = ", ".join(repr(n) for n in dupes)
        raise DataError(f"{label}: duplicated column names {listed}; expected each name once")


def _from_memory(obj: Any) -> pd.DataFrame:
    """Copy a pandas DataFrame, or convert a polars DataFrame / pyarrow Table."""
    if isinstance(obj, pd.DataFrame):
        return obj.copy()
    # Checked by module name so that polars and pyarrow are never imported needlessly.
    if type(obj).__module__.split(".")[0] in ("polars", "pyarrow") and hasattr(obj, "to_pandas"):
        return obj.to_pandas()
    raise DataError(f"cannot read a table from a {type(obj).__name__}; expected a file path, "
                    "a database URL, a pandas or polars DataFrame, or a pyarrow Table")


# ---------------------------------------------------------------- files: sniffing


def _sniff(path: Path, name: str, notes: list[str]) -> _File:
    """Check the path and look at its first bytes for compression and format."""
    if not path.exists():
        raise DataError(f"{name}: no such file{_suggest(path)}")
    if path.is_dir():
        raise DataError(f"{name}: is a folder; {_EXPECTED}")
    f = _File(name, path, notes, member=path.name)
    try:
        with path.open("rb") as stream:
            raw = stream.read(SAMPLE_BYTES)
    except OSError as e:
        raise f.error(f"cannot be opened ({e.strerror})") from e
    if not raw:
        raise f.error("is empty (0 bytes); expected a header row and data rows")
    ext = path.suffix.lower()
    if raw.startswith(b"PK\x03\x04"):
        _sniff_zip(f)
    elif raw[:6].startswith(tuple(_COMPRESSION_MAGIC)):
        f.compression = next(c for m, c in _COMPRESSION_MAGIC.items() if raw.startswith(m))
        f.member = path.stem if ext in _COMPRESSED_EXTS else path.name
    if f.compression:
        f.note(f"{f.compression}-compressed")
        try:
            with f.open() as stream:
                raw = stream.read(SAMPLE_BYTES)
        except (OSError, EOFError, lzma.LZMAError, zlib.error) as e:
            raise f.error(f"looks {f.compression}-compressed but cannot be decompressed ({e})") from e
        if not raw:
            raise f.error("is empty once decompressed; expected a header row and data rows")
    f.head = raw
    if f.kind != "excel":
        f.kind = _kind(f)
    return f


def _sniff_zip(f: _File) -> None:
    """Tell an xlsx workbook (a zip too) from a zip archive holding one table."""
    try:
        with zipfile.ZipFile(f.path) as archive:
            members = [m for m in archive.namelist() if not m.endswith("/")]
    except zipfile.BadZipFile as e:
        raise f.error(f"starts like a zip archive but cannot be opened ({e})") from e
    if "xl/workbook.xml" in members:
        f.kind = "excel"
    elif len(members) == 1:
        f.compression, f.member = "zip", members[0]
    else:
        listed = ", ".join(members[:5]) + (", ..." if len(members) > 5 else "")
        raise f.error(f"zip archive holds {len(members)} files ({listed}); "
                      "expected exactly one table file")


def _kind(f: _File) -> str:
    """Decide the format: binary magic first, then extension, then the text itself."""
    ext = Path(f.member).suffix.lower()
    by_ext = _KINDS.get(ext)
    by_content = ("parquet" if f.head.startswith(b"PAR1") else
                  "excel" if f.head.startswith(_OLE2_MAGIC) else None)
    if by_content and by_ext and by_content != by_ext:
        f.note(f"content is {by_content} despite the '{ext}' extension")
    kind = by_content or by_ext
    if kind is None:
        start = f.head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        kind = "json" if start in (b"{", b"[") else "text"
        f.note(f"extension '{ext}' not known; content read as {kind}")
    return kind


def _suggest(path: Path) -> str:
    """Say which files of the same folder have a close name, if any."""
    folder = path.parent
    if not folder.is_dir():
        return f" (folder '{folder}' does not exist)"
    close = difflib.get_close_matches(path.name, [p.name for p in folder.iterdir()], n=3)
    return "; did you mean " + " or ".join(str(folder / c) for c in close) + "?" if close else ""


# ---------------------------------------------------------------- files: reading


def _read_file(f: _File, refuse_ragged: bool = False) -> pd.DataFrame:
    """Read a sniffed file with the reader of its kind."""
    if f.kind == "parquet":
        try:
            return pd.read_parquet(f.pandas_source())
        except Exception as e:  # pyarrow raises assorted types on corrupt files
            _check_duplicates(_parquet_names(f), f.name)
            raise f.error(f"cannot be read as Parquet ({e}); expected a valid Parquet file") from e
    if f.kind == "excel":
        return _read_excel(f)
    encoding, text = _sniffed_text(f)
    if f.kind == "json":
        return _read_json(f, encoding)
    layout, skipped = _csv_layout(f, text)
    if refuse_ragged and skipped:
        raise ragged_error(f.name, skipped, len(layout["names"]) - (_TRAILING in layout["names"]))
    return _read_csv(f, encoding, layout, skipped, refuse_ragged)


def _parquet_names(f: _File) -> list[str]:
    """The column names a Parquet file's schema declares (none when even that cannot be read)."""
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(f.pandas_source()).names)
    except Exception:  # a corrupt file: the caller says so
        return []


def _sniffed_text(f: _File) -> tuple[str, str]:
    """The text encoding and the sample's whole lines, refusing a file of whitespace."""
    encoding = _encoding(f)
    # Old Mac files end lines with a lone carriage return; pandas reads them, csv.reader not.
    text = f.head.decode(encoding, errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    if f.truncated:  # the sample may end mid-line: drop the partial last line
        text = text[: text.rfind("\n") + 1] or text
    if not text.strip():
        raise f.error("is empty (only whitespace); expected a header row and data rows")
    return encoding, text


def _csv_layout(f: _File, text: str) -> tuple[dict[str, Any], list[int]]:
    """pandas' options for delimited text (delimiter, names, rows to skip), and the ragged
    leading lines skipped."""
    _refuse_binary(f, text)
    lines = text.split("\n")
    comments = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
    if comments:
        text = "\n".join(lines[comments:])
        if not text.strip():
            raise f.error("holds only comment lines ('#'); expected a header row and data rows")
        f.note(f"{comments} comment line{'s' if comments > 1 else ''} ('#') before the header skipped")
    delimiter = _delimiter(f, text)
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row][:1000]
    _check_duplicates(rows[0], f.name)
    layout, skipped = _header_fit(f, rows)
    layout["skiprows"] += comments
    return {"sep": delimiter, **layout, **_decimal_comma(f, rows, delimiter)}, [n + comments for n in skipped]


_COMMA_DECIMAL = re.compile(r"[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+")
_DOT_DECIMAL = re.compile(r"[+-]?\d*\.\d+([eE][+-]?\d+)?")


def _decimal_comma(f: _File, rows: list[list[str]], delimiter: str) -> dict[str, str]:
    """pandas' ``decimal`` (and ``thousands``) options for numbers written '3,14' or '1.234,5'
    (European exports, where ';' separates the fields), found in the sample's cells."""
    if delimiter == ",":
        return {}
    cells = [cell.strip() for row in rows[1:] for cell in row]
    commas = [cell for cell in cells if _COMMA_DECIMAL.fullmatch(cell)]
    if not commas or any(_DOT_DECIMAL.fullmatch(cell) for cell in cells):
        return {}
    grouped = any("." in cell for cell in commas)
    f.note("decimal commas detected" + (" (and '.' between thousands)" if grouped else ""))
    return {"decimal": ",", **({"thousands": "."} if grouped else {})}


def _encoding(f: _File) -> str:
    """Guess the text encoding: BOM, strict UTF-8, charset-normalizer, else cp1252."""
    head = f.head
    if head.startswith(b"\xef\xbb\xbf"):
        f.note("UTF-8 byte-order mark removed")
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        f.note("UTF-16 text detected")
        return "utf-16"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as e:
        if f.truncated and e.start >= len(head) - 3:  # a character cut by the sample's end
            return "utf-8"
    if b"\x00" in head:  # binary data; _refuse_binary will say so
        return "latin-1"
    from charset_normalizer import from_bytes

    matches = list(from_bytes(head))
    # charset-normalizer's ranking is shaky on short samples (it picks cp775 or cp1250 and
    # mangles 'é' or 'ï'): when cp1252, by far the commonest non-UTF-8 encoding of tables,
    # is among its plausible guesses, take it; Cyrillic or Japanese text rules it out.
    western = any("cp1252" in m.could_be_from_charset for m in matches)
    encoding = "cp1252" if western or not matches else matches[0].encoding
    f.note(f"encoding {encoding} detected")
    return encoding


def _refuse_binary(f: _File, text: str) -> None:
    """Refuse images, documents and other binary data with a plain message."""
    for magic, what in _BINARY_MAGIC.items():
        if f.head.startswith(magic):
            raise f.error(f"is not a table: it looks like {what}; {_EXPECTED}")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    if "\x00" in text or controls > 0.05 * len(text):
        raise f.error(f"is not a table: it looks like binary data; {_EXPECTED}")


def _field_counts(text: str, delimiter: str) -> tuple[int, float]:
    """Most common number of fields per row, and the share of rows that have it."""
    counts = [len(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row]
    mode, freq = Counter(counts[:1000]).most_common(1)[0]
    return mode, freq / min(len(counts), 1000)


def _delimiter(f: _File, text: str) -> str:
    """Pick the delimiter: csv.Sniffer if its pick is consistent, else the most consistent."""
    try:
        sniffed = csv.Sniffer().sniff(text[:20000], delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    scores = {d: _field_counts(text, d) for d in DELIMITERS}
    ok = [d for d, (mode, share) in scores.items() if mode > 1 and share >= 0.9]
    if sniffed in ok:
        delimiter = sniffed
    elif ok:  # several consistent: the one cutting the most fields is the real one
        delimiter = max(ok, key=lambda d: scores[d])
    else:  # ragged files are less consistent, but a real delimiter still dominates
        delimiter = max(DELIMITERS, key=lambda d: (scores[d][0] > 1, scores[d][1]))
        mode, share = scores[delimiter]
        if mode == 1 or share < 0.6:
            _single_column(f, text)
            return ","
    shown = "tab" if delimiter == "\t" else f"'{delimiter}'"
    if delimiter != "," and not (delimiter == "\t" and Path(f.member).suffix.lower() == ".tsv"):
        f.note(f"delimiter {shown} detected")
    return delimiter


def _single_column(f: _File, text: str) -> None:
    """Accept a one-column table; refuse garbled delimiters and running text."""
    header = text.split("\n", 1)[0]
    # if even the header holds a candidate delimiter, the lines just do not agree on one
    if any(d in header for d in DELIMITERS):
        raise f.error("is not a table: no delimiter (, ; tab |) splits its lines into a "
                      f"consistent number of fields; {_EXPECTED}")
    words = [len(line.split()) for line in text.splitlines() if line.strip()]
    if statistics.median(words) > 6:
        raise f.error("is not a table: it reads like plain text with no delimiter "
                      f"(, ; tab |); {_EXPECTED}")
    f.note("no delimiter found; read as a single column")


def _header_fit(f: _File, rows: list[list[str]]) -> tuple[dict[str, Any], list[int]]:
    """Read options naming the columns ourselves, and the leading ragged lines to skip.

    pandas turns the first column into the index when the first data row is longer than
    the header, so leading longer rows are skipped here; the C engine skips later ones.
    """
    names = [n if n.strip() else f"Unnamed: {i}" for i, n in enumerate(rows[0])]
    longer = [r for r in rows[1:] if len(r) == len(names) + 1]
    if len(longer) > len(rows) / 2:
        if all(r[-1] == "" for r in longer):
            f.note("trailing delimiter at the end of lines ignored")
            names = [*names, _TRAILING]
        else:  # e.g. R's write.table: row names without a header cell
            f.note("rows have one field more than the header: first column named 'Unnamed: 0'")
            names = ["Unnamed: 0", *names]
    lead = next((i for i, r in enumerate(rows[1:]) if len(r) <= len(names)), len(rows) - 1)
    return {"names": names, "header": None, "skiprows": 1 + lead}, list(range(2, 2 + lead))


def _read_csv(f: _File, encoding: str, layout: dict[str, Any],
              skipped: list[int], refuse_ragged: bool = False) -> pd.DataFrame:
    """Read delimited text with pandas' C engine, skipping and reporting ragged rows."""
    # low_memory stays on (it reads twice as fast); the columns it leaves half numbers,
    # half text are mended below. on_bad_lines="warn" names each ragged line but is twice
    # as slow, so it is only used once a first, strict pass has met a ragged line.
    options = {**layout, "encoding": encoding, "na_values": NA_VALUES,
               "on_bad_lines": "error", "compression": f.pandas_compression}
    while True:  # each retry changes the options once, so this ends
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                df = pd.read_csv(f.path, **options)
                break
            except UnicodeDecodeError:  # the sample was UTF-8 but a later line is not
                f.note("not UTF-8 beyond the first 64 KB; read as cp1252")
                options.update(encoding="cp1252", encoding_errors="replace")
            except pd.errors.EmptyDataError as e:
                raise f.error("is empty; expected a header row and data rows") from e
            except (pd.errors.ParserError, ValueError) as e:
                ragged = re.search(r"Expected \d+ fields in line \d+", str(e))
                if not ragged or options["on_bad_lines"] == "warn":
                    raise f.error(f"cannot be parsed as a delimited table ({e})") from e
                options["on_bad_lines"] = "warn"
    mixed = [w for w in caught if issubclass(w.category, pd.errors.DtypeWarning)]
    for w in caught:
        found = re.findall(r"Skipping line (\d+)", str(w.message))
        skipped += [int(n) for n in found]
        if not found and w not in mixed:  # not ours to swallow
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if mixed:
        _mend_mixed(f, df)
    if _TRAILING in df:  # values past a trailing delimiter are kept, as pandas would
        empty = df[_TRAILING].isna().all()
        name = f"Unnamed: {df.shape[1] - 1}"
        df = df.drop(columns=_TRAILING) if empty else df.rename(columns={_TRAILING: name})
    if skipped and refuse_ragged:
        raise ragged_error(f.name, skipped, df.shape[1])
    if skipped:
        _note_skipped(f, skipped, df.shape[1])
    return df


def _mend_mixed(f: _File, df: pd.DataFrame) -> None:
    """Make text of columns that low_memory chunks read partly as numbers, partly as text."""
    mixed = [c for c in df.columns if df[c].dtype == object]
    df[mixed] = df[mixed].astype("str")
    f.note(f"columns mixing numbers and text read as text: {', '.join(map(str, mixed))}")


def ragged_error(name: str, lines: list[int], width: int) -> DataError:
    """Ragged rows refused where every row must keep its place (its result beside it)."""
    s = "s" if len(lines) > 1 else ""
    shown = ", ".join(map(str, lines[:MAX_LINES_REPORTED]))
    rest = f" and {len(lines) - MAX_LINES_REPORTED} more" if len(lines) > MAX_LINES_REPORTED else ""
    return DataError(f"{name}: {len(lines)} ragged row{s} at line{s} {shown}{rest} (expected {width} fields); "
                     "rows are not skipped where each result must line up with its input row: fix or remove them")


def _note_skipped(f: _File, lines: list[int], width: int) -> None:
    """Report ragged rows: the first line numbers and a count of the rest.

    pandas numbers records, which match file lines unless a quoted field spans lines.
    """
    shown = ", ".join(map(str, lines[:MAX_LINES_REPORTED]))
    rest = f" and {len(lines) - MAX_LINES_REPORTED} more" if len(lines) > MAX_LINES_REPORTED else ""
    s = "s" if len(lines) > 1 else ""
    f.note(f"skipped {len(lines)} ragged row{s} at line{s} {shown}{rest} (expected {width} fields)")


def _read_json(f: _File, encoding: str) -> pd.DataFrame:
    """Read JSON lines, or a JSON array of records (or one object of columns)."""
    # dtype=False: keep JSON's own types rather than guessing dates or downcasting
    options: dict[str, Any] = {"encoding": encoding, "compression": f.pandas_compression,
                               "dtype": False}
    array = f.head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")
    for lines in ([False] if array else [True, False]):
        try:
            df = pd.read_json(f.path, lines=lines, **options)
        except ValueError as e:
            error = e
            continue
        # One object of columns ({"x": {"0": 1, ...}}) reads as one line of dicts.
        if not (lines and len(df) == 1 and all(isinstance(v, dict) for v in df.iloc[0])):
            return df
    raise f.error(f"is not valid JSON lines or a JSON array of records ({error})") from error


def _read_excel(f: _File) -> pd.DataFrame:
    """Read the first sheet of a workbook, refusing duplicated header cells."""
    try:
        with pd.ExcelFile(f.pandas_source()) as book:
            sheets = book.sheet_names
            header = pd.read_excel(book, sheet_name=0, header=None, nrows=1).to_numpy().ravel()
            df = pd.read_excel(book, sheet_name=0, na_values=NA_VALUES)
    except ImportError as e:  # .xls needs xlrd, which homl does not require
        raise f.error(f"needs an extra package to read this Excel format ({e})") from e
    except Exception as e:  # Excel readers raise assorted types on corrupt files
        raise f.error(f"cannot be read as an Excel workbook ({e}); expected a valid .xlsx") from e
    _check_duplicates([h for h in header if pd.notna(h)], f.name)
    if len(sheets) > 1:
        f.note(f"read the first of {len(sheets)} sheets ('{sheets[0]}')")
    return df


# ---------------------------------------------------------------- databases


def _mask_url(url: str) -> str:
    """Hide the password of a database URL, for messages."""
    return re.sub(r"(://[^:/@]*):[^/]*@", r"\1:***@", url)


def _read_sql(url: str, label: str, query: str | None, notes: list[str]) -> pd.DataFrame:
    """Read a table or query result through SQLAlchemy."""
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise DataError(f"{label}: not a valid database URL; expected e.g. sqlite:///file.db") from e
    database = parsed.database or ""
    # sqlite would silently create a missing file: refuse that instead
    if parsed.drivername.startswith("sqlite") and database not in ("", ":memory:") \
            and not database.startswith("file:") and not Path(database).is_file():
        raise DataError(f"{label}: no such database file '{database}'{_suggest(Path(database))}")
    engine = None
    try:
        engine = create_engine(parsed)
        with engine.connect() as con:
            inspector = inspect(con)
            tables = inspector.get_table_names() + inspector.get_view_names()
            if query is None:
                if len(tables) != 1:
                    held = f"{len(tables)} tables ({', '.join(tables)})" if tables else "no tables"
                    raise DataError(f"{label}: holds {held}; expected query= naming a table "
                                    "or an SQL query")
                query = tables[0]
                notes.append(f"{label}: read its only table '{query}'")
            if re.fullmatch(r"\w+", query):
                if query not in tables:
                    raise DataError(f"{label}: no table '{query}'; tables: "
                                    f"{', '.join(tables) or 'none'}")
                return pd.read_sql_table(query, con)
            return pd.read_sql_query(text(query), con)
    except (SQLAlchemyError, pd.errors.DatabaseError, ImportError) as e:
        cause: BaseException = e  # pandas wraps SQLAlchemy's error, which wraps the driver's
        while getattr(cause, "orig", None) is None and cause.__cause__ is not None:
            cause = cause.__cause__
        reason = str(getattr(cause, "orig", None) or cause).splitlines()[0]
        raise DataError(f"{label}: cannot connect or run the query ({reason})") from e
    finally:
        if engine is not None:
            engine.dispose()
