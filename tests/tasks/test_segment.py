"""Segmentation end to end: the Python call, the model directory of kind ``segment``, the command line,
and bad input, on the Mall Customers table and on generated groups."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from typer.testing import CliRunner

import homl
import homl.models
from homl.cli import app

MALL = Path(__file__).parents[1] / "data" / "mall_customers.csv"
INCOME, SPENDING = "Annual Income (k$)", "Spending Score (1-100)"


@pytest.fixture(scope="module")
def mall() -> pd.DataFrame:
    return pd.read_csv(MALL)


@pytest.fixture(scope="module")
def mall_result(mall, tmp_path_factory):
    output = tmp_path_factory.mktemp("segments") / "mall"
    return homl.segment(mall[["CustomerID", INCOME, SPENDING]], output=output, max_clusters=8), output


def test_income_and_spending_split_into_the_five_known_groups(mall_result) -> None:
    result, _ = mall_result
    assert result.n_clusters == 5
    assert result.model.metadata["method"] in ("kmeans", "agglomerative")
    assert "silhouette" in result.model.metadata["choice"]
    assert sorted(p["rows"] for p in result.profiles) == sorted(np.bincount(result.labels).tolist())
    assert sum(p["share"] for p in result.profiles) == pytest.approx(1.0)


def test_the_identifier_is_dropped_and_profiles_speak_in_the_table_units(mall_result) -> None:
    result, _ = mall_result
    assert result.model.schema["CustomerID"].kind == "identifier"
    described = " ".join(p["description"] for p in result.profiles)
    assert "CustomerID" not in described
    assert f"{SPENDING} " in described and "x the median" in described
    # the segment of the most lavish spenders says so
    spenders = max(result.profiles, key=lambda p: p["description"].count(f"{SPENDING} 1."))
    assert SPENDING in spenders["attributes"]


def test_the_saved_model_loads_as_its_kind_and_predicts_its_training_rows_alike(mall, mall_result) -> None:
    result, output = mall_result
    loaded = homl.load(output)
    assert type(loaded).__name__ == "SegmentModel" and loaded.kind == "segment"
    frame = loaded.predict_frame(mall)
    assert list(frame.columns) == ["segment", "distance"]
    assert (frame["segment"].to_numpy() == result.labels).all()
    assert (frame["distance"] >= 0).all()
    info = loaded.info()
    assert info.kind == "segment" and info.summary[0].startswith("segments: 5")
    assert set(info.leaderboard["method"]) >= {"kmeans", "gaussian_mixture", "agglomerative", "spectral"}


def test_the_report_has_its_sections_and_figures(mall_result, tmp_path) -> None:
    _, output = mall_result
    report = homl.load(output).report()
    path = report.write(tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    for title in ("Segment profiles", "Segment map", "Choosing the number of segments", "Preparation"):
        assert title in text
    assert {"segment-map", "silhouette-diagram", "silhouette-by-k", "inertia-by-k", "bic-by-k"} <= set(report.figures)
    assert (output / "report.html").exists() and (output / "diagnostics.json").exists()


def test_well_separated_groups_are_found_whatever_the_method() -> None:
    X, truth = make_blobs(n_samples=300, centers=4, cluster_std=0.6, random_state=3)
    table = pd.DataFrame(X, columns=["a", "b"])
    auto = homl.segment(table)
    assert auto.n_clusters == 4 and adjusted_rand_score(truth, auto.labels) > 0.95
    for method in ("gaussian_mixture", "agglomerative", "hdbscan"):
        found = homl.segment(table, method=method)
        assert adjusted_rand_score(truth, found.labels) > 0.9, method


def test_k_and_method_override_the_choice_and_mixtures_give_probabilities(mall) -> None:
    result = homl.segment(mall, k=3, method="gaussian_mixture")
    assert result.n_clusters == 3 and "as asked" in result.model.metadata["choice"]
    frame = result.predict_frame(mall.head(20))
    assert list(frame.columns) == ["segment", "distance", "probability"]
    assert frame["probability"].between(0, 1).all()


def test_missing_values_are_imputed_and_said(mall) -> None:
    holes = mall.copy()
    holes.loc[::10, "Age"] = np.nan
    progress = homl.Progress()
    result = homl.segment(holes, k=4, progress=progress)
    assert len(result.labels) == len(holes)
    assert any("'Age' (20)" in note for note in result.notes)
    assert any("imputed" in note for note in progress.notes)


@pytest.mark.parametrize(("table", "options", "message"), [
    (pd.DataFrame({"x": [1.0]}), {}, r"has 1 row\(s\); segmenting needs at least 2"),
    (pd.DataFrame({"x": [1.0, 2.0, 3.0]}), {"k": 5}, r"k=5 segments asked of 3 rows"),
    (pd.DataFrame({"x": [1.0, 2.0, 3.0]}), {"method": "tarot"}, r"unknown segmentation method 'tarot'"),
    (pd.DataFrame({"id": range(50)}), {}, r"no column for segmenting \('id': a unique integer per row"),
    (pd.DataFrame({"note": [f"free text number {i} about nothing in particular" for i in range(60)]}), {},
     r"no column for segmenting \('note': free text"),
    (pd.DataFrame({"x": [2.0] * 30, "y": [1.0, 2.0] * 15}), {}, None),
])
def test_bad_input_gets_a_clear_error(table, options, message) -> None:
    if message is None:  # a constant column is dropped with a note; the other still segments
        result = homl.segment(table)
        assert result.n_clusters == 2 and any("'x' dropped" in note for note in result.notes)
        return
    with pytest.raises(homl.HomlError, match=message):
        homl.segment(table, **options)


def test_identical_rows_are_refused() -> None:
    with pytest.raises(homl.DataError, match=r"no column for segmenting \('x': every value is 1.0; 'y': every value"):
        homl.segment(pd.DataFrame({"x": [1.0] * 3, "y": [2.0] * 3}))
    with pytest.raises(ValueError, match="every row is the same"):
        homl.models.Segmenter().fit(np.ones((5, 2)))


def test_command_line_segments_predicts_and_refuses_to_overwrite(tmp_path) -> None:
    runner = CliRunner()
    output = tmp_path / "seg"
    run = runner.invoke(app, ["segment", str(MALL), "-o", str(output), "--k", "4"])
    assert run.exit_code == 0, run.output
    assert "segment 0:" in run.output and (output / "model.skops").exists()
    predicted = tmp_path / "seg.csv"
    run = runner.invoke(app, ["predict", str(output), str(MALL), "-o", str(predicted)])
    assert run.exit_code == 0, run.output
    frame = pd.read_csv(predicted)
    assert len(frame) == 200 and set(frame["segment"]) == {0, 1, 2, 3}
    run = runner.invoke(app, ["info", str(output)])
    assert run.exit_code == 0 and "kind: segment" in run.output
    again = runner.invoke(app, ["segment", str(MALL), "-o", str(output)])
    assert again.exit_code != 0 and "holds a model already" in str(again.exception or again.output)


def _three_colour_image(path: Path) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    pixels = np.zeros((60, 90, 3))
    pixels[:, :30] = (200, 30, 30)
    pixels[:, 30:60] = (30, 160, 40)
    pixels[:, 60:] = (20, 40, 220)
    pixels = np.clip(pixels + rng.normal(0, 8, pixels.shape), 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def test_an_image_is_segmented_by_colour(tmp_path) -> None:
    from PIL import Image

    image = _three_colour_image(tmp_path / "flags.png")
    painted = homl.segment(str(image), k=3, output=tmp_path / "out.png")
    assert painted.n_clusters == 3 and painted.shares == pytest.approx([1 / 3] * 3, abs=0.01)
    found = sorted(map(tuple, painted.colours))
    for colour, expected in zip(found, sorted([(200, 30, 30), (30, 160, 40), (20, 40, 220)])):
        assert np.abs(np.subtract(colour, expected)).max() < 6
    out = np.asarray(Image.open(tmp_path / "out.png"))
    assert out.shape == (60, 90, 3) and len(np.unique(out.reshape(-1, 3), axis=0)) == 3


def test_image_segmentation_bad_input(tmp_path) -> None:
    image = _three_colour_image(tmp_path / "flags.png")
    with pytest.raises(homl.ConfigError, match=r"must be a \.png file"):
        homl.segment(str(image), output=tmp_path / "out.jpg")
    (tmp_path / "broken.jpg").write_text("not an image", encoding="utf-8")
    with pytest.raises(homl.DataError, match=r"'.*broken.jpg' cannot be read as an image"):
        homl.segment(str(tmp_path / "broken.jpg"), output=tmp_path / "b.png")
    with pytest.raises(homl.DataError, match=r"image '.*missing.png' not found"):
        homl.segment(str(tmp_path / "missing.png"), output=tmp_path / "c.png")
    painted = homl.segment(str(image), output=tmp_path / "d.png")  # 8 colours asked, fewer would do
    assert painted.n_clusters == 8
    run = CliRunner().invoke(app, ["segment", str(image), "--k", "3", "-o", str(tmp_path / "e.png")])
    assert run.exit_code == 0 and "image written to" in run.output and (tmp_path / "e.png").exists()


FIVE_ROWS = pd.DataFrame({"a": [0.1, 0.5, 1.5, -1.0, 0.3], "b": [1.2, -0.3, 0.7, 2.0, 0.3]})


def test_as_many_segments_as_rows_and_a_bayesian_mixture_of_few_rows_are_made() -> None:
    assert sorted(homl.segment(FIVE_ROWS.iloc[:2]).labels.tolist()) == [0, 1]
    assert sorted(homl.segment(FIVE_ROWS, k=5).labels.tolist()) == [0, 1, 2, 3, 4]
    for rows in (3, 5):
        found = homl.segment(FIVE_ROWS.iloc[:rows], method="bayesian_gaussian_mixture")
        assert len(found.labels) == rows and found.model.metadata["method"] == "bayesian_gaussian_mixture"


def test_spectral_clustering_is_asked_for_fewer_segments_than_rows() -> None:
    with pytest.raises(homl.ConfigError, match=r"k=5 segments asked by spectral clustering of 5 rows .*at most 4"):
        homl.segment(FIVE_ROWS, k=5, method="spectral")
    with pytest.raises(homl.ConfigError, match=r"spectral clustering needs at least 3 rows .* has 2"):
        homl.segment(FIVE_ROWS.iloc[:2], method="spectral")


def test_a_value_too_large_to_scale_is_named_by_its_column_and_row() -> None:
    table = pd.DataFrame({"a": np.r_[np.random.default_rng(1).normal(size=99), 1e300], "b": np.arange(100.0)})
    with pytest.raises(homl.DataError, match=r"column 'a' holds 1e\+300 on row 100, too large to scale"):
        homl.segment(table)


def test_no_rows_to_predict_give_no_segments_with_the_usual_columns() -> None:
    table = pd.DataFrame({"a": np.random.default_rng(0).normal(size=80), "b": np.random.default_rng(1).normal(size=80)})
    model = homl.segment(table, k=3).model
    empty = model.predict_frame(table.iloc[:0])
    assert list(empty.columns) == list(model.predict_frame(table.iloc[:3]).columns) == ["segment", "distance"]
    assert len(empty) == 0 and empty["segment"].dtype == np.int64
    assert model.predict(table.iloc[:0]).shape == (0,)
