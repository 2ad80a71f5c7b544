"""Fold bagging: k copies of a model, each without one fold, averaged."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from homl.data import infer_schema
from homl.models import EarlyStopping, FoldBagged, bagged, build_pipeline, get_spec, takes_groups
from homl.registry import FORMATS


def test_a_bag_of_deep_trees_predicts_the_mean_of_its_copies_and_beats_one_tree():
    X, y = make_regression(n_samples=1200, n_features=8, noise=20.0, random_state=0)
    train, test = slice(0, 900), slice(900, None)
    bag = FoldBagged(DecisionTreeRegressor(random_state=0), n_folds=5).fit(X[train], y[train])
    assert len(bag.estimators_) == 5
    np.testing.assert_allclose(bag.predict(X[test]), np.mean([m.predict(X[test]) for m in bag.estimators_], axis=0))
    single = DecisionTreeRegressor(random_state=0).fit(X[train], y[train])
    error = {name: np.sqrt(np.mean((m.predict(X[test]) - y[test]) ** 2)) for name, m in (("bag", bag), ("one", single))}
    assert error["bag"] < 0.9 * error["one"]  # averaging lowers a deep tree's variance


def test_a_bagged_classifier_averages_probabilities_and_keeps_string_labels():
    X, y = make_classification(n_samples=600, n_classes=3, n_informative=5, random_state=1)
    labels = np.array(["a", "b", "c"])[y]
    bag = FoldBagged(DecisionTreeClassifier(max_depth=4, random_state=0), n_folds=4).fit(X, labels)
    proba = bag.predict_proba(X)
    np.testing.assert_allclose(proba, np.mean([m.predict_proba(X) for m in bag.estimators_], axis=0))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(bag.classes_) == ["a", "b", "c"]
    np.testing.assert_array_equal(bag.predict(X), bag.classes_[proba.argmax(axis=1)])


def test_bagging_a_pipeline_fits_the_preparation_once_and_saves_with_the_trusted_types(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=500), "c": rng.choice(["u", "v"], size=500)})
    frame["y"] = 3 * frame["x"] + (frame["c"] == "u") + rng.normal(scale=0.1, size=500)
    pipeline = bagged(build_pipeline(get_spec("lightgbm"), "regression", infer_schema(frame, "y"), seed=0), 3)
    assert isinstance(pipeline.steps[-1][1], FoldBagged) and not isinstance(pipeline.steps[-2][1], FoldBagged)
    pipeline.fit(frame, frame["y"].to_numpy())
    skops = FORMATS[".skops"]
    skops.dump(pipeline, tmp_path / "model.skops")
    np.testing.assert_allclose(skops.load(tmp_path / "model.skops").predict(frame), pipeline.predict(frame))


def test_group_bags_leave_whole_groups_out_and_pass_groups_to_the_booster(monkeypatch):
    rng = np.random.default_rng(2)
    groups = np.repeat(np.arange(40), 25)
    frame = pd.DataFrame({"x": rng.normal(size=len(groups))})
    frame["y"] = frame["x"] + rng.normal(size=len(groups))
    pipeline = bagged(build_pipeline(get_spec("lightgbm"), "regression", infer_schema(frame, "y"), seed=0,
                                     holdout="group"), 4, holdout="group")
    assert takes_groups(pipeline)
    seen = []  # each booster's groups and the rows it held out to stop early
    fit_booster = EarlyStopping._fit

    def recording(self, X, y, groups=None, **params):
        fit_booster(self, X, y, groups=groups, **params)
        seen.append((np.asarray(groups), self.held_out_))

    monkeypatch.setattr(EarlyStopping, "_fit", recording)
    pipeline.fit(frame, frame["y"].to_numpy(), model__groups=groups)
    assert len(seen) == 4
    for copy_groups, held in seen:
        assert len(set(groups) - set(copy_groups)) == 10  # one fold of the 40 groups left out, whole
        held_groups = set(copy_groups[held])
        assert held_groups and not held_groups & set(np.delete(copy_groups, held))


@pytest.mark.parametrize("n_folds", [1, 0])
def test_fewer_than_two_folds_are_refused_by_name(n_folds):
    with pytest.raises(ValueError, match="n_folds"):
        FoldBagged(DecisionTreeRegressor(), n_folds=n_folds).fit(np.zeros((10, 1)), np.arange(10.0))


def _fold_models(estimator, X, y, n_folds=4):
    from sklearn.base import clone
    from sklearn.model_selection import KFold

    return [clone(estimator).fit(X[train], y[train]) for train, _ in KFold(n_folds).split(X)]


def test_a_fold_ensemble_weighs_each_member_over_its_folds_without_refitting(tmp_path):
    from sklearn.linear_model import Ridge

    from homl.models import fold_ensemble

    X, y = make_regression(n_samples=300, n_features=5, noise=5.0, random_state=0)
    trees, ridges = _fold_models(DecisionTreeRegressor(random_state=0), X, y), _fold_models(Ridge(), X, y)
    ensemble = fold_ensemble([(trees, 0.25), (ridges, 0.75)]).fit(X, y)
    expected = 0.25 * np.mean([m.predict(X) for m in trees], axis=0) + 0.75 * np.mean([m.predict(X) for m in ridges], axis=0)
    np.testing.assert_allclose(ensemble.predict(X), expected)
    assert ensemble.estimators_[0].estimator is trees[0]  # the fold model itself, not a refit
    skops = FORMATS[".skops"]
    skops.dump(ensemble, tmp_path / "model.skops")
    np.testing.assert_allclose(skops.load(tmp_path / "model.skops").predict(X), expected)


def test_a_fold_ensemble_of_classifiers_averages_probabilities_and_refuses_a_fold_that_missed_a_class():
    from homl.models import fold_ensemble

    X, y = make_classification(n_samples=400, n_classes=3, n_informative=5, random_state=0)
    labels = np.array(["a", "b", "c"])[y]
    models = _fold_models(DecisionTreeClassifier(max_depth=3, random_state=0), X, labels)
    ensemble = fold_ensemble([(models, 1.0)], np.array(["a", "b", "c"])).fit(X, labels)
    np.testing.assert_allclose(ensemble.predict_proba(X), np.mean([m.predict_proba(X) for m in models], axis=0))
    assert list(ensemble.classes_) == ["a", "b", "c"]
    blind = DecisionTreeClassifier().fit(X[labels != "c"], labels[labels != "c"])
    with pytest.raises(ValueError, match="classes"):
        fold_ensemble([([*models, blind], 1.0)], np.array(["a", "b", "c"]))
