"""Evaluation layer: diagnostics of a fitted model that refit or cross-validate it (importances,
learning and validation curves, partial dependence, the leakage check, test rows outside the
training range), what distinguishes the segments of a segmentation, why a row is an anomaly, and how well
ranked recommendations hit what users went on to pick, whether new rows drift from the training rows, and how
a deployed model scores on labelled live rows, as plain data."""

from ._anomalies import label_scores, reason_statistics, row_reasons, threshold_for
from ._diagnose import (
    DIAGNOSTICS_FILE,
    DiagnoseInput,
    diagnose,
    learning_verdict,
    normalised_error,
    tuning_history,
)
from ._drift import (
    DriftResult,
    DriftThresholds,
    FeatureDrift,
    check_drift,
    check_prediction_drift,
    reference_summary,
    summary_of_predictions,
)
from ._importance import best_importance
from ._live import LivePerformance, live_performance, window_offset
from ._ranking import per_user_ranking, ranking_scores, top_items
from ._segments import segment_diagnostics, segment_profiles

__all__ = [
    "DIAGNOSTICS_FILE",
    "DiagnoseInput",
    "DriftResult",
    "DriftThresholds",
    "FeatureDrift",
    "LivePerformance",
    "check_drift",
    "check_prediction_drift",
    "live_performance",
    "window_offset",
    "reference_summary",
    "summary_of_predictions",
    "best_importance",
    "label_scores",
    "reason_statistics",
    "row_reasons",
    "threshold_for",
    "diagnose",
    "learning_verdict",
    "normalised_error",
    "per_user_ranking",
    "ranking_scores",
    "segment_diagnostics",
    "segment_profiles",
    "top_items",
    "tuning_history",
]
