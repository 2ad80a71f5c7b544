"""Tests for the model report: written by ``homl fit -o`` with every section, each figure
drawn exactly when its diagnostic was computed (and each skipped one listed with its reason),
rebuilt by ``homl report`` from the model directory alone, and checked in a browser."""

from __future__ import annotations

import html as html_text
import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from typer.testing import CliRunner

import homl
from homl.cli import app
from homl.data import example_path, infer_schema
from homl.evaluate import DIAGNOSTICS_FILE, diagnose
from homl.metrics import METRICS
from homl.models import FloatRange, build_pipeline, get_spec
from homl.registry import write_model_dir
from homl.report.model import SECTIONS, build_model_report, key_finding

ANCHORS = ["summary", "leaderboard", "learning-curves", "tuning", "test-set-results", "feature-importance",
           "assumptions-and-limits"]
#: Figures drawn from the test predictions alone: always there.
ALWAYS = {
    "regression": ["leaderboard", "predicted-vs-actual", "residuals"],
    "binary": ["leaderboard", "confusion-matrix", "confusion-matrix-normalised", "precision-recall-threshold",
               "pr-curve", "roc-curve"],
    "multiclass": ["leaderboard", "confusion-matrix", "confusion-matrix-normalised", "pr-curve", "roc-curve"],
}
#: Figures of costly diagnostics: the figure, its entry in the diagnostics, and the step's name.
COSTLY = {"learning-curve": ("learning_curve", "learning curve"),
          "validation-curve": ("validation_curve", "validation curve"),
          "permutation-importance": ("permutation", "permutation importance"),
          "partial-dependence": ("partial_dependence", "partial dependence")}


@pytest.fixture(scope="module")
def housing(tmp_path_factory) -> tuple[homl.FitResult, Path]:
    frame = pd.read_csv(example_path("housing")).sample(2500, random_state=0)
    output = tmp_path_factory.mktemp("housing") / "model"
    return homl.fit(frame, "median_house_value", time_limit=12, output=output), output


@pytest.fixture(scope="module")
def titanic(tmp_path_factory) -> tuple[homl.FitResult, Path]:
    output = tmp_path_factory.mktemp("titanic") / "model"
    return homl.fit(pd.read_csv(example_path("titanic")), "Survived", time_limit=10, output=output), output


def figure_names(html: str) -> set[str]:
    return set(re.findall(r'data-name="([^"]+)"', html))


def assert_complete(html: str, folder: Path, task: str, diagnostics: dict) -> None:
    """Every section, the figures that are always drawn, and each costly figure exactly when its
    diagnostic was computed (else the step listed as skipped, with its reason)."""
    for anchor in ANCHORS:
        assert f'<section id="{anchor}">' in html, anchor
    names = figure_names(html)
    assert set(ALWAYS[task]) <= names
    limits = html[html.index('id="assumptions-and-limits"'):]
    for name, (key, step) in COSTLY.items():
        assert (name in names) == bool(diagnostics[key]), name
        reasons = [s for s in diagnostics["skipped"] if s.startswith(f"{step}:")]
        assert bool(reasons) == (diagnostics[key] is None), name
        for reason in reasons:
            assert html_text.escape(f"diagnostic skipped — {reason}") in limits
    # The cheap importances: drawn exactly when computed (TreeSHAP only for a booster).
    assert ("treeshap-importance" in names) == bool(diagnostics["treeshap"])
    assert ("model-importance" in names) == bool(diagnostics["own_importance"])
    assert {p.stem for p in (folder / "figures").glob("*.png")} == names
    assert html_text.escape(key_finding(diagnostics, METRICS[diagnostics["metric"]])) in html


@pytest.mark.parametrize("case", ["housing", "titanic"])
def test_fit_with_output_writes_the_report_of_its_diagnostics(case: str, request) -> None:
    result, folder = request.getfixturevalue(case)
    html = (folder / "report.html").read_text(encoding="utf-8")
    diagnostics = json.loads((folder / DIAGNOSTICS_FILE).read_text())
    assert_complete(html, folder, result.task, diagnostics)
    assert "95% CI" in html  # the test score's interval, in the summary
    verdict = diagnostics["verdict"]
    assert ("Verdict:" in html) == (verdict is not None)
    if verdict is not None:
        assert html_text.escape(f"Verdict: {verdict['verdict']}") in html
    # The test-set diagnostics come from the model fitted on the training rows only.
    assert diagnostics["test"]["rows"] == result.test_score.n_rows
    assert homl.load(folder).predict(pd.read_csv(example_path(case)).head(5)).shape == (5,)


