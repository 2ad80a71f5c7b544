"""Plain-JSON copies of homl's values: dataclasses, numpy scalars and arrays, nested containers."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import numpy as np


def to_json(value: Any) -> Any:
    """Plain-JSON copy of dataclasses, numpy scalars and nested containers."""
    return json.loads(json.dumps(asdict(value) if hasattr(value, "__dataclass_fields__") else value, default=_default))


def _default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
