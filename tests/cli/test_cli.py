"""Tests for the ``homl`` command: fit / predict / info, one-line errors with exit code 2,
tampered models, and resuming a search after the process was killed."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import homl
from homl.cli import app
from homl.data import example_path


def homl_cli(*args: object, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python -m homl ARGS`` (the real entry point, ``homl.cli.main``) in ``cwd``."""
    env = {k: v for k, v in os.environ.items() if k != "HOML_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "homl", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def assert_one_line_error(run: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit code 2, nothing on stdout, one ``error: ...`` line on stderr holding every fragment."""
    shown = f"exit {run.returncode}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    assert run.returncode == 2, shown
    assert "Traceback" not in run.stdout + run.stderr, shown
    assert run.stdout == "", shown
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), shown
    for fragment in fragments:
        assert fragment in lines[0], shown
    return lines[0]


def titanic_without_target(path: Path, drop: tuple[str, ...] = ()) -> pd.DataFrame:
    frame = pd.read_csv(example_path("titanic")).drop(columns=["Survived", *drop])
    frame.to_csv(path, index=False)
    return frame


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """``homl fit --example titanic --time-limit 10 -o m`` once for the module: (work dir, the run)."""
    work = tmp_path_factory.mktemp("cli")
    run = homl_cli("fit", "--example", "titanic", "--time-limit", "10", "-o", "m", cwd=work)
    return work, run


@pytest.fixture
def model_copy(fitted, tmp_path: Path) -> Path:
    """A private copy of the fitted model directory, at ``tmp_path / 'm'``."""
    work, run = fitted
    assert run.returncode == 0, run.stderr
    shutil.copytree(work / "m", tmp_path / "m")
    return tmp_path / "m"


# --------------------------------------------------------------------------- fit, predict, info


def test_fit_predict_info(fitted) -> None:
    work, run = fitted
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert "Leaderboard" in run.stdout and "baseline" in run.stdout
    assert "test score" in run.stdout and "model saved to m" in run.stdout
    assert (work / "m" / "model.skops").is_file() and (work / "m" / "metadata.json").is_file()
    assert not (work / "m.homl-work").exists()
    assert "report: m/report.html" in run.stdout and (work / "m" / "report.html").is_file()

    rows = titanic_without_target(work / "passengers.csv")
    predicted = homl_cli("predict", "m", "passengers.csv", "-o", "preds.csv", cwd=work)
    assert predicted.returncode == 0, predicted.stderr
    assert f"{len(rows):,} predictions written to preds.csv" in predicted.stderr
    preds = pd.read_csv(work / "preds.csv")
    assert len(preds) == len(rows)
    assert list(preds.columns) == ["Survived", "proba_0", "proba_1"]
    assert set(preds["Survived"]) <= {0, 1}
    np.testing.assert_allclose(preds["proba_0"] + preds["proba_1"], 1.0)
    # Same rows, same order as the Python API gives.
    np.testing.assert_allclose(preds["proba_1"], homl.load(work / "m").predict_proba(rows)[:, 1], rtol=1e-9)

    info = homl_cli("info", "m", cwd=work)
    assert info.returncode == 0, info.stderr
    assert "kind: supervised" in info.stdout
    assert "task: binary, target: 'Survived'" in info.stdout
    assert "Leaderboard" in info.stdout and "baseline" in info.stdout
    assert "test score:" in info.stdout and "Schema" in info.stdout


