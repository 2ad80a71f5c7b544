"""The seam where selection hands out work: every cross-validation of the short-list and the
search goes through the executor it is given."""

import numpy as np
import pandas as pd

from homl._progress import Progress
from homl.data import SplitStrategy, infer_schema
from homl.metrics import get_metric
from homl.models import build_pipeline, get_spec, tunable_space
from homl.select import LocalExecutor, Search, make_folds, shortlist


class Recording(LocalExecutor):
    """Runs jobs here, and remembers which it was given."""

    def __init__(self):
        self.names: list[str] = []

    def run(self, jobs, folds):
        for outcome in super().run(jobs, folds):
            self.names.append(outcome.job.name)
            yield outcome


def _problem(n=200):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = (2 * X.a - X.b + rng.normal(0, 0.1, n)).to_numpy()
    folds = make_folds(X, y, "regression", get_metric("rmse", "regression"), SplitStrategy(n_folds=3))
    schema = infer_schema(X)
    return folds, lambda spec, params: build_pipeline(spec, "regression", schema, params)


def test_the_short_list_runs_every_family_through_its_executor():
    import time

    folds, build = _problem()
    executor = Recording()
    specs = [get_spec("linear"), get_spec("ridge"), get_spec("decision_tree")]
    results = shortlist(specs, lambda spec: build(spec, {}), folds, deadline=time.monotonic() + 60,
                        progress=Progress(), executor=executor)
    assert executor.names == ["linear", "ridge", "decision_tree"]
    assert [e.name for e in results] == executor.names


def test_the_search_runs_every_trial_through_its_executor(tmp_path):
    import time

    folds, build = _problem()
    spec = get_spec("ridge")
    default = shortlist([spec], lambda s: build(s, {}), folds, deadline=time.monotonic() + 60, progress=Progress())[0]
    executor = Recording()
    search = Search([(spec, default)], build, lambda s: tunable_space(s, "regression"), folds, storage=None,
                    workdir=None, seed=0, progress=Progress(), executor=executor)

    def deadline():  # five trials, however fast they run
        return time.monotonic() + (60 if search.n_trials < 5 else -1)

    search.run(deadline)
    assert search.n_trials == 5
    assert executor.names == ["ridge"] * 5


def test_an_outcome_says_how_long_its_folds_took_and_whether_it_was_turned_down_unfitted():
    import time

    from homl.select import Job, run_job

    folds, build = _problem()
    pipeline = build(get_spec("ridge"), {})
    finished = run_job(Job("ridge", pipeline), folds)
    assert finished.evaluation is not None and finished.fold_time > 0 and not finished.turned_down

    later = time.monotonic() + 60
    turned_down = run_job(Job("ridge", pipeline, deadline=later, all_folds_by=later, fold_estimate=1000.0), folds)
    assert turned_down.out_of_time is not None and turned_down.turned_down and turned_down.fold_time is None

    soon = time.monotonic() + 0.1  # the first fold fits in time; after it the time is gone
    ran_out = run_job(Job("ridge", pipeline, deadline=soon, all_folds_by=soon, fold_estimate=0.001,
                          on_fold=lambda fold, loss: time.sleep(0.2)), folds)
    assert ran_out.out_of_time is not None and not ran_out.turned_down and ran_out.fold_time > 0
