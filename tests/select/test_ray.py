"""The search on a Ray cluster: two nodes on loopback, trials on both, a node lost mid-search,
an unreachable head refused before any work, and no Ray at all for a local fit."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

import homl
from homl.data import SplitStrategy, example_path, infer_schema
from homl.errors import ConfigError
from homl.metrics import get_metric
from homl.models import build_pipeline, get_spec
from homl.select import Job, RayExecutor, make_folds
from homl.select._ray import shipped

#: Each node: one CPU, a small object store, loopback only.
NODE = {"num_cpus": 1, "object_store_memory": 100 * 2**20, "node_ip_address": "127.0.0.1"}
#: Quick families, so a 30 s fit runs many trials.
MODELS = ["lightgbm", "ridge", "decision_tree", "knn"]
TARGET = "median_house_value"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A head and a worker node on 127.0.0.1, one CPU each, without dashboard."""
    ray = pytest.importorskip("ray", reason="the Ray tests need Ray: pip install 'homl[scale]'")
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster

    with pytest.MonkeyPatch.context() as patch:
        # Off, Ray swaps 127.0.0.1 for the machine's outward address (in addresses it dials and
        # the ones its nodes advertise); the nodes' processes read the variable, this one the constant.
        patch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        patch.setattr(ray_constants, "ENABLE_RAY_CLUSTER", False)
        patch.setenv("RAY_USAGE_STATS_ENABLED", "0")
        if ray.is_initialized():
            ray.shutdown()
        # A node killed outright is declared dead after missed health checks: 2 s here, not Ray's 15 s.
        health = {"health_check_period_ms": 500, "health_check_timeout_ms": 500, "health_check_failure_threshold": 4}
        nodes = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False,
                                                              "_system_config": health})
        try:
            nodes.add_node(**NODE)
            nodes.wait_for_nodes()
            yield nodes
        finally:
            ray.shutdown()
            nodes.shutdown()


@pytest.fixture(scope="module")
def housing() -> pd.DataFrame:
    return pd.read_csv(example_path("housing")).sample(3000, random_state=0).reset_index(drop=True)


def _problem(n: int = 400):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = (2 * X.a - X.b ** 2 + rng.normal(0, 0.1, n)).to_numpy()
    folds = make_folds(X, y, "regression", get_metric("rmse", "regression"), SplitStrategy(n_folds=3))
    return folds, build_pipeline(get_spec("random_forest"), "regression", infer_schema(X), {"n_estimators": 60})


def test_an_unreachable_head_is_a_config_error_before_any_work(tmp_path):
    ray = pytest.importorskip("ray", reason="the Ray tests need Ray: pip install 'homl[scale]'")
    if ray.is_initialized():
        ray.shutdown()
    start = time.monotonic()
    # The table does not exist: reading it would fail, so the address is checked before the data.
    with pytest.raises(ConfigError, match="127.0.0.1:1"):
        homl.fit(tmp_path / "missing.csv", "y", ray="127.0.0.1:1")
    assert time.monotonic() - start < 30


def test_a_local_fit_does_not_import_ray():
    code = ("import sys, numpy as np, pandas as pd, homl\n"
            "rng = np.random.default_rng(0)\n"
            "frame = pd.DataFrame({'a': rng.normal(size=200), 'b': rng.normal(size=200)})\n"
            "frame['y'] = 2 * frame.a - frame.b\n"
            "homl.fit(frame, 'y', time_limit=5, models=['ridge'], tune=False, ensemble=False)\n"
            "print('ray' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_a_job_ships_without_its_callbacks_tag_or_table(housing):
    import cloudpickle

    schema = infer_schema(housing, TARGET)
    lock = threading.Lock()  # cannot be pickled, like the Optuna trials the search's callbacks hold
    job = Job("lightgbm", build_pipeline(get_spec("lightgbm"), "regression", schema, {}), deadline=1.0,
              on_fold=lambda i, loss: lock.locked(), on_epoch=lambda e, loss: lock.locked(), tag=("lightgbm", lock))
    payload = cloudpickle.dumps(shipped(job))
    assert len(payload) < len(cloudpickle.dumps(housing)) / 20  # the table travels once, with the folds


def test_the_executor_runs_jobs_on_both_nodes_and_keeps_the_tags_here(cluster, monkeypatch):
    import ray

    folds, pipeline = _problem()
    put, puts = ray.put, []
    monkeypatch.setattr(ray, "put", lambda value, **kw: puts.append(value) or put(value, **kw))
    lock = threading.Lock()
    executor = RayExecutor(cluster.address).connect()
    try:
        assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}
        assert executor.slots == 2
        runs = []
        for first in (0, 6):  # the short-list, then the search: the same folds
            jobs = (Job(f"job {i}", pipeline, deadline=time.monotonic() + 60, on_fold=lambda i, loss: lock.locked(),
                        tag=(i, lock)) for i in range(first, first + 6))
            runs += list(executor.run(jobs, folds))
    finally:
        executor.close()
    assert sorted(outcome.job.tag[0] for outcome in runs) == list(range(12))
    assert all(outcome.evaluation is not None and outcome.job.tag[1] is lock for outcome in runs)
    assert len({outcome.node for outcome in runs}) == 2
    assert sum(executor.trials.values()) == 12
    assert len(puts) == 1  # the folds, once for both runs


