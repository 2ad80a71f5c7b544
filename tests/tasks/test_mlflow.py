"""MLflow interop against a real local tracking server: training commands log runs with their
settings, scores, leaderboard, report and model; ``homl export --format mlflow`` writes a model
that MLflow loads and serves with homl's predictions; bad input ends in one clear error.

The servers run offline (telemetry off, no job runners), each in its own process group, which is
killed with everything it started once the tests are done.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import homl
from homl.cli import app
from homl.data import example_path
from homl.errors import ConfigError
from homl.registry import is_model_dir

mlflow = pytest.importorskip("mlflow", reason="MLflow interop needs MLflow: pip install 'homl[mlflow]'")

from homl.tasks import export_mlflow, log_to_mlflow  # noqa: E402
from homl.tasks._mlflow import run_metrics, run_params  # noqa: E402

DATA = Path(__file__).parents[1] / "data"
EXPERIMENT = "homl-tests"
#: Nothing leaves the machine: no telemetry, no proxy for local addresses; the tracking server
#: starts no job runners; ``mlflow models serve`` finds uvicorn beside this Python.
OFFLINE = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
STARTUP_SECONDS = 90
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("HOML_DEBUG", "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME")}
    path = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return {**env, **OFFLINE, "PATH": path}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _server(args: list[str], url: str, log: Path) -> Iterator[None]:
    """``python -m mlflow ARGS`` in a new process group, until ``url`` answers; the group killed after."""
    with open(log, "wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "mlflow", *args], stdout=output, stderr=subprocess.STDOUT,
                                   env=_env(), start_new_session=True)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                with _LOCAL.open(url, timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-3000:]
                pytest.fail(f"mlflow {args[0]} did not answer {url} (exit {process.poll()}):\n{tail}")
            time.sleep(0.25)
        yield
    finally:
        _kill_group(process)


def _kill_group(process: subprocess.Popen) -> None:
    """SIGTERM to the process group (the server, its workers), then SIGKILL to whatever is left."""
    for sent in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sent)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue
    process.wait()


@pytest.fixture(scope="module", autouse=True)
def offline() -> Iterator[None]:
    """This process's MLflow client offline too, and no tracking URI from outside."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in OFFLINE.items():
            patch.setenv(name, value)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
        yield