def test_regression_report_lists_the_worst_errors(housing) -> None:
    result, folder = housing
    html = (folder / "report.html").read_text(encoding="utf-8")
    test = json.loads((folder / DIAGNOSTICS_FILE).read_text())["test"]
    errors = np.asarray(test["prediction"], dtype=float) - np.asarray(test["y_true"], dtype=float)
    worst = test["worst"]
    # The 15 largest errors, largest first, each beside its row's inputs.
    np.testing.assert_allclose(np.abs(worst["predicted − actual"]), np.sort(np.abs(errors))[::-1][:15])
    assert {"actual", "predicted", "median_income", "ocean_proximity"} <= set(worst)
    assert "Worst errors on the test set" in html
    assert "<table>" in result._repr_html_() and "median_house_value" in result._repr_html_()


def test_homl_report_rebuilds_from_the_directory_alone(titanic, tmp_path: Path) -> None:
    _, folder = titanic
    original = figure_names((folder / "report.html").read_text(encoding="utf-8"))
    diagnostics = json.loads((folder / DIAGNOSTICS_FILE).read_text())
    copy = tmp_path / "moved"
    shutil.copytree(folder, copy)
    shutil.rmtree(copy / "figures")
    (copy / "report.html").unlink()
    run = CliRunner().invoke(app, ["report", str(copy), "--no-open"])
    assert run.exit_code == 0, run.output
    rebuilt = (copy / "report.html").read_text(encoding="utf-8")
    assert_complete(rebuilt, copy, "binary", diagnostics)
    assert figure_names(rebuilt) == original
    elsewhere = tmp_path / "out" / "titanic.html"
    run = CliRunner().invoke(app, ["report", str(copy), "-o", str(elsewhere), "--no-open"])
    assert run.exit_code == 0, run.output
    assert_complete(elsewhere.read_text(encoding="utf-8"), elsewhere.parent, "binary", diagnostics)


def test_report_of_a_model_saved_without_diagnostics_says_what_it_lacks(titanic, tmp_path: Path) -> None:
    _, folder = titanic
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
    assert "is not a homl model directory" in str(run.exception)


def test_multiclass_report_is_computed_on_demand(tmp_path: Path) -> None:
    frame = load_wine(as_frame=True).frame
    result = homl.fit(frame, "target", time_limit=6, models=["linear", "decision_tree", "random_forest"])
    assert result.diagnostics is None  # no output: no report unless asked
    report = result.report(tmp_path / "wine.html")
    assert result.diagnostics is not None and result.diagnostics["task"] == "multiclass"
    assert [s.title for s in report.sections] == list(SECTIONS)
    assert_complete((tmp_path / "wine.html").read_text(encoding="utf-8"), tmp_path, "multiclass", result.diagnostics)
    assert "Per-class precision, recall and F1" in report.html()


@pytest.mark.parametrize("case", ["housing", "titanic"])
def test_report_opens_in_a_browser_without_errors(case: str, request, browser_check, tmp_path: Path) -> None:
    _, folder = request.getfixturevalue(case)
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


# ------------------------------------------------------------------ from diagnostics of known outcome


def regression_report(inp, diagnostics: dict) -> str:
    """The report's page for diagnostics of a regression on target ``y``."""
    score = {"metric": "rmse", "value": 0.1, "low": 0.09, "high": 0.11, "n_rows": len(inp.y_test)}
    metadata = {"metric": "rmse", "task": "regression", "target": "y", "winner": "model", "test_score": score,
                "baseline_test_score": {**score, "value": 3.0, "low": 2.9, "high": 3.1}}
    board = pd.DataFrame([{"model": "baseline", "stage": "baseline", "cv_mean": 3.0, "cv_std": 0.1, "fit_time": 0.0},
                          {"model": "model", "stage": "short-list", "cv_mean": 0.1, "cv_std": 0.01, "fit_time": 0.01}])
    return build_model_report(metadata, board, diagnostics).html()


def one_feature_input(diagnose_input, build):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"signal": rng.normal(size=600), "noise": rng.normal(size=600)})
    y = 3 * X["signal"].to_numpy() + rng.normal(0, 0.1, 600)
    return diagnose_input(X, y, "regression", build, space={"alpha": FloatRange(1e-3, 1e3, log=True)})


def test_every_diagnostic_computed_is_drawn_and_read(diagnose_input) -> None:
    inp = one_feature_input(diagnose_input, lambda p: make_pipeline(StandardScaler(), Ridge(**p)))
    diagnostics = diagnose(inp, time.monotonic() + 120)
    page = regression_report(inp, diagnostics)
    assert set(COSTLY) | set(ALWAYS["regression"]) <= figure_names(page)
    assert "Key finding: &#x27;signal&#x27; is the number-one predictor" in page
    assert "Verdict: fine" in page
    assert "diagnostic skipped" not in page
    # The target is three times one input: that input alone predicts it, and the report warns.
    assert "&#x27;signal&#x27; carries 100% of the permutation importance" in page
    assert "&#x27;signal&#x27; alone predicts the target almost perfectly" in page


