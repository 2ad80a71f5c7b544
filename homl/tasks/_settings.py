"""The settings of a fit as a few frozen values, built once from ``fit``'s keywords.

``Budget`` does the time arithmetic (when each step must end), ``SplitSettings`` says how
rows are held out and folded, ``SearchSettings`` which families are tried and how hard.
``TrainTest`` carries the prepared rows between the steps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from homl import data as hdata

#: Share of the budget given to the short-list; the search gets what is left before the finish.
SHORTLIST_SHARE = 0.3
#: ...and without a search, the short-list may use this share.
SHORTLIST_SHARE_UNTUNED = 0.8
#: An anchor family (the likely winner) may run on in the short-list until this share.
ANCHOR_SHARE = 0.6
#: With a report, ``REPORT_SECONDS`` plus this share of the budget is kept for its diagnostics
#: and drawing; the search ends that much earlier.
REPORT_SECONDS = 7.0
REPORT_SHARE = 0.1
#: Of that, seconds kept for drawing the figures and saving the model and report (plus 2% of
#: the budget): matplotlib's import takes about 1.5 s, each of some 13 figures a quarter of a
#: second, the model's serialisation about a second (measured on a 2-core machine).
DRAW_SECONDS = 6.0
DRAW_SHARE = 0.02


def report_seconds(time_limit: float) -> float:
    """Seconds of the budget kept for the report: its diagnostics, figures and save."""
    return REPORT_SECONDS + REPORT_SHARE * time_limit


@dataclass(frozen=True)
class Budget:
    """When a fit started, when it must end, and when each of its steps must be done."""

    time_limit: float
    start: float = field(default_factory=time.monotonic)
    report: bool = False

    @property
    def end(self) -> float:
        return self.start + self.time_limit

    @property
    def fit_end(self) -> float:
        """The search and the finish end early enough to leave the report its share."""
        return self.end - (report_seconds(self.time_limit) if self.report else 0.0)

    def shortlist_end(self, tune: bool) -> float:
        share = SHORTLIST_SHARE if tune else SHORTLIST_SHARE_UNTUNED
        return min(self.start + self.time_limit * share, self.fit_end - 0.2 * self.time_limit)

    def anchor_end(self, tune: bool) -> float:
        """Until when an anchor family may be cross-validated in the short-list (never before its end)."""
        return max(min(self.start + self.time_limit * ANCHOR_SHARE, self.fit_end - 0.2 * self.time_limit),
                   self.shortlist_end(tune))

    @property
    def diagnostics_end(self) -> float:
        """The report's diagnostics stop here, leaving time to draw and save."""
        return self.end - DRAW_SECONDS - DRAW_SHARE * self.time_limit


@dataclass(frozen=True)
class SplitSettings:
    """How the test set is drawn and the training rows folded."""

    test: Any = None
    test_size: float = 0.2
    cv: int = 5
    seed: int = 42
    group_by: str | None = None
    time_column: str | None = None
    gap: int = 0

    def strategy(self) -> hdata.SplitStrategy:
        """The one split strategy every later split follows (folds, samples, early stopping)."""
        return hdata.SplitStrategy.from_options(group_by=self.group_by, time_column=self.time_column,
                                                n_folds=self.cv, seed=self.seed, gap=self.gap)


@dataclass(frozen=True)
class SearchSettings:
    """Which families are tried, and which steps run after the short-list."""

    models: tuple[str, ...] | None = None
    tune: bool = True
    ensemble: bool = True
    refit_full: bool = True
    seed: int = 42
    #: Bag the final model over folds when affordable (never with time-ordered folds).
    bagging: bool = True


@dataclass
class TrainTest:
    """The training and test rows, coerced to the schema, with their targets (and groups)."""

    X_train: pd.DataFrame
    y_train: np.ndarray
    X_test: pd.DataFrame
    y_test: np.ndarray
    groups: np.ndarray | None = None
    test_groups: np.ndarray | None = None

    @property
    def n_final(self) -> int:
        """Rows of the final refit on everything."""
        return len(self.X_train) + len(self.X_test)
