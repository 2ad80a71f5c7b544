"""homl: machine-learning projects from raw data to a served model.

>>> import homl
>>> result = homl.fit("housing.csv", target="median_house_value", time_limit=60)  # doctest: +SKIP
>>> result.leaderboard                                                           # doctest: +SKIP

Heavy libraries (LightGBM, Optuna, ...) load inside the functions that use them, so
``import homl`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homl.errors import ConfigError, DataError, HomlError, ModelDirError, SchemaError, TargetError

__version__ = "0.1.0"

if TYPE_CHECKING:
    from homl.tasks.tabular import FitResult, TabularModel


def fit(source: Any, target: str, **options: Any) -> FitResult:
    """Run a whole supervised project on a table: see :func:`homl.tasks.tabular.fit`."""
    from homl.tasks.tabular import fit as _fit

    return _fit(source, target, **options)


def load(path: Any) -> TabularModel:
    """Load a model directory written by ``FitResult.save`` or ``homl fit -o``."""
    from homl.tasks.tabular import TabularModel

    return TabularModel.load(path)


__all__ = [
    "ConfigError",
    "DataError",
    "HomlError",
    "ModelDirError",
    "SchemaError",
    "TargetError",
    "__version__",
    "fit",
    "load",
]
