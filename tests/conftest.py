"""``diagnose_input``: a model fitted on generated data, wrapped as the diagnostics' input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from homl.data import infer_schema
from homl.evaluate import DiagnoseInput
from homl.metrics import get_metric


def _diagnose_input(X: pd.DataFrame, y: np.ndarray, task: str, build: Callable[[dict[str, Any]], Any], *,
                    params: dict[str, Any] | None = None, space: dict[str, Any] | None = None,
                    metric: str | None = None) -> DiagnoseInput:
    """``build(params)`` fitted on the first three quarters of the rows, the rest as the test set."""
    cut = len(X) * 3 // 4
    params = dict(params or {})
    model = build(params).fit(X.iloc[:cut], y[:cut])
    return DiagnoseInput(
        model=model, X_train=X.iloc[:cut], y_train=y[:cut], X_test=X.iloc[cut:], y_test=y[cut:], task=task,
        metric=get_metric(metric, task), schema=infer_schema(X), winner="model", single="model",
        single_params=params, build_single=build, space=dict(space or {}), seed=0,
        # A fit estimate far below the real cost: the curves take all the rows they may.
        fit_seconds=1e-4, fit_rows=cut,
    )


@pytest.fixture
def diagnose_input() -> Callable[..., DiagnoseInput]:
    """``diagnose_input(X, y, task, build, params=..., space=..., metric=...)`` -> DiagnoseInput."""
    return _diagnose_input
