"""Tests for model kinds: every kind keeps the protocol, ``homl.load`` dispatches on the kind a
directory names, and a directory written before kinds existed (format 1) loads and predicts as it did."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from typer.testing import CliRunner

import homl
from homl.cli import app
from homl.registry import read_metadata, write_model_dir
from homl.tasks import KINDS, ModelInfo, ModelKind, kind_class

MODEL_V1 = Path(__file__).parents[1] / "data" / "model_v1"


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_kind_keeps_the_protocol(name: str) -> None:
    cls = kind_class(name)
    assert cls.kind == name
    for method in ("load", "check", "predict_frame", "info", "report"):
        assert callable(getattr(cls, method, None)), f"kind {name!r} lacks {method}"


def test_unknown_kind_is_refused_naming_it_and_the_known_ones(tmp_path: Path) -> None:
    model = LinearRegression().fit(np.arange(6).reshape(-1, 1), np.arange(6))
    path = write_model_dir(tmp_path / "m", model, {}, kind="hologram")
    with pytest.raises(homl.ModelDirError, match=r"unknown model kind 'hologram'; this homl knows .*'supervised'"):
        homl.load(path)
    with pytest.raises(homl.ModelDirError, match="holds a model of kind 'hologram', not 'supervised'"):
        homl.TabularModel.load(path)
    for command in (["info", str(path)], ["predict", str(path), "rows.csv"], ["report", str(path), "--no-open"]):
        run = CliRunner().invoke(app, command)
        assert isinstance(run.exception, homl.ModelDirError) and "'hologram'" in str(run.exception), run.output


# --------------------------------------------------------------------------- format 1


@pytest.fixture
def model_v1(tmp_path: Path) -> Path:
    """A copy of the format-1 directory written by homl 0.1.0 (reading it must not change it)."""
    shutil.copytree(MODEL_V1 / "housing", tmp_path / "housing")
    return tmp_path / "housing"


def test_format_1_directory_loads_and_predicts_as_the_old_homl_did(model_v1: Path) -> None:
    model = homl.load(model_v1)
    assert isinstance(model, homl.TabularModel) and isinstance(model, ModelKind)
    assert read_metadata(model_v1)["format_version"] == 1 and model.metadata["kind"] == "supervised"
    new = pd.read_csv(MODEL_V1 / "housing-new.csv")
    expected = pd.read_csv(MODEL_V1 / "housing-expected.csv")
    issues: list[str] = []
    frame = model.predict_frame(new, issues=issues)
    assert list(frame.columns) == ["median_house_value"]
    np.testing.assert_allclose(frame["median_house_value"], expected["median_house_value"], rtol=1e-12)
    np.testing.assert_allclose(model.predict(new), expected["median_house_value"], rtol=1e-12)
    assert any("'ISLAND'" in issue for issue in issues), issues  # a category the 800 rows never held
    info = model.info()
    assert isinstance(info, ModelInfo) and info.kind == "supervised"
    assert info.summary[0] == "task: regression, target: 'median_house_value'"
    assert repr(model).startswith("TabularModel(kind='supervised', task='regression', metric='rmse', winner='stacking'")


def test_format_1_directory_works_through_the_command_line(model_v1: Path, tmp_path: Path) -> None:
    info = CliRunner().invoke(app, ["info", str(model_v1)])
    assert info.exit_code == 0, info.output
    assert "kind: supervised" in info.stdout and "task: regression, target: 'median_house_value'" in info.stdout
    assert "Leaderboard" in info.stdout and "Schema" in info.stdout and "stacking" in info.stdout

    output = tmp_path / "predictions.csv"
    run = CliRunner().invoke(app, ["predict", str(model_v1), str(MODEL_V1 / "housing-new.csv"), "-o", str(output)])
    assert run.exit_code == 0, run.output
    expected = pd.read_csv(MODEL_V1 / "housing-expected.csv")
    np.testing.assert_allclose(pd.read_csv(output)["median_house_value"], expected["median_house_value"], rtol=1e-12)

    report = CliRunner().invoke(app, ["report", str(model_v1), "-o", str(tmp_path / "r" / "report.html"), "--no-open"])
    assert report.exit_code == 0, report.output
    assert "No test-set diagnostics were saved" in (tmp_path / "r" / "report.html").read_text(encoding="utf-8")

    meta_before = json.loads((MODEL_V1 / "housing" / "metadata.json").read_text())
    assert json.loads((model_v1 / "metadata.json").read_text()) == meta_before
