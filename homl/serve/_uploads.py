"""Table uploads to the prediction routes: CSV and Parquet bodies read as rows, checked as JSON
``instances`` are, and predictions answered as a CSV table when the client asks for one."""

from __future__ import annotations

import datetime
import decimal
import io
import json
import math
from typing import Any, get_args
from urllib.parse import quote

import pandas as pd
from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel

from ._schema import MAX_INSTANCES, BadRows, check_columns

#: The content types of a JSON body.
JSON_TYPES = ("application/json",)
#: The content types of a table upload, and the format each names.
TABLE_TYPES = {"text/csv": "csv", "application/csv": "csv", "application/vnd.apache.parquet": "parquet",
               "application/x-parquet": "parquet", "application/parquet": "parquet"}


def content_type(request: Request) -> tuple[str, str | None]:
    """The request's media type (lower case; empty when not given) and its ``charset``, if named."""
    kind, *parameters = request.headers.get("content-type", "").split(";")
    charset = None
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"') or None
    return kind.strip().lower(), charset


def wants_csv(request: Request) -> bool:
    """Whether the ``Accept`` header prefers a CSV table to JSON."""
    accept = request.headers.get("accept", "")
    if "csv" not in accept:
        return False
    ranked = []
    for position, part in enumerate(accept.split(",")):
        media, *parameters = part.split(";")
        quality = 1.0
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, position, media.strip().lower()))
    for _, _, media in sorted(ranked):
        if media in ("text/csv", "application/csv"):
            return True
        if media in ("application/json", "application/*", "*/*"):
            return False
    return False


def csv_answer(result: dict[str, Any]) -> Response:
    """The predictions as a CSV table, one row per instance: ``prediction``, ``proba_<class>``
    (classifiers), then the model's other outputs; model, version and warnings in headers."""
    columns: dict[str, list[Any]] = {"prediction": result["predictions"]}
    for label in (result.get("probabilities") or [{}])[0]:
        columns[f"proba_{label}"] = [row[label] for row in result["probabilities"]]
    columns.update(result.get("outputs") or {})
    headers = {"X-Homl-Model": header_value(result["model"]), "X-Homl-Version": str(result["version"])}
    if result.get("warnings"):
        headers["X-Homl-Warnings"] = json.dumps(result["warnings"])
    return Response(pd.DataFrame(columns).to_csv(index=False), media_type="text/csv", headers=headers)


def header_value(text: str) -> str:
    """``text`` as an HTTP header value: printable ASCII as it is, anything else (``%`` included)
    percent-encoded as UTF-8, so that ``urllib.parse.unquote`` gives ``text`` back."""
    return quote(text, safe="".join(chr(c) for c in range(32, 127) if chr(c) != "%"), errors="surrogatepass")


def table_rows(request: type[BaseModel], form: str, body: bytes, charset: str | None) -> list[dict[str, Any]]:
    """The rows of a CSV or Parquet body, checked like JSON ``instances``: missing or unknown
    columns, and each bad cell by row and field, in a :class:`BadRows`."""
    fields = get_args(request.model_fields["instances"].annotation)[0].model_fields
    columns = _read_csv(body, charset) if form == "csv" else _read_parquet(body)
    problems = [{"row": None, "field": column, "message": "unknown column: the model has no such feature"}
                for column in columns if column not in fields]
    problems += [{"row": None, "field": field, "message": "missing column: send it, with empty cells where unknown"}
                 for field, info in fields.items() if info.is_required() and field not in columns]
    if problems:
        raise BadRows(problems[:50])
    if form == "csv":
        columns = {column: _typed(values, fields[column].annotation) for column, values in columns.items()}
    return check_columns(request, columns)


