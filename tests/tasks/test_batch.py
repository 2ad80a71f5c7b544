"""Batch prediction: the same columns as ``homl predict``, in input order, chunk by chunk, from a
folder or the registry, resumed after a kill."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
from typer.testing import CliRunner

import homl
from homl.cli import app
from homl.data import example_path
from homl.errors import ConfigError, ModelDirError
from homl.registry import Registry


@pytest.fixture(scope="module")
def housing(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch")
    frame = homl.data.read_table(example_path("housing")).head(3000)
    homl.fit(frame, "median_house_value", time_limit=15, models=["lightgbm"], tune=False, ensemble=False,
             bagging=False, report=False, cv=3).save(folder / "model")
    rows = folder / "rows.csv"
    frame.drop(columns="median_house_value").head(2500).to_csv(rows, index=False)
    return folder / "model", rows


def test_chunks_give_what_homl_predict_gives_in_parquet_and_csv(housing, tmp_path):
    model, rows = housing
    expected = homl.load(model).predict_frame(str(rows))
    done = homl.predict_batch(model, rows, tmp_path / "out.parquet", chunk_rows=700)
    assert (done.rows, done.chunks, done.resumed_chunks) == (2500, 4, 0)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out.parquet"), expected)
    homl.predict_batch(model, rows, tmp_path / "out.csv", chunk_rows=700)
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == expected.to_csv(index=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "out.parquet"]  # no parts left


def test_a_killed_run_resumes_from_its_last_finished_chunk(housing, tmp_path):
    model, rows = housing
    output = tmp_path / "out.parquet"
    script = textwrap.dedent(f"""
        import os, signal
        import homl
        from homl.tasks import _model

        done = []
        real = _model.TabularModel.predict_frame
        def predict_then_die(self, data, **kwargs):
            if len(done) == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            done.append(1)
            return real(self, data, **kwargs)
        _model.TabularModel.predict_frame = predict_then_die
        homl.predict_batch({str(model)!r}, {str(rows)!r}, {str(output)!r}, chunk_rows=700)
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == -signal.SIGKILL, run.stderr
    assert not output.exists()
    resumed = homl.predict_batch(model, rows, output, chunk_rows=700)
    assert resumed.resumed_chunks == 2 and resumed.rows == 2500
    pd.testing.assert_frame_equal(pd.read_parquet(output), homl.load(model).predict_frame(str(rows)))


def test_a_registered_model_is_named_and_bad_requests_are_refused(housing, tmp_path):
    model, rows = housing
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    Registry(url).add(model, "housing")
    run = CliRunner().invoke(app, ["predict-batch", "housing@1", str(rows), "-o", str(tmp_path / "p.parquet"),
                                   "--chunk-rows", "1000", "--registry", url])
    assert run.exit_code == 0, run.output
    said = " ".join(run.output.split())  # the console wraps long lines
    assert "2,500 predictions of housing version 1" in said and "in 3 chunks" in said
    with pytest.raises(ConfigError, match="name a .parquet or .csv file"):
        homl.predict_batch(model, rows, tmp_path / "p.json")
    with pytest.raises(ConfigError, match="is the input file"):
        homl.predict_batch(model, rows, rows)
    with pytest.raises(ModelDirError, match=r"not a homl model directory \(missing model.skops and metadata.json\)"):
        homl.predict_batch(tmp_path, rows, tmp_path / "q.parquet")
