"""The reports of segmentation, anomaly detection and reduction open in a browser with every figure
drawn and no console error."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_digits

import homl

DATA = Path(__file__).parents[1] / "data"


def _segments(tmp_path: Path):
    return homl.segment(pd.read_csv(DATA / "mall_customers.csv"), output=tmp_path / "model")


def _anomalies(tmp_path: Path):
    return homl.detect_anomalies(pd.read_csv(DATA / "thyroid_sample.csv"), label="outlier",
                                 output=tmp_path / "model")


def _reduction(tmp_path: Path):
    digits = load_digits(as_frame=True).frame.head(400)
    return homl.reduce(digits, n_components=3, color="target", model_output=tmp_path / "model")


@pytest.mark.parametrize("run", [_segments, _anomalies, _reduction], ids=["segment", "anomalies", "reduce"])
def test_report_renders_in_a_browser(tmp_path: Path, browser_check, run) -> None:
    result = run(tmp_path)
    page = homl.load(tmp_path / "model").report().write(tmp_path / "report.html")
    seen = browser_check(page, tmp_path / "report.png")
    assert seen["console_errors"] == []
    assert seen["broken_images"] == []
    assert seen["images"] == len(result.report().figures) >= 2
