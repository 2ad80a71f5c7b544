"""Evaluation layer: diagnostics of a fitted model that refit or cross-validate it (importances,
learning and validation curves, partial dependence, the leakage check), as plain data."""

from ._diagnose import (
    DIAGNOSTICS_FILE,
    DiagnoseInput,
    diagnose,
    learning_verdict,
    normalised_error,
    tuning_history,
)

__all__ = [
    "DIAGNOSTICS_FILE",
    "DiagnoseInput",
    "diagnose",
    "learning_verdict",
    "normalised_error",
    "tuning_history",
]