def _read_csv(body: bytes, charset: str | None) -> dict[str, list[str | None]]:
    """A CSV body's columns as text, empty and missing-value cells (``NA``, ``null``, ``?``...) as
    None; a leading column with no name (the index pandas writes) is left out."""

    def refused(message: str) -> BadRows:
        return BadRows([{"row": None, "field": None, "message": message}])

    try:
        text = body.decode(charset or "utf-8").removeprefix("\ufeff")
    except LookupError:
        raise refused(f"unknown charset {charset!r} in the Content-Type: send UTF-8") from None
    except UnicodeDecodeError as error:
        raise refused(f"the CSV body is not {charset or 'UTF-8'} text (byte {error.start}): send UTF-8, or name "
                      "its encoding as the Content-Type's charset") from None
    expected = "expected a header row naming the features, then a row per instance, comma-separated"
    try:
        frame = pd.read_csv(io.StringIO(text), header=None, dtype=str, na_filter=False) if text.strip() else None
    except Exception as error:  # whatever the parser makes of untrusted bytes is the client's to fix
        raise refused(f"the body is not a readable CSV table ({error}): {expected}") from None
    if frame is None or frame.empty:
        raise refused(f"the CSV body is empty: {expected}")
    header = ["" if pd.isna(name) else str(name) for name in frame.iloc[0]]
    if len(header) == 1 and any(separator in header[0] for separator in ";\t|"):
        raise refused(f"the header is one column, {header[0][:200]!r}: expected the features separated by commas")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise BadRows([{"row": None, "field": name, "message": "the header names this column more than once"}
                       for name in repeated[:50]])
    _check_length(len(frame) - 1)
    skip = 1 if len(header) > 1 and header[0].strip() == "" else 0
    return {header[j]: [None if pd.isna(value) or value in _MISSING else value for value in frame.iloc[1:, j]]
            for j in range(skip, len(header))}


#: The cells a CSV upload reads as missing: pandas' and ``read_table``'s.
_MISSING = frozenset({"", "NA", "N/A", "n/a", "#N/A", "#NA", "<NA>", "NaN", "-NaN", "nan", "-nan", "NULL", "null",
                      "None", "?"})


def _read_parquet(body: bytes) -> dict[str, list[Any]]:
    """A Parquet body's columns as plain values (NaN and null as None, dates and times as ISO
    strings); the index columns pandas writes are left out."""
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(io.BytesIO(body))
        rows, names = file.metadata.num_rows, file.schema_arrow.names
        written = file.schema_arrow.pandas_metadata or {}
    except Exception as error:  # whatever the reader makes of untrusted bytes is the client's to fix
        raise BadRows([{"row": None, "field": None, "message": f"the body is not a readable Parquet file ({error})"}]
                      ) from None
    _check_length(rows)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise BadRows([{"row": None, "field": name, "message": "the file has more than one column of this name"}
                       for name in repeated[:50]])
    index = written.get("index_columns") if isinstance(written, dict) else None
    skipped = {name for name in index if isinstance(name, str)} if isinstance(index, list) else set()
    try:
        table = file.read(columns=[name for name in names if name not in skipped])
        return {name: [_plain(value) for value in values] for name, values in table.to_pydict().items()}
    except Exception as error:  # a column pyarrow cannot turn into Python values
        raise BadRows([{"row": None, "field": None, "message": f"the Parquet file cannot be read ({error})"}]
                      ) from None


def _check_length(rows: int) -> None:
    if rows > MAX_INSTANCES:
        raise BadRows([{"row": None, "field": None,
                        "message": f"too many instances: {rows:,} rows; at most {MAX_INSTANCES:,} a request"}])


def _typed(values: list[str | None], annotation: Any) -> list[Any]:
    """CSV text as the field's type (number or boolean) where it reads as one; other text is left
    for the schema to refuse, naming the row and field."""
    kinds = get_args(annotation)
    if float in kinds:
        return [_number(value) for value in values]
    if bool in kinds:
        return [_BOOLEANS.get(value.strip().lower(), value) if value is not None else None for value in values]
    return values


_BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def _number(value: str | None) -> float | str | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return value


def _plain(value: Any) -> Any:
    """A value read from Parquet as JSON would carry it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return str(value)
