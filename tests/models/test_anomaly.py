"""AnomalyDetector: scikit-learn's outlier-detector contract, planted outliers found, thresholds, errors."""

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.metrics import roc_auc_score
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from homl.errors import ConfigError
from homl.models import AUTO_MEMBERS, DETECTORS, AnomalyDetector, _detectors, available_detectors
from homl.registry import is_trusted_type

_BATCH = ("PyOD's ECOD refits its distributions on the training rows plus the rows scored, "
          "so a row's score depends on the batch it is scored in")
EXPECTED_FAILURES = {"ecod": {"check_methods_subset_invariance": _BATCH}}
CHECKED = ["auto", "knn", "pca", "ecdf", "gaussian_mixture", "elliptic_envelope"]
CHECKED += [m for m in ("hbos", "ecod") if m in available_detectors()]


def _expected_failures(estimator):
    return EXPECTED_FAILURES.get(estimator.method, {})


@parametrize_with_checks([AnomalyDetector(method=m) for m in CHECKED], expected_failed_checks=_expected_failures)
def test_sklearn_check(estimator, check):
    check(estimator)


def planted(n_inliers=570, n_outliers=30, n_features=4, seed=0):
    """A Gaussian blob and a few far points, with the label (1 = planted outlier)."""
    rng = np.random.default_rng(seed)
    inliers = rng.normal(size=(n_inliers, n_features))
    directions = rng.normal(size=(n_outliers, n_features))
    outliers = 6 * directions / np.linalg.norm(directions, axis=1, keepdims=True)
    X = np.vstack([inliers, outliers])
    return X, np.r_[np.zeros(n_inliers), np.ones(n_outliers)]


@pytest.fixture(scope="module")
def fitted():
    X, y = planted()
    return X, y, {m: AnomalyDetector(method=m).fit(X) for m in ["auto", *available_detectors()]}


@pytest.mark.parametrize("method", ["auto", *available_detectors()])
def test_every_detector_ranks_planted_outliers_above_inliers(fitted, method):
    X, y, detectors = fitted
    assert roc_auc_score(y, detectors[method].anomaly_score(X)) > 0.9


@pytest.mark.parametrize("method", ["auto", *available_detectors()])
def test_scores_agree_in_sign_and_scale_across_methods(fitted, method):
    X, y, detectors = fitted
    detector = detectors[method]
    score = detector.anomaly_score(X)
    assert score[y == 1].mean() > score[y == 0].mean() + 1  # higher = more anomalous, in training spreads
    assert abs(score.mean()) < 1e-9 and score.std() == pytest.approx(1.0)
    np.testing.assert_allclose(detector.score_samples(X), -score)
    np.testing.assert_allclose(detector.decision_function(X), detector.threshold_ - score)
    np.testing.assert_array_equal(detector.predict(X), np.where(score > detector.threshold_, -1, 1))


@pytest.mark.parametrize("method", ["auto", "isolation_forest", "knn"])
def test_a_contamination_flags_that_share_of_training_rows(method):
    X, _ = planted()
    labels = AnomalyDetector(method=method, contamination=0.1).fit_predict(X)
    assert (labels == -1).mean() == pytest.approx(0.1, abs=0.005)


def test_auto_contamination_flags_about_the_planted_share():
    X, y = planted(n_inliers=950, n_outliers=50, n_features=5)
    labels = AnomalyDetector().fit_predict(X)
    assert 0.03 <= (labels == -1).mean() <= 0.10
    assert (labels[y == 1] == -1).mean() > 0.9


def test_auto_contamination_flags_few_rows_without_outliers():
    X = np.random.default_rng(1).normal(size=(1000, 3))
    assert (AnomalyDetector().fit_predict(X) == -1).mean() < 0.05


