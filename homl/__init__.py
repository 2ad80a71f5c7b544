"""homl: machine-learning projects from raw data to a served model.

>>> import homl
>>> homl.explore("housing.csv", target="median_house_value")                      # doctest: +SKIP
>>> result = homl.fit("housing.csv", target="median_house_value", time_limit=60)  # doctest: +SKIP
>>> result.leaderboard                                                           # doctest: +SKIP
>>> homl.load("models/housing").predict(new_rows)                                # doctest: +SKIP

The public functions load on first use (PEP 562), so ``import homl`` stays fast and the
heavy libraries (scikit-learn, LightGBM, Optuna...) load only when work starts.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from homl._version import __version__
from homl.errors import ConfigError, DataError, HomlError, ModelDirError, SchemaError, TargetError

if TYPE_CHECKING:
    from homl.report.explore import explore
    from homl.tasks.tabular import FitResult, TabularModel, fit, load

_LAZY = {
    "explore": "homl.report.explore",
    "fit": "homl.tasks.tabular",
    "load": "homl.tasks.tabular",
    "FitResult": "homl.tasks.tabular",
    "TabularModel": "homl.tasks.tabular",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'homl' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "ConfigError",
    "DataError",
    "FitResult",
    "HomlError",
    "ModelDirError",
    "SchemaError",
    "TabularModel",
    "TargetError",
    "__version__",
    "explore",
    "fit",
    "load",
]
