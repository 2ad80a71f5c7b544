"""The book's chapter-2 transformers, as homl builds them."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline

from homl.prep import (
    ClipToRange,
    DateParts,
    DateValues,
    GeoFeatures,
    LogTransform,
    RatioFeatures,
    TablePreprocessor,
    TextStatistics,
    days_repeat,
    find_lat_lon,
)


def _places(n=600, seed=0):
    rng = np.random.default_rng(seed)
    coords = np.column_stack([rng.uniform(33, 41, n), rng.uniform(-123, -115, n)])
    value = np.sin(coords[:, 0]) * 3 + np.cos(coords[:, 1]) * 2 + rng.normal(0, 0.2, n)
    return coords, value


def test_geo_features_have_names_and_cluster_similarities_in_0_1():
    coords, value = _places()
    geo = GeoFeatures(n_clusters=8, gamma=0.5, n_neighbors=10)
    out = geo.fit_transform(coords, value)
    names = geo.get_feature_names_out()
    assert out.shape == (600, 8 + 4 + 4) and len(names) == out.shape[1]
    assert np.all((out[:, :8] >= 0) & (out[:, :8] <= 1))
    assert list(names[-4:]) == [f"geo_neighbor_target_0_k{k}" for k in (2, 10, 40, 160)]


def test_each_neighbor_scale_is_the_mean_of_that_many_nearest_targets():
    coords, value = _places()
    geo = GeoFeatures(n_clusters=0, rotations=False, n_neighbors=8, neighbor_scales=(0.5, 1, 2)).fit(coords, value)
    query = coords[:50] + 0.01
    for column, k in enumerate((4, 8, 16)):
        single = GeoFeatures(n_clusters=0, rotations=False, n_neighbors=k, neighbor_scales=(1,)).fit(coords, value)
        np.testing.assert_allclose(geo.transform(query)[:, column], single.transform(query)[:, 0])
        expected = KNeighborsRegressor(n_neighbors=k).fit(coords, value).predict(query)
        np.testing.assert_allclose(single.transform(query)[:, 0], expected)


def test_a_geo_step_saved_before_scales_keeps_its_one_neighbor_count():
    coords, value = _places()
    geo = GeoFeatures(n_clusters=0, rotations=False, n_neighbors=10).fit(coords, value)
    del geo.neighbor_counts_  # what a model saved before scales holds
    expected = KNeighborsRegressor(n_neighbors=10).fit(coords, value).predict(coords[:20])
    np.testing.assert_allclose(geo.transform(coords[:20])[:, 0], expected)
    assert list(geo.get_feature_names_out()) == ["geo_neighbor_target_0"]


def test_neighbor_target_is_out_of_fold_while_fitting():
    """A row's own target never reaches its feature: on pure noise it predicts nothing."""
    coords, _ = _places()
    noise = np.random.default_rng(1).normal(size=len(coords))
    geo = GeoFeatures(n_clusters=0, rotations=False, n_neighbors=1)
    train_feature = geo.fit_transform(coords, noise)[:, 0]
    assert abs(np.corrcoef(train_feature, noise)[0, 1]) < 0.15
    # At predict time the full neighbour set is used: a training point finds itself.
    np.testing.assert_allclose(geo.transform(coords)[:, 0], noise)


def test_neighbor_target_helps_on_spatial_signal():
    coords, value = _places()
    plain = cross_val_score(make_pipeline(GeoFeatures(n_clusters=0), Ridge()), coords, value, cv=5).mean()
    knn = cross_val_score(make_pipeline(GeoFeatures(n_clusters=0, n_neighbors=10), Ridge()), coords, value, cv=5).mean()
    assert knn > plain + 0.2


def test_classification_targets_become_class_indicators():
    coords, value = _places()
    labels = np.where(value > 0, "hot", "cold")
    geo = GeoFeatures(n_clusters=0, rotations=False, n_neighbors=5, target_type="binary").fit(coords, labels)
    assert geo.transform(coords).shape == (600, 1 * 4)  # one class indicator at each of 4 scales (1, 5, 20, 80)
    three = np.digitize(value, [-1, 1]).astype(float)  # whole numbers, yet classes
    geo = GeoFeatures(n_clusters=0, rotations=False, n_neighbors=5, target_type="multiclass").fit(coords, three)
    assert geo.transform(coords).shape == (600, 3 * 4)
    assert GeoFeatures(n_clusters=0, rotations=False, n_neighbors=5).fit(coords, three).transform(coords).shape == (
        600, 3 * 4
    )  # "auto" reads a few whole numbers as classes