def test_predict_to_standard_output_in_process(model_copy: Path, tmp_path: Path) -> None:
    rows = titanic_without_target(tmp_path / "passengers.csv").head(25)
    rows.to_csv(tmp_path / "few.csv", index=False)
    result = CliRunner().invoke(app, ["predict", str(model_copy), str(tmp_path / "few.csv")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "Survived,proba_0,proba_1"
    assert len(lines) == 1 + 25


def test_the_command_line_imports_only_public_names() -> None:
    """A private module (``homl.tasks._model``...) may change without notice: the CLI stays off them."""
    import ast

    for source in Path(homl.cli.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module.startswith("homl"):
                modules, names = [node.module], [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                modules, names = [a.name for a in node.names if a.name.startswith("homl")], []
            else:
                continue
            private = [m for m in modules if any(part.startswith("_") for part in m.split("."))]
            private += [n for n in names if n.startswith("_") and not n.startswith("__")]
            assert not private, f"{source.name} imports {private}"


def test_version(tmp_path: Path) -> None:
    run = homl_cli("--version", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"homl {homl.__version__}\n"


def test_info_in_process(model_copy: Path) -> None:
    result = CliRunner().invoke(app, ["info", str(model_copy)])
    assert result.exit_code == 0, result.output
    assert "target: 'Survived'" in result.stdout
    assert "PassengerId" in result.stdout and "identifier" in result.stdout  # the schema table
    meta = json.loads((model_copy / "metadata.json").read_text())
    assert meta["winner"] in result.stdout


# --------------------------------------------------------------------------- one-line errors


@pytest.fixture
def bad_inputs(tmp_path: Path) -> Path:
    (tmp_path / "a_folder").mkdir()
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "header.csv").write_text("a,b,y\n")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    frame["y"] = frame["a"] + rng.normal(scale=0.1, size=60)
    frame.to_csv(tmp_path / "data.csv", index=False)
    return tmp_path


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["fit", "nosuch.csv", "--target", "y", "-o", "m"], ["nosuch.csv: no such file"]),
        (["fit", "a_folder", "--target", "y", "-o", "m"], ["a_folder: is a folder; expected a table file"]),
        (["fit", "empty.csv", "--target", "y", "-o", "m"], ["empty.csv: is empty"]),
        (["fit", "header.csv", "--target", "y", "-o", "m"], ["header.csv: has column names but no data rows"]),
        (["fit", "data.csv", "--target", "z", "-o", "m"], ["target column 'z' not found", "'a', 'b', 'y'"]),
        (["fit", "data.csv", "--target", "yy", "-o", "m"], ["target column 'yy' not found; did you mean 'y'?"]),
        (["fit", "data.csv", "--target", "y", "-o", "m", "--metric", "nope"], ["unknown metric 'nope'"]),
        (
            ["fit", "data.csv", "--target", "y", "-o", "m", "--metric", "roc_auc"],
            ["metric 'roc_auc' does not apply to regression"],
        ),
        (["fit", "data.csv", "--target", "y", "-o", "m", "--task", "nope"], ["unknown task 'nope'"]),
        (["fit", "data.csv", "--target", "y", "-o", "m", "--models", "linear,nope"], ["unknown model family 'nope'"]),
        (
            ["fit", "data.csv", "--target", "y", "-o", "m", "--time-limit", "0"],
            ["time limit must be a positive number of seconds"],
        ),
        (
            ["fit", "data.csv", "--target", "y", "-o", "m", "--time-limit", "nan"],
            ["time limit must be a positive number of seconds"],
        ),
        (["fit", "data.csv", "--target", "y", "-o", "m", "--test-size", "1.5"], ["test size must be between 0 and 1"]),
        (["fit", "--example", "nope"], ["no example named 'nope'"]),
        (["fit", "--target", "y"], ["give a table to learn from"]),
        (["predict", "no_model", "data.csv", "-o", "p.csv"], ["no such model directory: no_model"]),
        (["predict", "a_folder", "data.csv"], ["a_folder is not a homl model directory"]),
        (["info", "no_model"], ["no such model directory: no_model"]),
    ],
    ids=lambda v: "-".join(v) if isinstance(v, list) and v and v[0] in ("fit", "predict", "info") else None,
)
def test_bad_input_gives_one_line_and_exit_code_2(bad_inputs: Path, args: list[str], fragments: list[str]) -> None:
    assert_one_line_error(homl_cli(*args, cwd=bad_inputs), *fragments)
    assert not (bad_inputs / "m").exists() and not (bad_inputs / "p.csv").exists()


def test_output_holding_a_model_is_refused_without_overwrite(model_copy: Path) -> None:
    def files() -> dict[str, bytes]:
        return {str(p.relative_to(model_copy)): p.read_bytes() for p in model_copy.rglob("*") if p.is_file()}

    before = files()
    run = homl_cli("fit", "--example", "titanic", "--time-limit", "5", "-o", "m", cwd=model_copy.parent)
    assert_one_line_error(run, "output 'm' holds a model already; use --overwrite to replace it")
    assert files() == before


def test_predict_with_a_file_lacking_a_required_column(model_copy: Path) -> None:
    titanic_without_target(model_copy.parent / "no_sex.csv", drop=("Sex",))
    run = homl_cli("predict", "m", "no_sex.csv", "-o", "preds.csv", cwd=model_copy.parent)
    assert_one_line_error(run, "missing required column(s): 'Sex'")
    assert not (model_copy.parent / "preds.csv").exists()


def test_predict_refuses_to_overwrite_its_input(model_copy: Path) -> None:
    titanic_without_target(model_copy.parent / "rows.csv")
    before = (model_copy.parent / "rows.csv").read_bytes()
    run = homl_cli("predict", "m", "rows.csv", "-o", "rows.csv", cwd=model_copy.parent)
    assert_one_line_error(run, "is the input file")
    assert (model_copy.parent / "rows.csv").read_bytes() == before


@pytest.mark.parametrize("args", [["--time-limit", "abc"], ["--no-such-option"]], ids=["bad-number", "unknown-option"])
def test_usage_errors_exit_2_without_traceback(bad_inputs: Path, args: list[str]) -> None:
    run = homl_cli("fit", "data.csv", "--target", "y", "-o", "m", *args, cwd=bad_inputs)
    shown = f"exit {run.returncode}\n{run.stderr}"
    assert run.returncode == 2, shown
    assert "Traceback" not in run.stdout + run.stderr, shown


def test_error_message_with_brackets_is_printed_verbatim(bad_inputs: Path) -> None:
    run = homl_cli("fit", "data.csv", "--target", "[/x]", "-o", "m", cwd=bad_inputs)
    assert_one_line_error(run, "target column '[/x]' not found")


# --------------------------------------------------------------------------- tampered model


class _WouldRunOnUnpickle:
    """Unpickling this creates a marker file: proof that a pickle was loaded."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("fix_checksum", [False, True], ids=["checksum-kept", "checksum-updated"])
def test_tampered_model_is_refused_and_nothing_is_unpickled(model_copy: Path, fix_checksum: bool) -> None:
    work = model_copy.parent
    marker = work / "unpickled.txt"
    payload = pickle.dumps(_WouldRunOnUnpickle(marker))
    (model_copy / "model.skops").write_bytes(payload)
    if fix_checksum:
        import hashlib

        meta = json.loads((model_copy / "metadata.json").read_text())
        meta["artifacts"]["model"]["sha256"] = hashlib.sha256(payload).hexdigest()
        (model_copy / "metadata.json").write_text(json.dumps(meta))
    titanic_without_target(work / "rows.csv")

    run = homl_cli("predict", "m", "rows.csv", "-o", "preds.csv", cwd=work)
    line = assert_one_line_error(run, "model.skops")
    assert ("not a valid skops file" if fix_checksum else "was modified after saving") in line
    assert not marker.exists()
    assert not (work / "preds.csv").exists()
    assert_one_line_error(homl_cli("info", "m", cwd=work), "model.skops")
    assert not marker.exists()


# --------------------------------------------------------------------------- kill -9, then --resume


def _complete_trials(db: Path) -> set[tuple[str, int, float]]:
    """(study, trial number, value) of every finished trial in an Optuna SQLite study file."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        rows = connection.execute(
            "SELECT s.study_name, t.number, v.value FROM trials t JOIN studies s USING (study_id) "
            "LEFT JOIN trial_values v USING (trial_id) WHERE t.state = 'COMPLETE'"
        ).fetchall()
    finally:
        connection.close()
    return {(name, int(number), value) for name, number, value in rows}


