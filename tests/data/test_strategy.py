"""The split strategy: folds, samples and held-out rows drawn the same way for one fit."""

import numpy as np
import pytest

from homl.data import SplitStrategy
from homl.errors import ConfigError

TIME = SplitStrategy.from_options(time_column="t", n_folds=4, gap=3)
GROUPS = np.repeat(np.arange(40), 5)  # 40 groups of 5 rows
GROUP = SplitStrategy.from_options(group_by="g", n_folds=4)


def test_time_folds_are_expanding_windows_validated_after_a_gap():
    folds = TIME.folds(200)
    assert len(folds) == 4
    for (train, _), (next_train, _) in zip(folds, folds[1:]):
        assert len(next_train) > len(train)
    for train, valid in folds:
        assert np.array_equal(train, np.arange(len(train))) and valid.min() == train.max() + 1 + 3


def test_time_sample_and_holdout_are_the_latest_rows():
    assert np.array_equal(TIME.sample(200, 50), np.arange(150, 200))
    kept, held = TIME.holdout(200, 20)
    assert np.array_equal(held, np.arange(180, 200)) and np.array_equal(kept, np.arange(177))


def test_group_folds_sample_and_holdout_keep_groups_whole():
    for train, valid in GROUP.folds(200, groups=GROUPS):
        assert not set(GROUPS[train]) & set(GROUPS[valid])
    sample = GROUP.sample(200, 60, groups=GROUPS)
    assert np.all(np.bincount(GROUPS[sample], minlength=40) % 5 == 0) and len(sample) == 60
    kept, held = GROUP.holdout(200, 40, groups=GROUPS)
    assert not set(GROUPS[kept]) & set(GROUPS[held]) and len(held) == 40


def test_grouped_folds_refuse_rows_without_groups():
    with pytest.raises(ValueError, match="needs the group of each of the 200 rows"):
        GROUP.folds(200)


def test_random_splits_are_stratified_and_reproducible():
    strata = np.array([0] * 180 + [1] * 20)
    strategy = SplitStrategy(n_folds=5, seed=3)
    for _, valid in strategy.folds(200, strata=strata):
        assert (strata[valid] == 1).sum() == 4
    kept, held = strategy.holdout(200, 50, strata=strata)
    assert (strata[held] == 1).sum() == 5 and np.array_equal(held, strategy.holdout(200, 50, strata=strata)[1])


def test_a_gap_without_a_time_column_is_refused():
    with pytest.raises(ConfigError, match="only applies with a time_column"):
        SplitStrategy.from_options(group_by="g", gap=2)
    with pytest.raises(ConfigError, match="0 or more"):
        SplitStrategy.from_options(time_column="t", gap=-1)


def test_the_notes_say_how_the_folds_are_drawn():
    assert TIME.describe() == "4 expanding-window folds by 't', 3 row(s) left out before each validation block"
    assert GROUP.describe(3) == "3 folds keeping 'g' groups together"


def test_repeated_random_folds_partition_the_rows_once_per_repeat_each_shuffled_anew():
    strategy = SplitStrategy(n_folds=4, repeats=3)
    splits = strategy.folds(40, strata=np.repeat([0, 1], 20))
    assert len(splits) == 12
    for repeat in range(3):
        valid = np.concatenate([v for _, v in splits[repeat * 4:(repeat + 1) * 4]])
        np.testing.assert_array_equal(np.sort(valid), np.arange(40))
    assert not np.array_equal(splits[0][1], splits[4][1])
    assert "drawn 3 times" in strategy.describe(12)


def test_more_folds_than_rows_become_one_row_a_fold():
    splits = SplitStrategy.from_options(n_folds=500).folds(80)
    assert len(splits) == 80 and all(len(validation) == 1 for _, validation in splits)
