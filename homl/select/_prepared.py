"""Prepared folds, kept between the candidates that prepare the table the same way.

Most families share a preparation (every tree family fits the same imputing and encoding),
and a search's trials often repeat one. Fitting it once per fold and reusing the prepared
rows spares each of them that fit: on mid-sized tables with encoded categories or
geographic features, up to half of a booster's fold fit. A fold's preparation is fitted
as the whole pipeline would fit it (``fit_transform`` on the fold's training rows, so
target encodings are cross-fitted the same way), and a fold model is the same pipeline:
the shared preparation, then the model.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline

#: Preparations kept at once (each with its prepared rows of every fold), the least recently used dropped.
KEPT_PREPARATIONS = 3
#: Most memory one preparation's prepared rows may take, over all folds, to be kept.
MAX_PREPARED_BYTES = 128 * 2**20


class PreparedFolds:
    """Fitted preparations and their prepared rows, by fold and by the preparation's settings.

    Not carried along when the folds are copied to another process (a cluster's workers
    keep their own).
    """

    def __init__(self) -> None:
        self._kept: OrderedDict[str, dict[int, tuple[Any, Any, Any]]] = OrderedDict()
        self._too_large: set[str] = set()
        self._lock = threading.Lock()  # an executor may cross-validate in threads

    def __reduce__(self) -> tuple[type, tuple]:
        return (PreparedFolds, ())

    def get(self, pipeline: Pipeline, fold: int, fit: Any) -> tuple[Any, Any, Any]:
        """``(fitted preparation, prepared training rows, prepared validation rows)`` of ``fold``.

        ``fit()`` fits and applies the preparation when it is not kept: it returns that triple.
        """
        key = preparation_key(pipeline)
        with self._lock:
            by_fold = self._kept.get(key)
            if by_fold is not None and fold in by_fold:
                self._kept.move_to_end(key)
                return by_fold[fold]
        prepared = fit()
        with self._lock:
            if key not in self._too_large:
                self._keep(key, fold, prepared)
        return prepared

    def _keep(self, key: str, fold: int, prepared: tuple[Any, Any, Any]) -> None:
        by_fold = self._kept.setdefault(key, {})
        by_fold[fold] = prepared
        self._kept.move_to_end(key)
        if sum(_nbytes(rows) for _, train, valid in by_fold.values() for rows in (train, valid)) > MAX_PREPARED_BYTES:
            self._too_large.add(key)
            del self._kept[key]
        while len(self._kept) > KEPT_PREPARATIONS:
            self._kept.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


def preparation_key(pipeline: Pipeline) -> str:
    """What identifies a pipeline's preparation: the settings of every step before the model."""
    import joblib

    return joblib.hash([(name, clone(step).get_params(deep=True)) for name, step in pipeline.steps[:-1]])


def shares_preparation(pipeline: Any) -> bool:
    """Whether a pipeline's steps before its model can be fitted once and shared."""
    return isinstance(pipeline, Pipeline) and len(pipeline.steps) >= 2 and pipeline.memory is None


def _nbytes(rows: Any) -> float:
    if hasattr(rows, "indices"):  # a sparse matrix
        return float(rows.data.nbytes + rows.indices.nbytes)
    if hasattr(rows, "memory_usage"):
        return float(rows.memory_usage(deep=False).sum())
    return float(getattr(rows, "nbytes", 0) or np.asarray(rows).nbytes)
