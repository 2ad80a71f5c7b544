"""The Optuna search: finds better settings, and resumes from its SQLite study."""

import numpy as np
import pandas as pd
import pytest

from homl._progress import Progress
from homl.data import SplitStrategy, infer_schema
from homl.metrics import get_metric
from homl.models import Choice, FloatRange, build_pipeline, get_spec, tunable_space
from homl.select import Search, cross_validate, make_folds
from homl.select._search import RUNNERS_UP, seed_params

pytest.importorskip("optuna")


def _setup(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = (X.a * 3 + np.sin(X.b * 3) + rng.normal(0, 0.1, n)).to_numpy()
    folds = make_folds(X, y, "regression", get_metric("rmse", "regression"), SplitStrategy(n_folds=3))
    schema = infer_schema(X)

    def build(spec, params):
        return build_pipeline(spec, "regression", schema, params)

    spec = get_spec("ridge")
    default = cross_validate("ridge", build(spec, {"alpha": 1000.0}), folds)  # a poor start
    return spec, default, build, folds


def _search(spec, default, build, folds, storage, workdir):
    return Search([(spec, default)], build, lambda s: tunable_space(s, "regression"), folds,
                  storage=storage, workdir=workdir, seed=0, progress=Progress())


def test_search_improves_on_a_poor_start_and_resumes(tmp_path):
    spec, default, build, folds = _setup()
    storage = f"sqlite:///{(tmp_path / 'study.db').as_posix()}"
    search = _search(spec, default, build, folds, storage, tmp_path)
    budget = {"trials": 0}

    def deadline():  # stop after 8 trials whatever the clock says
        budget["trials"] += 1
        return np.inf if search.n_trials < 8 else -np.inf

    best = search.run(deadline)[0]
    assert best.stage == "tuned" and best.mean < default.mean
    assert (tmp_path / "oof-ridge.npy").exists()

    again = _search(spec, default, build, folds, storage, tmp_path)
    assert again.n_trials == search.n_trials  # the study was kept on disk
    assert again.best["ridge"].mean == pytest.approx(best.mean)  # and its best, with predictions
    np.testing.assert_allclose(again.best["ridge"].oof, best.oof)


def test_each_family_hands_back_its_next_best_trials_for_the_ensembles():
    spec, default, build, folds = _setup()
    search = _search(spec, default, build, folds, None, None)
    search.run(lambda: np.inf if search.n_trials < 10 else -np.inf)

    best, runners = search.best["ridge"], search.runners_up
    assert len(runners) == RUNNERS_UP and [r.stage for r in runners] == ["tuned #2", "tuned #3"]
    assert all(best.mean <= r.mean for r in runners) and runners[0].mean <= runners[1].mean  # RMSE: lower is better
    assert all(r is not best and r.oof.shape == folds.y.shape for r in runners)
    assert all(r.params != best.params for r in runners)


def test_a_family_whose_trials_stop_improving_leaves_and_the_search_ends_before_its_deadline():
    import time

    from homl.select._search import STALE_TRIALS

    spec, default, build, folds = _setup(n=120)
    search = _search(spec, default, build, folds, None, None)
    deadline = time.monotonic() + 120  # far beyond what the trials need
    search.run(lambda: deadline)
    assert time.monotonic() < deadline and "ridge" not in search.studies
    study = search.all_studies["ridge"]
    assert len(study.trials) - 1 - study.best_trial.number == STALE_TRIALS  # none better since its best
    assert search.best["ridge"].mean == pytest.approx(study.best_value)
    assert any(f"no better configuration in {STALE_TRIALS} trials" in note for note in search.progress.notes)


def test_the_time_a_family_leaves_goes_to_the_next_family_of_the_short_list(monkeypatch):
    import time

    from homl.select import _search

    monkeypatch.setattr(_search, "STALE_TRIALS", 5)
    spec, default, build, folds = _setup(n=120)
    lasso = get_spec("lasso")
    reserve = [(lasso, cross_validate("lasso", build(lasso, {}), folds))]
    search = Search([(spec, default)], build, lambda s: tunable_space(s, "regression"), folds, storage=None,
                    workdir=None, seed=0, progress=Progress(), reserve=list(reserve))
    deadline = time.monotonic() + 120
    search.run(lambda: deadline)
    assert time.monotonic() < deadline and not search.studies and not search.reserve
    assert list(search.all_studies) == ["ridge", "lasso"] and len(search.all_studies["lasso"].trials) >= 5
    assert any("ridge: no better configuration in 5 trials; its search ends, lasso's begins" in note
               for note in search.progress.notes), search.progress.notes


def test_a_family_too_slow_for_the_time_left_leaves_and_says_so():
    import time

    from homl.select._search import MAX_MISSES, TURNED_DOWN_PER_MISS

    spec, default, build, folds = _setup(n=120)
    default.fit_time = 1000.0  # each configuration looks far slower than the time left
    search = _search(spec, default, build, folds, None, None)
    deadline = time.monotonic() + 60
    search.run(lambda: deadline)
    assert time.monotonic() < deadline and "ridge" not in search.studies and search.n_trials == 0
    # turned down by their estimates before a fold: each counts a share of a miss
    assert len(search.all_studies["ridge"].trials) == MAX_MISSES * TURNED_DOWN_PER_MISS
    assert any("configurations in a row too slow" in note for note in search.progress.notes), search.progress.notes


def test_estimates_of_a_trials_time_follow_the_trials_measured():
    spec, default, build, folds = _setup(n=120)
    default.fit_time = 1e-7  # the defaults' time understates every trial's by far
    search = _search(spec, default, build, folds, None, None)
    search.run(lambda: np.inf if search.n_trials < 3 else -np.inf)
    measured = [t.user_attrs["fit_time"] for t in search.all_studies["ridge"].trials]
    assert min(measured) <= search._estimate("ridge", {}) <= max(measured)


def test_a_seeds_preparation_options_apply_together_and_only_where_the_space_offers_them():
    seed = {"learning_rate": 0.05, "prep:categorical": "native", "prep:date_values": True}
    rate = {"learning_rate": FloatRange(0.02, 0.3, log=True)}
    dates = {**rate, "prep:categorical": Choice(("auto", "native")), "prep:date_values": Choice((False, True))}
    assert seed_params(seed, dates) == seed
    # No repeated days: no date values, and the categories stay as the table's other trials have them.
    assert seed_params(seed, {**rate, "prep:categorical": Choice(("auto", "native"))}) == {"learning_rate": 0.05}
    # Native categories left out (an exportable model): neither option applies.
    assert seed_params(seed, {**dates, "prep:categorical": Choice(("auto", "onehot"))}) == {"learning_rate": 0.05}
    assert seed_params({"num_leaves": 31}, rate) == {}  # a parameter the space does not search
