"""Evaluation layer: diagnostics of a fitted model that refit or cross-validate it (importances,
learning and validation curves, partial dependence, the leakage check, test rows outside the
training range), as plain data."""

from ._diagnose import (
    DIAGNOSTICS_FILE,
    DiagnoseInput,
    diagnose,
    learning_verdict,
    normalised_error,
    tuning_history,
)
from ._importance import best_importance

__all__ = [
    "DIAGNOSTICS_FILE",
    "DiagnoseInput",
    "best_importance",
    "diagnose",
    "learning_verdict",
    "normalised_error",
    "tuning_history",
]
