"""A served model's request body, typed from its stored schema, and readable errors for bad rows.

Each feature of the schema becomes a field of one instance: a number (finite), a string (with
the training categories listed in the OpenAPI document), a boolean, or a date-time string; every
feature is required (``null`` is accepted and imputed as in training); an unknown field is
refused. Validation errors become a list of ``{"row", "field", "message"}``.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from homl.data import Schema

#: The most rows one request may hold.
MAX_INSTANCES = 10_000


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError("expected a finite number, not NaN or infinity")
    return value


def request_model(name: str, schema: Schema) -> type[BaseModel]:
    """The pydantic model of a predict request for ``schema``: ``{"instances": [{feature: value}, ...]}``."""
    fields: dict[str, Any] = {}
    for column in schema.columns:
        if column.name == schema.target:
            continue
        described = {"description": f"{column.kind} column"}
        if not column.usable:  # known to the model but not read by it: accepted, ignored
            fields[column.name] = (Any, Field(default=None, description="not used by the model"))
        elif column.kind == "numeric":
            fields[column.name] = (float | None, Field(..., **described))
        elif column.kind == "boolean":
            fields[column.name] = (bool | None, Field(..., **described))
        elif column.kind == "categorical":
            extra = {"x-categories": column.categories} if column.categories else {}
            fields[column.name] = (str | None, Field(..., description="category", json_schema_extra=extra))
        else:  # datetime and text are strings
            fields[column.name] = (str | None, Field(..., **described))
    numeric = [c.name for c in schema.columns if c.usable and c.kind == "numeric" and c.name != schema.target]
    validators = {"finite": field_validator(*numeric)(_finite)} if numeric else {}
    instance = create_model(f"{_title(name)}Instance", __config__=ConfigDict(extra="forbid", strict=True),
                            __validators__=validators, **fields)
    rows = Annotated[list[instance], Field(min_length=1, max_length=MAX_INSTANCES)]
    return create_model(f"{_title(name)}Request", __config__=ConfigDict(extra="forbid"), instances=(rows, ...))


def parse_instances(model: type[BaseModel], body: bytes) -> list[dict[str, Any]]:
    """The instances of a JSON request body, or a :class:`BadRows` naming each bad row and field."""
    try:
        parsed = model.model_validate_json(body)
    except ValidationError as error:
        raise BadRows([_problem(item) for item in error.errors()[:50]]) from None
    return [instance.model_dump() for instance in parsed.instances]


def check_columns(model: type[BaseModel], columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Column-wise data (``{"feature": [values...]}``, as TF Serving's ``inputs`` and KServe send
    it) as instances, checked like a JSON body."""
    problems = [{"row": None, "field": name, "message": "expected a list of values, one per row"}
                for name, values in columns.items() if not isinstance(values, list)]
    if problems:
        raise BadRows(problems[:50])
    lengths = {len(values) for values in columns.values()}
    if len(lengths) > 1:
        raise BadRows([{"row": None, "field": None, "message": f"the columns have different lengths: {sorted(lengths)}"}])
    n = lengths.pop() if lengths else 0
    rows = [{name: values[i] for name, values in columns.items()} for i in range(n)]
    return parse_instances(model, json.dumps({"instances": rows}, allow_nan=True).encode())


class BadRows(ValueError):
    """Rows that break the model's schema: ``problems`` lists each as row, field and message."""

    def __init__(self, problems: list[dict[str, Any]]):
        super().__init__("; ".join(_said(p) for p in problems))
        self.problems = problems


def _problem(item: dict[str, Any]) -> dict[str, Any]:
    location = [part for part in item["loc"] if part != "instances"]
    row = next((part for part in location if isinstance(part, int)), None)
    names = [part for part in location if isinstance(part, str) and part not in ("float", "str", "bool")]
    message = item["msg"].removeprefix("Value error, ")
    if item["type"] == "extra_forbidden":
        message = "unknown field: the model has no such column"
    elif item["type"] == "missing":
        message = "missing field: send it, null if unknown"
    elif item["type"] == "too_short":
        message = "no instances: send at least one row"
    elif item["type"] == "too_long":
        message = f"too many instances: at most {MAX_INSTANCES:,} rows a request"
    return {"row": row, "field": names[0] if names else None, "message": message}


def _said(problem: dict[str, Any]) -> str:
    where = " ".join(part for part in (f"row {problem['row']}" if problem["row"] is not None else "",
                                       f"field '{problem['field']}'" if problem["field"] else "") if part)
    return f"{where}: {problem['message']}" if where else problem["message"]


def _title(name: str) -> str:
    """A class name for ``name``'s request model, unique per name: ``housing`` gives ``Housing``; a name
    that does not read back from its title (``my-model``, ``MyModel``) gets a digest of itself too."""
    words = "".join(c if c.isascii() and c.isalnum() else " " for c in name).split()
    title = "".join(word.capitalize() for word in words) or "Model"
    if title.lower() == name:
        return title
    return f"{title}_{hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()[:10]}"
