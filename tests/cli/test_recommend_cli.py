"""``homl recommend`` and ``homl predict`` on a recommender: pairs, --top, --users and --similar-to."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from homl.cli import app

DATA = Path(__file__).parents[1] / "data"


def _refused(*args: object, cwd: Path) -> str:
    """The one line ``python -m homl ARGS`` (the real entry point) ends with, checked to be an error, exit 2."""
    run = subprocess.run([sys.executable, "-m", "homl", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                         timeout=300)
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 2 and run.stdout == "" and len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in run.stderr
    return lines[0]


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    """A purchase log (no rating column) and the model `homl recommend` trained on it."""
    folder = tmp_path_factory.mktemp("shop")
    ratings = pd.read_csv(DATA / "movielens_sample.csv")
    ratings.rename(columns={"userId": "customer", "movieId": "product"})[["customer", "product"]].to_csv(
        folder / "purchases.csv", index=False)
    run = CliRunner().invoke(app, ["recommend", str(folder / "purchases.csv"), "--user", "customer", "--item",
                                   "product", "--time-limit", "15", "-o", str(folder / "model")])
    assert run.exit_code == 0, run.output
    assert "ndcg@10" in run.output and "homl predict" in run.output
    return folder


def test_top_items_for_the_users_of_a_file(shop):
    pd.DataFrame({"customer": [pd.read_csv(shop / "purchases.csv")["customer"].iloc[0], 123456]}).to_csv(
        shop / "users.csv", index=False)
    run = CliRunner().invoke(app, ["predict", str(shop / "model"), "--top", "3", "--users", str(shop / "users.csv"),
                                   "-o", str(shop / "top.csv")])
    assert run.exit_code == 0, run.output
    top = pd.read_csv(shop / "top.csv")
    assert list(top.columns) == ["customer", "product", "rank", "score", "cold_start"]
    assert top["rank"].tolist() == [1, 2, 3, 1, 2, 3]
    assert top["cold_start"].fillna("").tolist() == ["", "", "", "user", "user", "user"]


def test_top_items_for_every_known_user_and_similar_items(shop):
    run = CliRunner().invoke(app, ["predict", str(shop / "model"), "--top", "2"])
    assert run.exit_code == 0, run.output
    rows = run.stdout.strip().splitlines()
    assert rows[0] == "customer,product,rank,score,cold_start"
    assert len(rows) - 1 == 2 * pd.read_csv(shop / "purchases.csv")["customer"].nunique()
    item = str(pd.read_csv(shop / "purchases.csv")["product"].value_counts().index[0])
    run = CliRunner().invoke(app, ["predict", str(shop / "model"), "--similar-to", item, "--top", "5"])
    assert run.exit_code == 0, run.output
    similar = run.stdout.strip().splitlines()
    assert similar[0] == "product,rank,similarity" and len(similar) == 6
    assert all(not line.startswith(f"{item},") for line in similar[1:])


def test_pairs_are_scored_in_input_order(shop):
    purchases = pd.read_csv(shop / "purchases.csv").head(4)
    purchases.to_csv(shop / "pairs.csv", index=False)
    run = CliRunner().invoke(app, ["predict", str(shop / "model"), str(shop / "pairs.csv"), "-o",
                                   str(shop / "scored.csv")])
    assert run.exit_code == 0, run.output
    scored = pd.read_csv(shop / "scored.csv")
    assert list(scored.columns) == ["score", "cold_start"] and len(scored) == 4


@pytest.mark.parametrize("args, fragments", [
    (["--top", "0"], ["--top 0", "at least 1"]),
    (["--users", "users.csv"], ["--users needs --top"]),
    (["--similar-to", "not-an-item"], ["'not-an-item' was not seen in training"]),
])
def test_bad_requests_are_one_line_errors(shop, args, fragments):
    line = _refused("predict", shop / "model", *args, cwd=shop)
    assert all(fragment in line for fragment in fragments), line


def test_a_missing_item_column_names_the_closest(shop):
    line = _refused("recommend", "purchases.csv", "--user", "customer", "--item", "products", "-o", "other", cwd=shop)
    assert "no column 'products' (the item column)" in line and "did you mean 'product'" in line
