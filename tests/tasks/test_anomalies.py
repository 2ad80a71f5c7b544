"""Anomaly detection end to end: the Python call, the model directory of kind ``anomalies``, the
command line, the report, thresholds and bad input, on a sample of the thyroid table and generated rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import homl
from homl.cli import app

THYROID = Path(__file__).parents[1] / "data" / "thyroid_sample.csv"


@pytest.fixture(scope="module")
def thyroid() -> pd.DataFrame:
    return pd.read_csv(THYROID)


@pytest.fixture(scope="module")
def labelled(thyroid, tmp_path_factory):
    output = tmp_path_factory.mktemp("anomalies") / "thyroid"
    return homl.detect_anomalies(thyroid, label="outlier", output=output), output


def test_the_label_is_held_back_and_measures_the_detector(labelled) -> None:
    result, _ = labelled
    assert "outlier" not in result.model.schema.kinds()
    assert result.evaluation["anomalies"] == 60
    assert result.evaluation["roc_auc"] > 0.9 and result.evaluation["pr_auc"] > 0.3  # chance is 0.09
    assert result.supervised["pr_auc"] > 0 and result.supervised["folds"] == 5
    flagged = result.is_anomaly.astype(bool)
    assert result.evaluation["flagged"] == flagged.sum() and 0 < flagged.mean() < 0.5
    assert (result.scores[flagged].min() >= result.scores[~flagged].max())


def test_the_saved_model_scores_new_rows_alike_and_says_why(thyroid, labelled) -> None:
    result, output = labelled
    loaded = homl.load(output)
    assert loaded.kind == "anomalies"
    frame = loaded.predict_frame(thyroid.drop(columns="outlier"))
    assert list(frame.columns) == ["anomaly_score", "is_anomaly", "reason"]
    np.testing.assert_allclose(frame["anomaly_score"], result.scores)
    assert (frame["is_anomaly"].to_numpy() == result.is_anomaly).all()
    top = frame["anomaly_score"].idxmax()
    assert "most rows" in frame.loc[top, "reason"]  # names an attribute and the range most rows fall in
    info = loaded.info()
    assert info.kind == "anomalies" and any("PR AUC" in line for line in info.summary)
    report = loaded.report()
    assert {"anomaly-scores", "precision-recall"} <= set(report.figures)
    assert "Most anomalous rows" in report.html() and "supervised" in report.html()


def test_a_target_precision_or_recall_sets_the_threshold(thyroid) -> None:
    result = homl.detect_anomalies(thyroid, label="outlier", precision=0.5, compare_supervised=False)
    assert result.evaluation["precision"] >= 0.5
    assert "precision 0.5 on the labelled rows" in result.model.metadata["threshold_rule"]
    recall = homl.detect_anomalies(thyroid, label="outlier", recall=0.9, compare_supervised=False)
    assert recall.evaluation["recall"] >= 0.9 and recall.evaluation["flagged"] > result.evaluation["flagged"]
    progress = homl.Progress()
    mislabelled = thyroid.copy()  # the most anomalous row called normal: no cut flags 99 % anomalies
    mislabelled.loc[mislabelled.index[np.argmax(result.scores)], "outlier"] = 0
    unreachable = homl.detect_anomalies(mislabelled, label="outlier", precision=0.99, compare_supervised=False,
                                        progress=progress)
    assert "estimated" in unreachable.model.metadata["threshold_rule"]
    assert any("no threshold reaches precision 0.99" in note for note in progress.notes)


def test_a_contamination_rate_flags_that_share() -> None:
    table = pd.DataFrame(np.random.default_rng(0).normal(size=(500, 3)), columns=["a", "b", "c"])
    result = homl.detect_anomalies(table, contamination=0.05)
    assert result.is_anomaly.mean() == pytest.approx(0.05, abs=0.01)


def test_planted_outliers_are_found_and_explained_by_their_column() -> None:
    rng = np.random.default_rng(1)
    table = pd.DataFrame({"amount": rng.normal(100, 10, 400), "items": rng.normal(5, 1, 400),
                          "shop": rng.choice(["north", "south"], 400)})
    table.loc[[7, 99], "amount"] = [900.0, 1200.0]
    result = homl.detect_anomalies(table)
    assert {7, 99} <= set(np.argsort(-result.scores)[:3]) and result.is_anomaly[[7, 99]].all()
    reasons = result.predict_frame(table.loc[[7, 99]])["reason"]
    assert all(reason.startswith("amount ") for reason in reasons)


@pytest.mark.parametrize(("options", "message"), [
    ({"label": "fraud"}, r"label column 'fraud' is not in the table; its columns are x1"),
    ({"label": "x1"}, r"label column 'x1' of the table has \d+ distinct value\(s\)"),
    ({"precision": 0.9}, r"a target precision or recall needs --label"),
    ({"label": "outlier", "precision": 0.9, "recall": 0.5}, r"not both"),
    ({"method": "crystal_ball"}, r"unknown anomaly detector 'crystal_ball'"),
])
def test_bad_input_gets_a_clear_error(thyroid, options, message) -> None:
    with pytest.raises(homl.HomlError, match=message):
        homl.detect_anomalies(thyroid, **options)


def test_a_label_of_one_class_is_refused(thyroid) -> None:
    with pytest.raises(homl.TargetError, match=r"label column 'outlier' of the table has 1 distinct value"):
        homl.detect_anomalies(thyroid[thyroid["outlier"] == 0], label="outlier")


def test_command_line_detects_predicts_and_reports(tmp_path) -> None:
    runner = CliRunner()
    output = tmp_path / "fraud"
    run = runner.invoke(app, ["anomalies", str(THYROID), "--label", "outlier", "-o", str(output),
                              "--contamination", "0.1"])
    assert run.exit_code == 0, run.output
    assert "PR AUC" in run.output and (output / "report.html").exists()
    run = runner.invoke(app, ["predict", str(output), str(THYROID), "-o", str(tmp_path / "scores.csv")])
    assert run.exit_code == 0, run.output
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert len(scores) == 660 and scores["is_anomaly"].mean() == pytest.approx(0.1, abs=0.01)
    bad = runner.invoke(app, ["anomalies", str(THYROID), "--contamination", "lots"])
    assert bad.exit_code != 0 and "--contamination must be" in str(bad.exception or bad.output)


@pytest.mark.parametrize("contamination", [0, 0.6, 1, -0.1, "lots", None])
def test_a_contamination_outside_its_range_is_refused_saying_what_is_allowed(contamination) -> None:
    table = pd.DataFrame(np.random.default_rng(0).normal(size=(50, 2)), columns=["a", "b"])
    with pytest.raises(homl.ConfigError, match=r"contamination must be 'auto' or .*above 0 and at most 0\.5"):
        homl.detect_anomalies(table, contamination=contamination)


def test_a_contamination_given_as_text_is_read_as_its_number() -> None:
    table = pd.DataFrame(np.random.default_rng(0).normal(size=(500, 3)), columns=["a", "b", "c"])
    result = homl.detect_anomalies(table, contamination="0.1", compare_supervised=False)
    assert result.is_anomaly.mean() == pytest.approx(0.1, abs=0.01)


def test_a_value_too_large_to_scale_is_named_by_its_column_and_row() -> None:
    table = pd.DataFrame({"a": np.arange(100.0), "b": np.r_[np.ones(40), -1e200, np.zeros(59)]})
    with pytest.raises(homl.DataError, match=r"column 'b' holds -1e\+200 on row 41, too large to scale"):
        homl.detect_anomalies(table)


def test_no_rows_to_predict_give_no_scores_with_the_usual_columns() -> None:
    table = pd.DataFrame(np.random.default_rng(0).normal(size=(80, 2)), columns=["a", "b"])
    model = homl.detect_anomalies(table, compare_supervised=False).model
    empty = model.predict_frame(table.iloc[:0])
    assert list(empty.columns) == list(model.predict_frame(table.iloc[:3]).columns)
    assert list(empty.columns) == ["anomaly_score", "is_anomaly", "reason"] and len(empty) == 0
    assert model.score(table.iloc[:0]).shape == (0,)
