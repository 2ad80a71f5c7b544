"""ONNX export of the fitted MLPs: the file gives predict / predict_proba, for any batch size,
leaves the estimator as it was and is never left half-written. Skipped without Keras or onnxruntime."""

from __future__ import annotations

import os
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

os.environ.setdefault("KERAS_BACKEND", "torch")  # as homl sets it before importing Keras
pytest.importorskip("keras", reason="the neural networks need the deep extra: pip install 'homl[deep]'")
pytest.importorskip("onnx", reason="ONNX export needs the export extra: pip install 'homl[export]'")
runtime = pytest.importorskip("onnxruntime", reason="checking an ONNX file needs the export extra: pip install 'homl[export]'")

import homl.models._onnx_network as onnx_network  # noqa: E402
from homl.errors import ConfigError  # noqa: E402
from homl.models import MLPClassifier, MLPRegressor  # noqa: E402
from homl.models._onnx_network import export_network_onnx  # noqa: E402

_SMALL = {"n_neurons": 16, "epochs": 3, "random_state": 0}


def _rows(count: int = 200, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(count, 4))


@pytest.fixture(scope="module")
def fitted() -> dict[str, object]:
    X = _rows(300, seed=1)
    return {
        "regressor": MLPRegressor(**_SMALL, dropout=0.1).fit(X, 3 * X[:, 0] - X[:, 1] + 10),
        "binary": MLPClassifier(**_SMALL).fit(X, np.where(X[:, 0] > 0, "yes", "no")),
        "multiclass": MLPClassifier(**_SMALL, batch_norm=True).fit(X, np.digitize(X[:, 0], [-0.5, 0.5])),
    }


def _run(path, rows: np.ndarray) -> np.ndarray:
    session = runtime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"X": rows.astype(np.float32)})[0]


@pytest.mark.parametrize("kind", ["regressor", "binary", "multiclass"])
def test_the_file_gives_what_the_estimator_gives(fitted, kind, tmp_path) -> None:
    estimator, X, path = fitted[kind], _rows(), tmp_path / "network.onnx"
    difference = export_network_onnx(estimator, path, sample=X)
    got = _run(path, X)
    if kind == "regressor":
        expected = estimator.predict(X)[:, None]
    else:
        expected = estimator.predict_proba(X)
        assert got.shape == (200, len(estimator.classes_))  # binary: [1 - p, p], as predict_proba
    assert np.abs(got - expected).max() < 1e-5
    assert difference is not None and difference < 1e-5


def test_a_table_of_targets_gives_one_column_each(tmp_path) -> None:
    X = _rows(300)
    y = np.column_stack([100 * X[:, 0], X[:, 1] - 5])
    estimator = MLPRegressor(**_SMALL).fit(X, y)
    export_network_onnx(estimator, tmp_path / "network.onnx")
    np.testing.assert_allclose(_run(tmp_path / "network.onnx", X), estimator.predict(X), rtol=1e-5, atol=1e-4)


def test_the_batch_dimension_is_dynamic_and_io_are_named(fitted, tmp_path) -> None:
    import onnx

    path = tmp_path / "network.onnx"
    export_network_onnx(fitted["binary"], path)
    X = _rows(1000, seed=2)
    assert _run(path, X[:1]).shape == (1, 2)
    assert _run(path, X).shape == (1000, 2)
    exported = onnx.load(path)
    assert [value.name for value in exported.graph.input] == ["X"]
    assert [value.name for value in exported.graph.output] == ["probabilities"]
    assert {prop.key: prop.value for prop in exported.metadata_props}["homl.classes"] == '["no", "yes"]'


def test_the_estimator_is_left_as_it_was(fitted, tmp_path) -> None:
    estimator, X = fitted["regressor"], _rows()
    network, before = estimator.model_, estimator.predict(X)
    weights = [w.copy() for w in network.get_weights()]
    export_network_onnx(estimator, tmp_path / "network.onnx")
    assert estimator.model_ is network
    assert all(np.array_equal(a, b) for a, b in zip(weights, estimator.model_.get_weights()))
    np.testing.assert_array_equal(estimator.predict(X), before)


def test_feature_names_are_kept_and_a_table_is_a_sample(tmp_path) -> None:
    frame = pd.DataFrame(_rows(300), columns=["a", "b", "c", "d"])
    estimator = MLPRegressor(**_SMALL).fit(frame, frame["a"] * 2)
    assert export_network_onnx(estimator, tmp_path / "network.onnx", sample=frame) < 1e-5
    import onnx

    props = {prop.key: prop.value for prop in onnx.load(tmp_path / "network.onnx").metadata_props}
    assert props["homl.feature_names"] == '["a", "b", "c", "d"]'


def test_an_unfitted_estimator_writes_nothing(tmp_path) -> None:
    with pytest.raises(NotFittedError):
        export_network_onnx(MLPRegressor(), tmp_path / "network.onnx")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_check_leaves_no_file_and_keeps_the_old_one(fitted, tmp_path, monkeypatch) -> None:
    path = tmp_path / "network.onnx"
    path.write_bytes(b"the previous export")
    monkeypatch.setattr(onnx_network, "TOLERANCE", -1.0)  # no difference passes
    with pytest.raises(ConfigError, match=r"differs from MLPRegressor by up to .* on the 200 sample rows"):
        export_network_onnx(fitted["regressor"], path, sample=_rows())
    assert path.read_bytes() == b"the previous export"
    assert [item.name for item in tmp_path.iterdir()] == ["network.onnx"]


def test_missing_packages_say_what_to_install(fitted, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now fails
    with pytest.raises(ConfigError, match=r"needs the onnxruntime package: pip install 'homl\[export\]'"):
        export_network_onnx(fitted["binary"], tmp_path / "network.onnx", sample=_rows())
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ConfigError, match=r"needs the onnx package"):
        export_network_onnx(fitted["binary"], tmp_path / "network.onnx")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_is_named(fitted, tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export_network_onnx(fitted["binary"], tmp_path / "nowhere" / "network.onnx")


def test_a_network_of_several_inputs_is_refused_before_anything_is_written(tmp_path) -> None:
    from sklearn.pipeline import make_pipeline

    from homl.prep import TablePreprocessor

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200), "shop": rng.choice(["a", "b", "c"], 200)})
    model = make_pipeline(TablePreprocessor(categorical="native"), MLPRegressor(n_neurons=8, epochs=2, random_state=0))
    model.fit(frame, frame.x.to_numpy())
    with pytest.raises(ConfigError, match="has 2 inputs"):
        export_network_onnx(model[-1], tmp_path / "network.onnx")
    assert list(tmp_path.iterdir()) == []
