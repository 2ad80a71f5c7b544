"""The models a server answers with: each registered name's promoted version, swapped in place.

``ModelPool.refresh`` asks the registry which version each name's ``production`` alias (else
its newest version) points to and loads any that changed, beside the one serving; the swap is
one assignment, so a request in flight finishes on the version it started with and the next
one gets the new version. A version is loaded through ``homl.load`` (checked files, trusted types
only), and its request model is built from its schema. A table model whose pipeline has an exact
ONNX form, checked on its input example, predicts in ONNX Runtime (see
:func:`homl.tasks.export.served_form`); ``engine`` says which runs it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from homl.errors import HomlError
from homl.registry import ModelVersion, Registry

from ._schema import request_model

logger = logging.getLogger("homl")


@dataclass
class ServedModel:
    """One loaded version: the model, its registry record and its request body's model."""

    name: str
    record: ModelVersion
    model: Any
    request: type[BaseModel]
    requested: dict[int | str, Any] = field(default_factory=dict)
    #: What runs its predictions: "ONNX Runtime (...)" or "Python pipeline (why)".
    engine: str = "Python pipeline"

    @property
    def version(self) -> int:
        return self.record.version


#: Kinds of model the server does not take (their predictions are not one row per row of a table), and why.
UNSERVED_KINDS = {
    "forecast": "a forecast model; forecast with `homl predict MODEL_DIR`",
    "recommend": "a recommender; score pairs and list recommendations with `homl predict MODEL_DIR`",
}


class ModelPool:
    """The served versions of ``names`` (every registered model when None), from ``registry``;
    each predicts through its checked ONNX form where it has one, unless ``onnx`` is False."""

    def __init__(self, registry: Registry, names: list[str] | None = None, *, onnx: bool = True):
        self.registry = registry
        self.onnx = onnx
        if names:
            self.names = list(names)
        else:  # every model the server can take; the others are said and left out
            self.names = []
            for name in registry.names():
                kind = registry.get(name).kind
                if kind in UNSERVED_KINDS:
                    logger.warning("%s is not served: %s", name, UNSERVED_KINDS[kind])
                else:
                    self.names.append(name)
        self._served: dict[str, ServedModel] = {}
        self._pinned: dict[tuple[str, int], ServedModel] = {}
        self._lock = threading.Lock()
        self._failing: dict[str, str] = {}  # name: what went wrong, said once
        self.refresh()

    def refresh(self) -> list[str]:
        """Load the versions now promoted that are not served yet; the names swapped.

        A name whose new version cannot be loaded keeps serving its previous one (a warning says
        why, once per version) and the others are still refreshed; with no previous version (the
        first refresh), the error is raised."""
        swapped = []
        for name in self.names:
            current = self._served.get(name)
            record = None
            try:
                record = self.registry.get(name)
                if current is not None and current.record.version == record.version:
                    self._failing.pop(name, None)
                    continue
                loaded = self._load(name, record)
            except Exception as error:
                if current is None:
                    raise
                failed = (f"version {record.version} cannot be served" if record is not None
                          else "the registry cannot say which version to serve")
                if self._failing.get(name) != failed:
                    logger.warning("%s: %s (%s); still serving version %s", name, failed, error, current.version)
                self._failing[name] = failed
                continue
            self._failing.pop(name, None)
            self._served[name] = loaded  # one assignment: in-flight requests keep theirs
            swapped.append(name)
            if current is not None:
                logger.info("%s: now serving version %s (was %s)", name, record.version, current.version)
        return swapped

    def get(self, name: str, version: int | None = None) -> ServedModel | None:
        """The served version of ``name``, or its version ``version`` (loaded on first use); None if unknown."""
        if name not in self.names:
            return None
        if version is None:
            return self._served[name]
        if self._served[name].version == version:
            return self._served[name]
        with self._lock:
            key = (name, version)
            if key not in self._pinned:
                self._pinned[key] = self._load(name, self.registry.get(name, version))
            return self._pinned[key]

    def served(self) -> list[ServedModel]:
        return [self._served[name] for name in self.names]

    def _load(self, name: str, record: ModelVersion) -> ServedModel:
        import homl
        from homl.tasks.export import served_form

        if record.kind in UNSERVED_KINDS:
            raise HomlError(f"{name} version {record.version} cannot be served: {UNSERVED_KINDS[record.kind]}")
        model = homl.load(self.registry.path(name, record.version))
        fast, engine = served_form(model) if self.onnx else (model, "Python pipeline (ONNX turned off)")
        logger.info("%s version %s: predictions by %s", name, record.version, engine)
        return ServedModel(name, record, fast, request_model(name, model.schema), engine=engine)
