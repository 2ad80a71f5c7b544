"""scikit-learn's own estimator checks, run over every homl transformer and wrapper.

Each check that cannot apply to an estimator is listed with the reason; everything else
must pass as it does for scikit-learn's estimators.
"""

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import check_param_validation, parametrize_with_checks
from xgboost import XGBClassifier

from homl.data import SchemaCoercer
from homl.models import ClippedOutput, EarlyStopping, LabelEncoded, LayeredStack, RowCap, Segmenter
from homl.prep import (
    ClipToRange,
    DateParts,
    DateValues,
    GeoFeatures,
    LogTransform,
    RatioFeatures,
    TablePreprocessor,
    TextStatistics,
)

_TWO_COLUMNS = "takes exactly two columns, latitude and longitude; the check gives it another number of columns"
_DAYS_AS_TEXT = ("gives each date as text, a category for the encoder after it; "
                 "the check compares outputs as numbers")
_BY_NAME = ("picks the schema's columns by name: extra columns are ignored (and reported), a missing one is a "
            "SchemaError naming it, not the ValueError about the number of features the check expects")
EXPECTED_FAILURES = {
    "GeoFeatures": dict.fromkeys([
        "check_dict_unchanged", "check_dont_overwrite_parameters", "check_dtype_object", "check_estimators_dtypes",
        "check_estimators_nan_inf", "check_estimators_pickle", "check_f_contiguous_array_estimator",
        "check_fit2d_1sample", "check_fit2d_predict1d", "check_fit_score_takes_y",
        "check_methods_sample_order_invariance", "check_methods_subset_invariance",
        "check_n_features_in_after_fitting", "check_pipeline_consistency", "check_positive_only_tag_during_fit",
        "check_transformer_data_not_an_array", "check_transformer_general", "check_transformer_preserve_dtypes",
    ], _TWO_COLUMNS),
    "DateValues": dict.fromkeys([
        "check_estimators_pickle", "check_fit_idempotent", "check_methods_sample_order_invariance",
        "check_methods_subset_invariance", "check_pipeline_consistency", "check_transformer_data_not_an_array",
        "check_transformer_general",
    ], _DAYS_AS_TEXT),
    "SchemaCoercer": dict.fromkeys(["check_n_features_in_after_fitting", "check_transformer_general"], _BY_NAME),
}

_SMALL = {"min_rows": 20, "min_held_out": 5}
ESTIMATORS = [
    LogTransform(), RatioFeatures(), ClipToRange(), DateParts(), DateValues(), TextStatistics(), GeoFeatures(n_clusters=3),
    TablePreprocessor(), SchemaCoercer(),
    RowCap(Ridge(), max_rows=100), RowCap(LogisticRegression(), max_rows=100), LabelEncoded(LogisticRegression()),
    ClippedOutput(Ridge()),
    EarlyStopping(LGBMRegressor(n_estimators=20, verbose=-1), **_SMALL),
    LabelEncoded(EarlyStopping(XGBClassifier(n_estimators=20, n_jobs=1), **_SMALL)),
    LayeredStack([("tree", DecisionTreeRegressor(max_depth=3, random_state=0)), ("ridge", Ridge())], Ridge(),
                 n_folds=3),
    LayeredStack([("tree", DecisionTreeClassifier(max_depth=3, random_state=0)), ("logistic", LogisticRegression())],
                 LogisticRegression(), n_folds=3),
    Segmenter(max_clusters=3), Segmenter(method="gaussian_mixture", max_clusters=3), Segmenter(method="hdbscan"),
]


def _expected_failures(estimator):
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_sklearn_check(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_bad_parameters_are_refused_when_fitting(estimator):
    check_param_validation(type(estimator).__name__, estimator)


def test_parameter_errors_name_the_parameter_the_value_and_what_was_expected():
    table = pd.DataFrame({"x": [1.0, 2.0, 3.0], "colour": ["red", "blue", "red"]})
    with pytest.raises(InvalidParameterError, match=r"'categorical' parameter of TablePreprocessor must be a str "
                                                    r"among \{.*'onehot'.*\}\. Got 'bogus' instead"):
        TablePreprocessor(categorical="bogus").fit(table)
    with pytest.raises(InvalidParameterError, match=r"'max_rows' parameter of RowCap must be an int in the range "
                                                    r"\[1, inf\)\. Got 0 instead"):
        RowCap(Ridge(), max_rows=0).fit(table[["x"]], [1.0, 2.0, 3.0])


@pytest.mark.parametrize("transformer", [LogTransform(), RatioFeatures(), ClipToRange(), DateParts(), DateValues(),
                                         TextStatistics()],
                         ids=lambda t: type(t).__name__)
def test_transformers_refuse_another_width_and_follow_input_features(transformer):
    train = pd.DataFrame({"a": ["2024-01-01", "2024-02-01"], "b": ["2024-03-01", "2024-04-01"]})
    if isinstance(transformer, (LogTransform, RatioFeatures, ClipToRange)):
        train = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    transformer.fit(train.to_numpy())
    with pytest.raises(ValueError, match="X has 3 features, but .* is expecting 2 features"):
        transformer.transform(np.column_stack([train.to_numpy(), train["a"].to_numpy()]))
    default, named = transformer.get_feature_names_out(), transformer.get_feature_names_out(["rooms", "homes"])
    assert len(default) == len(named) and any("rooms" in n for n in named) and not any("rooms" in n for n in default)

    transformer.fit(train)
    assert list(transformer.feature_names_in_) == ["a", "b"]
    with pytest.raises(ValueError, match="input_features is not equal to feature_names_in_"):
        transformer.get_feature_names_out(["rooms", "homes"])


def test_geo_features_take_two_columns_and_refuse_three():
    coords = np.column_stack([np.linspace(33, 41, 30), np.linspace(-123, -115, 30)])
    assert list(GeoFeatures(n_clusters=3).fit(pd.DataFrame(coords, columns=["lat", "lon"])).feature_names_in_) == [
        "lat", "lon"]
    geo = GeoFeatures(n_clusters=3).fit(coords)
    with pytest.raises(ValueError, match="X has 3 features, but GeoFeatures is expecting 2 features"):
        geo.transform(np.column_stack([coords, coords[:, 0]]))
    with pytest.raises(ValueError, match="GeoFeatures takes 2 columns, latitude and longitude; X has 3 feature"):
        GeoFeatures().fit(np.column_stack([coords, coords[:, 0]]))


@pytest.mark.parametrize("wrapper", [RowCap(LogisticRegression(), max_rows=40), LabelEncoded(LogisticRegression())],
                         ids=lambda w: type(w).__name__)
def test_wrappers_record_the_columns_they_were_fitted_on(wrapper):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"size": rng.normal(size=42), "age": rng.normal(size=42)})
    y = np.repeat(["a", "b", "c"], 14)  # two rows over the cap: too few to stratify three classes on
    wrapper.fit(X, y)
    assert list(wrapper.feature_names_in_) == ["size", "age"] and wrapper.n_features_in_ == 2
    assert set(wrapper.predict(X)) <= {"a", "b", "c"}
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        wrapper.predict(X[["age", "size"]])
