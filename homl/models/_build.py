"""Assemble a family and its parameters into one scikit-learn pipeline."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, PowerTransformer, StandardScaler

from homl.data import Schema, SchemaCoercer
from homl.errors import ConfigError
from homl.prep import TablePreprocessor

from ._keras import KerasModel
from ._wrappers import ClippedOutput, EarlyStopping, RowCap
from ._zoo import REGRESSION, ModelSpec, _cores

PREP_PREFIX = "prep:"
#: The search option that fits a regressor to a transformed target (see :func:`target_space`).
TARGET_TRANSFORM = "target:transform"
#: Absolute skewness of the target above which transforming it is worth searching.
SKEWED_TARGET = 0.5
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
    :class:`~homl.data.SplitStrategy`). A regressor that extrapolates is kept within the
    training targets' range (see :class:`ClippedOutput`), except with time-ordered folds.
    """
    params = dict(params or {})
    target_transform = params.pop(TARGET_TRANSFORM, "none")
    if spec.log_link and target_transform != "none":
        raise ConfigError(f"{spec.name} models the log of the target's mean itself: {TARGET_TRANSFORM} must be none")
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
    if task == REGRESSION and (spec.scale_target or target_transform != "none"):
        model = TransformedTargetRegressor(model, transformer=_target_transformer(target_transform, spec.scale_target))
    if task == REGRESSION and spec.extrapolates and holdout != "time":  # a trend may rise past the past
        model = ClippedOutput(model)
    target_type = "continuous" if task == REGRESSION else task
    prep = TablePreprocessor(columns=schema.kinds(), target_type=target_type, random_state=seed, **prep_options)
    return Pipeline([("schema", SchemaCoercer(schema.to_dict())), ("prep", prep), ("model", model)])


def stopped_rounds(model: Any) -> int | None:
    """The trees the early-stopping booster inside a fitted ``model`` predicts with (None: it holds none).

    Looks through a pipeline's last step and the wrappers around it (target transforms,
    label encoding, output clipping, row caps, decision thresholds).
    """
    if isinstance(model, EarlyStopping):
        return getattr(model, "rounds_", None)
    if isinstance(model, KerasModel):  # a network's rounds are its epochs, chosen on held-out rows
        return getattr(model, "best_epoch_", None) if model.early_stopping else None
    if isinstance(model, Pipeline):
        return stopped_rounds(model.steps[-1][1])
    for name in ("estimator_", "regressor_"):
        inner = getattr(model, name, None)
        if inner is not None:
            return stopped_rounds(inner)
    return None


def with_epochs(pipeline: Any, epochs: int | None) -> Any:
    """``pipeline`` with every network in it training for at most ``epochs`` epochs (unchanged
    when ``epochs`` is None or it holds no network)."""
    if epochs is None:
        return pipeline
    keys = [key for key, value in pipeline.get_params(deep=True).items() if isinstance(value, KerasModel)]
    return pipeline.set_params(**{f"{key}__epochs": int(epochs) for key in keys}) if keys else pipeline


def with_rounds(pipeline: Any, rounds: int | None, growth: float = 1.0) -> Any:
    """``pipeline`` with its early-stopping booster set to grow ``rounds`` trees on every row
    (see :class:`EarlyStopping`), ``growth`` times as many when it learns from more rows than
    ``rounds`` were chosen on, or its early-stopping network to train ``rounds`` epochs on every
    row (an epoch already grows with the rows); unchanged when ``rounds`` is None or it holds neither."""
    if rounds is None:
        return pipeline
    params = pipeline.get_params(deep=True)
    boosters = [key for key, value in params.items() if isinstance(value, EarlyStopping)]
    networks = [key for key, value in params.items() if isinstance(value, KerasModel) and value.early_stopping]
    settings = {f"{key}__rounds": max(1, round(rounds * growth)) for key in boosters}
    for key in networks:  # every row learns, for the epochs the held-out rows chose
        settings.update({f"{key}__epochs": int(rounds), f"{key}__early_stopping": False})
    return pipeline.set_params(**settings) if settings else pipeline


def target_space(y: np.ndarray) -> dict[str, Any]:
    """The target transforms worth searching for a regression target: none, unless it is skewed.

    A skewed target may be learned better as ``log1p(y)`` (counts, prices, sizes: only for
    targets that are never negative) or through a Yeo-Johnson power transform; predictions are
    transformed back. Which one wins is the cross-validation's to say.
    """
    from ._space import Choice

    y = np.asarray(y, dtype=float)
    if not _skewed(y):
        return {}
    options = ("none", "log", "yeo-johnson") if y.min() >= 0 else ("none", "yeo-johnson")
    return {TARGET_TRANSFORM: Choice(options)}


def suits_log_link(y: np.ndarray) -> bool:
    """Whether a regression target is skewed and never negative: the targets a model of the log
    of the mean (a Poisson loss) is offered for (see ``ModelSpec.log_link``), as ``log1p`` is."""
    y = np.asarray(y, dtype=float)
    return _skewed(y) and bool(y.min() >= 0)


def _skewed(y: np.ndarray) -> bool:
    """Whether ``y`` varies and its absolute skewness reaches ``SKEWED_TARGET``."""
    from scipy.stats import skew

    return bool(len(y) >= 3 and np.ptp(y) > 0 and abs(float(skew(y))) >= SKEWED_TARGET)


def _target_transformer(name: str, scale: bool) -> Any:
    """What a regressor's target goes through: ``name``'s transform, then standardisation if ``scale``."""
    if name == "log":
        steps = [FunctionTransformer(np.log1p, np.expm1, check_inverse=False)]
    elif name == "yeo-johnson":  # standardises as well
        return PowerTransformer(method="yeo-johnson")
    elif name == "none":
        steps = []
    else:
        raise ConfigError(f"{TARGET_TRANSFORM} must be one of none, log, yeo-johnson; got {name!r}")
    if scale:
        steps.append(StandardScaler())
    return steps[0] if len(steps) == 1 else make_pipeline(*steps)


def threads_for(n_rows: int, n_features: int, free_cores: int | None = None) -> int | None:
    """Threads for a model fitted on this much data: one for small tables, else the free cores.

    On a small table a second thread gains nothing: a forest's every prediction pays for
    starting its threads (a tenth of a second for a few rows). When another process keeps a
    core busy, multi-threaded LightGBM and XGBoost wait for it at every step and slow down
    several-fold (twice as slow as one thread with one of two cores busy, up to a hundredfold
    seen), so a larger table gets only the ``free_cores`` (see :func:`free_cores`).
    ``None`` keeps the family's default (every core).
    """
    small = n_rows <= SMALL_TABLE_ROWS or n_rows * max(n_features, 1) <= SMALL_TABLE_CELLS
    if small:
        return 1
    cores = _cores()
    return None if free_cores is None or free_cores >= cores else max(1, free_cores)


def free_cores(samples: int = 5, interval: float = 0.05) -> int:
    """Cores not kept busy by other processes now: all of them, less the runnable processes seen.

    Reads the kernel's count of runnable processes (``procs_running`` in ``/proc/stat``) a few
    times, less this process; where that count does not exist, every core counts as free.
    """
    import time

    cores = _cores()
    seen = []
    for i in range(samples):
        try:
            with open("/proc/stat", encoding="ascii") as stat:
                running = next((int(line.split()[1]) for line in stat if line.startswith("procs_running")), None)
        except (OSError, ValueError):
            return cores
        if running is None:
            return cores
        seen.append(running - 1)
        if i < samples - 1:
            time.sleep(interval)
    return max(1, cores - int(round(float(np.median(seen)))))


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
