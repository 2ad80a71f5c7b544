"""Semi-supervised labelling with clustering: representative rows, label propagation, the classifier."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from homl.models import ClusterLabelClassifier, propagate_labels, representative_rows

_MARKER = ("the check's binary labels are -1 and 1, and -1 marks an unlabelled row (scikit-learn's semi-supervised "
           "convention: the check gives LabelSpreading and SelfTrainingClassifier other labels)")


@parametrize_with_checks([ClusterLabelClassifier(), ClusterLabelClassifier(method="spreading")],
                         expected_failed_checks=lambda estimator: {"check_classifiers_classes": _MARKER})
def test_sklearn_check(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:1400], y[:1400], X[1400:], y[1400:]


@pytest.fixture(scope="module")
def representatives(digits):
    return representative_rows(digits[0], 50)


def _random_rows(n=50, seed=0):
    return np.random.default_rng(seed).choice(1400, n, replace=False)


def test_representative_rows_are_distinct_and_each_closest_to_its_centre(digits, representatives):
    from sklearn.cluster import KMeans

    X = digits[0]
    assert len(representatives) == 50 and len(set(representatives.tolist())) == 50
    distances = KMeans(50, n_init=10, random_state=0).fit_transform(X)
    np.testing.assert_array_equal(representatives, distances.argmin(axis=0))


def test_cluster_propagation_from_representatives_beats_propagation_from_random_rows(digits, representatives):
    X, y = digits[:2]
    labels = propagate_labels(X, representatives, y[representatives])
    random = _random_rows()
    from_random = propagate_labels(X, random, y[random])
    assert labels.dtype == y.dtype and (labels != -1).all()
    np.testing.assert_array_equal(labels[representatives], y[representatives])
    accuracy, random_accuracy = (labels == y).mean(), (from_random == y).mean()
    assert accuracy > 0.93
    assert accuracy > random_accuracy + 0.04


@pytest.mark.parametrize("method", ["cluster", "spreading", "propagation"])
def test_a_share_of_rows_keeps_its_label_the_rest_are_unlabelled(digits, representatives, method):
    X, y = digits[:2]
    labels = propagate_labels(X, representatives, y[representatives], method=method, share=0.2)
    kept = labels != -1
    assert 0.17 < kept.mean() < 0.26
    assert kept[representatives].all()
    assert (labels[kept] == y[kept]).mean() > 0.95  # the closest rows are the surest
    everything = propagate_labels(X, representatives, y[representatives], method=method)
    assert (everything != -1).all() and (everything == y).mean() > 0.9


def test_text_labels_leave_none_on_unlabelled_rows(digits, representatives):
    X, y = digits[:2]
    names = np.asarray([f"digit {d}" for d in y[representatives]])
    labels = propagate_labels(X, representatives, names, share=0.5)
    assert labels.dtype == object
    assert {v for v in labels if v is not None} == set(names)
    assert 0.4 < np.mean([v is None for v in labels]) < 0.6


def test_clusters_without_a_labelled_row_take_the_nearest_labelled_rows_label():
    X = np.r_[np.zeros((5, 2)), np.full((5, 2), 10.0), np.full((5, 2), 11.0)] + np.arange(15)[:, None] * 1e-3
    labels = propagate_labels(X, [0, 1, 14], [7, 8, 9])  # two labelled rows share a cluster
    assert set(labels[:5]) <= {7, 8} and (labels[10:] == 9).all()
    assert (labels[5:10] == 9).all()  # nearer 9 than 7 and 8


def test_classifier_on_fifty_representative_labels_beats_fifty_random_labels(digits):
    X, y, X_test, y_test = digits
    model = ClusterLabelClassifier(LogisticRegression(max_iter=10_000), n_labels=50).fit(X, y)
    random = _random_rows()
    baseline = LogisticRegression(max_iter=10_000).fit(X[random], y[random]).score(X_test, y_test)
    assert len(model.labelled_rows_) == 50
    np.testing.assert_array_equal(model.classes_, np.arange(10))
    assert model.score(X_test, y_test) > baseline + 0.03
    assert model.predict_proba(X_test).shape == (len(X_test), 10)
    assert 0.95 < (model.propagated_ != -1).mean() < 0.99  # the farthest rows of each cluster stay unlabelled


def test_classifier_reads_unlabelled_rows_marked_minus_one(digits):
    X, y, X_test, y_test = digits
    random = _random_rows()
    partial = np.full(len(y), -1)
    partial[random] = y[random]
    model = ClusterLabelClassifier(LogisticRegression(max_iter=10_000), share=1.0).fit(X, partial)
    np.testing.assert_array_equal(np.sort(model.labelled_rows_), np.sort(random))
    baseline = LogisticRegression(max_iter=10_000).fit(X[random], y[random]).score(X_test, y_test)
    assert model.score(X_test, y_test) > baseline


def test_errors_name_the_bad_value(digits):
    X, y = digits[:2]
    for n in (0, 1401, 2.5):
        with pytest.raises(ValueError, match=rf"n={n!r} representative rows asked of 1400 row\(s\)"):
            representative_rows(X, n)
    for share in (0, 1.5):
        with pytest.raises(ValueError, match=rf"share={share!r} .* expected a number in \(0, 1\]"):
            propagate_labels(X, [0, 1], y[:2], share=share)
    with pytest.raises(ValueError, match=r"method='kmeans' .* expected one of \['cluster', 'propagation'"):
        propagate_labels(X, [0, 1], y[:2], method="kmeans")
    with pytest.raises(ValueError, match=r"outside the 1400 row\(s\) of X \(first: 1400\)"):
        propagate_labels(X, [0, 1400], y[:2])
    with pytest.raises(ValueError, match="same row more than once"):
        propagate_labels(X, [3, 3], y[:2])
    with pytest.raises(ValueError, match=r"3 label\(s\) given for 2 row\(s\)"):
        propagate_labels(X, [0, 1], y[:3])
    with pytest.raises(ValueError, match="marker of an unlabelled row"):
        propagate_labels(X, [0, 1], [-1, 3])
    with pytest.raises(ValueError, match="y marks all 1400 rows unlabelled"):
        ClusterLabelClassifier().fit(X, np.full(1400, -1))
    with pytest.raises(InvalidParameterError, match="'share' parameter of ClusterLabelClassifier"):
        ClusterLabelClassifier(share=0).fit(X, y)
