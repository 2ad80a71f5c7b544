"""``Reducer``: the chapter 8 reducers behind one transformer, their choices and their refusals."""

from __future__ import annotations

import numpy as np
import pytest
import skops.io
from sklearn.datasets import load_digits, make_swiss_roll
from sklearn.decomposition import PCA, KernelPCA
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.random_projection import johnson_lindenstrauss_min_dim
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import check_param_validation, parametrize_with_checks
from threadpoolctl import threadpool_limits

from homl.errors import ConfigError
from homl.models import REDUCE_METHODS, Reducer, components_for_variance, explained_variance_curve
from homl.registry import is_trusted_type

CHECKED = [Reducer(), Reducer("gaussian_random_projection"), Reducer("isomap"), Reducer("incremental_pca")]


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    data = load_digits()
    return data.data, data.target


@pytest.fixture
def one_thread():
    """t-SNE's OpenMP threads slow to a crawl when other processes hold the cores: one thread is steady."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def swiss_roll() -> np.ndarray:
    X, _ = make_swiss_roll(300, noise=0.1, random_state=0)
    return StandardScaler().fit_transform(X)


@parametrize_with_checks(CHECKED)
def test_sklearn_check(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", CHECKED, ids=lambda e: e.method)
def test_bad_parameters_are_refused_when_fitting(estimator):
    check_param_validation("Reducer", estimator)


def test_a_share_of_variance_keeps_the_fewest_components_reaching_it(digits):
    X, _ = digits
    cumulative = np.cumsum(PCA().fit(X).explained_variance_ratio_)
    expected = int(np.argmax(cumulative >= 0.95)) + 1
    reducer = Reducer(n_components=0.95).fit(X)
    assert reducer.n_components_ == expected == components_for_variance(X, 0.95) == 29
    assert reducer.transform(X).shape == (len(X), expected)
    curve = explained_variance_curve(reducer)
    np.testing.assert_allclose(curve, cumulative[:expected], rtol=1e-9)
    assert curve[-1] >= 0.95 > curve[-2]


def test_reconstruction_error_falls_as_components_grow_and_matches_inverse_transform(digits):
    X, _ = digits
    errors = []
    for d in (2, 5, 10, 20, 40):
        reducer = Reducer(n_components=d).fit(X)
        back = reducer.inverse_transform(reducer.transform(X))
        assert back.shape == X.shape
        assert reducer.reconstruction_error_ == pytest.approx(np.mean((X - back) ** 2))
        errors.append(reducer.reconstruction_error_)
    assert all(a > b for a, b in zip(errors, errors[1:]))


def test_randomized_pca_finds_the_same_variance_as_full_pca(digits):
    X, _ = digits
    full, randomized = Reducer(n_components=10).fit(X), Reducer("randomized_pca", n_components=10).fit(X)
    np.testing.assert_allclose(randomized.explained_variance_ratio_, full.explained_variance_ratio_, rtol=1e-3)
    assert randomized.reconstruction_error_ == pytest.approx(full.reconstruction_error_, rel=1e-3)


def test_incremental_pca_fed_in_chunks_matches_full_pca(digits):
    X, _ = digits
    full = Reducer(n_components=10).fit(X)
    chunked = Reducer("incremental_pca", n_components=10)
    for start in range(0, len(X), 200):
        chunked.partial_fit(X[start:start + 200])
    np.testing.assert_allclose(chunked.explained_variance_ratio_, full.explained_variance_ratio_, atol=2e-3)
    assert chunked.reconstruction_error_ == pytest.approx(full.reconstruction_error_, rel=0.05)
    assert chunked.transform(X).shape == (len(X), 10)
    assert not hasattr(Reducer(), "partial_fit") and not hasattr(Reducer("isomap"), "partial_fit")


@pytest.mark.parametrize("method", ["gaussian_random_projection", "sparse_random_projection"])
def test_auto_random_projection_takes_the_johnson_lindenstrauss_bound(method):
    X = np.random.default_rng(0).normal(size=(100, 400))
    reducer = Reducer(method, n_components="auto", eps=0.5).fit(X)
    assert reducer.n_components_ == johnson_lindenstrauss_min_dim(100, eps=0.5) == 221
    assert reducer.transform(X).shape == (100, 221)
    assert list(reducer.get_feature_names_out()[:2]) == [f"{method[0]}rp1", f"{method[0]}rp2"]
    with pytest.raises(ValueError, match=r"bound for 100 rows at eps=0.1 is \d+ components, more than the 400 "
                                         r"feature\(s\) of X; eps=0.35 or more fits, or give n_components as an int"):
        Reducer(method, n_components="auto").fit(X)
    assert johnson_lindenstrauss_min_dim(100, eps=0.35) <= 400 < johnson_lindenstrauss_min_dim(100, eps=0.34)


def test_auto_kernel_pca_reconstructs_no_worse_than_the_default_rbf(swiss_roll):
    reducer = Reducer("kernel_pca").fit(swiss_roll)
    rbf = KernelPCA(2, kernel="rbf", fit_inverse_transform=True, random_state=0)
    rbf_error = np.mean((swiss_roll - rbf.inverse_transform(rbf.fit_transform(swiss_roll))) ** 2)
    assert reducer.reconstruction_error_ <= rbf_error + 1e-9
    chosen = [r for r in reducer.search_results_ if r["chosen"]]
    assert len(chosen) == 1 and (chosen[0]["kernel"], chosen[0]["gamma"]) == (reducer.kernel_, reducer.gamma_)
    assert chosen[0]["reconstruction_error"] == pytest.approx(reducer.reconstruction_error_)
    assert {r["kernel"] for r in reducer.search_results_} == {"rbf", "poly", "sigmoid", "cosine"}
    assert reducer.inverse_transform(reducer.transform(swiss_roll[:5])).shape == (5, 3)


def test_tsne_separates_digits_but_refuses_new_rows(digits, one_thread):
    X, y = digits[0][:300], digits[1][:300]
    reducer = Reducer("tsne")
    Z = reducer.fit_transform(X)
    assert Z.shape == (300, 2) and list(reducer.get_feature_names_out()) == ["tsne1", "tsne2"]
    np.testing.assert_array_equal(Z, reducer.embedding_)
    assert cross_val_score(KNeighborsClassifier(n_neighbors=1), Z, y, cv=5).mean() > 0.8
    with pytest.raises(ConfigError, match="t-SNE places only the rows it was fitted on.*use fit_transform.*'pca', "
                                          "'isomap' or 'lle'"):
        reducer.transform(X[:5])


def test_mds_embeds_its_rows_only_and_lle_places_new_rows(swiss_roll):
    mds = Reducer("mds")
    assert mds.fit_transform(swiss_roll[:60]).shape == (60, 2)
    with pytest.raises(ConfigError, match="MDS places only the rows it was fitted on"):
        mds.transform(swiss_roll[:5])
    lle = Reducer("lle").fit(swiss_roll[:200])
    assert lle.transform(swiss_roll[200:]).shape == (100, 2) and lle.n_neighbors_ == 10


def test_tsne_perplexity_above_the_rows_is_clipped_and_recorded(one_thread):
    X = np.random.default_rng(0).normal(size=(10, 4))
    reducer = Reducer("tsne")
    with pytest.warns(UserWarning, match="perplexity=30.0 is not below the 10 rows"):
        assert reducer.fit_transform(X).shape == (10, 2)
    assert reducer.perplexity_ == 3.0


def test_output_columns_are_named_by_method():
    X = np.random.default_rng(0).normal(size=(40, 5))
    prefixes = {m: Reducer(m, n_components=3).fit(X).get_feature_names_out()[0] for m in REDUCE_METHODS
                if m not in ("tsne", "mds", "kernel_pca")}
    assert prefixes["pca"] == "pca1" and prefixes["isomap"] == "isomap1" and prefixes["lle"] == "lle1"
    table = Reducer(n_components=3).set_output(transform="pandas").fit_transform(X)
    assert list(table.columns) == ["pca1", "pca2", "pca3"]


@pytest.mark.parametrize("reducer", [Reducer(n_components=0.9), Reducer("kernel_pca"), Reducer("isomap")],
                         ids=lambda r: r.method)
def test_a_saved_reducer_loads_with_trusted_types_and_transforms_the_same(reducer, swiss_roll):
    reducer.fit(swiss_roll[:150])
    data = skops.io.dumps(reducer)
    types = skops.io.get_untrusted_types(data=data)
    assert all(is_trusted_type(t) for t in types), types
    loaded = skops.io.loads(data, trusted=types)
    np.testing.assert_array_equal(loaded.transform(swiss_roll[150:]), reducer.transform(swiss_roll[150:]))


def test_bad_input_is_refused_with_a_message_that_says_why():
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match=r"n_components=5 is more than the 3 feature\(s\) of X"):
        Reducer(n_components=5).fit(X)
    with pytest.raises(ValueError, match=r"n_components=25 is more than Isomap can find in 20 rows \(at most 19\)"):
        Reducer("isomap", n_components=25).fit(X)
    with pytest.raises(InvalidParameterError, match="'n_components' parameter of Reducer must be"):
        Reducer(n_components=1.5).fit(X)
    with pytest.raises(InvalidParameterError, match="'method' parameter of Reducer must be a str among"):
        Reducer("hologram").fit(X)
    with pytest.raises(ConfigError, match=r"n_components=0.9 \(a share of variance\) works with method='pca' only"):
        Reducer("isomap", n_components=0.9).fit(X)
    with pytest.raises(ConfigError, match="n_components='auto' .* is for the random projections"):
        Reducer(n_components="auto").fit(X)
    with pytest.raises(ValueError, match="at least 2 rows; got n_samples=1"):
        Reducer(n_components=1).fit(X[:1])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        Reducer().fit(np.where(X > 1.5, np.nan, X))
    with pytest.raises(ValueError, match="Input X contains infinity"):
        Reducer().fit(np.where(X > 1.5, np.inf, X))
    with pytest.raises(ConfigError, match="Isomap has no inverse_transform; methods that map back: pca"):
        Reducer("isomap").fit(X).inverse_transform(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"inverse_transform takes 2 columns \(n_components_\); got 3"):
        Reducer().fit(X).inverse_transform(X)
    with pytest.raises(ValueError, match="batch_size=2 is below n_components=3"):
        Reducer("incremental_pca", n_components=3, batch_size=2).fit(X)
    chunked = Reducer("incremental_pca", n_components=3).partial_fit(X[:10])
    with pytest.raises(ValueError, match="partial_fit needs at least n_components=3 rows; this one has 2"):
        chunked.partial_fit(X[10:12])
    with pytest.raises(ValueError, match="X has 2 features, but Reducer is expecting 3 features"):
        chunked.partial_fit(X[10:, :2])
    with pytest.raises(ValueError, match="share=1.0 is a share of the variance"):
        components_for_variance(X, 1.0)
    with pytest.raises(ValueError, match="Reducer has no explained_variance_ratio_"):
        explained_variance_curve(Reducer("isomap").fit(X))
