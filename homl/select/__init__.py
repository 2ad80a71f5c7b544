"""Selection layer: cross-validation, short-list, search and ensembles, within a time budget."""

from ._cv import Evaluation, Folds, OutOfTime, cross_validate, make_folds, predict_output, refit_time
from ._ensemble import greedy_weights, stacking, voting
from ._search import Search
from ._shortlist import baseline, shortlist

__all__ = [
    "Evaluation",
    "Folds",
    "OutOfTime",
    "Search",
    "baseline",
    "cross_validate",
    "greedy_weights",
    "make_folds",
    "predict_output",
    "refit_time",
    "shortlist",
    "stacking",
    "voting",
]
