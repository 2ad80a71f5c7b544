"""Batch prediction on a Ray cluster: a local two-node cluster on loopback predicts CSV and
Parquet files into ordered parts, as ``homl predict`` would, on both nodes; the command line's
form, and bad input refused in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import homl
from homl.errors import ConfigError, DataError, SchemaError
from homl.registry import directory_sha256

pytest.importorskip("ray", reason="homl's Ray batch prediction needs ray: pip install 'ray[data]'")

_NODE = {"num_cpus": 1, "object_store_memory": 100 * 2**20, "node_ip_address": "127.0.0.1"}
# Nodes, workers and drivers all on 127.0.0.1: given a route off the machine, Ray otherwise takes
# the address of the interface on that route, even for a driver told to connect to 127.0.0.1
# (it rewrites a loopback address to that one). With this off, Ray answers 127.0.0.1, as on macOS.
_LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}


@pytest.fixture(scope="module")
def cluster():
    """A head and one worker node, one CPU each, on 127.0.0.1; this process connected to it."""
    import ray
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster

    patch = pytest.MonkeyPatch()
    for name, value in _LOOPBACK_ENV.items():
        patch.setenv(name, value)  # read by the nodes' processes and the command-line runs below
    patch.setattr(ray_constants, "ENABLE_RAY_CLUSTER", False)  # this process may have imported ray already
    if ray.is_initialized():
        ray.shutdown()
    started = Cluster(initialize_head=True, head_node_args={**_NODE, "include_dashboard": False})
    try:
        started.add_node(**_NODE)
        ray.init(address=started.address, log_to_driver=False)
        yield started
    finally:
        ray.shutdown()
        started.shutdown()
        patch.undo()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A linear model fitted on generated rows; 20,000 new rows as two CSV files and a Parquet file."""
    folder = tmp_path_factory.mktemp("batch_ray")
    rng = np.random.default_rng(0)
    n = 20_000
    frame = pd.DataFrame({"size": rng.normal(50, 10, n), "rooms": rng.integers(1, 6, n),
                          "city": rng.choice(["lyon", "nice", "paris"], n)})
    frame["price"] = 3 * frame["size"] + 10 * frame["rooms"] + (frame["city"] == "paris") * 40 + rng.normal(0, 5, n)
    homl.fit(frame.head(2000), "price", time_limit=10, models=["linear"], tune=False, ensemble=False, bagging=False,
             report=False).save(folder / "model")
    rows = frame.drop(columns="price")
    files = [folder / "a.csv", folder / "b.csv", folder / "c.parquet"]
    rows.iloc[:6000].to_csv(files[0], index=False)
    rows.iloc[6000:13000].to_csv(files[1], index=False)
    rows.iloc[13000:].to_parquet(files[2], index=False)
    return folder / "model", files, rows


def _parts(folder: Path) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(p) for p in sorted(folder.glob("part-*.parquet"))], ignore_index=True)


