"""The two-layer stack: first layer fitted on folds, second layer on the columns and their predictions."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import cross_val_predict
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from homl.models import LayeredStack, OutOfFold, stack_columns, stack_features, takes_groups


def _table(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    return X, np.sin(2 * X["a"].to_numpy()) + 0.5 * X["b"].to_numpy() + rng.normal(scale=0.1, size=n)


def test_the_second_layer_reads_out_of_fold_predictions_and_each_member_is_then_fitted_on_every_row():
    X, y = _table()
    stack = LayeredStack([("tree", DecisionTreeRegressor(max_depth=4, random_state=0)), ("line", LinearRegression())],
                         LinearRegression(), n_folds=4).fit(X, y)
    assert list(stack.final_estimator_.feature_names_in_) == ["a", "b", "layer1:tree", "layer1:line"]
    # The second layer learned from predictions of models that never saw the row: cross_val_predict's on the same folds.
    splits = stack._splits(y, None, classifier=False)
    tree_oof = cross_val_predict(DecisionTreeRegressor(max_depth=4, random_state=0), X, y, cv=splits)
    line_oof = cross_val_predict(LinearRegression(), X, y, cv=splits)
    by_hand = LinearRegression().fit(X.assign(**{"layer1:tree": tree_oof, "layer1:line": line_oof}), y)
    np.testing.assert_allclose(stack.final_estimator_.coef_, by_hand.coef_)
    # To predict, each member is one model fitted on every row.
    line = LinearRegression().fit(X, y)
    np.testing.assert_allclose(stack.members_[1].coef_, line.coef_)
    tree = DecisionTreeRegressor(max_depth=4, random_state=0).fit(X, y)
    expected = stack.final_estimator_.predict(X.assign(**{"layer1:tree": tree.predict(X), "layer1:line": line.predict(X)}))
    np.testing.assert_allclose(stack.predict(X), expected)


def test_the_stack_beats_its_members_where_the_second_layer_can_correct_them():
    X, y = _table(600)
    X_test, y_test = _table(400, seed=1)
    members = [("tree", DecisionTreeRegressor(max_depth=3, random_state=0)), ("line", LinearRegression())]
    stack = LayeredStack(members, Ridge(alpha=1e-3)).fit(X, y)

    def rmse(model):
        return float(np.sqrt(np.mean((model.predict(X_test) - y_test) ** 2)))

    assert rmse(stack) < min(rmse(model.fit(X, y)) for _, model in members)


@pytest.mark.parametrize("labels", [["no", "yes"], ["a", "b", "c"]], ids=["binary", "multiclass"])
def test_classifiers_stack_the_log_odds_of_their_members_probabilities(labels):
    X, y = _table()
    target = np.array(labels)[np.digitize(y, np.quantile(y, np.linspace(0, 1, len(labels) + 1)[1:-1]))]
    stack = LayeredStack([("tree", DecisionTreeClassifier(max_depth=3, random_state=0)),
                          ("logistic", LogisticRegression())], LogisticRegression(max_iter=500)).fit(X, target)
    assert list(stack.classes_) == labels
    proba = stack.predict_proba(X)
    assert proba.shape == (len(X), len(labels)) and np.allclose(proba.sum(axis=1), 1)
    assert set(stack.predict(X)) <= set(labels)
    columns = stack_columns(["tree", "logistic"], np.array(labels))
    assert list(stack.final_estimator_.feature_names_in_)[2:] == columns
    assert len(columns) == 2 * (1 if len(labels) == 2 else len(labels))


def test_probabilities_become_finite_log_odds():
    features = stack_features([np.array([[1.0, 0.0], [0.5, 0.5]])], np.array([0, 1]))
    assert features.shape == (2, 1) and np.isfinite(features).all() and features[1, 0] == 0


def test_out_of_fold_predictions_given_replace_the_folds():
    X, y = _table()
    given = np.zeros(len(y))  # whatever is given is what the second layer reads
    stack = LayeredStack([("line", OutOfFold(LinearRegression(), given)), ("tree", DecisionTreeRegressor(max_depth=3))],
                         LinearRegression()).fit(X, y)
    assert stack.final_estimator_.coef_[2] == 0  # a constant column carries nothing
    np.testing.assert_allclose(stack.members_[0].coef_, LinearRegression().fit(X, y).coef_)
    np.testing.assert_allclose(stack.first_layer_output(X.iloc[:5])[0], stack.members_[0].predict(X.iloc[:5]))
    with pytest.raises(ValueError, match="the out-of-fold predictions given for 'line' cover 300 rows, not the 200"):
        LayeredStack([("line", OutOfFold(LinearRegression(), given)), ("tree", DecisionTreeRegressor())],
                     Ridge()).fit(X.iloc[:200], y[:200])


def test_group_folds_keep_each_group_within_one_fold():
    X, y = _table()
    groups = np.repeat(np.arange(30), 10)
    stack = LayeredStack([("line", LinearRegression()), ("tree", DecisionTreeRegressor(max_depth=3))], Ridge(),
                         holdout="group")
    assert takes_groups(stack)
    for train, valid in stack._splits(y, groups, classifier=False):
        assert not set(groups[train]) & set(groups[valid])
    stack.fit(X, y, groups=groups)
    assert stack.predict(X).shape == (len(X),)
