"""The segmentation report opens in a browser with every figure drawn and no console error."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import homl

MALL = Path(__file__).parents[1] / "data" / "mall_customers.csv"


def test_segment_report_renders_in_a_browser(tmp_path: Path, browser_check) -> None:
    result = homl.segment(pd.read_csv(MALL), output=tmp_path / "segments")
    page = homl.load(tmp_path / "segments").report().write(tmp_path / "report.html")
    seen = browser_check(page, tmp_path / "report.png")
    assert seen["console_errors"] == []
    assert seen["broken_images"] == []
    assert seen["images"] == len(result.report().figures) >= 5
