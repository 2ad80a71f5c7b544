"""The exploration report: complete for the bundled tables, and never a traceback on odd ones."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import homl
from homl.data import example_path
from homl.report.explore import SECTIONS, Exploration, explore

ANCHORS = ["overview", "attributes", "target", "correlations-with-the-target", "geography",
           "suggested-transformations", "attributes-that-look-useless", "what-could-not-be-computed"]


def figure_names(page: str) -> list[str]:
    return re.findall(r'<img src="data:image/png;base64,[^"]+" alt="[^"]*" data-name="([^"]+)"', page)


def assert_complete(report: Exploration, path: Path) -> str:
    """Every section in order, every figure embedded and saved as a PNG beside the page."""
    page = path.read_text(encoding="utf-8")
    assert [s.title for s in report.sections] == list(SECTIONS)
    for anchor in ANCHORS:
        assert f'<section id="{anchor}">' in page and f'href="#{anchor}"' in page
    names = figure_names(page)
    assert names == list(report.figures) and names
    for name in names:
        assert (path.parent / "figures" / f"{path.stem}-{name}.png").read_bytes().startswith(b"\x89PNG")
    assert "http://" not in page and "https://" not in page and "<script" not in page
    return page


def homl_cli(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HOML_DEBUG"}
    return subprocess.run([sys.executable, "-m", "homl", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env=env)


@pytest.fixture(scope="module")
def housing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Exploration, Path]:
    path = tmp_path_factory.mktemp("housing") / "housing-explore.html"
    return homl.explore(example_path("housing"), target="median_house_value", output=path), path


@pytest.fixture(scope="module")
def titanic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Exploration, Path]:
    path = tmp_path_factory.mktemp("titanic") / "titanic-explore.html"
    return explore(example_path("titanic"), target="Survived", output=path), path


def test_housing_report_profiles_maps_and_suggests(housing) -> None:
    report, path = housing
    page = assert_complete(report, path)
    expected = {"attribute-median-income", "attribute-ocean-proximity", "target-distribution",
                "target-correlations", "scatter-matrix", "correlation-heat-map", "geographic-scatter"}
    assert expected <= set(report.figures)
    attrs = report.attributes
    assert "capped at 500,001" in attrs.at["median_house_value", "flags"]
    assert "capped at 52" in attrs.at["housing_median_age", "flags"]
    assert "heavy tail" in attrs.at["population", "flags"]
    assert attrs.at["total_bedrooms", "missing"] == pytest.approx(207 / 20640)
    assert attrs.at["ocean_proximity", "distinct"] == 5
    assert report.correlations.index[0] == "median_income"
    assert report.correlations[["pearson", "spearman", "mutual_info"]].loc["median_income"].gt(0.3).all()
    assert "sized by population" in page and "coloured by median_house_value" in page
    tips = " ".join(report.suggestions)
    assert "log(1 + x)" in tips and "population (skew 4.9)" in tips and "total_rooms / households" in tips and "one-hot" in tips
    assert "Every statistic was computed" not in page  # scatter plots are sampled, and it says so
    assert "5,000 rows drawn at random" in page


def test_titanic_report_flags_the_id_and_has_no_map(titanic) -> None:
    report, path = titanic
    page = assert_complete(report, path)
    assert {"target-distribution", "attribute-sex", "attribute-fare", "correlation-heat-map"} <= set(report.figures)
    assert "geographic-scatter" not in report.figures and "No latitude/longitude pair found" in page
    assert report.attributes.at["PassengerId", "flags"] == "ID-like"
    assert any(line.startswith("PassengerId") for line in report.useless)
    assert "Cabin" in " ".join(report.suggestions) and "binary" in page
    assert report.problems == []
    assert "Sex" in report.correlations.index  # categorical attributes get mutual information


@pytest.mark.parametrize("case", ["housing", "titanic"])
def test_exploration_renders_in_a_browser(case: str, request, browser_check, tmp_path: Path) -> None:
    report, path = request.getfixturevalue(case)
    checked = browser_check(path, tmp_path / "explore.png")
    assert checked["console_errors"] == []
    assert checked["broken_images"] == []
    assert checked["images"] == len(report.figures)
    assert checked["screenshot"].stat().st_size > 10_000


def test_report_renders_inline_in_jupyter(titanic) -> None:
    report, _ = titanic
    inline = report._repr_html_()
    assert inline.startswith("<iframe srcdoc=") and "id=&quot;overview&quot;" in inline


BAD_TABLES = {
    "one row": (pd.DataFrame({"a": [1.5], "b": ["x"], "y": [3.0]}), "y"),
    "one column": (pd.DataFrame({"x": np.random.default_rng(0).normal(size=40)}), None),
    "all missing": (pd.DataFrame({"a": [np.nan] * 30, "b": [None] * 30, "c": np.arange(30.0) % 7,
                                  "y": [np.nan] * 30}), "y"),
    "unicode names": (pd.DataFrame({"température °C": np.random.default_rng(0).normal(size=60),
                                    "城市": list("北上广深南西") * 10, "цена": np.arange(60.0) ** 1.5,
                                    "😀": np.arange(60) % 3}), "цена"),
}
#: What each odd table can show, and what it says it could not compute.
EXPECTED = {
    "one row": (["target-distribution"], "holds a single value"),
    "one column": (["attribute-x"], None),
    "all missing": (["attribute-c", "target-distribution", "correlation-heat-map"], "every row is missing"),
    "unicode names": (["attribute-temp-rature-c", "attribute-2", "attribute-3", "target-distribution",
                       "target-correlations", "scatter-matrix", "correlation-heat-map"], None),
}


@pytest.mark.parametrize("case", BAD_TABLES, ids=str)
def test_odd_tables_end_in_a_report_that_says_what_is_missing(case: str, tmp_path: Path) -> None:
    frame, target = BAD_TABLES[case]
    figures, problem = EXPECTED[case]
    report = explore(frame, target=target, output=tmp_path / "r.html")
    page = assert_complete(report, tmp_path / "r.html")
    assert list(report.figures) == figures
    if problem is None:
        assert report.problems == [] and "could not compute" not in page
    else:
        (line,) = report.problems
        assert line.startswith(f"task for target '{target}': could not compute") and problem in line
        assert "could not compute" in page


def test_empty_columns_are_flagged_empty(tmp_path: Path) -> None:
    frame, target = BAD_TABLES["all missing"]
    report = explore(frame, target=target, output=tmp_path / "r.html")
    assert report.attributes.loc[["a", "b"], "flags"].tolist() == ["empty", "empty"]


def test_unicode_names_reach_the_page(tmp_path: Path) -> None:
    frame, target = BAD_TABLES["unicode names"]
    explore(frame, target=target, output=tmp_path / "r.html")
    assert "城市" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_ten_thousand_columns_have_their_charts_capped(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(8, 10_000)), columns=[f"c{i}" for i in range(10_000)])
    report = explore(frame, output=tmp_path / "wide.html", max_figures=10)
    assert sum(name.startswith("attribute-") for name in report.figures) == 10
    page = (tmp_path / "wide.html").read_text(encoding="utf-8")
    assert "9,990 left out" in page and "the heat map shows 20 of 10,000" in page
    assert len(report.attributes) == 10_000


def test_unknown_target_is_one_clear_error() -> None:
    with pytest.raises(homl.TargetError, match="did you mean 'Survived'"):
        explore(example_path("titanic"), target="survived")


def test_import_homl_does_not_load_matplotlib() -> None:
    code = "import sys, homl; assert 'matplotlib' not in sys.modules; assert callable(homl.explore)"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_cli_writes_the_report_beside_the_current_directory(tmp_path: Path) -> None:
    pd.DataFrame({"x": np.arange(30.0) ** 2, "kind": list("ab") * 15, "y": np.arange(30) % 2}).to_csv(
        tmp_path / "small table.csv", index=False)
    run = homl_cli("explore", "small table.csv", "--target", "y", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "small table-explore.html").exists() and (tmp_path / "figures").is_dir()
    assert "small table-explore.html" in run.stdout
    run = homl_cli("explore", "--example", "titanic", "-o", "out/t.html", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out" / "t.html").exists() and (tmp_path / "out" / "figures" / "t-target-distribution.png").exists()


@pytest.mark.parametrize("args, fragment", [(["missing.csv"], "no such file"),
                                            (["--example", "titanic", "-t", "survived"], "not in the table")])
def test_cli_bad_input_is_one_line_and_exit_2(args: list[str], fragment: str, tmp_path: Path) -> None:
    run = homl_cli("explore", *args, cwd=tmp_path)
    assert run.returncode == 2 and run.stdout == "" and "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]
