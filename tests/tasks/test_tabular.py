"""Tests for homl.fit / homl.load: whole runs on small tables, refused and handled inputs,
and the checks made on new data at predict time."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

import homl
from homl.data import example_path
from homl.errors import ConfigError, ModelDirError, SchemaError, TargetError
from homl.metrics import METRICS
from homl.tasks.tabular import FitResult

#: Small, quick runs: two cheap families, no search, no ensembles.
QUICK = {"time_limit": 10, "models": ["linear", "decision_tree"], "tune": False, "ensemble": False}


def quick_fit(source, target: str, **options) -> FitResult:
    return homl.fit(source, target, **{**QUICK, **options})


def regression_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Two informative numeric features and a numeric target ``y``."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "y": 3 * x1 - 2 * x2 + rng.normal(scale=0.5, size=n)})


def tree_bytes(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def assert_same(got: np.ndarray, expected: np.ndarray) -> None:
    """Equal labels; numbers equal up to floating-point summation order."""
    if np.issubdtype(np.asarray(expected).dtype, np.floating):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    else:
        np.testing.assert_array_equal(got, expected)


def beats_baseline(result: FitResult) -> bool:
    """Whether the test score beats the trivial model's (mean / class frequencies) test score."""
    return METRICS[result.metric].better(result.test_score.value, result.baseline_score.value)


def titanic() -> pd.DataFrame:
    return pd.read_csv(example_path("titanic"))


# --------------------------------------------------------------------------- end to end


def _diabetes() -> tuple[pd.DataFrame, str]:
    data = load_diabetes(as_frame=True)
    return data.frame, "target"


def _breast_cancer() -> tuple[pd.DataFrame, str]:
    data = load_breast_cancer(as_frame=True)
    frame = data.frame.sample(300, random_state=0)
    return frame.rename(columns={"target": "malignant"}), "malignant"


def _iris() -> tuple[pd.DataFrame, str]:
    data = load_iris(as_frame=True)
    frame = data.frame.drop(columns="target")
    frame["species"] = data.target_names[data.target]  # text labels
    return frame, "species"


@pytest.mark.parametrize(
    "make, task, metric",
    [(_diabetes, "regression", "rmse"), (_breast_cancer, "binary", "roc_auc"), (_iris, "multiclass", "log_loss")],
    ids=["regression", "binary", "multiclass"],
)
def test_fit_predict_save_load_end_to_end(make, task: str, metric: str, tmp_path: Path) -> None:
    frame, target = make()
    result = quick_fit(frame, target)

    assert result.task == task
    assert result.metric == metric
    board = result.leaderboard
    assert {"model", "stage", "cv_mean", "cv_std", "fit_time", "params"} <= set(board.columns)
    assert "baseline" in set(board["model"])
    models = board[board["stage"] != "baseline"]
    assert set(models["model"]) == {"linear", "decision_tree"}
    m = METRICS[metric]
    baseline_cv = float(board.loc[board["model"] == "baseline", "cv_mean"].iloc[0])
    assert m.better(float(models["cv_mean"].iloc[0]), baseline_cv)

    score = result.test_score
    assert score is not None and score.metric == metric
    assert np.isfinite(score.value) and score.low <= score.value <= score.high
    assert score.n_rows == pytest.approx(0.2 * len(frame), abs=1)
    assert beats_baseline(result), (score, result.baseline_score)

    X = frame.drop(columns=target)
    predicted = result.predict(X)
    assert predicted.shape == (len(X),)
    # In input order: reversing the rows reverses the predictions.
    assert_same(result.predict(X.iloc[::-1]), predicted[::-1])
    if task == "regression":
        assert np.all(np.isfinite(predicted.astype(float)))
    else:
        assert set(predicted) <= set(frame[target])

    path = result.save(tmp_path / "model")
    loaded = homl.load(path)
    assert_same(loaded.predict(X), predicted)
    assert loaded.task == task and loaded.target == target

    frame_out = loaded.predict_frame(X)
    assert list(frame_out.index) == list(X.index)
    assert_same(frame_out[target].to_numpy(), predicted)
    if task != "regression":
        proba_columns = [f"proba_{c}" for c in loaded.classes]
        assert list(frame_out.columns) == [target, *proba_columns]
        np.testing.assert_allclose(frame_out[proba_columns].sum(axis=1), 1.0)
        np.testing.assert_allclose(loaded.predict_proba(X), result.predict_proba(X))