def test_a_job_running_far_past_its_deadline_is_cancelled(cluster, monkeypatch):
    from sklearn.ensemble import RandomForestRegressor

    from homl.select import _ray

    monkeypatch.setattr(_ray, "MIN_GRACE", 1.0)
    folds, _ = _problem()
    # A forest does not heed deadlines, and a zero estimate lets its first fold start: it runs on.
    job = Job("forest", RandomForestRegressor(n_estimators=20_000, n_jobs=1), deadline=time.monotonic() + 1,
              fold_estimate=0.0, tag="forest")
    executor = RayExecutor(cluster.address).connect()
    start = time.monotonic()
    try:
        [outcome] = executor.run([job], folds)
    finally:
        executor.close()
    assert time.monotonic() - start < 10
    assert outcome.job.tag == "forest" and "cancelled" in str(outcome.out_of_time)
    assert executor.cancelled == 1


@pytest.mark.slow
def test_a_fit_on_the_cluster_runs_trials_on_both_nodes_and_scores_as_a_local_fit(cluster, housing):
    on_ray = homl.fit(housing, TARGET, time_limit=30, models=MODELS, cv=3, ray=cluster.address)
    local = homl.fit(housing, TARGET, time_limit=30, models=MODELS, cv=3)
    nodes = on_ray.metadata["ray"]["nodes"]
    assert len(nodes) == 2 and min(nodes.values()) >= 1, nodes
    assert all(node.startswith("127.0.0.1 (") for node in nodes)
    assert any(note.startswith("trials per node: ") for note in on_ray.notes)
    assert "ray" not in local.metadata
    assert list(on_ray.leaderboard.columns) == list(local.leaderboard.columns)
    assert abs(on_ray.test_score.value - local.test_score.value) <= 0.1 * local.test_score.value


@pytest.mark.slow
def test_a_fit_goes_on_when_a_node_dies_mid_search(cluster, housing, monkeypatch):
    from homl.select import _ray

    # Jobs in flight, seen from this process: the node is killed only while every node runs one.
    in_flight: set[Any] = set()
    submit, collect, cancel = RayExecutor._submit, RayExecutor._collect, _ray._cancel

    def counted_submit(self, job, folds_ref):
        ref = submit(self, job, folds_ref)
        in_flight.add(ref)
        return ref

    def counted_collect(self, ref, flight):
        in_flight.discard(ref)
        return collect(self, ref, flight)

    def counted_cancel(refs):
        in_flight.difference_update(refs)
        return cancel(refs)

    monkeypatch.setattr(RayExecutor, "_submit", counted_submit)
    monkeypatch.setattr(RayExecutor, "_collect", counted_collect)
    monkeypatch.setattr(_ray, "_cancel", counted_cancel)
    extra = cluster.add_node(**NODE)
    label = f"127.0.0.1 ({extra.node_id[:8]})"
    start, stop, killed_at = time.monotonic(), threading.Event(), []

    def kill_when_all_nodes_are_busy() -> None:
        while not stop.wait(0.02):
            if time.monotonic() - start >= 8 and len(in_flight) >= 3:  # three nodes of one CPU each
                killed_at.append(time.monotonic() - start)
                cluster.remove_node(extra, allow_graceful=False)
                return

    crash = threading.Thread(target=kill_when_all_nodes_are_busy, daemon=True)
    crash.start()
    try:
        result = homl.fit(housing, TARGET, time_limit=30, models=MODELS, cv=3, ray=cluster.address)
    finally:
        stop.set()
        crash.join()
    assert killed_at, "no moment after 8 s with a job on every node"
    assert time.monotonic() - start < 30 + 10
    ray_run = result.metadata["ray"]
    assert ray_run["nodes_left"] == [label]
    assert ray_run["nodes"][label] >= 1  # it ran trials before it died
    assert ray_run["rerun"] + ray_run["lost"] >= 1  # and the one it was running ran again, or failed
    assert any(f"{label} left the cluster" in note for note in result.notes)


def test_homl_fit_with_ray_on_the_command_line(cluster, housing, tmp_path):
    import os

    housing.to_csv(tmp_path / "housing.csv", index=False)
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0", "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "homl", "fit", "housing.csv", "--target", TARGET, "--time-limit", "15",
                           "--models", "ridge,decision_tree", "--cv", "3", "--ray", cluster.address, "-o", "model",
                           "-v"], cwd=tmp_path, capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "trials per node: " in done.stderr
    ray_run = homl.load(tmp_path / "model").metadata["ray"]
    assert ray_run["address"] == cluster.address and sum(ray_run["nodes"].values()) >= 2