def test_new_rows_are_scored_against_the_training_rows():
    X, _ = planted()
    detector = AnomalyDetector().fit(X)
    new = np.array([[0.0, 0.0, 0.0, 0.0], [10.0, -10.0, 10.0, -10.0]])
    assert detector.predict(new).tolist() == [1, -1]
    np.testing.assert_allclose(detector.anomaly_score(new), detector.anomaly_score(np.vstack([X, new]))[-2:])


def test_tables_keep_their_column_names():
    X, _ = planted()
    table = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    detector = AnomalyDetector().fit(table)
    assert list(detector.feature_names_in_) == ["a", "b", "c", "d"]
    np.testing.assert_allclose(detector.anomaly_score(table), AnomalyDetector().fit(X).anomaly_score(X))
    with pytest.raises(ValueError, match="feature names"):
        detector.anomaly_score(table.rename(columns={"d": "e"}))


@pytest.mark.parametrize("X, message", [
    (np.ones((1, 3)), "at least 2 rows.*n_samples=1"),
    (np.array([[1.0, np.nan], [2.0, 3.0], [4.0, 5.0]]), "NaN"),
    (np.array([[1.0, np.inf], [2.0, 3.0], [4.0, 5.0]]), "infinity"),
])
def test_bad_input_is_refused_naming_the_problem(X, message):
    with pytest.raises(ValueError, match=message):
        AnomalyDetector().fit(X)


@pytest.mark.parametrize("params, message", [
    ({"contamination": 0.7}, r"'contamination' parameter .* range \(0(\.0)?, 0\.5\]\. Got 0\.7"),
    ({"contamination": 0.0}, r"'contamination' parameter .* Got 0\.0"),
    ({"method": "bogus"}, r"'method' parameter .*'isolation_forest'.* Got 'bogus'"),
])
def test_bad_options_are_refused_naming_the_option(params, message):
    with pytest.raises(InvalidParameterError, match=message):
        AnomalyDetector(**params).fit(np.ones((5, 2)))


def test_without_pyod_its_detectors_say_how_to_install_it_and_auto_runs_the_forest_alone(monkeypatch):
    monkeypatch.setattr(_detectors, "_installed", lambda package: False)
    names = available_detectors()
    assert {"ecod", "copod", "hbos"}.isdisjoint(names)
    X, y = planted()
    with pytest.raises(ConfigError, match="pip install pyod"):
        AnomalyDetector(method="hbos").fit(X)
    detector = AnomalyDetector().fit(X)
    assert detector.method_ == ("isolation_forest",)
    assert roc_auc_score(y, detector.anomaly_score(X)) > 0.9


def test_auto_averages_the_forest_and_hbos_where_pyod_is_installed():
    pytest.importorskip("pyod", reason="PyOD is optional: pip install pyod (homl[anomaly])")
    X, y = planted()
    detector = AnomalyDetector().fit(X)
    assert detector.method_ == AUTO_MEMBERS == ("isolation_forest", "hbos")
    alone = {name: AnomalyDetector(method=name).fit(X).anomaly_score(X) for name in AUTO_MEMBERS}
    assert np.corrcoef(detector.anomaly_score(X), alone["isolation_forest"] + alone["hbos"])[0, 1] > 0.99


def test_pyod_detectors_are_registered_with_their_package():
    assert {name for name, spec in DETECTORS.items() if spec.package == "pyod"} >= {"ecod", "copod", "hbos"}


@pytest.mark.parametrize("method", ["auto", *[m for m in available_detectors() if DETECTORS[m].package is None]])
def test_saved_detector_loads_with_homl_trusted_types_and_scores_the_same(fitted, method):
    X, _, detectors = fitted
    data = skops.io.dumps(detectors[method])
    types = skops.io.get_untrusted_types(data=data)
    assert all(is_trusted_type(t) for t in types), types
    loaded = skops.io.loads(data, trusted=types)
    np.testing.assert_array_equal(loaded.anomaly_score(X), detectors[method].anomaly_score(X))
    np.testing.assert_array_equal(loaded.predict(X), detectors[method].predict(X))
