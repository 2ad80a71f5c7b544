"""The recommender report: every section in order for ratings and for implicit feedback, the key numbers
and names in the page, its figures drawn and written, and notes (never errors) where diagnostics are missing."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from homl.report.recommend import SECTIONS, build_recommend_report


def _popularity(n_items: int) -> list[int]:
    # A Zipf-like long tail, subsampled evenly along the rank as the task saves it.
    counts = np.maximum(1, (330 / np.arange(1, n_items + 1) ** 0.6).astype(int))
    return counts[np.linspace(0, n_items - 1, 2000).astype(int)].tolist()


def _ratings() -> tuple[dict[str, Any], dict[str, Any]]:
    metadata = {
        "form": "ratings", "user": "userId", "item": "movieId", "rating": "rating", "source": "'ratings.csv'",
        "n_rows": 100836, "n_users": 610, "n_items": 9724, "scale": [0.5, 5.0],
        "model_name": "Blend: factorisation (0.62) + item neighbours (0.41)", "metric": "rmse", "k": 10,
        "test_scores": {"rmse": 0.8512, "mae": 0.6523}, "baseline_test_scores": {"rmse": 0.9034, "mae": 0.7411},
        "baseline_name": "User and item biases", "test_rows": 20000,
        "choice": "The blend had the lowest validation RMSE and fitted in 14 seconds.",
        "notes": ["duplicated (user, item) pairs: 12 averaged"],
        "trained": "2026-12-06T10:00:00+00:00", "time_limit": 60,
    }
    rng = np.random.default_rng(0)
    diagnostics = {
        "leaderboard": [
            {"name": "Blend: factorisation (0.62) + item neighbours (0.41)", "rmse": 0.86123, "mae": 0.6612,
             "seconds": 14.234},
            {"name": "Factorisation (SVD)", "rmse": 0.8734, "mae": 0.6701, "seconds": 9.87},
            {"name": "Item neighbours", "rmse": 0.8911, "mae": 0.6843, "seconds": 3.1},
            {"name": "User and item biases", "rmse": 0.9102, "mae": 0.7012, "seconds": 0.4},
        ],
        "ratings": {"values": [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0],
                    "counts": [1370, 2811, 1791, 7551, 5550, 20047, 13136, 26818, 8551, 13211]},
        "popularity": _popularity(9724), "popularity_items": 9724,
        "per_user": {"metric": "rmse", "values": rng.gamma(9, 0.095, 610).tolist()},
        "examples": [{"user": "414", "liked": ["Fight Club (1999)", "Memento (2000)", "Se7en (1995)"],
                      "recommended": ["The Usual Suspects (1995)", "Oldboy (2003)", "Heat (1995)", "Inception (2010)"]},
                     {"user": "68", "liked": ["Toy Story (1995)"], "recommended": ["Up (2009)", "Wall-E (2008)"]}],
        "neighbours": [{"item": "Forrest Gump (1994)",
                        "similar": ["The Green Mile (1999)", "Apollo 13 (1995)", "Cast Away (2000)"]}],
    }
    return metadata, diagnostics


def _implicit() -> tuple[dict[str, Any], dict[str, Any]]:
    scores = {"precision@10": 0.2134, "recall@10": 0.1512, "map@10": 0.1123, "ndcg@10": 0.2645,
              "hit_rate@10": 0.6231, "coverage@10": 0.2312}
    baseline = {"precision@10": 0.1502, "recall@10": 0.0931, "map@10": 0.0712, "ndcg@10": 0.1811,
                "hit_rate@10": 0.4823, "coverage@10": 0.0011}
    metadata = {
        "form": "implicit", "user": "customer", "item": "product", "rating": None, "source": "'orders.parquet'",
        "n_rows": 250000, "n_users": 12000, "n_items": 3400, "scale": None, "model_name": "Implicit ALS",
        "metric": "ndcg@10", "k": 10, "test_scores": scores, "baseline_test_scores": baseline,
        "baseline_name": "Most popular", "test_rows": 48000, "choice": "ALS ranked the held-out purchases best.",
        "notes": [], "trained": "2026-12-06T10:00:00+00:00", "time_limit": 120,
    }
    rng = np.random.default_rng(1)
    per_user = np.where(rng.random(5000) < 0.35, 0.0, rng.beta(2, 4, 5000))
    diagnostics = {
        "leaderboard": [
            {"name": "Implicit ALS", "precision@10": 0.2011, "ndcg@10": 0.2512, "recall@10": 0.1433,
             "coverage@10": 0.2213, "seconds": 22.1},
            {"name": "Item neighbours", "precision@10": 0.1832, "ndcg@10": 0.2231, "recall@10": 0.1255,
             "coverage@10": 0.3101, "seconds": 5.2},
            {"name": "Most popular", "precision@10": 0.1405, "ndcg@10": 0.1702, "recall@10": 0.0912,
             "coverage@10": 0.0011, "seconds": 0.1},
        ],
        "popularity": sorted(np.maximum(1, rng.pareto(1.1, 3400) * 20).astype(int).tolist(), reverse=True),
        "popularity_items": 3400,
        "per_user": {"metric": "ndcg@10", "values": per_user.tolist()},
        "examples": [{"user": "C-1001", "liked": ["green tea", "oolong"], "recommended": ["jasmine tea", "teapot"]}],
        "neighbours": [{"item": "green tea", "similar": ["jasmine tea", "sencha", "matcha"]}],
    }
    return metadata, diagnostics


def _page(report) -> str:
    return html.unescape(report.html())


def _titles(report) -> tuple[str, ...]:
    return tuple(s.title for s in report.sections)


def test_ratings_report_has_every_section_the_numbers_and_the_figures(tmp_path: Path) -> None:
    metadata, diagnostics = _ratings()
    json.dumps([metadata, diagnostics])  # built from plain data only
    report = build_recommend_report(metadata, diagnostics)
    page = _page(report)
    assert _titles(report) == SECTIONS
    assert report.title == "Recommendations: ratings of 'movieId' by 'userId'"
    for expected in ("Blend: factorisation (0.62) + item neighbours (0.41)", "100,836 rows", "'ratings.csv'",
                     "610", "9,724", "1.7%", "0.8512", "0.9034", "6% better", "off by 0.6523 on average",
                     "0.5 to 5 scale", "12% better than the baseline (user and item biases), which scores 0.7411.", "Item neighbours", "0.8612",
                     "of the items make 80% of the interactions", "Fight Club (1999)", "Oldboy (2003)",
                     "Forrest Gump (1994) → The Green Mile (1999), Apollo 13 (1995), Cast Away (2000)",
                     "duplicated (user, item) pairs: 12 averaged", metadata["choice"]):
        assert expected in page, expected
    assert list(report.figures) == ["leaderboard", "ratings", "long-tail", "per-user"]
    assert all(png.startswith(b"\x89PNG") for png in report.figures.values())
    assert page.count("<figure>") == 4
    written = report.write(tmp_path / "r.html")
    assert written.read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == [
        "leaderboard.png", "long-tail.png", "per-user.png", "ratings.png"]


def test_implicit_report_reads_the_ranking_scores(tmp_path: Path) -> None:
    metadata, diagnostics = _implicit()
    report = build_recommend_report(metadata, diagnostics)
    page = _page(report)
    assert _titles(report) == SECTIONS
    assert report.title == "Recommendations: what 'customer' will pick among 'product'"
    for expected in ("Of the 10 items shown to each user, 2.1 on average were items the user went on to pick "
                     "(precision@10 0.2134), against 1.5 for the baseline (most popular).", "test ndcg@10", "Most popular ndcg@10",
                     "46% better", "62% of users find at least one", "against 0.11% for the baseline", "of the users none of the recommended items",
                     "C-1001", "jasmine tea", "green tea → jasmine tea, sencha, matcha", "The data needed no changes"):
        assert expected in page, expected
    # No ratings to draw for implicit feedback, and no note asking for them.
    assert list(report.figures) == ["leaderboard", "long-tail", "per-user"]
    assert "distribution of ratings" not in page
    report.write(tmp_path / "r.html")
    assert len(list((tmp_path / "figures").iterdir())) == 3


@pytest.mark.parametrize("form", ["ratings", "implicit"])
def test_minimal_metadata_without_diagnostics_gives_notes(form: str, tmp_path: Path) -> None:
    report = build_recommend_report({"form": form, "user": "u", "item": "i"}, None)
    page = _page(report)
    assert _titles(report) == SECTIONS
    assert report.figures == {}
    for missing in ("Test scores", "The leaderboard", "The popularity of items", "The results per user",
                    "Example recommendations", "Similar items", "Notes on the data"):
        assert f"{missing} were not saved with this model." in page or \
            f"{missing} was not saved with this model." in page, missing
    report.write(tmp_path / "r.html")


def test_diagnostics_with_missing_or_odd_parts_give_notes_not_errors() -> None:
    metadata, diagnostics = _ratings()
    for key in ("ratings", "popularity", "examples"):
        del diagnostics[key]
    diagnostics["leaderboard"] = [{"name": "Only model", "mae": 0.7}]  # no column of the main metric
    diagnostics["per_user"] = {"metric": "rmse", "values": []}
    diagnostics["neighbours"] = [{"item": "X", "similar": []}]
    del metadata["baseline_test_scores"], metadata["test_rows"], metadata["scale"]
    report = build_recommend_report(metadata, diagnostics)
    page = _page(report)
    assert _titles(report) == SECTIONS
    assert report.figures == {}
    for note in ("The distribution of ratings was not saved", "The popularity of items was not saved",
                 "The leaderboard holds no RMSE column", "The results per user were not saved",
                 "Example recommendations were not saved", "Similar items were not saved"):
        assert note in page, note
    assert "On held-out ratings the model is off by 0.6523 on average (MAE)." in page
