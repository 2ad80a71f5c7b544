"""Tests for homl.registry: model directories, atomic writes and trusted-type loading."""

from __future__ import annotations

import builtins
import functools
import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io
from lightgbm import LGBMClassifier, LGBMRegressor
from sklearn.calibration import CalibratedClassifierCV
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import (
    AdaBoostClassifier,
    ExtraTreesClassifier,
    HistGradientBoostingRegressor,
    RandomForestRegressor,
    StackingClassifier,
    VotingRegressor,
)
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge, SGDClassifier
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler, TargetEncoder
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeRegressor
from threadpoolctl import threadpool_limits
from xgboost import XGBClassifier, XGBRegressor

from homl.errors import ModelDirError
from homl.registry import (
    FORMAT_VERSION,
    FORMATS,
    METADATA_FILE,
    MODEL_FILE,
    ArtifactFormat,
    is_model_dir,
    is_trusted_type,
    library_versions,
    read_artifact,
    read_metadata,
    read_model_dir,
    register_format,
    write_model_dir,
)

MODEL_V1 = Path(__file__).parents[1] / "data" / "model_v1" / "housing"

N_ROWS = 200


@pytest.fixture(autouse=True, scope="module")
def _single_thread() -> object:
    """One thread for OpenMP/BLAS: tiny fits, and no spin-waiting on a busy machine."""
    with threadpool_limits(limits=1):
        yield


@functools.cache
def _data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=N_ROWS),
            "b": rng.normal(size=N_ROWS),
            "c": rng.choice(["x", "y", "z"], N_ROWS),
            "text": rng.choice(["good movie", "bad film", "great plot twist", "dull"], N_ROWS),
        }
    )
    frame.loc[::7, "a"] = np.nan
    return frame


