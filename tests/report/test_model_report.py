"""Tests for the model report: written by ``homl fit -o`` within the time limit, every section
present, rebuilt by ``homl report`` from the model directory alone, and checked in a browser."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine
from sklearn.linear_model import LinearRegression
from typer.testing import CliRunner

import homl
from homl.cli import app
from homl.data import example_path
from homl.evaluate import DIAGNOSTICS_FILE, learning_verdict
from homl.registry import write_model_dir
from homl.report.model import SECTIONS

ANCHORS = ["summary", "leaderboard", "learning-curves", "tuning", "test-set-results", "feature-importance",
           "assumptions-and-limits"]
#: Figures drawn from the test predictions alone: always there.
ALWAYS = {
    "regression": ["leaderboard", "predicted-vs-actual", "residuals"],
    "binary": ["leaderboard", "confusion-matrix", "confusion-matrix-normalised", "precision-recall-threshold",
               "pr-curve", "roc-curve"],
    "multiclass": ["leaderboard", "confusion-matrix", "confusion-matrix-normalised", "pr-curve", "roc-curve"],
}
#: Figures of costly diagnostics, each drawn unless the limits section says it was skipped.
COSTLY = {"learning-curve": "learning curve", "validation-curve": "validation curve",
          "permutation-importance": "permutation importance", "partial-dependence": "partial dependence"}


def fit_timed(frame: pd.DataFrame, target: str, time_limit: float, **options) -> tuple[homl.FitResult, float]:
    started = time.monotonic()
    result = homl.fit(frame, target, time_limit=time_limit, **options)
    return result, time.monotonic() - started


@pytest.fixture(scope="module")
def housing(tmp_path_factory) -> tuple[homl.FitResult, Path, float]:
    frame = pd.read_csv(example_path("housing")).sample(2500, random_state=0)
    output = tmp_path_factory.mktemp("housing") / "model"
    result, seconds = fit_timed(frame, "median_house_value", 12, output=output)
    return result, output, seconds


@pytest.fixture(scope="module")
def titanic(tmp_path_factory) -> tuple[homl.FitResult, Path, float]:
    output = tmp_path_factory.mktemp("titanic") / "model"
    result, seconds = fit_timed(pd.read_csv(example_path("titanic")), "Survived", 10, output=output)
    return result, output, seconds


def figure_names(html: str) -> set[str]:
    return set(re.findall(r'data-name="([^"]+)"', html))


def assert_complete(html: str, folder: Path, task: str) -> None:
    """Every section, the figures that are always drawn, and each costly one or its reason."""
    for anchor in ANCHORS:
        assert f'<section id="{anchor}">' in html, anchor
    names = figure_names(html)
    assert set(ALWAYS[task]) <= names
    limits = html[html.index('id="assumptions-and-limits"'):]
    for name, step in COSTLY.items():
        assert name in names or f"diagnostic skipped — {step}" in limits, name
    assert {p.stem for p in (folder / "figures").glob("*.png")} == names
    assert "number-one predictor" in html or "most important input" in html or "No feature importance" in html


@pytest.mark.parametrize("case", ["housing", "titanic"])
def test_fit_with_output_writes_the_report_within_the_time_limit(case: str, request) -> None:
    result, folder, seconds = request.getfixturevalue(case)
    assert seconds <= result.metadata["time_limit"] * 1.1
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert_complete(html, folder, result.task)
    assert "95% CI" in html and "Verdict:" in html or "Learning curves were not computed" in html
    diagnostics = json.loads((folder / DIAGNOSTICS_FILE).read_text())
    # The test-set diagnostics come from the model fitted on the training rows only.
    assert diagnostics["test"]["rows"] == result.test_score.n_rows
    assert homl.load(folder).predict(pd.read_csv(example_path(case)).head(5)).shape == (5,)


def test_regression_report_reads_its_diagnostics(housing) -> None:
    result, folder, _ = housing
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "Worst errors on the test set" in html
    assert "median_income" in html
    assert result.diagnostics["verdict"] is None or result.diagnostics["verdict"]["verdict"] in (
        "under-fitting (high bias)", "over-fitting (high variance)", "fine")
    assert "<table>" in result._repr_html_() and "median_house_value" in result._repr_html_()


def test_homl_report_rebuilds_from_the_directory_alone(titanic, tmp_path: Path) -> None:
    _, folder, _ = titanic
    copy = tmp_path / "moved"
    shutil.copytree(folder, copy)
    shutil.rmtree(copy / "figures")
    (copy / "report.html").unlink()
    run = CliRunner().invoke(app, ["report", str(copy), "--no-open"])
    assert run.exit_code == 0, run.output
    assert_complete((copy / "report.html").read_text(encoding="utf-8"), copy, "binary")
    elsewhere = tmp_path / "out" / "titanic.html"
    run = CliRunner().invoke(app, ["report", str(copy), "-o", str(elsewhere), "--no-open"])
    assert run.exit_code == 0, run.output
    assert_complete(elsewhere.read_text(encoding="utf-8"), elsewhere.parent, "binary")


def test_report_of_a_model_saved_without_diagnostics_says_what_it_lacks(titanic, tmp_path: Path) -> None:
    _, folder, _ = titanic
    copy = tmp_path / "old"
    shutil.copytree(folder, copy)
    for name in (DIAGNOSTICS_FILE, "report.html"):
        (copy / name).unlink()
    shutil.rmtree(copy / "figures")
    assert CliRunner().invoke(app, ["report", str(copy), "--no-open"]).exit_code == 0
    html = (copy / "report.html").read_text(encoding="utf-8")
    assert all(f'<section id="{anchor}">' in html for anchor in ANCHORS)
    assert "No test-set diagnostics were saved with this model." in html
    assert figure_names(html) == {"leaderboard"}


def test_homl_report_refuses_a_folder_without_a_model(tmp_path: Path) -> None:
    run = CliRunner().invoke(app, ["report", str(tmp_path), "--no-open"])
    assert run.exit_code != 0
    assert "not a model directory" in str(run.exception)


def test_multiclass_report_is_computed_on_demand(tmp_path: Path) -> None:
    frame = load_wine(as_frame=True).frame
    result, _ = fit_timed(frame, "target", 6, models=["linear", "decision_tree", "random_forest"])
    assert result.diagnostics is None  # no output: no report unless asked
    report = result.report(tmp_path / "wine.html")
    assert [s.title for s in report.sections] == list(SECTIONS)
    assert_complete((tmp_path / "wine.html").read_text(encoding="utf-8"), tmp_path, "multiclass")
    assert "Per-class precision, recall and F1" in report.html()


@pytest.mark.parametrize("case", ["housing", "titanic"])
def test_report_opens_in_a_browser_without_errors(case: str, request, browser_check, tmp_path: Path) -> None:
    _, folder, _ = request.getfixturevalue(case)
    html = folder / "report.html"
    checked = browser_check(html, tmp_path / "report.png")
    assert checked["console_errors"] == []
    assert checked["broken_images"] == []
    assert checked["images"] == len(figure_names(html.read_text(encoding="utf-8")))
    assert Path(checked["screenshot"]).stat().st_size > 0


def test_model_dir_takes_a_figures_folder_but_no_deeper_path(tmp_path: Path) -> None:
    png = tmp_path / "a.png"
    png.write_bytes(b"\x89PNG")
    model = LinearRegression().fit(np.arange(6).reshape(-1, 1), np.arange(6))
    written = write_model_dir(tmp_path / "m", model, {}, files={"figures/a.png": png})
    assert (written / "figures" / "a.png").read_bytes() == b"\x89PNG"
    for bad in ("a/b/c.png", "../a.png", "figures/.a.png"):
        with pytest.raises(homl.ModelDirError, match="not a plain"):
            write_model_dir(tmp_path / "n", model, {}, files={bad: png})


def curve(train: float, valid: float, previous_valid: float, baseline: float = 1.0) -> dict:
    points = [{"size": 100, "train_mean": train, "valid_mean": previous_valid},
              {"size": 200, "train_mean": train, "valid_mean": valid}]
    return {"points": points, "baseline": baseline}


@pytest.mark.parametrize(
    ("train", "valid", "verdict"),
    [(0.7, 0.75, "under-fitting (high bias)"), (0.05, 0.6, "over-fitting (high variance)"), (0.2, 0.25, "fine")],
)
def test_learning_curve_verdict_reads_bias_and_variance(train: float, valid: float, verdict: str) -> None:
    # RMSE against a baseline of 1: train and validation errors as shares of the baseline's.
    assert learning_verdict(curve(train, valid, valid), "rmse")["verdict"] == verdict
    assert "more data would likely help" in learning_verdict(curve(train, valid, valid + 0.2), "rmse")["advice"]
