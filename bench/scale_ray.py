"""The search and batch prediction on a Ray cluster, beside the same work in this process.

Fit: ``homl.fit`` on housing (the bundled table, 20,640 rows) and on a generated 1,000,000-row
table, at a fixed budget, once in this process (both CPUs) and once with ``ray=`` on a local
two-node cluster (one CPU a node, on 127.0.0.1: the same two CPUs). Prints the jobs run (the
short-list's families and the search's trials), the nodes they ran on, the test score and the
wall time of each.

Batch: a generated 2,000,000-row table (10 numeric, 4 categorical columns) is written as several Parquet
files; a LightGBM model is fitted on a 50,000-row sample of it. The same files are then predicted
twice, both timed from the call to the last file written: ``homl.predict_batch`` file after file
in this process (the baseline, run first, before any Ray process exists), and
``homl.tasks.batch_ray.predict_batch_ray`` on a local two-node Ray cluster (one CPU a node, on
127.0.0.1), already started and connected, as a cluster in use would be. The cluster's time
includes starting its actors and shipping them the model. Prints rows/s of each and their ratio.

    .venv/bin/python bench/scale_ray.py [--budget 60] [--big-budget 180] [--rows 2000000] [--files 8]
                                        [--skip fit|batch] [--out bench/results/scale-ray.md]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _markdown import markdown_table

# Every Ray address on 127.0.0.1: without this, Ray rewrites a loopback address to the address of
# the machine's network interface. Set before ray is imported, for this process and the nodes'.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def generate(n: int, seed: int) -> pd.DataFrame:
    """10 numeric and 4 categorical columns (4 to 500 levels), a noisy target."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"num_{i}": rng.normal(size=n) for i in range(10)})
    for i, levels in enumerate((4, 20, 100, 500)):
        frame[f"cat_{i}"] = "L" + rng.integers(0, levels, n).astype(str)
    effect = dict(zip([f"L{k}" for k in range(20)], rng.normal(0, 1, 20)))
    frame["y"] = (np.sin(frame.num_0 * 2) * 3 + frame.num_1 * frame.num_2 + frame.cat_1.map(effect).to_numpy()
                  + rng.normal(0, 1, n))
    return frame


def start_cluster(nodes: int, object_store_mib: int = 200):
    """A local cluster of ``nodes`` one-CPU nodes on 127.0.0.1, without dashboard."""
    from ray.cluster_utils import Cluster

    node = {"num_cpus": 1, "object_store_memory": object_store_mib * 2**20, "node_ip_address": "127.0.0.1"}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    for _ in range(nodes - 1):
        cluster.add_node(**node)
    cluster.wait_for_nodes()
    return cluster


def fit_once(table: pd.DataFrame, target: str, budget: float, ray: str | None) -> dict[str, object]:
    """One fit: jobs run (counted by the executor), nodes, test score, seconds."""
    import homl
    from homl.select import _executor

    local_jobs = []
    run = _executor.LocalExecutor.run

    def counted(self, jobs, folds):
        for outcome in run(self, jobs, folds):
            local_jobs.append(outcome)
            yield outcome

    _executor.LocalExecutor.run = counted
    try:
        start = time.perf_counter()
        result = homl.fit(table, target, time_limit=budget, seed=0, report=False, ray=ray)
        seconds = time.perf_counter() - start
    finally:
        _executor.LocalExecutor.run = run
    nodes = result.metadata.get("ray", {}).get("nodes", {})
    return {"jobs": sum(nodes.values()) if nodes else len(local_jobs), "nodes": len(nodes) or 1,
            "test score": result.test_score.value, "metric": result.metric, "seconds": seconds}


