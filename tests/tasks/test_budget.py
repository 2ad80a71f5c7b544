"""The budget arithmetic: what a refit should cost, what the finish and the report keep, and
how much dearer a configuration is than the defaults."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from homl._progress import Progress
from homl.metrics import get_metric
from homl.select import BOOSTER_FIXED_SHARE, Evaluation, Folds, cost_ratio, refit_time, rounds_growth, size_defaults
from homl.tasks._finish import (
    BAG_FOLDS,
    BAG_SHARE,
    SAFETY,
    _closing_seconds,
    _growth_within,
    _refit_seconds_left,
    _scaled,
    _scoring_seconds,
    affordable,
    reserve_for_finish,
    rounds_growths,
)
from homl.tasks._settings import REPORT_SECONDS, REPORT_SHARE, Budget, report_seconds


def folds(n: int = 400) -> Folds:
    """Four folds of 400 rows: each fold fits on 300 of them."""
    splits = list(KFold(4, shuffle=True, random_state=0).split(np.arange(n)))
    return Folds(X=pd.DataFrame({"a": np.zeros(n)}), y=np.zeros(n), splits=splits,
                 metric=get_metric("rmse", "regression"), task="regression")


def candidate(name: str, fit_time: float) -> Evaluation:
    return Evaluation(name, {}, [1.0], fit_time)


def ensemble_of(*members: Evaluation) -> Evaluation:
    weights = [1 / len(members)] * len(members)
    return Evaluation("voting", {}, [1.0], 0.0, stage="ensemble", members=list(zip(members, weights)))


# ------------------------------------------------------------------ refit time


def test_refit_time_grows_with_the_rows_from_the_fold_fits() -> None:
    on = folds()
    assert refit_time(candidate("a", 2.0), 300, on) == pytest.approx(2.0)
    assert refit_time(candidate("a", 2.0), 600, on) == pytest.approx(4.0)
    assert refit_time(candidate("a", 2.0), 30, on) == pytest.approx(2.0)  # never below a fold's fit


def test_refit_time_of_an_early_stopping_booster_grows_slower_than_its_rows() -> None:
    on = folds()
    booster = Evaluation("lightgbm", {}, [1.0], 2.0, rounds=120)
    assert refit_time(booster, 300, on) == pytest.approx(2.0)
    share = BOOSTER_FIXED_SHARE
    assert refit_time(booster, 300 * 20, on) == pytest.approx(2.0 * (share + (1 - share) * 20))
    assert 2.0 * 5 < refit_time(booster, 300 * 20, on) < 2.0 * 20
    blend = ensemble_of(booster, candidate("forest", 1.0))  # each member grows its own way
    assert refit_time(blend, 600, on) == pytest.approx(2.0 * (share + (1 - share) * 2) + 2.0)


def test_a_booster_refit_grows_its_rounds_with_the_square_root_of_the_rows() -> None:
    on = folds()  # folds of 300 training rows
    assert rounds_growth(300, on) == pytest.approx(1.0)
    assert rounds_growth(30, on) == pytest.approx(1.0)  # never fewer rounds than kept
    assert rounds_growth(300 * 9, on) == pytest.approx(3.0)
    booster = Evaluation("lightgbm", {}, [1.0], 2.0, rounds=120)
    share = BOOSTER_FIXED_SHARE
    # Only the part that grows with the rows grows with the rounds too; a forest has no rounds.
    assert refit_time(booster, 600, on, growth=3.0) == pytest.approx(2.0 * (share + (1 - share) * 2 * 3))
    assert refit_time(candidate("forest", 1.0), 600, on, growth=3.0) == pytest.approx(2.0)


def test_the_rounds_grow_as_far_as_the_time_left_allows() -> None:
    on = folds()
    booster = Evaluation("lightgbm", {}, [1.0], 2.0, rounds=120)
    rows = [300 * 4, 300 * 9]  # the refit on the training rows, then on all rows
    wanted = [2.0, 3.0]
    assert rounds_growths(booster, on, rows, 1, seconds=1e6) == pytest.approx(wanted)
    kept = sum(refit_time(booster, n, on) for n in rows)
    assert rounds_growths(booster, on, rows, 1, seconds=kept) == pytest.approx([1.0, 1.0])
    assert rounds_growths(booster, on, rows, 1, seconds=kept / 2) == pytest.approx([1.0, 1.0])
    full = sum(refit_time(booster, n, on, g) for n, g in zip(rows, wanted))
    half = rounds_growths(booster, on, rows, 1, seconds=(kept + full) / 2)  # the same share of each growth
    assert half == pytest.approx([1.5, 2.0])
    assert rounds_growths(booster, on, rows, 5, seconds=(kept + full) / 2) == pytest.approx([1.0, 1.0])
    assert rounds_growths(candidate("forest", 1.0), on, rows, 1, seconds=1e6) == [1.0, 1.0]


def test_once_the_test_rows_are_scored_the_last_refit_keeps_only_the_closing_seconds() -> None:
    end = time.monotonic() + 60.0
    before, after = _refit_seconds_left(end, 60.0), _refit_seconds_left(end, 60.0, scored=True)
    assert _closing_seconds(60.0) < _scoring_seconds(60.0)
    assert after - before == pytest.approx((_scoring_seconds(60.0) - _closing_seconds(60.0)) / SAFETY, abs=0.01)
    assert 0 < after < 60.0 / SAFETY


def test_the_refit_on_all_rows_grows_its_rounds_as_far_as_the_measured_refit_says_they_fit() -> None:
    on = folds()  # folds of 300 rows
    booster = Evaluation("lightgbm", {}, [1.0], 2.0, rounds=120)
    trained = (1200, 1.0)  # the refit on the training rows, measured at 10 s: rounds as kept
    fastest = _scaled(10.0, booster, on, trained, (2700, 1.0))
    slowest = _scaled(10.0, booster, on, trained, (2700, 3.0))  # 9 times a fold's rows: 3 times the rounds
    share = BOOSTER_FIXED_SHARE
    assert fastest == pytest.approx(10.0 * (share + (1 - share) * 9) / (share + (1 - share) * 4))
    assert _growth_within(10.0, booster, on, trained, 2700, seconds=1e6) == pytest.approx(3.0)
    assert _growth_within(10.0, booster, on, trained, 2700, seconds=(fastest + slowest) / 2) == pytest.approx(2.0)
    assert _growth_within(10.0, booster, on, trained, 2700, seconds=fastest / 2) == 1.0
    assert _growth_within(10.0, candidate("forest", 1.0), on, trained, 2700, seconds=1e6) == 1.0


def test_refit_time_of_an_ensemble_is_its_members_refits() -> None:
    on = folds()
    blend = ensemble_of(candidate("a", 2.0), candidate("b", 1.0))
    assert refit_time(blend, 600, on) == pytest.approx(6.0)


# ------------------------------------------------------------------ what the finish keeps


def test_reserve_for_the_finish_covers_both_refits_of_every_finalist() -> None:
    on = folds()
    finalists = [candidate("a", 2.0), candidate("b", 1.0)]
    on_train = 2.0 * 2 + 1.0 * 2  # 600 rows: twice a fold's rows
    on_all = (2.0 + 1.0) * 800 / 300
    fixed = 0.03 * 100 + 1.5
    assert reserve_for_finish(finalists, on, 600, 800, 100) == pytest.approx(SAFETY * (on_train + on_all) + fixed)
    # No refit on all rows (no test rows added): only the one on the training rows.
    assert reserve_for_finish(finalists, on, 600, 600, 100) == pytest.approx(SAFETY * on_train + fixed)
    assert reserve_for_finish([], on, 600, 800, 100) == pytest.approx(fixed)


def test_reserve_for_the_finish_covers_the_bag_on_all_rows_where_it_is_cheap() -> None:
    on = folds()
    finalists = [candidate("a", 2.0), candidate("b", 1.0)]
    refits = 2.0 * 2 + 1.0 * 2 + (2.0 + 1.0) * 800 / 300
    bag_on_all = BAG_FOLDS * (2.0 + 1.0) * 640 / 300  # each of the bag's fits on 4/5 of the 800 rows
    long = 1000  # the bag's 32 s are within BAG_SHARE of 1,000 s, not of 100 s
    assert SAFETY * bag_on_all <= BAG_SHARE * long and SAFETY * bag_on_all > BAG_SHARE * 100
    assert reserve_for_finish(finalists, on, 600, 800, long, bagging=True) == pytest.approx(
        SAFETY * bag_on_all + 0.03 * long + 1.5)
    assert reserve_for_finish(finalists, on, 600, 800, long) == pytest.approx(SAFETY * refits + 0.03 * long + 1.5)
    assert reserve_for_finish(finalists, on, 600, 800, 100, bagging=True) == pytest.approx(
        SAFETY * refits + 0.03 * 100 + 1.5)


def test_affordable_passes_over_a_winner_whose_refit_no_longer_fits() -> None:
    on, progress = folds(), Progress()
    slow, quick = candidate("slow", 50.0), candidate("quick", 0.1)
    assert affordable([slow, quick], on, 300, time.monotonic() + 10, progress) is quick
    assert progress.notes == ["slow passed over: its refit would not fit in the 10 s left"]


def test_affordable_keeps_the_best_when_it_fits_and_never_a_poor_one_when_the_time_is_up() -> None:
    on, progress = folds(), Progress()
    best, other = candidate("best", 0.1), candidate("other", 0.1)
    assert affordable([best, other], on, 300, time.monotonic() + 10, progress) is best
    assert progress.notes == []
    slow, slower = candidate("slow", 50.0), candidate("slower", 80.0)
    assert affordable([slow, slower], on, 300, time.monotonic() + 10, progress) is slow  # the quicker refit
    # Time up: the best whose refit is a small share of the budget, not the last one.
    good, poor = candidate("good", 0.2), candidate("poor", 0.1)
    assert affordable([good, poor], on, 300, time.monotonic() - 4, Progress(), time_limit=30) is good
    assert affordable([slow, poor], on, 300, time.monotonic() - 4, Progress(), time_limit=30) is poor


# ------------------------------------------------------------------ what the report keeps


def test_report_seconds_are_a_fixed_part_plus_a_share_of_the_budget() -> None:
    assert report_seconds(60) == pytest.approx(REPORT_SECONDS + REPORT_SHARE * 60)
    assert report_seconds(300) - report_seconds(60) == pytest.approx(REPORT_SHARE * 240)
    assert 0 < report_seconds(60) < 60


# ------------------------------------------------------------------ the search's cost model


def test_cost_ratio_scales_with_trees_and_inversely_with_the_learning_rate() -> None:
    assert cost_ratio({"n_estimators": 200}, {"n_estimators": 100.0}) == pytest.approx(2.0)
    assert cost_ratio({"learning_rate": 0.05}, {"learning_rate": 0.1}) == pytest.approx(2.0)
    both = cost_ratio({"n_estimators": 300, "max_iter": 50}, {"n_estimators": 100.0, "max_iter": 100.0})
    assert both == pytest.approx(1.5)


def test_cost_ratio_ignores_what_it_cannot_read_and_has_a_floor() -> None:
    assert cost_ratio({}, {"n_estimators": 100.0}) == 1.0
    assert cost_ratio({"max_depth": 30}, {"n_estimators": 100.0}) == 1.0  # not a size parameter
    assert cost_ratio({"n_estimators": 0}, {"n_estimators": 100.0}) == 1.0
    assert cost_ratio({"n_estimators": 10}, {"n_estimators": 100.0}) == pytest.approx(0.2)  # not 0.1


def test_size_defaults_are_the_parameters_fit_time_grows_with() -> None:
    forest = make_pipeline(StandardScaler(), RandomForestRegressor(n_estimators=120))
    assert size_defaults(forest) == {"n_estimators": 120.0}
    assert size_defaults(HistGradientBoostingRegressor(max_iter=80)) == {"max_iter": 80.0}
    assert size_defaults(make_pipeline(StandardScaler(), Ridge())) == {}


def test_size_defaults_of_a_booster_that_stops_early_are_its_learning_rate() -> None:
    pytest.importorskip("lightgbm")
    from homl.data import infer_schema
    from homl.models import build_pipeline, get_spec

    X = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0) % 3})
    pipeline = build_pipeline(get_spec("lightgbm"), "regression", infer_schema(X), {"learning_rate": 0.2})
    assert size_defaults(pipeline) == {"learning_rate": 0.2}  # its trees are the held-out rows' choice


def test_the_budget_keeps_the_report_its_share_and_ends_the_short_list_first():
    with_report = Budget(100, start=0.0, report=True)
    assert with_report.end == 100
    assert with_report.fit_end == pytest.approx(100 - report_seconds(100))
    # The short-list gets 30% of the budget with a search after it, 80% without, never past the fit's end.
    assert with_report.shortlist_end(tune=True) == pytest.approx(30)
    assert with_report.shortlist_end(tune=False) == pytest.approx(with_report.fit_end - 20)
    assert Budget(100, start=0.0).fit_end == 100