def test_every_diagnostic_skipped_is_listed_with_its_reason(diagnose_input) -> None:
    inp = one_feature_input(diagnose_input, lambda p: make_pipeline(StandardScaler(), LinearRegression()))
    diagnostics = diagnose(inp, time.monotonic())  # no time left for any costly step
    page = regression_report(inp, diagnostics)
    assert not set(COSTLY) & figure_names(page)
    limits = page[page.index('id="assumptions-and-limits"'):]
    for _, step in COSTLY.values():
        assert f"diagnostic skipped — {step}: no time left within the time limit" in limits
    assert "Learning curves were not computed" in page and "Verdict:" not in page
    # Without permutation importance the key finding is the model's own: the larger coefficient.
    assert html_text.escape("Key finding: 'signal' is the model's most important input (by the model's own "
                            "coefficient sizes: ") in page
    assert "model-importance" in figure_names(page)


def lightgbm_input(diagnose_input, X: pd.DataFrame, y: np.ndarray):
    schema = infer_schema(X)
    inp = diagnose_input(X, y, "regression", lambda p: build_pipeline(
        get_spec("lightgbm"), "regression", schema, {"n_estimators": 200, **p}, seed=0, threads=1))
    inp.single = "lightgbm"
    return inp


def coloured(n: int = 800) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"signal": rng.normal(size=n), "colour": rng.choice(["red", "blue"], n),
                      "noise": rng.normal(size=n)})
    return X, 3 * X["signal"].to_numpy() + 2 * (X["colour"] == "red").to_numpy() + rng.normal(0, 0.1, n)


def test_the_report_names_the_method_of_each_importance(diagnose_input) -> None:
    inp = lightgbm_input(diagnose_input, *coloured())
    page = regression_report(inp, diagnose(inp, time.monotonic() + 120))
    section = page[page.index('id="feature-importance"'):page.index('id="assumptions-and-limits"')]
    # The best first, then the cheaper ones, each with the sentence that names it.
    sentences = ["Permutation importance on 200 test rows: how much the test RMSE worsens",
                 "TreeSHAP (LightGBM's pred_contrib) on 200 test rows: the average size",
                 "The model's own split gains, summed over the prepared features of each input column"]
    places = [section.index(html_text.escape(text)) for text in sentences]
    assert places == sorted(places)
    assert {"permutation-importance", "treeshap-importance", "model-importance"} <= figure_names(section)
    assert html_text.escape("Key finding: 'signal' is the number-one predictor — shuffling it") in page
    assert html_text.escape("Next come 'colour' and 'noise'.") in page


def test_with_no_time_left_the_report_still_names_the_top_features(diagnose_input) -> None:
    inp = lightgbm_input(diagnose_input, *coloured())
    page = regression_report(inp, diagnose(inp, time.monotonic()))
    assert html_text.escape("Key finding: 'signal' is the model's most important input (by the model's own "
                            "split gains: ") in page
    assert html_text.escape("The model's own split gains, summed over the prepared features") in page
    assert figure_names(page) & {"permutation-importance", "treeshap-importance"} == set()
    assert "model-importance" in figure_names(page)
    assert "No feature importance could be computed" not in page


def test_the_report_lists_the_test_rows_outside_the_training_range(diagnose_input) -> None:
    X, y = coloured()
    far = [640, 700, 777]  # test rows 41, 101 and 178
    X.loc[far, "signal"] = 10 * X["signal"].iloc[:600].max()
    inp = lightgbm_input(diagnose_input, X, y)
    inp.test_rows = np.arange(2, 202)  # data rows, as fit numbers them
    diagnostics = diagnose(inp, time.monotonic())
    page = regression_report(inp, diagnostics)
    results = page[page.index('id="test-set-results"'):page.index('id="feature-importance"')]
    assert "Test rows outside the training range" in results
    assert "3 of 200 test rows (1.5%) have a numeric value below the smallest or above the largest" in results
    table = results[results.index("furthest outside the training range"):]
    table = table[:table.index("</table>")]
    rows = [int(r) for r in re.findall(r"<tr>\s*<td>(\d+)</td>", table)]
    assert sorted(rows) == [p - 600 + 2 for p in far]
    assert table.count("signal: ") == 3 and "&gt; max" in table
    # The worst-errors table marks the same rows.
    worst = diagnostics["test"]["worst"]
    assert sorted(r for r, why in zip(worst["row"], worst["outside training range"]) if why) == sorted(rows)
    summary = page[:page.index('id="leaderboard"')]
    assert "3 test row(s) lie outside the training range: RMSE" in summary