def test_predict_reads_a_file_path(tmp_path: Path) -> None:
    frame = regression_frame()
    result = quick_fit(frame, "y")
    X = frame.drop(columns="y")
    csv = tmp_path / "new.csv"
    X.to_csv(csv, index=False)
    result.save(tmp_path / "model")
    np.testing.assert_allclose(homl.load(tmp_path / "model").predict(csv), result.predict(X))


def test_time_limit_is_honoured() -> None:
    rng = np.random.default_rng(1)
    n = 2000
    X = rng.normal(size=(n, 8))
    colour = rng.choice(list("abcdef"), n)
    y = 2 * X[:, 0] + np.sin(2 * X[:, 1]) + X[:, 2] * X[:, 3] + (colour == "a") + rng.normal(scale=0.3, size=n)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(8)]).assign(colour=colour, y=y)

    start = time.monotonic()
    result = homl.fit(frame, "y", time_limit=10)  # every family, search and ensembles
    elapsed = time.monotonic() - start

    # Generous: a fit that ignored its budget would search every family for minutes.
    assert elapsed <= 2 * 10, f"a 10 s fit took {elapsed:.1f} s; notes: {result.notes}"
    assert result.test_score is not None and np.isfinite(result.test_score.value)


# --------------------------------------------------------------------------- refused inputs


def test_missing_target_suggests_the_closest_column() -> None:
    with pytest.raises(TargetError, match=r"target column 'Survivd' not found; did you mean 'Survived'\?"):
        homl.fit(example_path("titanic"), "Survivd", **QUICK)


def test_target_with_no_values_is_refused() -> None:
    frame = regression_frame().assign(y=np.nan)
    with pytest.raises(TargetError, match=r"target column 'y' has no values: every row is missing"):
        quick_fit(frame, "y")


def test_target_with_one_class_is_refused() -> None:
    frame = regression_frame().assign(y="yes")
    with pytest.raises(TargetError, match=r"target column 'y' has a single value \('yes'\).*nothing to learn"):
        quick_fit(frame, "y")
    with pytest.raises(TargetError, match=r"target column 'y' has a single value \(2\.5\) in every"):
        quick_fit(regression_frame().assign(y=2.5), "y")  # the number as written, not numpy's repr


def test_class_seen_once_is_refused() -> None:
    frame = regression_frame(n=60)
    frame["y"] = ["a", "b"] * 29 + ["a", "rare"]
    with pytest.raises(TargetError, match=r"class\(es\) \['rare'\] appear only once"):
        quick_fit(frame, "y")


def test_errors_about_a_given_test_set_name_it(tmp_path: Path) -> None:
    frame = regression_frame()
    test = tmp_path / "test.csv"
    frame.drop(columns="y").to_csv(test, index=False)
    with pytest.raises(TargetError, match=r"^test set .*test\.csv: target column 'y' not found"):
        quick_fit(frame, "y", test=test)
    frame.rename(columns={"x1": "X1"}).to_csv(test, index=False)
    with pytest.raises(SchemaError, match=r"^test set .*test\.csv: missing required column\(s\): 'x1' \(did you mean 'X1'"):
        quick_fit(frame, "y", test=test)


# --------------------------------------------------------------------------- handled inputs


@pytest.mark.parametrize("n", [5, 12])
def test_a_table_of_a_few_rows_is_fitted(n: int) -> None:
    result = quick_fit(regression_frame(n=n), "y")
    assert result.test_score.n_rows == int(np.ceil(0.2 * n)) and np.isfinite(result.test_score.value)


def test_classes_written_as_fractions_are_learned_as_labels() -> None:
    frame = regression_frame()
    frame["y"] = np.where(frame.x1 > 0, 0.5, 1.5)
    result = quick_fit(frame, "y")
    assert result.task == "binary" and set(result.predict(frame)) == {"0.5", "1.5"}


def test_a_true_false_target_with_missing_values_predicts_booleans() -> None:
    frame = regression_frame()
    frame["y"] = pd.Series(frame.x1 > 0, dtype=object)
    frame.loc[:4, "y"] = None
    result = quick_fit(frame, "y")
    assert result.predict(frame.head(10)).dtype == bool