@pytest.mark.slow  # a minute-long run killed and resumed: .ci/run runs it after the default suite
def test_killed_search_resumes_and_keeps_finished_trials(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    n = 3000
    X = rng.normal(size=(n, 6))
    y = 2 * X[:, 0] + np.sin(2 * X[:, 1]) + X[:, 2] * X[:, 3] + rng.normal(scale=0.3, size=n)
    data = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]).assign(y=y)
    data.to_csv(tmp_path / "data.csv", index=False)
    command = [
        sys.executable,
        "-m",
        "homl",
        "fit",
        "data.csv",
        "--target",
        "y",
        "-o",
        "m",
        "--models",
        "lightgbm,decision_tree",
    ]

    log = tmp_path / "first-run.log"
    db = tmp_path / "m.homl-work" / "study.db"
    with open(log, "w") as stderr:
        process = subprocess.Popen(
            [*command, "--time-limit", "60"], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=stderr
        )
        try:
            finished: set = set()
            deadline = time.monotonic() + 90
            while len(finished) < 2:
                assert process.poll() is None, f"the first run ended (exit {process.returncode}):\n{log.read_text()}"
                assert time.monotonic() < deadline, f"no 2 finished trials in 90 s:\n{log.read_text()}"
                time.sleep(0.2)
                if db.exists():
                    try:
                        finished = _complete_trials(db)
                    except sqlite3.Error:  # tables not created yet, or locked for a moment
                        finished = set()
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert not (tmp_path / "m").exists(), "a killed run must not leave a model directory"
    finished = _complete_trials(db)  # trials may have finished between the last poll and the kill
    assert len(finished) >= 2

    resumed = subprocess.run(
        [*command, "--resume", "--time-limit", "20", "-v"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming the search stored in m.homl-work" in resumed.stderr
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert any("resuming the search" in note for note in meta["notes"]), meta["notes"]
    assert not (tmp_path / "m.homl-work").exists()

    model = homl.load(tmp_path / "m")
    predicted = model.predict(data.drop(columns="y").head(20))
    assert predicted.shape == (20,) and np.all(np.isfinite(predicted))

    kept = _complete_trials(tmp_path / "m" / "study.db")
    assert len(kept) >= len(finished)
    assert finished <= kept, f"finished trials lost on resume: {sorted(finished - kept)}"


def test_prep_option_takes_name_value_pairs() -> None:
    from homl.cli._app import _settings

    assert _settings(["cluster_features=8", "ratios=yes", "geo_gamma=0.5", "categorical=onehot"]) == {
        "cluster_features": 8, "ratios": True, "geo_gamma": 0.5, "categorical": "onehot"}
    with pytest.raises(homl.HomlError, match="--prep takes NAME=VALUE"):
        _settings(["cluster_features"])
