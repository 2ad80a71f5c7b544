"""Kinds of model: what every model homl saves can do, and which class loads each kind.

A model directory's ``metadata.json`` names its ``kind`` (``"supervised"`` for a model made by
:func:`homl.fit`; a format-1 directory, from before kinds, is ``"supervised"`` too). :func:`load`
reads that name, finds the class in ``KINDS`` and lets it load the directory, so ``homl.load``,
``homl predict``, ``homl info`` and ``homl report`` work on every kind the same way. A new kind is
a class with the methods of :class:`ModelKind` and one line in ``KINDS``.

>>> import homl
>>> model = homl.load("models/housing")  # doctest: +SKIP
>>> issues = []
>>> model.predict_frame("new-rows.csv", issues=issues)  # doctest: +SKIP
>>> model.info().summary  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from homl.errors import ModelDirError
from homl.registry import read_metadata

if TYPE_CHECKING:
    import pandas as pd

    from homl.data import Schema
    from homl.report import Report

#: The kinds of model directory this homl reads: ``kind`` in metadata.json → ``module:Class``.
#: Classes are imported when a model of their kind loads, so one kind's libraries never load
#: for another's.
KINDS: dict[str, str] = {
    "supervised": "homl.tasks._model:TabularModel",
    "segment": "homl.tasks.segment:SegmentModel",
    "anomalies": "homl.tasks.anomalies:AnomalyModel",
    "reduce": "homl.tasks.reduce:ReduceModel",
    "forecast": "homl.tasks.forecast:ForecastModel",
    "recommend": "homl.tasks.recommend:RecommendModel",
}


@dataclass(frozen=True)
class ModelInfo:
    """What ``homl info`` shows of a model, as plain values the command line renders."""

    kind: str
    #: Lines a person reads first: the task, the score, the winning model, when it was trained.
    summary: list[str]
    schema: Schema | None = field(default=None, repr=False)
    leaderboard: pd.DataFrame | None = field(default=None, repr=False)
    #: The metric the leaderboard's scores are in.
    metric: str = ""
    versions: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class ModelKind(Protocol):
    """What a loaded model of any kind offers.

    Prediction keeps no state on the model, so one model may serve many threads at once:
    the problems found in new rows (unseen categories, unreadable values, extra columns) are
    logged as warnings and appended to the caller's ``issues`` list when one is given.
    """

    #: The name stored as ``kind`` in metadata.json, and the key of the class in ``KINDS``.
    kind: ClassVar[str]
    #: The model directory's metadata (what ``metadata.json`` holds, in the newest format).
    metadata: dict[str, Any]

    @classmethod
    def load(cls, path: str | Path) -> ModelKind:
        """Read the model directory at ``path`` (only trusted types are deserialised)."""
        ...

    def check(self, data: Any) -> tuple[pd.DataFrame, list[str]]:
        """New rows (a DataFrame or a table file) checked against the schema: the frame the model
        reads and the problems found; a missing required column is an error naming it."""
        ...

    def predict_frame(self, data: Any, *, issues: list[str] | None = None) -> pd.DataFrame:
        """One row of named prediction columns per input row, in input order (same index)."""
        ...

    def info(self) -> ModelInfo:
        """What ``homl info`` shows."""
        ...

    def report(self) -> Report:
        """The model's report, built from what its directory holds."""
        ...


def kind_class(name: str) -> type[ModelKind]:
    """The class that loads models of kind ``name``; a :class:`ModelDirError` naming the known kinds."""
    if name not in KINDS:
        raise ModelDirError(f"unknown model kind {name!r}; this homl knows {', '.join(map(repr, sorted(KINDS)))}")
    module, _, attribute = KINDS[name].partition(":")
    return getattr(import_module(module), attribute)


def load(path: str | Path) -> ModelKind:
    """Load a model directory of any kind (written by ``homl fit -o`` or a result's ``save``).

    Only homl's allow-listed types are deserialised: a tampered file is refused. A directory of
    a kind this homl does not know raises :class:`ModelDirError` before anything is loaded.
    """
    kind = read_metadata(path)["kind"]
    try:
        cls = kind_class(kind)
    except ModelDirError as error:
        raise ModelDirError(f"{path} holds a model homl cannot load: {error}; upgrade homl to load it") from None
    return cls.load(path)
