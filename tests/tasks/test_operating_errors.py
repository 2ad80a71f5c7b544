"""Operating commands refuse with one clear error what they cannot do right: outcomes fed back
under a repeated or impossible key, monitor options and saved summaries that make no sense,
ragged rows where predictions must line up with the input, outputs that are folders, a damaged
part of an interrupted batch run, and model directories lacking a file or edited by hand."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import homl
from homl.cli import app
from homl.errors import ConfigError, DataError, HomlError, ModelDirError
from homl.evaluate import live_performance
from homl.metrics import get_metric
from homl.registry import LoggedPrediction, Registry
from homl.tasks.feedback import feed_back
from homl.tasks.monitor import REFERENCE_FILE, monitor

FIT = {"models": ["ridge"], "tune": False, "ensemble": False, "bagging": False, "report": False, "cv": 3}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """A ridge model of 300 rows (numbers, a category, a yes/no), and the rows without the target."""
    folder = tmp_path_factory.mktemp("operating")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x1": rng.normal(size=300), "x2": rng.uniform(0, 10, 300),
                          "color": rng.choice(["red", "green", "blue"], 300), "flag": rng.choice([True, False], 300)})
    frame["y"] = 3 * frame["x1"] + 0.5 * frame["x2"] + (frame["color"] == "red") * 2 + rng.normal(0, 0.3, 300)
    homl.fit(frame, "y", time_limit=10, seed=0, **FIT).save(folder / "model")
    return folder / "model", frame


def _logged(tmp_path: Path, model: Path, frame: pd.DataFrame, rows: int = 3) -> Registry:
    """A registry holding ``model`` as ``reg``, with ``rows`` rows of one request ``req`` logged."""
    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}")
    registry.add(model, "reg")
    registry.log_predictions("reg", 1, [LoggedPrediction("req", i, row.drop("y").to_dict(), {"prediction": 1.0})
                                        for i, row in frame.head(rows).iterrows()])
    return registry


def _copy(model: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(model, tmp_path / "copy"))


# ------------------------------------------------------------------- feedback


def test_outcomes_for_one_request_and_row_are_refused_not_collapsed(tiny, tmp_path):
    model, frame = tiny
    registry = _logged(tmp_path, model, frame)
    pd.DataFrame({"request_id": "req", "y": [1.0, 2.0, 3.0]}).to_csv(tmp_path / "norow.csv", index=False)
    with pytest.raises(DataError, match=r"norow.csv: request 'req' has 3 outcomes \(lines 2, 3, 4\) but the table "
                                        r"has no 'row' column, so each would be stored as row 0; add a 'row' column"):
        feed_back("reg", tmp_path / "norow.csv", registry=registry.url)
    repeated = pd.DataFrame({"request_id": "req", "row": [0, 1, 1], "y": [1.0, 2.0, 3.0]})
    repeated.to_csv(tmp_path / "repeated.csv", index=False)
    with pytest.raises(DataError, match=r"repeated.csv: request 'req', row 1 has 2 outcomes \(lines 3, 4\); "
                                        "expected one outcome per request and row"):
        feed_back("reg", tmp_path / "repeated.csv", registry=registry.url)
    with pytest.raises(DataError, match=r"request 'req', row 1 has 2 outcomes \(rows 1, 2\)"):
        feed_back("reg", repeated, registry=registry.url)
    assert not registry.prediction_log("reg").labelled.any()  # nothing stored by a refused table

    stored = feed_back("reg", repeated.assign(row=[0, 1, 2]), registry=registry.url)
    assert stored.stored == 3 and registry.prediction_log("reg").info["label"].tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("written, shown", [("1e20", "1e+20"), (str(2**63), str(2**63)), ("-1", "-1"),
                                            ("2147483648", "2147483648"), ("1.5", "1.5"), ("first", "'first'")])
def test_a_row_that_is_no_position_in_a_request_is_named_as_written(tiny, tmp_path, written, shown):
    model, frame = tiny
    registry = _logged(tmp_path, model, frame, rows=1)
    (tmp_path / "labels.csv").write_text(f"request_id,row,y\nreq,{written},3.5\n", encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(DataError) as error:
            feed_back("reg", tmp_path / "labels.csv", registry=registry.url)
    assert f"row 2, column 'row' is {shown}; expected the row's position in its request: a whole number from 0 " \
           "to 2,147,483,647" in str(error.value)
    assert "np." not in str(error.value) and not [w for w in caught if issubclass(w.category, RuntimeWarning)]


# -------------------------------------------------------------------- monitor


def test_monitor_refuses_a_span_beyond_the_calendar_and_an_output_folder_before_any_work(tiny, tmp_path,
                                                                                          monkeypatch):
    model, _ = tiny

    def never(*args, **kwargs):
        raise AssertionError("the monitoring ran before the options were checked")

    monkeypatch.setattr("homl.tasks.monitor.monitor", never)
    run = CliRunner().invoke(app, ["monitor", str(model), "--since", "999999999d"])
    assert isinstance(run.exception, HomlError), run.output
    assert "--since '999999999d': reaches back before the year 1" in str(run.exception)
    run = CliRunner().invoke(app, ["monitor", str(model), "--current", "rows.csv", "-o", str(tmp_path)])
    assert isinstance(run.exception, HomlError), run.output
    assert f"--output {tmp_path}: is a folder; expected the name of the HTML report to write" in str(run.exception)


@pytest.mark.parametrize("window", ["0D", "-1D", "0h"])
def test_a_live_window_must_be_a_positive_span(tiny, tmp_path, window, monkeypatch):
    model, frame = tiny
    registry = _logged(tmp_path, model, frame, rows=40)
    registry.add_feedback("reg", [("req", i, float(y)) for i, y in enumerate(frame["y"].head(40))])
    with pytest.raises(DataError, match=f"window '{window}' is not a positive span of time"):
        monitor("reg", registry=registry.url, window=window)

    def never(*args, **kwargs):
        raise AssertionError("the model was loaded before the window was checked")

    monkeypatch.setattr("homl.tasks.monitor._resolve", never)
    with pytest.raises(DataError, match=f"window '{window}' is not a positive span of time"):
        monitor(model, frame, window=window)
    times = pd.Series(pd.date_range("2026-01-01", periods=40, freq="h"))
    with pytest.raises(DataError, match=f"window '{window}' is not a positive span of time"):
        live_performance(np.ones(40), np.ones(40), times, get_metric("rmse", "regression"), window=window)


@pytest.mark.parametrize("saved, fragment", [
    ({}, "reference.json: 'rows' is null, not a number of rows"),
    ([], r"reference.json: holds a list \(\[\]\), not an object"),
    ({"rows": 5, "columns": [1]}, r"reference.json: 'columns' is \[1\], not an object of column summaries"),
    ({"rows": 5, "columns": {"x1": 3}}, "reference.json: column 'x1' has no summary with a 'kind'"),
    ({"rows": 5, "columns": {}, "predictions": {"rows": "many"}},
     "reference.json: 'predictions': 'rows' is \"many\", not a number of rows"),
])
def test_a_reference_summary_edited_by_hand_is_refused_naming_the_file(tiny, tmp_path, saved, fragment):
    model, frame = tiny
    copy = _copy(model, tmp_path)
    (copy / REFERENCE_FILE).write_text(json.dumps(saved), encoding="utf-8")
    with pytest.raises(ModelDirError, match=fragment + ".*give its training table with --reference"):
        monitor(copy, frame)


def test_a_model_folder_lacking_its_model_file_is_named_so(tiny, tmp_path):
    model, frame = tiny
    copy = _copy(model, tmp_path)
    (copy / "model.skops").unlink()
    for refused in (lambda: monitor(copy, frame), lambda: homl.predict_batch(copy, tmp_path / "in.csv",
                                                                             tmp_path / "out.csv")):
        with pytest.raises(ModelDirError, match=r"copy is not a homl model directory \(missing model.skops\)") as e:
            refused()
        assert "metadata.json" not in str(e.value)


# ------------------------------------------------------------------ prediction


def test_ragged_rows_are_refused_by_predict_and_predict_batch_naming_their_lines(tiny, tmp_path):
    model, _ = tiny
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("x1,x2,color,flag\n1,2,red,true\n3,4,blue,false,9\n5,6,green,true\n", encoding="utf-8")
    expected = r"ragged.csv: 1 ragged row at line 3 \(expected 4 fields\); rows are not skipped where each result"
    with pytest.raises(DataError, match=expected):
        homl.predict_batch(model, ragged, tmp_path / "out.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ragged.csv"]  # no output, no parts folder
    run = CliRunner().invoke(app, ["predict", str(model), str(ragged), "-o", str(tmp_path / "out.csv")])
    assert isinstance(run.exception, DataError) and run.exception.args[0].startswith(f"{ragged}: 1 ragged row at "
                                                                                     "line 3"), run.output
    assert not (tmp_path / "out.csv").exists()
    whole = tmp_path / "whole.csv"
    whole.write_text("x1,x2,color,flag\n1,2,red,true\n5,6,green,true\n", encoding="utf-8")
    run = CliRunner().invoke(app, ["predict", str(model), str(whole), "-o", str(tmp_path / "out.csv")])
    assert run.exit_code == 0 and len(pd.read_csv(tmp_path / "out.csv")) == 2, run.output


def test_predict_batch_refuses_a_header_only_table_and_an_output_folder(tiny, tmp_path):
    model, frame = tiny
    frame.drop(columns="y").head(0).to_csv(tmp_path / "header.csv", index=False)
    with pytest.raises(DataError, match="header.csv: has column names but no data rows"):
        homl.predict_batch(model, tmp_path / "header.csv", tmp_path / "out.csv")
    frame.drop(columns="y").to_csv(tmp_path / "rows.csv", index=False)
    (tmp_path / "out_dir.csv").mkdir()
    with pytest.raises(ConfigError, match="output '.*out_dir.csv' is a folder; expected the name of a .parquet or "
                                          ".csv file"):
        homl.predict_batch(model, tmp_path / "rows.csv", tmp_path / "out_dir.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["header.csv", "out_dir.csv", "rows.csv"]


def test_a_damaged_part_of_an_interrupted_run_is_predicted_again(tiny, tmp_path):
    model, frame = tiny
    rows = tmp_path / "rows.csv"
    frame.drop(columns="y").to_csv(rows, index=False)

    def stop(chunk: int, done: int) -> None:
        if chunk == 3:
            raise KeyboardInterrupt  # stands for a kill after three chunks

    with pytest.raises(KeyboardInterrupt):
        homl.predict_batch(model, rows, tmp_path / "out.csv", chunk_rows=50, on_chunk=stop)
    part = tmp_path / ".out.csv.parts" / "part-000001.parquet"
    part.write_bytes(part.read_bytes()[:100])  # cut short, as by a crash while the disk wrote it
    done = homl.predict_batch(model, rows, tmp_path / "out.csv", chunk_rows=50)
    assert (done.rows, done.chunks, done.resumed_chunks) == (300, 6, 2)
    expected = homl.load(model).predict_frame(str(rows))
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "out.csv"), expected.reset_index(drop=True))


# --------------------------------------------------------- hand-edited metadata


@pytest.mark.parametrize("edit, fragment", [
    (lambda m: m.update(task="bogus"), "'task' is \"bogus\"; expected one of 'regression', 'binary', 'multiclass'"),
    (lambda m: m["schema"]["columns"][2].update(categories=5),
     r"column 2 \('color'\): 'categories' is 5; expected a list of values or null"),
    (lambda m: m["schema"]["columns"][2].update(kind="bogus"), r"column 2 \('color'\): 'kind' is 'bogus'"),
    (lambda m: m["schema"]["columns"][0].pop("n_unique"), r"column 0 \('x1'\) has no 'n_unique'"),
    (lambda m: m["schema"].update(columns={}), "the schema's 'columns' is of type dict; expected a list"),
])
def test_hand_edited_metadata_is_refused_naming_the_file_and_field(tiny, tmp_path, edit, fragment):
    model, frame = tiny
    copy = _copy(model, tmp_path)
    metadata = json.loads((copy / "metadata.json").read_text(encoding="utf-8"))
    edit(metadata)
    (copy / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    frame.drop(columns="y").to_csv(tmp_path / "rows.csv", index=False)
    for refused in (lambda: homl.load(copy), lambda: homl.predict_batch(copy, tmp_path / "rows.csv",
                                                                        tmp_path / "out.csv")):
        with pytest.raises(ModelDirError, match=fragment) as error:
            refused()
        assert str(copy) in str(error.value) and "metadata.json" in str(error.value)
    run = CliRunner().invoke(app, ["info", str(copy)])
    assert isinstance(run.exception, ModelDirError), run.output


def test_predict_names_its_input_for_a_missing_column_and_refuses_an_output_folder(tiny, tmp_path):
    import subprocess
    import sys

    from homl.errors import SchemaError

    model, frame = tiny
    rows = tmp_path / "rows.csv"
    frame.drop(columns=["y", "x1"]).head(5).to_csv(rows, index=False)
    run = CliRunner().invoke(app, ["predict", str(model), str(rows)])
    assert isinstance(run.exception, SchemaError), run.output
    assert run.exception.args[0].startswith(f"{rows}: missing required column(s): 'x1'")
    frame.drop(columns="y").head(5).to_csv(rows, index=False)
    (tmp_path / "out").mkdir()
    done = subprocess.run([sys.executable, "-m", "homl", "predict", str(model), str(rows), "-o", "out"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "error: out: is a folder; expected the name of a file to write" in " ".join(done.stderr.split())
    assert list((tmp_path / "out").iterdir()) == []
