"""Selection layer: cross-validation, short-list, search and ensembles, within a time budget."""

from ._backtest import (
    Backtest,
    backtest,
    coverage,
    forecast_window,
    interval_widths,
    score_points,
    window_length,
)
from ._cv import (
    BOOSTER_FIXED_SHARE,
    ROUNDS_GROWTH_POWER,
    Evaluation,
    Folds,
    OutOfTime,
    cross_validate,
    fit_pipeline,
    keep_models_of,
    make_folds,
    predict_output,
    refit_time,
    rounds_growth,
)
from ._ensemble import LAYERED, greedy_weights, layered, stacking, voting
from ._executor import Executor, Job, LocalExecutor, Outcome, Pruned, run_job
from ._forecast_blend import blend_backtest, selection_weights
from ._leaderboard import LEADERBOARD_COLUMNS, leaderboard
from ._ray import RayExecutor, join_cluster
from ._search import Search, cost_ratio, size_defaults
from ._shortlist import baseline, shortlist
from ._threshold import THRESHOLD_METRICS, Decision, choose_threshold, decision_metric

__all__ = [
    "LEADERBOARD_COLUMNS",
    "BOOSTER_FIXED_SHARE",
    "ROUNDS_GROWTH_POWER",
    "Backtest",
    "backtest",
    "coverage",
    "forecast_window",
    "interval_widths",
    "score_points",
    "window_length",
    "blend_backtest",
    "selection_weights",
    "LAYERED",
    "THRESHOLD_METRICS",
    "Decision",
    "Evaluation",
    "Executor",
    "Job",
    "LocalExecutor",
    "Outcome",
    "Pruned",
    "RayExecutor",
    "join_cluster",
    "run_job",
    "Folds",
    "OutOfTime",
    "Search",
    "baseline",
    "choose_threshold",
    "cost_ratio",
    "cross_validate",
    "decision_metric",
    "fit_pipeline",
    "greedy_weights",
    "keep_models_of",
    "layered",
    "leaderboard",
    "make_folds",
    "predict_output",
    "refit_time",
    "rounds_growth",
    "shortlist",
    "size_defaults",
    "stacking",
    "voting",
]