def test_auto_target_with_many_whole_numbers_is_continuous():
    coords, value = _places()
    prices = np.round(value * 1000 + 5000)  # whole numbers, hundreds of them: prices, not classes
    geo = GeoFeatures(n_clusters=0, rotations=False, n_neighbors=5).fit(coords, prices)
    assert len(np.unique(prices)) > GeoFeatures.MAX_AUTO_CLASSES
    assert geo.transform(coords).shape == (600, 4)  # one mean price at each of the 4 scales


def test_log_ratio_and_date_parts():
    frame = pd.DataFrame({"rooms": [10.0, 20.0, 0.0], "households": [2.0, 0.0, 1.0]})
    np.testing.assert_allclose(LogTransform().fit_transform(frame)[:, 0], np.log1p([10, 20, 0]))
    ratios = RatioFeatures().fit(frame)
    out = ratios.transform(frame)
    assert list(ratios.get_feature_names_out()) == ["rooms_per_households"]
    assert out[0, 0] == 5.0 and np.isnan(out[1, 0])  # division by zero becomes missing
    dates = pd.DataFrame({"when": ["2021-03-04 10:30", "2022-12-31 00:00", None]})
    parts = DateParts().fit(dates)
    values = parts.transform(dates)
    assert "when_hour" in parts.get_feature_names_out()
    assert values[0, 0] == 2021 and values[0, 1] == 3 and np.isnan(values[2, 0])


def test_text_statistics_count_characters_words_capitals_digits_and_symbols():
    texts = pd.DataFrame({"name": ["Lam, Mr. Ali", None, "AB 12"], "code": ["x", "PC 17483", ""]})
    stats = TextStatistics().fit(texts)
    out = stats.transform(texts)
    assert list(stats.get_feature_names_out()[:5]) == ["name_chars", "name_words", "name_capitals", "name_digits",
                                                        "name_symbols"]
    np.testing.assert_allclose(out[0, :5], [12, 3, 3 / 12, 0, 2])  # "," and "."
    np.testing.assert_allclose(out[1, :5], [0, 0, 0, 0, 0])  # missing text counts as empty
    np.testing.assert_allclose(out[2, 5:], [0, 0, 0, 0, 0])
    np.testing.assert_allclose(out[1, 5:], [8, 2, 2 / 8, 5, 0])


