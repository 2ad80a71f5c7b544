"""Table pipelines as ONNX: every exportable family, preparation step and wrapper predicts in
ONNX Runtime what it predicts in Python, from the raw columns."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("skl2onnx")
onnxruntime = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper  # noqa: E402
from sklearn.compose import TransformedTargetRegressor  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor  # noqa: E402

from homl.data import infer_schema  # noqa: E402
from homl.models import (  # noqa: E402
    SPECS,
    NotConvertible,
    build_pipeline,
    labels_from_proba,
    onnx_feeds,
    table_to_onnx,
    with_threshold,
)
from homl.models._onnx_graph import GraphBuilder, sklearn_to_onnx  # noqa: E402
from homl.models._onnx_table import Matrix, _Converter  # noqa: E402
from homl.prep import GeoFeatures  # noqa: E402

TASKS = ("regression", "binary", "multiclass")


def _table(task: str, n: int = 500, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Numbers with gaps and a long tail, a location, categories with gaps; a target of them all."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "size": rng.lognormal(3, 1, n),
        "age": rng.integers(0, 60, n).astype(float),
        "latitude": rng.uniform(33, 41, n).round(2),
        "longitude": rng.uniform(-123, -115, n).round(2),
        "kind": rng.choice(["house", "flat", "boat", "barn"], n),
        "city": rng.choice([f"c{i}" for i in range(30)], n),
    })
    X.loc[rng.random(n) < 0.1, "age"] = np.nan
    X.loc[rng.random(n) < 0.1, "kind"] = np.nan
    signal = np.log(X["size"]) + 0.02 * X["age"].fillna(30) + (X["kind"] == "boat") + 0.2 * X["latitude"]
    signal = signal + rng.normal(0, 0.3, n)
    if task == "regression":
        return X, np.asarray(1000 * signal)
    edges = np.quantile(signal, [0.5] if task == "binary" else [0.33, 0.66])
    labels = np.array(["low", "high"]) if task == "binary" else np.array(["a", "b", "c"])
    return X, labels[np.digitize(signal, edges)]


def _onnx_outputs(pipeline, schema, X, classes):
    columns = {c.name: c.kind for c in schema.features}
    graph = table_to_onnx(pipeline, columns, classes)
    session = onnxruntime.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, onnx_feeds(pipeline[0].transform(X), columns))


def _assert_same(pipeline, schema, X, task):
    classes = None if task == "regression" else pipeline.classes_
    outputs = _onnx_outputs(pipeline, schema, X, classes)
    if task == "regression":
        expected = pipeline.predict(X)
        np.testing.assert_allclose(outputs[0], expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
    else:
        proba = pipeline.predict_proba(X)
        np.testing.assert_allclose(outputs[1], proba, atol=1e-5)
        # The labels homl serves: the most probable class (the model's threshold, if any).
        assert (outputs[0].astype(str) == labels_from_proba(pipeline, proba).astype(str)).all()


EXPORTABLE = [(spec, task) for spec in SPECS if spec.exportable for task in TASKS if spec.supports(task)]


@pytest.mark.parametrize(("spec", "task"), EXPORTABLE, ids=lambda v: getattr(v, "name", v))
def test_every_exportable_family_predicts_the_same_in_onnx(spec, task):
    if not spec.installed:
        pytest.skip(f"{spec.name} needs {spec.requires[1]}")
    X, y = _table(task)
    train, test = slice(0, 400), slice(400, None)
    schema = infer_schema(X.assign(target=y).iloc[train], "target")
    pipeline = build_pipeline(spec, task, schema).fit(X.iloc[train], y[train])
    _assert_same(pipeline, schema, X.iloc[test], task)


@pytest.mark.parametrize("categorical", ["onehot", "ordinal", "target"])
@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_preparation_options_have_the_same_onnx_form(categorical, task):
    from homl.models import get_spec

    X, y = _table(task, seed=1)
    schema = infer_schema(X.assign(target=y).iloc[:400], "target")
    params = {"prep:categorical": categorical, "prep:ratios": True, "prep:log_heavy_tails": True,
              "prep:geo_clusters": 5, "prep:max_onehot": 5}
    pipeline = build_pipeline(get_spec("lightgbm"), task, schema, params).fit(X.iloc[:400], y[:400])
    _assert_same(pipeline, schema, X.iloc[400:], task)


@pytest.mark.parametrize("transform", ["log", "yeo-johnson"])
def test_transformed_targets_are_transformed_back_in_onnx(transform):
    from homl.models import TARGET_TRANSFORM, get_spec

    X, y = _table("regression", seed=2)
    y = np.exp(y / 1000)
    schema = infer_schema(X.assign(target=y).iloc[:400], "target")
    pipeline = build_pipeline(get_spec("ridge"), "regression", schema, {TARGET_TRANSFORM: transform})
    pipeline.fit(X.iloc[:400], y[:400])
    assert isinstance(pipeline[-1].estimator_, TransformedTargetRegressor)
    _assert_same(pipeline, schema, X.iloc[400:], "regression")


def test_a_decision_threshold_decides_the_onnx_labels_too():
    from homl.models import get_spec

    X, y = _table("binary", seed=3)
    schema = infer_schema(X.assign(target=y).iloc[:400], "target")
    pipeline = build_pipeline(get_spec("linear"), "binary", schema).fit(X.iloc[:400], y[:400])
    shifted = with_threshold(pipeline, 0.2)
    outputs = _onnx_outputs(shifted, schema, X.iloc[400:], shifted.classes_)
    assert (outputs[0] == shifted.predict(X.iloc[400:])).all()
    assert (outputs[0] != pipeline.predict(X.iloc[400:])).any()


def test_what_has_no_exact_onnx_form_is_refused_by_name():
    from homl.models import get_spec

    X, y = _table("regression", seed=4)
    X["notes"] = [f"note {i % 7} about item {i}" for i in range(len(X))]
    schema = infer_schema(X.assign(target=y), "target")
    assert schema["notes"].kind == "text"
    pipeline = build_pipeline(get_spec("ridge"), "regression", schema).fit(X, y)
    with pytest.raises(NotConvertible, match="free-text"):
        table_to_onnx(pipeline, {c.name: c.kind for c in schema.features})
    neighbours = build_pipeline(get_spec("ridge"), "regression", schema.without(["notes"], "test"),
                                {"prep:geo_neighbors": 5}).fit(X, y)
    with pytest.raises(NotConvertible, match="nearest-neighbour"):
        table_to_onnx(neighbours, {c.name: c.kind for c in schema.features if c.name != "notes"})


def test_geographic_similarities_are_the_same_to_the_last_bit():
    """Tree thresholds can sit exactly on a training value: ONNX must give the same doubles."""
    rng = np.random.default_rng(5)
    coords = np.column_stack([rng.uniform(32, 42, 50_000), rng.uniform(-124, -114, 50_000)]).round(2)
    geo = GeoFeatures(n_clusters=10).fit(coords[:2000])
    graph = GraphBuilder()
    graph.inputs.append(helper.make_tensor_value_info("coords", TensorProto.DOUBLE, [None, 2]))
    out = _Converter(graph).transform(geo, Matrix("coords", 2))
    graph.output(out.values, "features", TensorProto.DOUBLE, [None, out.width])
    session = onnxruntime.InferenceSession(graph.model().SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"coords": coords})[0]
    expected = geo.transform(coords)
    assert got.shape == expected.shape
    assert (got != expected).mean() < 1e-4  # an exp one bit apart may round the other way, rarely
    np.testing.assert_allclose(got, expected, atol=1e-12)


@pytest.mark.parametrize("model", [HistGradientBoostingRegressor(max_iter=30), HistGradientBoostingClassifier(max_iter=30),
                                   "lightgbm-regressor", "lightgbm-classifier"], ids=str)
def test_boosters_splitting_on_doubles_keep_their_exact_thresholds(model):
    """Values far below a float's smallest normal number would all round to zero in float trees."""
    if isinstance(model, str):
        lightgbm = pytest.importorskip("lightgbm")
        model = (lightgbm.LGBMRegressor if model.endswith("regressor") else lightgbm.LGBMClassifier)(
            n_estimators=30, verbose=-1)
    rng = np.random.default_rng(6)
    X = rng.normal(size=(2000, 3))
    X[:, 2] = np.exp(-60 * X[:, 2] ** 2) * 1e-30
    y = X[:, 0] + 1e30 * X[:, 2]
    classifier = hasattr(model, "predict_proba")
    model.fit(X, (y > np.median(y)).astype(int) if classifier else y)
    graph, reads = sklearn_to_onnx(model, 3, classifier=classifier)
    assert reads == "double"
    session = onnxruntime.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"X": X})[1 if classifier else 0]
    expected = model.predict_proba(X) if classifier else model.predict(X)
    np.testing.assert_allclose(got.reshape(expected.shape), expected, atol=1e-5 * max(1, np.abs(expected).max()))
