"""The segmenter at the edge of its row counts: spectral clustering needs more rows than segments,
the Bayesian mixture no more components than rows."""

from __future__ import annotations

import numpy as np
import pytest

from homl.models import Segmenter

FIVE = np.array([[0.1, 1.2], [0.5, -0.3], [1.5, 0.7], [-1.0, 2.0], [0.3, 0.3]])


def test_auto_leaves_spectral_out_where_it_would_need_a_segment_per_row() -> None:
    found = Segmenter(n_clusters=5).fit(FIVE)
    assert found.n_clusters_ == 5 and found.method_ != "spectral"
    assert {c["method"] for c in found.candidates_} == {"kmeans", "gaussian_mixture", "agglomerative"}
    two = Segmenter().fit(FIVE[:2])
    assert sorted(two.labels_.tolist()) == [0, 1]
    assert "spectral" not in {c["method"] for c in two.candidates_}


def test_spectral_clustering_refuses_as_many_segments_as_rows() -> None:
    with pytest.raises(ValueError, match="n_clusters=5 segments asked of 5 row.*spectral clustering makes at most 4"):
        Segmenter(method="spectral", n_clusters=5).fit(FIVE)
    with pytest.raises(ValueError, match="spectral clustering needs at least 3 rows"):
        Segmenter(method="spectral").fit(FIVE[:2])
    assert Segmenter(method="spectral", n_clusters=4).fit(FIVE).n_clusters_ == 4


@pytest.mark.parametrize("rows", [3, 5])
def test_the_bayesian_mixture_has_no_more_components_than_rows(rows) -> None:
    found = Segmenter(method="bayesian_gaussian_mixture").fit(FIVE[:rows])
    assert found.estimator_.n_components == rows
    assert len(found.labels_) == rows and 1 <= found.n_clusters_ <= rows