def test_predicting_no_rows_gives_no_predictions(titanic_model: Path, new_rows: pd.DataFrame) -> None:
    model = homl.load(titanic_model)
    empty = new_rows.head(0)
    assert model.predict(empty).shape == (0,) and model.predict_proba(empty).shape == (0, 2)
    assert model.predict_frame(empty).columns.tolist() == ["Survived", "proba_0", "proba_1"]
    regression = quick_fit(regression_frame(), "y")
    assert regression.predict(regression_frame().head(0)).shape == (0,)


def test_a_damaged_report_file_is_named_and_a_damaged_leaderboard_is_left_out(titanic_model: Path,
                                                                            tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(titanic_model, copy)
    (copy / "leaderboard.csv").write_text("a,b\n1,2\n")
    assert homl.load(copy).leaderboard is None
    (copy / "diagnostics.json").write_text("[1,2")
    with pytest.raises(ModelDirError, match=r"diagnostics\.json: cannot be read"):
        homl.load(copy).report()


def test_output_holding_a_model_is_kept_without_overwrite_and_replaced_with_it(tmp_path: Path) -> None:
    out = tmp_path / "m"
    frame = regression_frame()
    quick_fit(frame, "y", output=out, models=["linear"])
    before = tree_bytes(out)
    assert {"model.skops", "metadata.json"} <= set(before)

    with pytest.raises(ModelDirError, match=r"holds a model already; use overwrite=True to replace it"):
        quick_fit(frame, "y", output=out, models=["decision_tree"])
    assert tree_bytes(out) == before

    quick_fit(frame, "y", output=out, models=["decision_tree"], overwrite=True)
    assert tree_bytes(out) != before
    assert json.loads((out / "metadata.json").read_text())["winner"] == "decision_tree"
    assert homl.load(out).predict(frame.drop(columns="y")).shape == (len(frame),)
    assert not (tmp_path / "m.homl-work").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no temporary or set-aside dirs left


def test_output_that_is_a_file_or_a_foreign_folder_is_refused(tmp_path: Path) -> None:
    frame = regression_frame()
    plain = tmp_path / "notes.txt"
    plain.write_text("mine")
    with pytest.raises(ModelDirError, match=r"is a file; expected a directory"):
        quick_fit(frame, "y", output=plain)
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(ModelDirError, match=r"folder with other files in it"):
        quick_fit(frame, "y", output=folder, overwrite=True)
    assert plain.read_text() == "mine" and [p.name for p in folder.iterdir()] == ["cat.jpg"]


def test_no_usable_feature_is_refused() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"PassengerId": range(1, 101), "y": rng.normal(size=100)})
    with pytest.raises(SchemaError, match=r"no column can be used to predict 'y': 'PassengerId' \(.*identifier"):
        quick_fit(frame, "y")


def test_unknown_metric_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"unknown metric 'nope'; expected one of rmse, .*roc_auc"):
        quick_fit(regression_frame(), "y", metric="nope")


def test_metric_of_another_task_is_refused() -> None:
    frame = regression_frame().assign(y=lambda d: (d.y > 0).astype(int))
    with pytest.raises(ConfigError, match=r"metric 'rmse' does not apply to binary; use one of roc_auc"):
        quick_fit(frame, "y", metric="rmse")
    with pytest.raises(ConfigError, match=r"metric 'roc_auc' does not apply to regression"):
        quick_fit(regression_frame(), "y", metric="roc_auc")


@pytest.mark.parametrize("limit", [0, -5, float("nan"), float("inf"), "10", True, None])
def test_time_limit_must_be_a_positive_finite_number(limit: float) -> None:
    with pytest.raises(ConfigError, match=r"time limit must be a positive number of seconds"):
        homl.fit(regression_frame(), "y", time_limit=limit, models=["linear"])


def test_unknown_model_family_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"unknown model family 'nope'; expected one of .*\bdecision_tree\b"):
        quick_fit(regression_frame(), "y", models=["linear", "nope"])


def test_model_family_that_cannot_do_the_task_is_refused() -> None:
    frame = regression_frame().assign(y=lambda d: np.where(d.y > 0, "up", "down"))
    with pytest.raises(ConfigError, match=r"model family ridge cannot do binary"):
        quick_fit(frame, "y", models=["ridge"])


def test_unknown_option_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"unknown option\(s\): time_budget"):
        homl.fit(regression_frame(), "y", time_budget=10)


