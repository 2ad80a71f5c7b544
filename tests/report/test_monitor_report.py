"""The monitoring report: a verdict first, the drift table, a figure per drifted feature, the prediction
drift and the live score per window; written as one self-contained page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from homl.evaluate import (
    check_drift,
    check_prediction_drift,
    live_performance,
    reference_summary,
    summary_of_predictions,
)
from homl.metrics import get_metric
from homl.report.monitor import SECTIONS, build_monitor_report, shares_figure

KINDS = {"income": "numeric", "age": "numeric", "city": "categorical", "signed_up": "datetime"}


def table(n: int, seed: int, *, moved: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "income": rng.lognormal(10 + 0.5 * moved, 0.5, n), "age": rng.integers(18, 80, n),
        "city": rng.choice(["Lisbon", "Porto", "Braga"] + ["Faro"] * moved, n),
        "signed_up": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.uniform(0, 90, n), unit="D"),
    })


@pytest.fixture(scope="module")
def checks():
    drift = check_drift(reference_summary(table(3000, 0), KINDS), table(1500, 1, moved=True))
    rng = np.random.default_rng(2)
    predictions = check_prediction_drift(summary_of_predictions(rng.normal(0, 1, 3000), "regression"),
                                         rng.normal(0.6, 1, 1500), "regression")
    n = 1500
    times = pd.Series(pd.date_range("2024-04-01", periods=n, freq="h"))
    y = rng.normal(0, 3, n)
    error = rng.normal(0, 1, n) * np.where(np.arange(n) > n * 0.8, 2.5, 1)
    live = live_performance(y, y + error, times, get_metric("rmse", "regression"), reference=1.0)
    return drift, predictions, live


def test_the_report_names_what_drifted_and_draws_it(checks, tmp_path: Path) -> None:
    drift, predictions, live = checks
    assert drift.drifted == ["income", "city"]
    report = build_monitor_report(drift, title="Monitoring: churn model", predictions=predictions, live=live,
                                  notes=["Labels arrive two weeks late."])
    page = report.html()
    assert [s.title for s in report.sections] == list(SECTIONS)
    assert all(f"<h2>{title}</h2>" in page for title in SECTIONS)
    assert "income" in page and "city" in page and "Labels arrive two weeks late." in page
    assert "2 of 4 features drifted: &#x27;income&#x27;, &#x27;city&#x27;." in page
    # One figure per drifted feature, the predictions and the live windows.
    assert sorted(report.figures) == ["drift-city", "drift-income", "live-performance", "prediction-drift"]
    assert ">performance drop<" in page and live.alert
    written = report.write(tmp_path / "monitor.html")
    assert written.read_text(encoding="utf-8") == page and page.count('src="data:image/png;base64,') == 4
    assert (tmp_path / "figures" / "drift-income.png").stat().st_size > 1000


def test_a_quiet_check_has_no_figures_and_only_its_sections() -> None:
    reference = reference_summary(table(3000, 0), KINDS)
    drift = check_drift(reference, table(1500, 5))
    report = build_monitor_report(drift, title="Monitoring")
    assert [s.title for s in report.sections] == ["Verdict", "Data drift"] and report.figures == {}
    assert "None of the 4 features drifted." in report.html()


def test_too_few_rows_are_said_in_the_verdict() -> None:
    drift = check_drift(reference_summary(table(3000, 0), KINDS), table(12, 1, moved=True))
    page = build_monitor_report(drift, title="Monitoring").html()
    assert "Only 12 current rows, fewer than 30: too few to judge drift." in page and ">too few rows<" in page


def test_many_categories_are_drawn_as_at_most_twenty_bars() -> None:
    rng = np.random.default_rng(0)
    names = [f"a rather long category name number {i}" for i in range(60)]
    reference = reference_summary(pd.DataFrame({"shop": rng.choice(names, 5000)}), {"shop": "categorical"})
    (feature,) = check_drift(reference, pd.DataFrame({"shop": rng.choice(names[:10], 2000)})).features
    assert feature.status == "drift" and len(feature.bins) == 52  # 50 named, the pooled rest, missing
    labels = [t.get_text() for t in shares_figure(feature).axes[0].get_xticklabels()]
    assert len(labels) == 20 and labels[-1].endswith("more)") and max(map(len, labels)) <= 36 and len(set(labels)) == 20
