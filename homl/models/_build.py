"""Assemble a family and its parameters into one scikit-learn pipeline."""

from __future__ import annotations

from typing import Any

from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from homl.data import Schema, SchemaCoercer
from homl.prep import TablePreprocessor

from ._wrappers import RowCap
from ._zoo import REGRESSION, ModelSpec

PREP_PREFIX = "prep:"
#: Tables up to this many cells (rows x features), or this many rows, are fitted on one thread.
SMALL_TABLE_CELLS = 100_000
SMALL_TABLE_ROWS = 5_000


def build_pipeline(
    spec: ModelSpec,
    task: str,
    schema: Schema,
    params: dict[str, Any] | None = None,
    *,
    seed: int = 42,
    threads: int | None = None,
    holdout: str = "random",
) -> Pipeline:
    """``schema → prep → model``: a pipeline that takes the raw table and predicts.

    ``params`` holds model parameters and ``prep:``-prefixed preparation options;
    ``threads`` sets the model's ``n_jobs`` where it has one (see :func:`threads_for`);
    ``holdout`` is how a booster sets its early-stopping rows aside (the kind of the fit's
    :class:`~homl.data.SplitStrategy`).
    """
    params = dict(params or {})
    prep_options = {**spec.prep, **{k[len(PREP_PREFIX):]: v for k, v in params.items() if k.startswith(PREP_PREFIX)}}
    model_params = {k: v for k, v in params.items() if not k.startswith(PREP_PREFIX)}
    model = spec.make(task, seed)
    if model_params:
        model.set_params(**_route(model, model_params))
    if threads is not None:
        model.set_params(**{k: threads for k in model.get_params(deep=True) if k.split("__")[-1] == "n_jobs"})
    if holdout != "random":
        model.set_params(**{k: holdout for k in model.get_params(deep=True) if k.split("__")[-1] == "holdout"})
    if spec.max_rows is not None:
        model = RowCap(model, max_rows=spec.max_rows, random_state=seed)
    if spec.scale_target and task == REGRESSION:
        model = TransformedTargetRegressor(model, transformer=StandardScaler())
    target_type = "continuous" if task == REGRESSION else task
    prep = TablePreprocessor(columns=schema.kinds(), target_type=target_type, random_state=seed, **prep_options)
    return Pipeline([("schema", SchemaCoercer(schema.to_dict())), ("prep", prep), ("model", model)])


def threads_for(n_rows: int, n_features: int) -> int | None:
    """Threads for a model fitted on this much data: one for small tables, else all cores.

    On a small table a second thread gains nothing: a forest's every prediction pays for
    starting its threads (a tenth of a second for a few rows), and when another process
    keeps a core busy, multi-threaded LightGBM and XGBoost spin on it and slow down
    several-fold (up to a hundredfold seen on a 2-core machine); a single thread is immune.
    ``None`` keeps the family's default (every core).
    """
    small = n_rows <= SMALL_TABLE_ROWS or n_rows * max(n_features, 1) <= SMALL_TABLE_CELLS
    return 1 if small else None


def _route(model: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Map each parameter to where it lives: the model, its wrapped estimator, or its last step.

    Parameters the model does not have are left out (a space may serve several tasks).
    """
    available = model.get_params(deep=True)
    prefixes = ["", "estimator__", "regressor__", "estimator__estimator__"]
    if isinstance(model, Pipeline):
        prefixes.append(f"{model.steps[-1][0]}__")
    routed = {}
    for key, value in params.items():
        for prefix in prefixes:
            if prefix + key in available:
                routed[prefix + key] = value
                break
    return routed


def tunable_space(spec: ModelSpec, task: str) -> dict[str, Any]:
    """The part of the family's space that applies to this task's estimator."""
    routed = _route(spec.make(task, 0), {name: None for name in spec.space})
    kept = {key.split("__")[-1] for key in routed}
    return {name: dim for name, dim in spec.space.items() if name in kept}
