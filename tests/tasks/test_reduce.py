"""Dimensionality reduction end to end: the Python call, the model directory of kind ``reduce``,
the command line, the report, and bad input; on scikit-learn's bundled digits and generated data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from typer.testing import CliRunner

import homl
from homl.cli import app


@pytest.fixture(scope="module")
def digits() -> pd.DataFrame:
    return load_digits(as_frame=True).frame.sample(600, random_state=0)


def test_a_share_of_variance_keeps_the_fewest_components_reaching_it(digits, tmp_path) -> None:
    result = homl.reduce(digits, n_components=0.9, color="target", output=tmp_path / "out.csv",
                         model_output=tmp_path / "model")
    meta = result.model.metadata
    assert meta["explained"] >= 0.9 and meta["n_components"] < meta["n_prepared"]
    assert list(result.embedding.index) == list(digits.index)  # one row a row, in order
    written = pd.read_csv(tmp_path / "out.csv")
    assert written.shape == (600, meta["n_components"]) and "target" not in written
    loaded = homl.load(tmp_path / "model")
    assert loaded.kind == "reduce"
    np.testing.assert_allclose(loaded.predict_frame(digits).to_numpy(), result.embedding.to_numpy(), atol=1e-8)
    assert loaded.info().summary[0].startswith(f"reduction: PCA to {meta['n_components']} columns")
    report = loaded.report()
    assert {"explained-variance", "reduced-2d", "reduced-3d"} <= set(report.figures)


def test_tsne_separates_the_digits_but_saves_no_model(digits, tmp_path) -> None:
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    result = homl.reduce(digits, method="tsne", color="target")
    assert list(result.embedding.columns) == ["tsne1", "tsne2"]
    accuracy = cross_val_score(KNeighborsClassifier(5), result.embedding, digits["target"], cv=5).mean()
    assert accuracy > 0.85
    with pytest.raises(homl.ConfigError, match="places only the rows it is fitted on"):
        result.save(tmp_path / "m")
    with pytest.raises(homl.ConfigError, match="places only the rows it is fitted on"):
        homl.reduce(digits, method="tsne", model_output=tmp_path / "m2")


def test_random_projection_auto_takes_the_johnson_lindenstrauss_bound() -> None:
    from sklearn.random_projection import johnson_lindenstrauss_min_dim

    table = pd.DataFrame(np.random.default_rng(0).normal(size=(50, 4000)))
    table.columns = [f"c{i}" for i in table.columns]
    result = homl.reduce(table, method="sparse_random_projection", n_components="auto")
    assert result.model.metadata["n_components"] == johnson_lindenstrauss_min_dim(50, eps=0.1)


@pytest.mark.parametrize(("options", "message"), [
    ({"n_components": 9}, r"cannot reduce the table to 9 with PCA"),
    ({"n_components": 0.9, "method": "isomap"}, r"cannot reduce|share"),
    ({"method": "umbrella"}, r"unknown reduction method 'umbrella'"),
    ({"color": "nope"}, r"colour column 'nope' is not in the table"),
])
def test_bad_input_gets_a_clear_error(options, message) -> None:
    table = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 3)), columns=["a", "b", "c"])
    with pytest.raises(homl.HomlError, match=message):
        homl.reduce(table, **options)


def test_command_line_reduces_writes_the_report_and_predicts(tmp_path) -> None:
    frame = load_digits(as_frame=True).frame.head(300)
    source = tmp_path / "digits.csv"
    frame.to_csv(source, index=False)
    runner = CliRunner()
    output = tmp_path / "embedding.csv"
    run = runner.invoke(app, ["reduce", str(source), "--to", "3", "--color", "target", "-o", str(output),
                              "--model", str(tmp_path / "m")])
    assert run.exit_code == 0, run.output
    assert pd.read_csv(output).shape == (300, 3)
    assert output.with_suffix(".html").exists() and (tmp_path / "figures" / "embedding-reduced-3d.png").exists()
    run = runner.invoke(app, ["predict", str(tmp_path / "m"), str(source), "-o", str(tmp_path / "again.csv")])
    assert run.exit_code == 0, run.output
    np.testing.assert_allclose(pd.read_csv(tmp_path / "again.csv").to_numpy(), pd.read_csv(output).to_numpy(),
                               atol=1e-8)
    bad = runner.invoke(app, ["reduce", str(source), "--to", "many"])
    assert bad.exit_code != 0 and "--to must be" in str(bad.exception or bad.output)


def test_umap_embeds_the_digits_and_is_not_saved(digits, tmp_path) -> None:
    pytest.importorskip("umap", reason="umap-learn is optional: pip install umap-learn (homl[umap])")
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    result = homl.reduce(digits, method="umap", color="target")
    assert list(result.embedding.columns) == ["umap1", "umap2"]
    accuracy = cross_val_score(KNeighborsClassifier(5), result.embedding, digits["target"], cv=5).mean()
    assert accuracy > 0.85
    placed = result.model.predict_frame(digits.head(20))  # new rows are placed in this process
    assert placed.shape == (20, 2)
    with pytest.raises(homl.ConfigError, match="cannot be saved safely"):
        result.save(tmp_path / "m")
    with pytest.raises(homl.ConfigError, match="cannot be saved safely"):
        homl.reduce(digits, method="umap", model_output=tmp_path / "m2")


@pytest.fixture
def low_rank_file(tmp_path):
    """3,000 rows of 10 columns driven by 3 hidden factors, and a group column to colour by."""
    rng = np.random.default_rng(1)
    factors = rng.normal(size=(3000, 3))
    values = factors @ rng.normal(size=(3, 10)) + 0.05 * rng.normal(size=(3000, 10))
    frame = pd.DataFrame(values, columns=[f"x{i}" for i in range(10)]).assign(group=np.where(factors[:, 0] > 0, "a", "b"))
    path = tmp_path / "wide.csv"
    frame.to_csv(path, index=False)
    return path


def test_incremental_pca_learns_a_file_chunk_by_chunk_and_finds_what_pca_finds(low_rank_file, tmp_path) -> None:
    chunked = homl.reduce(low_rank_file, method="incremental_pca", n_components=0.95, chunk_rows=700, color="group",
                          model_output=tmp_path / "m")
    whole = homl.reduce(low_rank_file, method="pca", n_components=0.95, color="group")
    meta = chunked.model.metadata
    assert meta["n_components"] == whole.model.metadata["n_components"] == 3
    assert meta["n_rows"] == len(chunked.embedding) == 3000
    assert meta["data_sha256"] == whole.model.metadata["data_sha256"]
    for column in chunked.embedding:  # the same components, up to sign, row for row
        assert abs(np.corrcoef(chunked.embedding[column], whole.embedding[column])[0, 1]) > 0.999
    assert any("read in chunks of 700 rows" in note for note in chunked.notes)
    assert chunked.diagnostics["colour"] == pd.read_csv(low_rank_file)["group"].tolist()  # each row its colour
    placed = homl.load(tmp_path / "m").predict_frame(low_rank_file)
    np.testing.assert_allclose(placed.to_numpy(), chunked.embedding.to_numpy(), atol=1e-8)


@pytest.mark.parametrize(("options", "message"), [
    ({"method": "pca"}, r"reading in chunks needs method incremental_pca"),
    ({"n_components": "auto"}, r"incremental PCA needs a number of components"),
    ({"n_components": 20}, r"cannot reduce '.*wide.csv' chunk by chunk to 20"),
    ({"chunk_rows": 1}, r"chunk_rows must be a whole number of rows, at least 2"),
    ({"chunk_rows": 3, "n_components": 5}, r"chunks of 3 rows cannot teach 5 components"),
])
def test_chunked_reduction_refuses_what_it_cannot_do(low_rank_file, options, message) -> None:
    options = {"method": "incremental_pca", "chunk_rows": 500, **options}
    with pytest.raises(homl.ConfigError, match=message):
        homl.reduce(low_rank_file, **options)


def test_command_line_reduces_a_file_in_chunks(low_rank_file, tmp_path) -> None:
    output = tmp_path / "out.csv"
    run = CliRunner().invoke(app, ["reduce", str(low_rank_file), "--method", "incremental_pca", "--chunk-rows", "400",
                                   "--color", "group", "-o", str(output)])
    assert run.exit_code == 0, run.output
    assert pd.read_csv(output).shape == (3000, 2) and "3,000 rows reduced from 10 to 2 columns" in run.output


def test_a_value_too_large_to_scale_is_named_by_its_column_and_row() -> None:
    table = pd.DataFrame({"a": np.r_[np.random.default_rng(1).normal(size=99), 1e300], "b": np.arange(100.0)})
    with pytest.raises(homl.DataError, match=r"column 'a' holds 1e\+300 on row 100, too large to scale"):
        homl.reduce(table)


def test_no_rows_to_place_give_an_empty_embedding_with_the_component_columns() -> None:
    table = pd.DataFrame(np.random.default_rng(0).normal(size=(80, 3)), columns=["a", "b", "c"])
    model = homl.reduce(table, n_components=2).model
    empty = model.predict_frame(table.iloc[:0])
    assert list(empty.columns) == list(model.predict_frame(table.iloc[:3]).columns) == ["pca1", "pca2"]
    assert len(empty) == 0 and (empty.dtypes == np.float64).all()