def test_a_model_learns_what_a_texts_length_says():
    """Random words, the class set by how many: no single word tells it, the word count does."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(500)]
    counts = rng.integers(1, 9, 600)
    frame = pd.DataFrame({"note": [" ".join(rng.choice(words, k)) for k in counts]})
    prep = TablePreprocessor(columns={"note": "text"}, target_type="binary")
    auc = cross_val_score(make_pipeline(prep, LogisticRegression()), frame, counts > 4, cv=5, scoring="roc_auc")
    assert auc.mean() > 0.95


@pytest.mark.parametrize("categorical", ["auto", "onehot", "ordinal", "target"])
def test_table_preprocessor_outputs_named_finite_features(categorical):
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame({
        "income": rng.lognormal(1, 1, n), "count": rng.lognormal(4, 1, n), "lat": rng.uniform(33, 41, n),
        "lon": rng.uniform(-123, -115, n), "city": rng.choice(list("abcdefghijklmnopqrstuvwxyz"), n),
        "kind": rng.choice(["x", "y"], n), "note": rng.choice(["good value for money", "too small", "ok"], n),
    })
    frame.loc[:20, "income"] = np.nan
    kinds = {"income": "numeric", "count": "numeric", "lat": "numeric", "lon": "numeric",
             "city": "categorical", "kind": "categorical", "note": "text"}
    y = rng.normal(size=n)
    prep = TablePreprocessor(columns=kinds, categorical=categorical, ratios=True, geo_neighbors=5,
                             target_type="continuous")
    out = prep.fit_transform(frame, y)
    names = prep.get_feature_names_out()
    assert out.shape == (n, len(names)) and np.all(np.isfinite(out))
    assert any(n.startswith("geo__") for n in names) and any(n.startswith("log__") for n in names)
    assert any("_per_" in n for n in names) and any(n.startswith("text_note__") for n in names)
    assert "text_stats__note_words" in names
    assert np.all(np.isfinite(prep.transform(frame.head(5))))
    assert find_lat_lon(frame, ["income", "lat", "lon"]) == ("lat", "lon")


def _hourly(days: int = 40, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Hourly rows whose level is set by the day (its weather): only the date tells it."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2024-01-01", periods=days * 24, freq="h")
    level = rng.normal(0, 10, days)[np.arange(len(stamps)) // 24]
    frame = pd.DataFrame({"when": stamps.astype(str), "shop": rng.choice(["north", "south", "east"], len(stamps)),
                          "hour": stamps.hour})
    return frame, level + (frame["shop"] == "north") * 5 + rng.normal(0, 1, len(stamps))


def test_date_values_are_days_and_only_offered_when_days_repeat():
    frame, _ = _hourly(days=3)
    values = DateValues().fit(frame[["when"]])
    out = values.transform(pd.DataFrame({"when": ["2024-01-02 05:00", None]}))
    assert list(values.get_feature_names_out()) == ["when_date"]
    assert out[0, 0] == "2024-01-02" and pd.isna(out[1, 0])
    assert days_repeat(frame["when"]) and not days_repeat(pd.Series(pd.date_range("2020-01-01", periods=50)))


@pytest.mark.parametrize("categorical", ["auto", "ordinal", "native"])
def test_date_values_let_a_model_learn_each_days_level(categorical):
    from lightgbm import LGBMRegressor

    frame, y = _hourly()
    kinds = {"when": "datetime", "shop": "categorical", "hour": "numeric"}
    scores = {}
    for date_values in (False, True):
        prep = TablePreprocessor(columns=kinds, categorical=categorical, date_values=date_values, scale=False,
                                 target_type="continuous")
        model = make_pipeline(prep, LGBMRegressor(n_estimators=200, min_child_samples=5, verbose=-1))
        scores[date_values] = cross_val_score(model, frame, y, cv=5, scoring="neg_root_mean_squared_error").mean()
    assert scores[True] > scores[False] + 1.0  # RMSE at least 1 lower with the day as a category


def test_native_categories_come_out_as_category_columns_and_unknowns_as_missing():
    frame, y = _hourly(days=5)
    prep = TablePreprocessor(columns={"when": "datetime", "shop": "categorical", "hour": "numeric"},
                             categorical="native", date_values=True, target_type="continuous")
    out = prep.fit_transform(frame, y)
    assert isinstance(out, pd.DataFrame) and out.shape[1] == len(prep.get_feature_names_out())
    categories = [c for c in out.columns if isinstance(out[c].dtype, pd.CategoricalDtype)]
    assert len(categories) == 2  # the shop and the day
    new = prep.transform(pd.DataFrame({"when": ["2030-01-01 10:00"], "shop": ["moon"], "hour": [10]}))
    assert new[categories].isna().all(axis=None)  # an unseen day and shop: missing, not a wrong code
    assert list(new[categories[0]].cat.categories) == list(out[categories[0]].cat.categories)


def test_clip_to_range_bounds_new_extremes_and_keeps_missing():
    train = pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0], "b": [np.nan] * 4, "c": [0.0, np.inf, 5.0, -1.0]})
    clip = ClipToRange().fit(train)
    new = pd.DataFrame({"a": [-10.0, 3.0, 99.0, np.nan], "b": [7.0, -7.0, np.nan, 0.0], "c": [10.0, -10.0, 2.0, 0.0]})
    out = clip.transform(new)
    np.testing.assert_array_equal(out[:, 0], [1.0, 3.0, 4.0, np.nan])
    np.testing.assert_array_equal(out[:, 1], [7.0, -7.0, np.nan, 0.0])  # never seen a value: left as is
    np.testing.assert_array_equal(out[:, 2], [5.0, -1.0, 2.0, 0.0])  # infinities are not part of the range
    assert list(clip.get_feature_names_out()) == ["a", "b", "c"]


def test_linear_model_does_not_extrapolate_from_one_extreme_value():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.uniform(0, 1, 200), "z": rng.uniform(0, 1, 200)})
    y = X["x"] ** 2 + rng.normal(0, 0.01, 200)
    model = make_pipeline(TablePreprocessor({"x": "numeric", "z": "numeric"}), Ridge()).fit(X, y)
    outlier = pd.DataFrame({"x": [1000.0], "z": [0.5]})
    assert model.predict(outlier)[0] == pytest.approx(model.predict(pd.DataFrame({"x": [X["x"].max()], "z": [0.5]}))[0])


def test_unknown_options_and_kinds_are_errors_that_name_them():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "colour": ["red", "blue", "red"]})
    with pytest.raises(ValueError, match=r"'categorical' parameter of TablePreprocessor .* Got 'bogus' instead"):
        TablePreprocessor(categorical="bogus").fit(frame)
    with pytest.raises(ValueError, match=r"column 'colour' has kind 'colour'; expected one of numeric, boolean"):
        TablePreprocessor(columns={"x": "numeric", "colour": "colour"}).fit(frame)


def test_table_preprocessor_holds_new_tables_to_the_fitted_columns():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "z": [0.5, 0.1, 0.2, 0.3]})
    prep = TablePreprocessor().fit(frame)
    assert list(prep.feature_names_in_) == ["x", "z"]
    with pytest.raises(ValueError, match="Feature names seen at fit time, yet now missing"):
        prep.transform(frame[["x"]])
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        from_array = prep.transform(frame.to_numpy())  # read by position, as scikit-learn reads it
    np.testing.assert_array_equal(from_array, prep.transform(frame))
