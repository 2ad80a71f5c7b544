"""``homl export --format onnx`` and ``homl fit --exportable`` on the bundled housing and titanic
tables: the graph and its schema, checked against the Python model; clear refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("skl2onnx")
onnxruntime = pytest.importorskip("onnxruntime")

from typer.testing import CliRunner  # noqa: E402

import homl  # noqa: E402
from homl.cli import app  # noqa: E402
from homl.data import example_path, example_target, read_table  # noqa: E402
from homl.models import onnx_feeds  # noqa: E402
from homl.tasks._model import EXAMPLE_TABLE  # noqa: E402

runner = CliRunner()


def _sample(name: str, rows: int = 1500):
    frame = read_table(example_path(name))
    return frame.sample(min(rows, len(frame)), random_state=0)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    for name in ("housing", "titanic"):
        homl.fit(_sample(name), example_target(name), time_limit=15, cv=3, report=False, exportable=True,
                 output=folder / name)
    return folder


def _session(path):
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("name", ["housing", "titanic"])
def test_the_exported_graph_predicts_what_the_model_predicts(models, tmp_path, name):
    model = homl.load(models / name)
    path, schema_path, form = homl.export_onnx(model, tmp_path / f"{name}.onnx")
    assert path.exists() and schema_path == tmp_path / f"{name}.schema.json"
    schema = json.loads(schema_path.read_text())
    assert schema["format"] == "homl-onnx-schema/1" and schema["task"] == model.task
    assert [i["name"] for i in schema["inputs"]] == [c.name for c in model.schema.features]
    assert form.rows == len(model.input_example()) and schema["check"]["max_error"] <= 1e-5
    rows = model.input_example()
    X, _ = model.check(rows)
    outputs = _session(path).run(None, onnx_feeds(X, form.columns))
    if model.task == "regression":
        assert [o["name"] for o in schema["outputs"]] == ["prediction"]
        np.testing.assert_allclose(outputs[0], model.predict(rows), rtol=1e-5)
    else:
        assert [o["name"] for o in schema["outputs"]] == ["label", "probabilities"]
        assert list(outputs[0]) == list(model.predict(rows))
        np.testing.assert_allclose(outputs[1], model.predict_proba(rows), atol=1e-5)
        assert schema["classes"] == [0, 1]
    example = schema["example"]
    feeds = {i["name"]: np.array([[np.nan if r[i["name"]] is None else r[i["name"]]] for r in example["rows"]],
                                 dtype=np.float64 if i["type"] == "double" else object) for i in schema["inputs"]}
    got = _session(path).run(None, feeds)
    expected = np.asarray(example["expected"])
    if model.task == "regression":
        np.testing.assert_allclose(got[0], expected, rtol=1e-5)
    else:  # probabilities agree within the export's absolute tolerance
        np.testing.assert_allclose(got[1], expected, rtol=0, atol=1e-5)


def test_an_exportable_fit_leaves_out_free_text_and_says_so(models):
    titanic = homl.load(models / "titanic")
    assert "Name" not in titanic.schema.names()
    assert "free text has no exact ONNX form" in titanic.schema["Name"].reason
    for name in ("housing", "titanic"):  # the fit checked its final model's ONNX form on the test rows
        checked = homl.load(models / name).metadata["onnx"]
        assert checked["rows"] > 0 and checked["max_error"] <= 1e-5


def test_what_has_no_onnx_form_is_refused_naming_the_part(tmp_path):
    frame = _sample("titanic", 600)
    homl.fit(frame, "Survived", time_limit=10, cv=3, models=["linear"], tune=False, ensemble=False, report=False,
             output=tmp_path / "titanic")
    with pytest.raises(homl.ExportError, match="free-text"):
        homl.export_onnx(homl.load(tmp_path / "titanic"), tmp_path / "titanic.onnx")
    assert not (tmp_path / "titanic.onnx").exists() and not (tmp_path / "titanic.schema.json").exists()


def test_a_model_without_an_input_example_is_checked_on_given_rows(models, tmp_path):
    import shutil

    folder = tmp_path / "housing"
    shutil.copytree(models / "housing", folder)
    (folder / f"{EXAMPLE_TABLE}.csv").unlink()
    model = homl.load(folder)
    with pytest.raises(homl.ExportError, match="no input example.*--data"):
        homl.export_onnx(model, tmp_path / "housing.onnx")
    rows = _sample("housing", 50).drop(columns=["median_house_value"])
    _, _, form = homl.export_onnx(model, tmp_path / "housing.onnx", rows=rows)
    assert form.rows == 50
    with pytest.raises(homl.ConfigError, match="exists"):
        homl.export_onnx(model, tmp_path / "housing.onnx", rows=rows)
    with pytest.raises(homl.ConfigError, match=r"\.onnx"):
        homl.export_onnx(model, tmp_path / "housing.bin", rows=rows)


def test_the_command_line_exports_by_folder_or_registry_name_and_info_says_what_serves(models, tmp_path):
    result = runner.invoke(app, ["export", str(models / "housing"), "--format", "onnx", "-o", str(tmp_path / "h.onnx")])
    assert result.exit_code == 0, result.output
    assert "differ from the model's by at most" in result.output and (tmp_path / "h.schema.json").exists()
    registry = f"sqlite:///{tmp_path / 'registry.db'}"
    assert runner.invoke(app, ["registry", "add", str(models / "titanic"), "--name", "titanic",
                               "--registry", registry]).exit_code == 0
    result = runner.invoke(app, ["export", "titanic", "-o", str(tmp_path / "t.onnx"), "--registry", registry])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "t.schema.json").read_text())["model"] == "titanic"
    refused = runner.invoke(app, ["export", str(models / "housing"), "--format", "pmml", "-o", str(tmp_path / "x")])
    assert refused.exit_code != 0 and "pmml" in str(refused.exception)
    info = runner.invoke(app, ["info", str(models / "housing")])
    assert info.exit_code == 0 and "served by: ONNX Runtime (checked on" in info.output


def test_a_final_model_of_fold_models_exports(tmp_path):
    from sklearn.ensemble import VotingClassifier

    # Without a refit on all rows, the bag on the training rows is the cross-validation's fold models,
    # each a whole pipeline with its own schema step.
    homl.fit(_sample("titanic", 800), "Survived", time_limit=10, cv=3, models=["lightgbm"], tune=False,
             ensemble=False, report=False, exportable=True, refit_full=False, output=tmp_path / "titanic")
    model = homl.load(tmp_path / "titanic")
    assert isinstance(model.pipeline, VotingClassifier) and len(model.pipeline.estimators_) == 3
    assert model.metadata["onnx"]["max_error"] <= 1e-5
    path, _, form = homl.export_onnx(model, tmp_path / "titanic.onnx")
    rows = model.input_example()
    X, _ = model.check(rows)
    outputs = _session(path).run(None, onnx_feeds(X, form.columns))
    np.testing.assert_allclose(outputs[1], model.predict_proba(rows), atol=1e-5)