def _targets(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    value = frame["b"].to_numpy() * 2 + (frame["c"] == "x") + rng.normal(size=len(frame)) * 0.1
    return {
        "reg": value,
        "pos": np.abs(value),
        "cls": np.where(value > 0.5, "yes", "no"),
        "int": (value > 0.5).astype(int),
    }


def _preprocessor(text: bool) -> ColumnTransformer:
    numeric = Pipeline([("impute", SimpleImputer(add_indicator=True)), ("scale", StandardScaler())])
    parts = [
        ("num", numeric, ["a", "b"]),
        ("onehot", OneHotEncoder(handle_unknown="ignore"), ["c"]),
        ("target", TargetEncoder(), ["c"]),
    ]
    if text:
        parts.append(("tfidf", TfidfVectorizer(), "text"))
    return ColumnTransformer(parts)


MODELS = {
    "linear": (lambda: LinearRegression(), "reg"),
    "ridge": (lambda: Ridge(), "reg"),
    "logistic": (lambda: LogisticRegression(), "cls"),
    "sgd": (lambda: SGDClassifier(random_state=0), "cls"),
    "knn": (lambda: KNeighborsRegressor(), "reg"),
    "svc": (lambda: SVC(probability=True, random_state=0), "cls"),
    "calibrated_svc": (lambda: CalibratedClassifierCV(SVC(), ensemble=False), "cls"),
    "tree": (lambda: DecisionTreeRegressor(random_state=0), "reg"),
    "forest": (lambda: RandomForestRegressor(n_estimators=10, random_state=0), "reg"),
    "extra_trees": (lambda: ExtraTreesClassifier(n_estimators=10, random_state=0), "cls"),
    "adaboost": (lambda: AdaBoostClassifier(n_estimators=10, random_state=0), "cls"),
    "hist_gb": (lambda: HistGradientBoostingRegressor(max_iter=20), "reg"),
    "lgbm_reg": (lambda: LGBMRegressor(n_estimators=20, verbose=-1, n_jobs=1), "reg"),
    "lgbm_cls": (lambda: LGBMClassifier(n_estimators=20, verbose=-1, n_jobs=1), "cls"),
    "xgb_reg": (lambda: XGBRegressor(n_estimators=20, n_jobs=1), "reg"),
    "xgb_cls": (lambda: XGBClassifier(n_estimators=20, n_jobs=1), "int"),
    "voting": (
        lambda: VotingRegressor([("ridge", Ridge()), ("lgbm", LGBMRegressor(n_estimators=10, verbose=-1, n_jobs=1))]),
        "reg",
    ),
    "stacking": (
        lambda: StackingClassifier(
            [
                ("logistic", LogisticRegression()),
                ("trees", ExtraTreesClassifier(n_estimators=5, random_state=0)),
            ],
            final_estimator=LogisticRegression(),
        ),
        "cls",
    ),
    "transformed_target": (
        lambda: TransformedTargetRegressor(Ridge(), func=np.log1p, inverse_func=np.expm1),
        "pos",
    ),
    "tfidf_logistic": (lambda: LogisticRegression(), "cls"),
    "kmeans": (lambda: KMeans(n_clusters=3, n_init=2, random_state=0), "reg"),
}


@functools.cache
def _fitted(name: str) -> Pipeline:
    """The pipeline for model ``name``, fitted once per test session."""
    make_model, target = MODELS[name]
    pipe = Pipeline([("prep", _preprocessor(text=name == "tfidf_logistic")), ("model", make_model())])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The `probability` parameter", FutureWarning)
        return pipe.fit(_data(), _targets(_data())[target])


def _small_model() -> Pipeline:
    X = np.arange(20, dtype=float).reshape(10, 2)
    return Pipeline([("scale", StandardScaler()), ("model", Ridge())]).fit(X, X[:, 0])


def _tree_bytes(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _hidden_entries(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def _rewrite_model(model_dir: Path, obj: object, *, update_sha: bool) -> None:
    """Replace model.skops behind homl's back, optionally fixing the checksum."""
    skops.io.dump(obj, model_dir / MODEL_FILE)
    if update_sha:
        meta_path = model_dir / METADATA_FILE
        meta = json.loads(meta_path.read_text())
        meta["artifacts"]["model"]["sha256"] = hashlib.sha256((model_dir / MODEL_FILE).read_bytes()).hexdigest()
        meta_path.write_text(json.dumps(meta))


@pytest.fixture
def forbid_skops_load(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record (and fail) any attempt to deserialise objects."""
    calls: list[object] = []

    def no_load(*args: object, **kwargs: object) -> None:
        calls.append(args)
        raise AssertionError("skops.io.load must not be called")

    monkeypatch.setattr(skops.io, "load", no_load)
    return calls


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize("name", list(MODELS))
def test_pipeline_round_trips_with_identical_predictions(name: str, tmp_path: Path) -> None:
    pipe, data = _fitted(name), _data()
    model_dir = write_model_dir(tmp_path / "model", pipe, {"model": name})
    loaded, meta = read_model_dir(model_dir)
    assert type(loaded) is Pipeline
    np.testing.assert_array_equal(loaded.predict(data), pipe.predict(data))
    if hasattr(pipe, "predict_proba"):
        np.testing.assert_array_equal(loaded.predict_proba(data), pipe.predict_proba(data))
    assert meta["model"] == name


def test_model_types_found_are_all_trusted() -> None:
    found: set[str] = set()
    for name in ("knn", "forest", "hist_gb", "lgbm_cls", "xgb_reg", "stacking"):
        found.update(skops.io.get_untrusted_types(data=skops.io.dumps(_fitted(name))))
    assert {"lightgbm.basic.Booster", "xgboost.core.Booster", "sklearn.tree._tree.Tree"} <= found
    assert all(is_trusted_type(t) for t in found), found


def test_written_directory_layout_and_metadata(tmp_path: Path) -> None:
    extra = tmp_path / "config.yaml"
    extra.write_text("metric: rmse\n")
    table = pd.DataFrame({"feature": ["a", "b"], "importance": [0.7, 0.3]})
    meta_in = {"task": "regression", "score": np.float64(0.25), "n_rows": np.int64(10)}

    out = write_model_dir(
        tmp_path / "m",
        _small_model(),
        meta_in,
        tables={"importances": table},
        files={"config.yaml": extra},
    )

    assert out == tmp_path / "m"
    assert sorted(p.name for p in out.iterdir()) == [
        "config.yaml",
        "importances.csv",
        METADATA_FILE,
        MODEL_FILE,
    ]
    assert is_model_dir(out)
    pd.testing.assert_frame_equal(pd.read_csv(out / "importances.csv"), table)
    assert (out / "config.yaml").read_text() == "metric: rmse\n"
    meta = json.loads((out / METADATA_FILE).read_text())
    assert meta["format_version"] == FORMAT_VERSION == 2
    assert meta["kind"] == "supervised"
    assert meta["score"] == 0.25 and meta["n_rows"] == 10
    sha = hashlib.sha256((out / MODEL_FILE).read_bytes()).hexdigest()
    assert meta["artifacts"] == {"model": {"file": MODEL_FILE, "sha256": sha}}
    assert meta["library_versions"]["sklearn"] and meta["created"].endswith("+00:00")
    assert _hidden_entries(tmp_path) == []


def test_library_versions_lists_python_and_installed_libraries() -> None:
    versions = library_versions()
    assert {"python", "homl", "sklearn", "numpy", "pandas", "skops", "lightgbm", "xgboost"} <= set(versions)
    assert all(isinstance(v, str) and v for v in versions.values())


def test_write_creates_missing_parents_and_accepts_empty_directory(tmp_path: Path) -> None:
    nested = write_model_dir(tmp_path / "a" / "b", _small_model(), {})
    empty = tmp_path / "empty"
    empty.mkdir()
    write_model_dir(empty, _small_model(), {})
    assert is_model_dir(nested) and is_model_dir(empty)


@pytest.mark.parametrize(
    ("tables", "files", "match"),
    [
        ({"../x": pd.DataFrame()}, {}, "table '../x'"),
        ({}, {"model.skops": "x"}, "file 'model.skops'"),
        ({}, {".hidden": "x"}, "file '.hidden'"),
        ({"t": pd.DataFrame()}, {"t.csv": "x"}, "file 't.csv'"),
        ({}, {"missing.txt": "does-not-exist.txt"}, "does not exist"),
    ],
)
def test_bad_extra_names_or_files_are_refused(tables: dict, files: dict, match: str, tmp_path: Path) -> None:
    with pytest.raises(ModelDirError, match=match):
        write_model_dir(tmp_path / "m", _small_model(), {}, tables=tables, files=files)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------- atomicity


def test_existing_model_is_refused_without_overwrite_and_left_untouched(tmp_path: Path) -> None:
    target = write_model_dir(tmp_path / "m", _small_model(), {"run": 1})
    before = _tree_bytes(target)
    with pytest.raises(ModelDirError, match="holds a model already.*overwrite=True"):
        write_model_dir(target, _small_model(), {"run": 2})
    assert _tree_bytes(target) == before
    assert _hidden_entries(tmp_path) == []


def test_overwrite_replaces_model_and_removes_old_files(tmp_path: Path) -> None:
    target = write_model_dir(tmp_path / "m", _small_model(), {"run": 1}, tables={"old": pd.DataFrame({"a": [1]})})
    write_model_dir(target, KMeans(n_clusters=2, n_init=1), {"run": 2}, overwrite=True)
    model, meta = read_model_dir(target)
    assert isinstance(model, KMeans) and meta["run"] == 2
    assert not (target / "old.csv").exists()
    assert _hidden_entries(tmp_path) == []


@pytest.mark.parametrize("target_name", ["m", "new"])
def test_failure_during_write_keeps_old_model_and_leaves_no_temp_dirs(
    target_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = write_model_dir(tmp_path / "m", _small_model(), {"run": 1})
    before = _tree_bytes(old)

    def broken_dump(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(skops.io, "dump", broken_dump)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_model_dir(tmp_path / target_name, _small_model(), {"run": 2}, overwrite=True)
    assert _tree_bytes(old) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_failed_swap_restores_old_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = write_model_dir(tmp_path / "m", _small_model(), {"run": 1})
    before = _tree_bytes(target)
    real_rename = os.rename

    def rename_new_fails(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if ".tmp-" in os.fspath(src):
            raise OSError("simulated crash while moving the new model into place")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename_new_fails)
    with pytest.raises(ModelDirError, match="simulated crash"):
        write_model_dir(target, _small_model(), {"run": 2}, overwrite=True)
    assert _tree_bytes(target) == before
    assert _hidden_entries(tmp_path) == []


@pytest.mark.parametrize("overwrite", [False, True])
def test_non_empty_user_folder_is_never_replaced(overwrite: bool, tmp_path: Path) -> None:
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "thesis.txt").write_text("precious")
    with pytest.raises(ModelDirError, match="non-empty directory"):
        write_model_dir(folder, _small_model(), {}, overwrite=overwrite)
    assert _tree_bytes(folder) == {"thesis.txt": b"precious"}
    assert _hidden_entries(tmp_path) == []


@pytest.mark.parametrize("overwrite", [False, True])
def test_existing_file_is_refused(overwrite: bool, tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.write_text("not a dir")
    with pytest.raises(ModelDirError, match="is not a directory"):
        write_model_dir(target, _small_model(), {}, overwrite=overwrite)
    assert target.read_text() == "not a dir"


# -------------------------------------------------------------- reading errors


def _break_metadata(model_dir: Path, text: str) -> None:
    (model_dir / METADATA_FILE).write_text(text)


def _edit_metadata(model_dir: Path, change) -> None:
    meta = json.loads((model_dir / METADATA_FILE).read_text())
    change(meta)
    (model_dir / METADATA_FILE).write_text(json.dumps(meta))


@pytest.mark.parametrize(
    ("breakage", "match"),
    [
        (lambda d: _break_metadata(d, "{not json"), "not valid JSON"),
        (lambda d: _break_metadata(d, "[1, 2]"), "not a JSON object"),
        (lambda d: _break_metadata(d, '{"model_sha256": "x"}'), "no valid format_version"),
        (
            lambda d: _break_metadata(d, '{"format_version": 99, "model_sha256": "x"}'),
            "format 99, newer than this homl reads",
        ),
        (lambda d: _break_metadata(d, '{"format_version": 1}'), "no model_sha256"),
        (lambda d: _break_metadata(d, '{"format_version": 2, "kind": "supervised"}'), "no valid list of artifacts"),
        (lambda d: _edit_metadata(d, lambda m: m.pop("kind")), "does not say which kind of model"),
        (
            lambda d: _edit_metadata(d, lambda m: m["artifacts"].update(net={"file": "../net.skops", "sha256": "x"})),
            "artifact 'net' has no plain file name",
        ),
        (
            lambda d: _edit_metadata(d, lambda m: m["artifacts"].update(net={"file": "net.pkl", "sha256": "x"})),
            "artifact 'net.pkl' has no registered format",
        ),
        (
            lambda d: _edit_metadata(d, lambda m: m["artifacts"].update(net={"file": "net.skops", "sha256": "x"})),
            r"artifact 'net' \(net.skops\) is missing",
        ),
        (lambda d: (d / MODEL_FILE).unlink(), r"not a homl model directory \(missing model.skops\)"),
        (lambda d: (d / METADATA_FILE).unlink(), r"missing metadata.json"),
        (lambda d: _edit_metadata(d, lambda m: m.update(task="bogus")),
         r"metadata.json in .*: 'task' is \"bogus\"; expected one of 'regression', 'binary', 'multiclass'"),
        (lambda d: _edit_metadata(d, lambda m: m.update(task=5)), r"'task' is 5; expected one of 'regression'"),
    ],
)
def test_broken_model_dir_is_refused(breakage, match: str, tmp_path: Path) -> None:
    model_dir = write_model_dir(tmp_path / "m", _small_model(), {})
    breakage(model_dir)
    with pytest.raises(ModelDirError, match=match) as info:
        read_model_dir(model_dir)
    assert str(model_dir) in str(info.value)


def test_missing_path_and_plain_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelDirError, match="no such model directory"):
        read_model_dir(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelDirError, match="is not a directory"):
        read_model_dir(tmp_path / "file")
    assert not is_model_dir(tmp_path / "file") and not is_model_dir(tmp_path)


# ------------------------------------------------------------------- tampering


@pytest.mark.parametrize(
    ("func", "type_name"),
    [
        (os.system, f"{os.system.__module__}.system"),
        (builtins.eval, "builtins.eval"),
        (builtins.exec, "builtins.exec"),
    ],
)
def test_dangerous_function_in_model_is_refused_and_never_loaded(
    func, type_name: str, tmp_path: Path, forbid_skops_load: list[object]
) -> None:
    model_dir = write_model_dir(tmp_path / "m", _small_model(), {})
    _rewrite_model(model_dir, FunctionTransformer(func=func), update_sha=True)
    with pytest.raises(ModelDirError, match="does not trust") as info:
        read_model_dir(model_dir)
    assert type_name in str(info.value) and str(model_dir) in str(info.value)
    assert forbid_skops_load == []


def test_writing_a_model_homl_would_not_load_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelDirError, match=f"{os.system.__module__}.system"):
        write_model_dir(tmp_path / "m", FunctionTransformer(func=os.system), {})
    assert list(tmp_path.iterdir()) == []


def test_changed_model_bytes_with_old_checksum_are_refused(tmp_path: Path, forbid_skops_load: list[object]) -> None:
    model_dir = write_model_dir(tmp_path / "m", _small_model(), {})
    model_file = model_dir / MODEL_FILE
    payload = bytearray(model_file.read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    model_file.write_bytes(bytes(payload))
    with pytest.raises(ModelDirError, match="model.skops was modified after saving"):
        read_model_dir(model_dir)
    assert forbid_skops_load == []


def test_replaced_model_with_old_checksum_is_refused(tmp_path: Path, forbid_skops_load: list[object]) -> None:
    model_dir = write_model_dir(tmp_path / "m", _small_model(), {})
    _rewrite_model(model_dir, FunctionTransformer(func=os.system), update_sha=False)
    with pytest.raises(ModelDirError, match="modified after saving"):
        read_model_dir(model_dir)
    assert forbid_skops_load == []


def test_untrusted_type_is_refused_even_with_matching_checksum(tmp_path: Path, forbid_skops_load: list[object]) -> None:
    model_dir = write_model_dir(tmp_path / "m", _small_model(), {})
    hidden = Pipeline([("scale", StandardScaler()), ("boom", FunctionTransformer(func=os.popen))])
    _rewrite_model(model_dir, hidden, update_sha=True)
    with pytest.raises(ModelDirError, match=f"{os.popen.__module__}.popen"):
        read_model_dir(model_dir)
    assert forbid_skops_load == []


# ------------------------------------------------------------------- artifacts


def _scaler() -> StandardScaler:
    return StandardScaler().fit(np.arange(12, dtype=float).reshape(6, 2))


def test_extra_artifact_is_listed_with_its_checksum_and_loads_back(tmp_path: Path) -> None:
    model_dir = write_model_dir(
        tmp_path / "m", _small_model(), {}, kind="segment", artifacts={"scaler.skops": _scaler()}
    )
    meta = json.loads((model_dir / METADATA_FILE).read_text())
    assert meta["kind"] == "segment"
    assert meta["artifacts"]["scaler"] == {
        "file": "scaler.skops",
        "sha256": hashlib.sha256((model_dir / "scaler.skops").read_bytes()).hexdigest(),
    }
    model, read = read_model_dir(model_dir)
    scaler = read_artifact(model_dir, read, "scaler")
    assert isinstance(model, Pipeline) and isinstance(scaler, StandardScaler)
    np.testing.assert_array_equal(scaler.mean_, _scaler().mean_)
    with pytest.raises(ModelDirError, match=r"no artifact named 'encoder' \(it has: model, scaler\)"):
        read_artifact(model_dir, read, "encoder")


def test_tampered_extra_artifact_refuses_the_whole_directory(tmp_path: Path, forbid_skops_load: list[object]) -> None:
    model_dir = write_model_dir(tmp_path / "m", _small_model(), {}, artifacts={"scaler.skops": _scaler()})
    skops.io.dump(FunctionTransformer(func=os.system), model_dir / "scaler.skops")
    with pytest.raises(ModelDirError, match="scaler.skops was modified after saving"):
        read_model_dir(model_dir)
    assert forbid_skops_load == []


def test_extra_artifact_with_untrusted_types_is_refused_even_with_matching_checksum(
    tmp_path: Path, forbid_skops_load: list[object]
) -> None:
    model_dir = write_model_dir(tmp_path / "m", _small_model(), {}, artifacts={"scaler.skops": _scaler()})
    skops.io.dump(FunctionTransformer(func=os.system), model_dir / "scaler.skops")
    sha = hashlib.sha256((model_dir / "scaler.skops").read_bytes()).hexdigest()
    _edit_metadata(model_dir, lambda m: m["artifacts"]["scaler"].update(sha256=sha))
    meta = read_metadata(model_dir)
    with pytest.raises(ModelDirError, match=f"scaler.skops in {model_dir} contains types homl does not trust"):
        read_artifact(model_dir, meta, "scaler")
    assert forbid_skops_load == []


@pytest.mark.parametrize(
    ("artifacts", "match"),
    [
        ({"scaler.pkl": 1}, "artifact 'scaler.pkl' has no registered format"),
        ({"model.skops": 1}, "artifact 'model.skops' is not a plain file name"),
        ({"sub/scaler.skops": 1}, "artifact 'sub/scaler.skops' is not a plain file name"),
        ({"model.v2.skops": 1, "model.v2.keras": 2}, "not a plain file name with a name of its own"),
    ],
)
def test_bad_artifact_names_are_refused(artifacts: dict, match: str, tmp_path: Path) -> None:
    with pytest.raises(ModelDirError, match=match):
        write_model_dir(tmp_path / "m", _small_model(), {}, artifacts=artifacts)
    assert list(tmp_path.iterdir()) == []


def test_a_registered_format_stores_and_verifies_its_artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The place a ``.keras`` or ``.onnx`` loader goes: one format, registered by its suffix."""
    monkeypatch.setattr("homl.registry._artifacts.FORMATS", dict(FORMATS))
    register_format(
        ArtifactFormat(
            ".words", lambda obj, path: path.write_text(" ".join(obj)), lambda path: path.read_text().split()
        )
    )
    model_dir = write_model_dir(tmp_path / "m", _small_model(), {}, artifacts={"vocabulary.words": ["a", "b"]})
    _, meta = read_model_dir(model_dir)
    assert read_artifact(model_dir, meta, "vocabulary") == ["a", "b"]
    (model_dir / "vocabulary.words").write_text("a b c")
    with pytest.raises(ModelDirError, match="vocabulary.words was modified after saving"):
        read_artifact(model_dir, meta, "vocabulary")
    with pytest.raises(ValueError, match="an artifact suffix"):
        register_format(ArtifactFormat("keras", lambda obj, path: None, lambda path: None))


def test_format_1_directory_reads_as_a_supervised_model_with_one_artifact() -> None:
    meta = read_metadata(MODEL_V1)
    raw = json.loads((MODEL_V1 / METADATA_FILE).read_text())
    assert raw["format_version"] == 1 and "kind" not in raw
    assert meta["kind"] == "supervised"
    assert meta["artifacts"] == {"model": {"file": MODEL_FILE, "sha256": raw["model_sha256"]}}
    model, _ = read_model_dir(MODEL_V1)
    assert hasattr(model, "predict")


# --------------------------------------------------------------- type policy


@pytest.mark.parametrize(
    "name",
    [
        "numpy.dtype",
        "numpy.dtypes.Float64DType",
        "sklearn.tree._tree.Tree",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.utils._bunch.Bunch",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "lightgbm.basic.Booster",
        "lightgbm.sklearn.LGBMClassifier",
        "xgboost.core.Booster",
        "xgboost.sklearn.XGBRegressor",
        "scipy.sparse._csr.csr_matrix",
        "collections.OrderedDict",
        "homl.models.SomeEstimator",
    ],
)
def test_trusted_types(name: str) -> None:
    assert is_trusted_type(name)


@pytest.mark.parametrize(
    "name",
    [
        "builtins.eval",
        "builtins.exec",
        "builtins.getattr",
        "builtins.__import__",
        "builtins.open",
        "builtins.object",
        "posix.system",
        "nt.system",
        "os.popen",
        "subprocess.Popen",
        "operator.attrgetter",
        "functools.partial",
        "importlib.import_module",
        "pickle.loads",
        "marshal.loads",
        "runpy.run_path",
        "shutil.rmtree",
        "sys.exit",
        "numpy.load",
        "numpy.lib._npyio_impl.load",
        "numpy.float64",
        "scipy.sparse.save_npz",
        "pandas.Series",
        "pandas.read_pickle",
        "sklearn.datasets.fetch_openml",
        "sklearn.utils._testing.something",
        "homl.cli.main",
        "sklearn.utils.fixes.safe_eval",
        "lightgbm.something.system",
        "xgboost.tracker.RabitTracker",
        "mymodule.MyEstimator",
    ],
)
def test_untrusted_types(name: str) -> None:
    assert not is_trusted_type(name)