@pytest.mark.slow  # about 20 s on a two-node cluster: .ci/run runs it after the default suite
def test_predictions_follow_input_order_on_both_nodes(cluster, inputs, tmp_path, monkeypatch):
    import ray
    from ray.data import DataContext

    from homl.tasks.batch_ray import predict_batch_ray

    # Ray Data hands blocks to the first actor that is up; on a busy machine one actor may take
    # every file before the other node's has started. Waiting for the whole pool makes both work.
    monkeypatch.setattr(DataContext.get_current(), "wait_for_min_actors_s", 120)
    model, files, rows = inputs
    progress = []
    done = predict_batch_ray(model, [str(f) for f in files], tmp_path / "preds", address=cluster.address,
                             on_progress=lambda *a: progress.append(a))
    expected = homl.load(model).predict_frame(rows)
    pd.testing.assert_frame_equal(_parts(tmp_path / "preds"), expected.reset_index(drop=True))

    manifest = json.loads((tmp_path / "preds" / "manifest.json").read_text(encoding="utf-8"))
    names = [p["file"] for p in manifest["parts"]]
    assert names == [f"part-{i:06d}.parquet" for i in range(len(names))]
    assert names == sorted(p.name for p in (tmp_path / "preds").glob("part-*.parquet"))
    assert [p["rows"] for p in manifest["parts"]] == [len(pd.read_parquet(tmp_path / "preds" / n)) for n in names]
    assert sum(p["rows"] for p in manifest["parts"]) == manifest["rows"] == done.rows == 20_000
    assert manifest["sources"] == [str(f.resolve()) for f in files]
    assert manifest["model"]["sha256"] == directory_sha256(model)
    assert progress[-1] == (done.parts, 20_000)
    nodes = {node["NodeID"] for node in ray.nodes() if node["Alive"]}
    assert len(nodes) == 2 and {p["node"] for p in manifest["parts"]} == nodes  # both nodes predicted
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preds"]  # no staging folder left

    with pytest.raises(ConfigError, match="earlier run's predictions.*overwrite=True"):
        predict_batch_ray(model, files[2:], tmp_path / "preds", address=cluster.address)
    again = predict_batch_ray(model, files[2:], tmp_path / "preds", address=cluster.address, batch_rows=2500,
                              overwrite=True)
    manifest = json.loads((tmp_path / "preds" / "manifest.json").read_text(encoding="utf-8"))
    assert [p["rows"] for p in manifest["parts"]] == [2500, 2500, 2000] and again.parts == 3
    assert len(list((tmp_path / "preds").iterdir())) == 4  # the earlier parts are gone
    pd.testing.assert_frame_equal(_parts(tmp_path / "preds"), expected.iloc[13000:].reset_index(drop=True))


def test_bad_input_is_refused_before_any_work(cluster, inputs, tmp_path):
    from homl.tasks.batch_ray import predict_batch_ray

    model, files, rows = inputs
    with pytest.raises(DataError, match=r"no file matches '.*missing-\*\.parquet'"):
        predict_batch_ray(model, [files[0], str(tmp_path / "missing-*.parquet")], tmp_path / "out")
    rows.drop(columns="rooms").head(50).to_parquet(tmp_path / "no_rooms.parquet", index=False)
    with pytest.raises(SchemaError, match=r"no_rooms\.parquet.*'rooms'"):
        predict_batch_ray(model, [files[0], tmp_path / "no_rooms.parquet"], tmp_path / "out")
    (tmp_path / "taken").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="is a file"):
        predict_batch_ray(model, files, tmp_path / "taken")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="holds files of its own"):
        predict_batch_ray(model, files, tmp_path / "full")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # about 20 s on a two-node cluster: .ci/run runs it after the default suite
def test_the_command_line_predicts_on_the_cluster_and_refuses_bad_input_in_one_line(cluster, inputs, tmp_path):
    model, files, rows = inputs
    command = [sys.executable, "-m", "homl", "predict-batch", str(model)]
    env = {**os.environ, **_LOOPBACK_ENV, "COLUMNS": "200"}
    run = subprocess.run([*command, str(files[0]), str(files[2]), "-o", str(tmp_path / "out"),
                          "--ray", cluster.address], capture_output=True, text=True, env=env, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    said = " ".join((run.stdout + run.stderr).split())  # the console wraps long lines
    assert "13,000 predictions" in said and "rows/s" in said, said
    expected = homl.load(model).predict_frame(pd.concat([rows.iloc[:6000], rows.iloc[13000:]]))
    pd.testing.assert_frame_equal(_parts(tmp_path / "out"), expected.reset_index(drop=True))

    for args, said in (([str(tmp_path / "none-*.csv")], "no file matches"),
                       ([str(files[0]), "--ray", "127.0.0.1:1"], "127.0.0.1:1")):
        run = subprocess.run([*command, *args, "-o", str(tmp_path / "bad"), *(["--ray", cluster.address]
                              if "--ray" not in args else [])], capture_output=True, text=True, env=env, timeout=120)
        assert run.returncode == 2, run.stdout + run.stderr
        lines = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:") and said in lines[0], lines