def fit_section(budget: float, big_budget: float, nodes: int) -> pd.DataFrame:
    """Housing and a 1,000,000-row table, each fitted here and on the cluster at the same budget."""
    from homl.data import example_path, read_table

    tables = [("housing (20,640 rows)", read_table(example_path("housing")), "median_house_value", budget),
              ("generated (1,000,000 rows)", generate(1_000_000, seed=1), "y", big_budget)]
    rows = []
    for name, table, target, seconds in tables:
        local = fit_once(table, target, seconds, None)
        print(f"{name}, here: {local}", flush=True)
        cluster = start_cluster(nodes)
        try:
            on_ray = fit_once(table, target, seconds, cluster.address)
        finally:
            import ray

            ray.shutdown()
            cluster.shutdown()
        print(f"{name}, Ray: {on_ray}", flush=True)
        for how, found in (("this process (2 CPUs)", local), (f"Ray, {nodes} one-CPU nodes", on_ray)):
            rows.append({"table": name, "budget s": seconds, "how": how, "jobs run": found["jobs"],
                         "nodes": found["nodes"], f"test {found['metric']}": _score(found["test score"]),
                         "wall s": round(found["seconds"], 1), "jobs vs. here": found["jobs"] / local["jobs"]})
    return pd.DataFrame(rows)


def _score(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def time_local(model: Path, files: list[Path], folder: Path) -> float:
    """Seconds for ``homl.predict_batch`` over every file, one after the other."""
    import homl

    start = time.perf_counter()
    for file in files:
        homl.predict_batch(model, file, folder / f"{file.stem}-predicted.parquet")
    return time.perf_counter() - start


def time_ray(model: Path, files: list[Path], folder: Path, nodes: int) -> tuple[float, int]:
    """Seconds for ``predict_batch_ray`` on a local cluster of ``nodes`` one-CPU nodes; nodes used."""
    import ray

    from homl.tasks.batch_ray import predict_batch_ray

    cluster = start_cluster(nodes)
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        start = time.perf_counter()
        done = predict_batch_ray(model, [str(f) for f in files], folder / "predicted", address=cluster.address)
        return time.perf_counter() - start, done.nodes
    finally:
        ray.shutdown()
        cluster.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--budget", type=float, default=60, help="Seconds of each housing fit.")
    parser.add_argument("--big-budget", type=float, default=180, help="Seconds of each 1,000,000-row fit.")
    parser.add_argument("--skip", choices=("fit", "batch"), default=None)
    parser.add_argument("--out", type=Path, default=None, help="Also write the tables to this Markdown file.")
    args = parser.parse_args()
    text = f"# Search and batch prediction on Ray\n\nOn {os.cpu_count()} CPUs.\n\n"
    if args.skip != "fit":
        fits = fit_section(args.budget, args.big_budget, args.nodes)
        text += (f"## Fit\n\n`.venv/bin/python bench/scale_ray.py --budget {args.budget:g} --big-budget "
                 f"{args.big_budget:g}`: every family, default settings, one run each.\n\n{markdown_table(fits)}\n\n")
    if args.skip != "batch":
        text += batch_section(args)
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    print()
    print(text)


def batch_section(args: argparse.Namespace) -> str:
    """Rows/s of ``predict_batch`` here and ``predict_batch_ray`` on the cluster, as Markdown."""
    import homl

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        table = generate(args.rows, seed=0)
        homl.fit(table.sample(50_000, random_state=0), "y", time_limit=20, models=["lightgbm"], tune=False,
                 ensemble=False, bagging=False, report=False).save(folder / "model")
        files = []
        for i, rows in enumerate(np.array_split(np.arange(args.rows), args.files)):
            files.append(folder / f"rows-{i:02d}.parquet")
            table.iloc[rows].drop(columns="y").to_parquet(files[-1], index=False)
        del table
        print(f"{args.rows:,} rows in {args.files} Parquet files; predicting ...", flush=True)
        local = time_local(folder / "model", files, folder)
        print(f"this process: {local:.1f} s", flush=True)
        on_ray, used = time_ray(folder / "model", files, folder, args.nodes)
        print(f"Ray: {on_ray:.1f} s on {used} node(s)", flush=True)
    results = pd.DataFrame([
        {"how": "homl.predict_batch, file after file", "seconds": local, "rows/s": f"{args.rows / local:,.0f}",
         "vs. baseline": 1.0},
        {"how": f"predict_batch_ray, {args.nodes} one-CPU nodes ({used} used)", "seconds": on_ray,
         "rows/s": f"{args.rows / on_ray:,.0f}", "vs. baseline": local / on_ray},
    ])
    return (f"## Batch prediction\n\n`.venv/bin/python bench/scale_ray.py --rows {args.rows} --files "
            f"{args.files}`: LightGBM, {args.rows:,} rows in {args.files} Parquet files.\n\n{markdown_table(results)}\n")


if __name__ == "__main__":
    main()
