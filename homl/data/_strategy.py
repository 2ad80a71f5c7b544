"""One split strategy, drawn from the user's options, for every split after the test set.

Cross-validation folds, the search's row sample and the rows a booster holds out to stop
early all follow it, so none of them lets a model see the future (``time_column``) or
another row of its own group (``group_by``) while it is being selected.

>>> strategy = SplitStrategy.from_options(time_column="date", n_folds=3, gap=2)
>>> [(len(train), len(valid)) for train, valid in strategy.folds(20)]
[(3, 5), (8, 5), (13, 5)]
>>> strategy.sample(20, 5)
array([15, 16, 17, 18, 19])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from homl.errors import ConfigError

RANDOM = "random"
GROUP = "group"
TIME = "time"
KINDS = (RANDOM, GROUP, TIME)


@dataclass(frozen=True)
class SplitStrategy:
    """How rows are split: shuffled (``random``), by whole groups (``group``) or in time order (``time``).

    With ``time`` the rows must be given in time order (position = time): folds are expanding
    windows, each validated on the rows that follow its training rows after ``gap`` rows.
    With ``group`` every method takes the group of each row. ``strata`` (labels to stratify
    on) only shape random splits; labels with a single row are not stratified on. Random
    folds may be drawn ``repeats`` times over (each time shuffled anew): on a small table one
    draw of folds is too noisy to choose between models.
    """

    kind: str = RANDOM
    column: str | None = None  # the group or time column, for the notes
    n_folds: int = 5
    seed: int = 42
    gap: int = 0
    repeats: int = 1

    @classmethod
    def from_options(cls, *, group_by: str | None = None, time_column: str | None = None, n_folds: int = 5,
                     seed: int = 42, gap: int = 0) -> SplitStrategy:
        """The strategy for ``homl.fit``'s options; time order wins over groups, as for the test set."""
        if gap and time_column is None:
            raise ConfigError(f"gap={gap} only applies with a time_column; none was given")
        if gap < 0:
            raise ConfigError(f"gap must be a number of rows, 0 or more; got {gap}")
        if time_column is not None:
            return cls(TIME, time_column, n_folds, seed, gap)
        if group_by is not None:
            return cls(GROUP, group_by, n_folds, seed)
        return cls(RANDOM, None, n_folds, seed)

    def describe(self, n_folds: int | None = None) -> str:
        """How the folds are drawn, in words (``n_folds``: how many there turned out to be)."""
        n = self.n_folds if n_folds is None else n_folds
        if self.kind == TIME:
            gap = f", {self.gap} row(s) left out before each validation block" if self.gap else ""
            return f"{n} expanding-window folds by '{self.column}'{gap}"
        if self.kind == GROUP:
            return f"{n} folds keeping '{self.column}' groups together"
        if self.repeats > 1:
            return f"{n // self.repeats} folds of shuffled rows, drawn {self.repeats} times (seeds from {self.seed})"
        return f"{n} folds of shuffled rows (seed {self.seed})"

    def folds(self, n_rows: int, *, strata: np.ndarray | None = None, groups: np.ndarray | None = None
              ) -> list[tuple[np.ndarray, np.ndarray]]:
        """(training, validation) positions of each fold.

        Expanding windows leave the first block of rows unvalidated: read validated rows only.
        """
        from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold, TimeSeriesSplit

        positions = np.arange(n_rows)
        if self.kind == TIME:
            return list(TimeSeriesSplit(n_splits=self.n_folds, gap=self.gap).split(positions))
        if self.kind == GROUP:
            groups = self._groups(groups, n_rows)
            n_folds = min(self.n_folds, len(np.unique(groups)))
            return list(GroupKFold(n_splits=n_folds).split(positions, groups=groups))
        strata = _usable(strata)
        splits = []
        for repeat in range(max(self.repeats, 1)):
            seed = self.seed + repeat
            if strata is None:
                splits += KFold(min(self.n_folds, n_rows), shuffle=True, random_state=seed).split(positions)
            else:
                n_folds = max(min(self.n_folds, int(np.min(np.unique(strata, return_counts=True)[1]))), 2)
                splits += StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(positions, strata)
        return splits

    def sample(self, n_rows: int, size: int, *, strata: np.ndarray | None = None,
               groups: np.ndarray | None = None) -> np.ndarray:
        """Sorted positions of about ``size`` rows (all of them when there are no more).

        The latest rows as one block in time order, whole groups (their share of the groups
        is ``size``'s share of the rows), else a random sample stratified on ``strata``.
        """
        from sklearn.model_selection import GroupShuffleSplit, train_test_split

        positions = np.arange(n_rows)
        if size >= n_rows:
            return positions
        if self.kind == TIME:
            return positions[n_rows - size:]
        if self.kind == GROUP:
            splitter = GroupShuffleSplit(n_splits=1, train_size=size / n_rows, random_state=self.seed)
            keep, _ = next(splitter.split(positions, groups=self._groups(groups, n_rows)))
            return np.sort(keep)
        keep, _ = train_test_split(positions, train_size=size, random_state=self.seed, stratify=_usable(strata))
        return np.sort(keep)

    def holdout(self, n_rows: int, size: int, *, strata: np.ndarray | None = None,
                groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Sorted positions of the rows kept and of about ``size`` rows held out to validate on.

        The latest ``size`` rows (the ``gap`` rows before them are in neither), whole groups,
        or a random share stratified on ``strata``. Without the groups of grouped rows the
        split falls back to a random one.
        """
        from sklearn.model_selection import GroupShuffleSplit, train_test_split

        positions = np.arange(n_rows)
        if self.kind == TIME:
            return positions[: max(n_rows - size - self.gap, 0)], positions[n_rows - size:]
        if self.kind == GROUP and groups is not None and len(np.unique(groups)) > 1:
            splitter = GroupShuffleSplit(n_splits=1, test_size=size / n_rows, random_state=self.seed)
            kept, held = next(splitter.split(positions, groups=self._groups(groups, n_rows)))
            return np.sort(kept), np.sort(held)
        kept, held = train_test_split(positions, test_size=size, random_state=self.seed, stratify=_usable(strata))
        return np.sort(kept), np.sort(held)

    def _groups(self, groups: np.ndarray | None, n_rows: int) -> np.ndarray:
        if groups is None or len(groups) != n_rows:
            found = "none" if groups is None else f"{len(groups)}"
            raise ValueError(f"splitting by '{self.column}' groups needs the group of each of the {n_rows} rows; "
                             f"got {found}")
        return np.asarray(groups)


def time_order(df: pd.DataFrame, column: str) -> np.ndarray:
    """Positions of the rows of ``df`` from the earliest ``column`` value to the latest (stable; unreadable last)."""
    times = pd.to_datetime(df[column], errors="coerce", format="mixed", utc=True).dt.tz_localize(None).to_numpy()
    return np.argsort(times, kind="stable")


def _usable(strata: np.ndarray | None) -> np.ndarray | None:
    """``strata`` when every label has two rows or more (a lone row cannot be split), else None."""
    if strata is None or np.min(np.unique(strata, return_counts=True)[1]) < 2:
        return None
    return strata