def test_refused_model_family_leaves_no_files_behind(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown model family 'nope'"):
        quick_fit(regression_frame(), "y", models=["nope"], output=tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


def test_refused_metric_leaves_no_files_behind(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown metric"):
        quick_fit(regression_frame(), "y", metric="nope", output=tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- handled inputs


def test_empty_and_constant_columns_are_dropped_with_a_note() -> None:
    frame = regression_frame().assign(empty=np.nan, const=7, label="same")
    result = quick_fit(frame, "y")
    assert set(result.schema.kinds()) == {"x1", "x2"}
    assert any("column 'empty' dropped: every value is missing" in n for n in result.notes), result.notes
    assert any("column 'const' dropped: every value is" in n for n in result.notes), result.notes
    assert any("column 'label' dropped: every value is" in n for n in result.notes), result.notes
    # Dropped columns are not required at predict time.
    assert result.predict(frame[["x1", "x2"]]).shape == (len(frame),)


@pytest.mark.parametrize(
    "name, values, reason",
    [("customer_id", lambda n: np.arange(1000, 1000 + n), "a unique integer per row (an identifier)"),
     ("ref", lambda n: [f"C-{i:05d}" for i in range(n)], "240 distinct values in 240 rows (ID-like)")],
    ids=["integer", "text"],
)
def test_id_like_column_is_dropped(name: str, values, reason: str, tmp_path: Path) -> None:
    frame = regression_frame()
    frame.insert(0, name, values(len(frame)))
    result = quick_fit(frame, "y")
    assert result.schema[name].kind == "identifier"
    assert name not in result.schema.kinds()
    assert f"column '{name}' dropped: {reason}" in result.notes, result.notes
    assert result.predict(frame.drop(columns=[name, "y"])).shape == (len(frame),)


def test_more_columns_than_rows() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(40, 60)), columns=[f"c{i}" for i in range(60)])
    frame["y"] = 2 * frame["c0"] + rng.normal(scale=0.5, size=40)
    result = quick_fit(frame, "y")
    assert len(result.schema.features) == 60
    assert result.test_score is not None and np.isfinite(result.test_score.value)
    predicted = result.predict(frame.drop(columns="y"))
    assert predicted.shape == (40,) and np.all(np.isfinite(predicted))


def test_infinite_values_in_a_numeric_feature() -> None:
    frame = regression_frame()
    frame.loc[::17, "x1"] = np.inf
    frame.loc[3, "x2"] = -np.inf
    result = quick_fit(frame, "y")
    assert result.schema["x1"].kind == "numeric"
    assert np.isfinite(result.test_score.value)
    loaded = result.tabular
    issues: list[str] = []
    predicted = loaded.predict(frame.drop(columns="y"), issues=issues)
    assert predicted.shape == (len(frame),) and np.all(np.isfinite(predicted))
    assert any("column 'x1'" in issue and "infinite" in issue for issue in issues), issues


def test_rows_without_a_target_are_set_aside_with_a_note() -> None:
    frame = regression_frame()
    frame.loc[::10, "y"] = np.nan  # 30 of 300 rows
    result = quick_fit(frame, "y")
    assert any("30 row(s) have no 'y' value" in n and "set aside" in n for n in result.notes), result.notes
    split = result.metadata["split"]
    assert split["train_rows"] + split["test_rows"] == 270


def test_unicode_and_spaces_in_column_names(tmp_path: Path) -> None:
    frame = regression_frame().rename(columns={"x1": "température ℃", "x2": "my col 2", "y": "prix (€)"})
    frame["ville à côté"] = np.where(frame["température ℃"] > 0, "Zürich", "Genève")
    result = quick_fit(frame, "prix (€)")
    assert set(result.schema.kinds()) == {"température ℃", "my col 2", "ville à côté"}
    result.save(tmp_path / "modèle")
    loaded = homl.load(tmp_path / "modèle")
    X = frame.drop(columns="prix (€)")
    np.testing.assert_allclose(loaded.predict(X), result.predict(X))
    assert list(loaded.predict_frame(X).columns) == ["prix (€)"]
    csv = tmp_path / "données.csv"
    X.to_csv(csv, index=False)
    np.testing.assert_allclose(loaded.predict(csv), result.predict(X))


def test_very_high_cardinality_categorical() -> None:
    rng = np.random.default_rng(4)
    n, levels = 3000, 1500
    x = rng.normal(size=n)
    # Every shop twice: about 60% of the training rows hold a distinct shop, well below the
    # 90% that makes a column ID-like, so it is kept as a (high-cardinality) category.
    level = rng.permutation(np.repeat(np.arange(levels), 2))
    effect = rng.normal(size=levels)
    frame = pd.DataFrame({"x": x, "shop": [f"S{v}" for v in level], "y": x + effect[level] + rng.normal(0, 0.1, n)})
    result = quick_fit(frame, "y")
    assert result.schema["shop"].kind == "categorical"
    assert result.schema["shop"].reason.endswith("levels: high-cardinality")
    assert beats_baseline(result)
    # Levels never seen are handled at predict time.
    new = pd.DataFrame({"x": [0.0, 1.0], "shop": ["S-new", "S1"]})
    assert result.predict(new).shape == (2,)


def test_yes_no_text_column_is_boolean() -> None:
    frame = regression_frame()
    frame["member"] = np.where(frame["x1"] > 0, "yes", "no")
    frame.loc[[5, 6], "member"] = np.nan
    frame["y"] += 4 * (frame["member"] == "yes")
    result = quick_fit(frame, "y", models=["linear"])
    assert result.schema["member"].kind == "boolean"
    loaded = result.tabular
    new = pd.DataFrame({"x1": [0.5, 0.5, 0.5], "x2": [0.0, 0.0, 0.0], "member": ["Yes", " NO ", None]})
    issues: list[str] = []
    predicted = loaded.predict(new, issues=issues)
    assert predicted.shape == (3,) and predicted[0] > predicted[1]
    assert issues == []


def test_date_column_given_as_text() -> None:
    frame = regression_frame()
    frame["when"] = pd.date_range("2021-03-04", periods=len(frame), freq="D").strftime("%Y-%m-%d")
    result = quick_fit(frame, "y")
    assert result.schema["when"].kind == "datetime"
    loaded = result.tabular
    new = frame.drop(columns="y").head(3).copy()
    new.loc[new.index[1], "when"] = "not a date"
    issues: list[str] = []
    assert loaded.predict(new, issues=issues).shape == (3,)
    assert any("column 'when'" in i and "rows 2" in i for i in issues), issues


def test_free_text_column() -> None:
    rng = np.random.default_rng(5)
    frame = regression_frame()
    words = np.array(["good", "bad", "great", "poor", "nice", "awful", "fine", "meh", "love", "hate"])
    frame["review"] = [" ".join(rng.choice(words, 6)) + f" item{i}" for i in range(len(frame))]
    result = quick_fit(frame, "y")
    assert result.schema["review"].kind == "text"
    new = frame.drop(columns="y").head(4).copy()
    new.loc[new.index[0], "review"] = np.nan
    new.loc[new.index[1], "review"] = "completely unseen vocabulary here"
    assert result.predict(new).shape == (4,)


# --------------------------------------------------------------------------- predict-time checks


@pytest.fixture(scope="module")
def titanic_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("titanic") / "model"
    quick_fit(titanic(), "Survived").save(path)
    return path


@pytest.fixture
def new_rows() -> pd.DataFrame:
    """Twenty passengers (index 10..29, so index labels differ from row numbers), no target."""
    return titanic().drop(columns="Survived").iloc[10:30].copy()


def test_missing_required_column_is_named(titanic_model: Path, new_rows: pd.DataFrame) -> None:
    model = homl.load(titanic_model)
    with pytest.raises(SchemaError, match=r"missing required column\(s\): 'Sex'$"):
        model.predict(new_rows.drop(columns="Sex"))
    with pytest.raises(SchemaError, match=r"'Age' \(did you mean 'age'\?\)"):
        model.predict(new_rows.rename(columns={"Age": "age"}))
    with pytest.raises(SchemaError, match=r"missing required column\(s\): 'Sex', 'Fare'$"):  # in the table's order
        model.predict_frame(new_rows.drop(columns=["Sex", "Fare"]))


def test_identifier_column_is_not_required(titanic_model: Path, new_rows: pd.DataFrame) -> None:
    model = homl.load(titanic_model)
    np.testing.assert_array_equal(model.predict(new_rows.drop(columns="PassengerId")), model.predict(new_rows))


def test_extra_column_is_ignored_and_reported(titanic_model: Path, new_rows: pd.DataFrame) -> None:
    model = homl.load(titanic_model)
    expected = model.predict(new_rows)
    issues: list[str] = []
    got = model.predict(new_rows.assign(Lifeboat="7", Survived=0), issues=issues)
    np.testing.assert_array_equal(got, expected)
    assert any("ignored 1 column(s)" in i and "'Lifeboat'" in i for i in issues), issues


def test_unseen_category_is_handled_and_reported(titanic_model: Path, new_rows: pd.DataFrame) -> None:
    model = homl.load(titanic_model)
    changed = new_rows.copy()
    changed.loc[changed.index[2], "Embarked"] = "Z"
    issues: list[str] = []
    predicted = model.predict(changed, issues=issues)
    assert predicted.shape == (len(changed),)
    assert set(predicted) <= {0, 1}
    assert any("column 'Embarked'" in i and "'Z'" in i and "never seen" in i for i in issues)


def test_unreadable_number_keeps_its_row_and_is_reported(titanic_model: Path, new_rows: pd.DataFrame) -> None:
    model = homl.load(titanic_model)
    expected = model.predict_proba(new_rows)
    changed = new_rows.astype({"Age": object})
    changed.loc[changed.index[4], "Age"] = "unknown"
    issues: list[str] = []
    proba = model.predict_proba(changed, issues=issues)
    assert proba.shape == expected.shape
    others = np.arange(len(changed)) != 4
    np.testing.assert_allclose(proba[others], expected[others])  # same rows, same order
    issue = [i for i in issues if "column 'Age'" in i]
    assert issue and "rows 5" in issue[0] and "'unknown'" in issue[0], issues

    frame = model.predict_frame(changed)
    assert list(frame.index) == list(changed.index)
    assert list(frame.columns) == ["Survived", "proba_0", "proba_1"]


def test_clean_rows_report_no_issues(titanic_model: Path) -> None:
    model = homl.load(titanic_model)
    # Rows of the training split with the columns unchanged (Cabin/Ticket values all seen in training).
    rows = titanic().drop(columns="Survived")
    simple = rows[["PassengerId", "Pclass", "Name", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked"]]
    simple = simple.assign(Ticket=None, Cabin=None).head(50)
    issues: list[str] = []
    model.predict(simple, issues=issues)
    assert issues == []
    assert model.check(simple)[1] == []


def test_values_the_final_model_was_fitted_on_are_not_reported_as_unseen(titanic_model: Path) -> None:
    model = homl.load(titanic_model)
    issues: list[str] = []
    model.predict(titanic().drop(columns="Survived"), issues=issues)
    assert not [i for i in issues if "never seen" in i], issues


def test_predicting_from_many_threads_gives_each_its_own_rows_and_issues(titanic_model: Path) -> None:
    """One loaded model shared by 8 threads (a server): no thread sees another's problems."""
    model = homl.load(titanic_model)
    inputs = []
    for k in range(8):
        rows = titanic().drop(columns="Survived").iloc[40 * k : 40 * k + 40].copy()
        rows.loc[rows.index[k], "Embarked"] = f"port-{k}"  # an unseen category, different per thread
        inputs.append(rows)
    expected = [model.predict_frame(rows) for rows in inputs]
    barrier = threading.Barrier(8)

    def work(k: int) -> tuple[pd.DataFrame, list[str]]:
        issues: list[str] = []
        barrier.wait()
        frames = [model.predict_frame(inputs[k], issues=issues) for _ in range(5)]
        assert all(frame.equals(frames[0]) for frame in frames)
        return frames[0], issues

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(8)))
    for k, (frame, issues) in enumerate(results):
        pd.testing.assert_frame_equal(frame, expected[k])
        assert list(frame.index) == list(inputs[k].index)
        unseen = [i for i in issues if "never seen" in i and "column 'Embarked'" in i]
        assert len(unseen) == 5 and all(f"'port-{k}'" in i for i in unseen), issues
        assert not any(f"'port-{j}'" in i for i in issues for j in range(8) if j != k), issues
    assert not hasattr(model, "last_issues")


def test_loaded_model_and_fit_result_print_as_one_line(titanic_model: Path) -> None:
    model = homl.load(titanic_model)
    meta = json.loads((titanic_model / "metadata.json").read_text())
    assert repr(model) == (
        f"TabularModel(kind='supervised', task='binary', metric='{meta['metric']}', winner='{meta['winner']}', "
        f"test_score={meta['test_score']['value']:.5g})"
    )
    result = quick_fit(regression_frame(), "y", models=["linear"])
    assert repr(result) == (
        f"FitResult(kind='supervised', task='regression', metric='rmse', winner='linear', "
        f"test_score={result.test_score.value:.5g})"
    )


# --------------------------------------------------------------------------- the split


def test_split_is_saved_and_reproducible_from_the_seed(tmp_path):
    frame = regression_frame(n=400)
    frame.loc[[5, 17], "y"] = np.nan  # unlabeled rows are set aside, row numbers stay the input's
    first = quick_fit(frame, "y", output=tmp_path / "a", seed=7)
    second = quick_fit(frame, "y", output=tmp_path / "b", seed=7)
    other = quick_fit(frame, "y", seed=8)
    saved = pd.read_csv(tmp_path / "a" / "split.csv")["test_row"].to_numpy()
    np.testing.assert_array_equal(saved, first.test_rows)
    np.testing.assert_array_equal(first.test_rows, second.test_rows)
    assert not np.array_equal(first.test_rows, other.test_rows)
    assert len(saved) == 80 and not {6, 18} & set(saved)  # 20% of the 398 labelled rows
    assert saved.min() >= 1 and saved.max() <= 400


def test_a_small_table_is_cross_validated_on_folds_drawn_three_times_and_a_large_one_once():
    small = quick_fit(regression_frame(300), "y", time_limit=120)  # quick: two cheap families, no search
    assert small.metadata["cv"]["folds"] == 15 and "drawn 3 times" in small.metadata["cv"]["strategy"]
    for options in ({"time_limit": 60}, {"time_limit": 120, "models": ["linear"], "source": regression_frame(2500)}):
        once = quick_fit(options.pop("source", regression_frame(300)), "y", **options)
        assert once.metadata["cv"]["folds"] == 5 and "drawn" not in once.metadata["cv"]["strategy"], options


def test_fixed_preparation_reaches_every_model_and_is_recorded() -> None:
    from homl.tasks.tabular import _space

    result = quick_fit(regression_frame(), "y", prep={"cluster_features": 3})
    prepared = result.model.named_steps["prep"]
    assert prepared.cluster_features == 3
    assert sum(name.startswith("cluster__") for name in prepared.get_feature_names_out()) == 3
    assert result.metadata["prep"] == {"prep:cluster_features": 3}
    context = {"has_geo": True, "has_heavy": True, "has_categorical": True, "has_repeated_dates": False,
               "fixed_prep": {"prep:categorical": "onehot"}}
    space = _space("lightgbm", "regression", context)
    assert "prep:categorical" not in space and "prep:geo_clusters" in space  # the search leaves it as given


def test_days_that_repeat_are_categories_to_search_unless_rows_are_split_by_time() -> None:
    from homl.data import infer_schema
    from homl.tasks.tabular import _context, _space

    hours = pd.date_range("2024-01-01", periods=24 * 20, freq="h")
    frame = pd.DataFrame({"when": hours, "temp": np.arange(len(hours)) % 24})
    schema = infer_schema(frame)
    shuffled = _context(frame, schema)
    assert shuffled["has_repeated_dates"] and "prep:date_values" in _space("lightgbm", "regression", shuffled)
    by_time = _context(frame, schema, by_time=True)  # every later day is new to the model
    assert not by_time["has_repeated_dates"] and "prep:date_values" not in _space("lightgbm", "regression", by_time)


def test_fixed_native_categories_reach_only_the_families_that_split_on_categories() -> None:
    frame = regression_frame(400)
    frame["level"] = [f"common{i % 20}" for i in range(len(frame))]
    frame.loc[::9, "level"] = [f"rare{i}" for i in range(len(frame.loc[::9]))]  # unseen by some folds
    result = quick_fit(frame, "y", models=["linear", "lightgbm"], prep={"categorical": "native"}, ensemble=False)
    assert {"linear", "lightgbm"} <= set(result.leaderboard["model"]), result.notes
    assert not any("failed" in note for note in result.notes), result.notes


def test_unknown_or_bad_preparation_options_are_refused_before_any_work() -> None:
    with pytest.raises(ConfigError, match=r"unknown preparation option\(s\) clusters; expected some of"):
        quick_fit(regression_frame(), "y", prep={"clusters": 3})
    with pytest.raises(ConfigError, match=r"'cluster_features' parameter of TablePreprocessor must be an int"):
        quick_fit(regression_frame(), "y", prep={"cluster_features": -2})