@pytest.fixture(scope="module")
def tracking(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A tracking server on a free port: SQLite runs, artifacts served from a local folder. Its URI."""
    store = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    with _server(["server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                  "--backend-store-uri", f"sqlite:///{store / 'mlflow.db'}",
                  "--artifacts-destination", str(store / "artifacts")],
                 f"http://127.0.0.1:{port}/health", store / "server.log"):
        yield f"http://127.0.0.1:{port}"


def homl_cli(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m homl ARGS`` (the real entry point) in ``cwd``."""
    return subprocess.run([sys.executable, "-m", "homl", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=_env())


def _ok(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 0, f"exit {run.returncode}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    return run.stdout


def _refused(run: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """The ``error: ...`` line of a command that ended with exit code 2, holding every fragment."""
    shown = f"exit {run.returncode}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    assert run.returncode == 2 and "Traceback" not in run.stdout + run.stderr, shown
    errors = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and all(f in errors[0] for f in fragments), shown
    return errors[0]


def _run_id(stdout: str) -> str:
    line = next(line for line in stdout.splitlines() if line.startswith("MLflow run "))
    return line.split()[2]


@pytest.fixture(scope="module")
def fitted(tracking: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``homl fit --example titanic ... --mlflow URI`` once for the module: (model directory, run id)."""
    work = tmp_path_factory.mktemp("fit")
    stdout = _ok(homl_cli("fit", "--example", "titanic", "--time-limit", "10", "--models", "linear", "-o", "m",
                          "--mlflow", tracking, "--mlflow-experiment", EXPERIMENT, cwd=work))
    return work / "m", _run_id(stdout)


# --------------------------------------------------------------------------- logging runs


def test_fit_logs_its_settings_scores_leaderboard_report_and_model(tracking: str, fitted: tuple[Path, str]) -> None:
    folder, run_id = fitted
    meta = json.loads((folder / "metadata.json").read_text())
    client = mlflow.MlflowClient(tracking)
    run = client.get_run(run_id)

    assert run.info.run_name == "m" and run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == EXPERIMENT
    assert run.data.tags["homl.kind"] == "supervised" and run.data.tags["homl.version"] == homl.__version__
    params = run.data.params
    assert params["target"] == "Survived" and params["task"] == "binary" and params["metric"] == meta["metric"]
    assert float(params["time_limit"]) == 10 and params["winner"] == meta["winner"]
    assert params["cv.folds"] == str(meta["cv"]["folds"])
    metric = meta["metric"]
    scores = run.data.metrics
    assert scores[f"test_{metric}"] == meta["test_score"]["value"]
    assert scores[f"test_{metric}_low"] <= scores[f"test_{metric}"] <= scores[f"test_{metric}_high"]
    assert scores[f"baseline_test_{metric}"] == meta["baseline_test_score"]["value"]
    assert scores[f"cv_{metric}_mean"] == meta["cv"]["mean"]

    logged = {a.path for a in client.list_artifacts(run_id)}
    assert {"leaderboard.csv", "report.html", "model"} <= logged
    model_files = {Path(a.path).name for a in client.list_artifacts(run_id, "model")}
    assert {p.name for p in folder.iterdir()} == model_files
    board = pd.read_csv(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="leaderboard.csv",
                                                            tracking_uri=tracking))
    assert list(board["model"]) == list(pd.read_csv(folder / "leaderboard.csv")["model"])


def test_segment_logs_a_run_of_its_kind(tracking: str, tmp_path: Path) -> None:
    stdout = _ok(homl_cli("segment", DATA / "mall_customers.csv", "--max-k", "4", "-o", "segments",
                          "--mlflow", tracking, "--mlflow-experiment", EXPERIMENT, cwd=tmp_path))
    run = mlflow.MlflowClient(tracking).get_run(_run_id(stdout))
    meta = json.loads((tmp_path / "segments" / "metadata.json").read_text())

    assert run.info.run_name == "segments" and run.data.tags["homl.kind"] == "segment"
    assert run.data.params["method"] == meta["method"] and run.data.params["n_clusters"] == str(meta["n_clusters"])
    assert run.data.metrics["silhouette"] == meta["silhouette"]
    logged = {a.path for a in mlflow.MlflowClient(tracking).list_artifacts(run.info.run_id)}
    assert {"leaderboard.csv", "report.html", "model"} <= logged


def test_an_unreachable_tracking_server_is_one_error_after_the_model_is_saved(tmp_path: Path) -> None:
    uri = f"http://127.0.0.1:{_free_port()}"
    run = homl_cli("segment", DATA / "mall_customers.csv", "--max-k", "3", "-o", "segments", "--mlflow", uri,
                   cwd=tmp_path)
    _refused(run, "cannot reach the MLflow tracking server", uri)
    assert is_model_dir(tmp_path / "segments")


def test_params_are_flat_scalars_within_mlflow_limits_and_scores_are_metrics() -> None:
    meta = {"target": "y", "cv": {"folds": 5, "mean": 0.5, "std": 0.1}, "notes": ["a"], "label": None,
            "winner_params": {"num_leaves": 31, "prep": {"scale": True}}, "long": "x" * 7000, "split": [1, 2],
            "test_scores": {"precision@10": 0.25, "ndcg@10": float("nan")}, "metric": "rmse"}

    params = run_params(meta)
    assert params == {"target": "y", "cv.folds": "5", "winner_params.num_leaves": "31",
                      "winner_params.prep.scale": "True", "long": "x" * 6000, "metric": "rmse"}
    assert run_metrics(meta) == {"cv_rmse_mean": 0.5, "cv_rmse_std": 0.1, "test_precision_10": 0.25}


# --------------------------------------------------------------------------- export as an MLflow model


@pytest.fixture(scope="module")
def exported(fitted: tuple[Path, str]) -> Path:
    """``homl export m --format mlflow -o m-mlflow`` of the fitted model."""
    folder, _ = fitted
    stdout = _ok(homl_cli("export", folder.name, "--format", "mlflow", "-o", "m-mlflow", cwd=folder.parent))
    assert "as an MLflow model" in stdout
    return folder.parent / "m-mlflow"


def _new_rows() -> pd.DataFrame:
    """Titanic rows as new data: missing ages and cabins, an extra identifier column, no target."""
    return pd.read_csv(example_path("titanic")).drop(columns=["Survived"]).iloc[100:140].reset_index(drop=True)


def test_the_mlflow_model_predicts_as_homl_does(fitted: tuple[Path, str], exported: Path) -> None:
    folder, _ = fitted
    rows = _new_rows()
    expected = homl.load(folder).predict_frame(rows)
    assert list(expected.columns) == ["Survived", "proba_0", "proba_1"]

    pd.testing.assert_frame_equal(mlflow.pyfunc.load_model(str(exported)).predict(rows), expected)
    model = mlflow.models.Model.load(str(exported))
    assert model.signature is not None and "Age" in model.signature.inputs.input_names()
    assert f"homl=={homl.__version__}" in (exported / "requirements.txt").read_text().split()


def test_mlflow_models_serve_answers_with_homls_predictions(fitted: tuple[Path, str], exported: Path,
                                                            tmp_path: Path) -> None:
    folder, _ = fitted
    rows = _new_rows()
    port = _free_port()
    body = json.dumps({"dataframe_split": json.loads(rows.to_json(orient="split"))}).encode()
    with _server(["models", "serve", "-m", str(exported), "--env-manager", "local", "-h", "127.0.0.1",
                  "-p", str(port)], f"http://127.0.0.1:{port}/ping", tmp_path / "serve.log"):
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", body,
                                         {"Content-Type": "application/json"})
        with _LOCAL.open(request, timeout=60) as answer:
            served = pd.DataFrame(json.load(answer)["predictions"])

    pd.testing.assert_frame_equal(served, homl.load(folder).predict_frame(rows), check_dtype=False)


def test_export_refuses_an_existing_output_unless_overwrite(fitted: tuple[Path, str], exported: Path,
                                                            tmp_path: Path) -> None:
    folder, _ = fitted
    _refused(homl_cli("export", folder, "--format", "mlflow", "-o", exported, cwd=tmp_path), "exists", "--overwrite")
    before = (exported / "MLmodel").read_text()

    assert export_mlflow(folder, exported, overwrite=True) == exported
    assert (exported / "MLmodel").read_text() != before  # a new model, put in place whole
    assert not [p for p in exported.parent.iterdir() if p.name.startswith(f".{exported.name}.")]
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="no MLflow model"):
        export_mlflow(folder, other, overwrite=True)
    assert (other / "keep.txt").read_text() == "mine"


# --------------------------------------------------------------------------- without MLflow


def test_without_mlflow_installed_the_error_says_how_to_install_it(fitted: tuple[Path, str], tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    folder, _ = fitted
    monkeypatch.setitem(sys.modules, "mlflow", None)  # `import mlflow` now raises ImportError

    for call in (lambda: log_to_mlflow(homl.load(folder), folder, "http://127.0.0.1:1"),
                 lambda: export_mlflow(folder, tmp_path / "out")):
        with pytest.raises(ConfigError, match=r"pip install 'homl\[mlflow\]'"):
            call()
    # The command line refuses before training.
    done = CliRunner().invoke(app, ["segment", str(DATA / "mall_customers.csv"), "--mlflow", "http://127.0.0.1:1"])
    shown = " ".join(done.output.replace("│", " ").split())  # the words, out of the usage error's box
    assert done.exit_code == 2 and "MLflow is not installed; install it with: pip install 'homl[mlflow]'" in shown
    assert not (tmp_path / "out").exists()
