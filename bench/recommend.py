"""homl's recommenders beside the baselines, scikit-surprise and implicit's ALS, on the same folds.

Ratings: 5 folds that each hold out a fifth of every user's ratings (``homl.data.per_user_folds``).
In each fold ``homl.recommend`` (explicit, ``--time-limit``) learns from the training ratings and
predicts the held-out pairs; the global mean and the user/item biases, and scikit-surprise's SVD and
KNNBaseline with their defaults (in their own venv: ``bash bench/setup_peers.sh surprise``),
predict the same pairs. RMSE and MAE over the fold, averaged over the folds.

Implicit feedback: the same folds with every rating read as an interaction. ``homl.recommend``
(implicit), the most popular items and implicit's ``AlternatingLeastSquares()`` with its defaults
each list 10 unseen items for every user; precision@10, NDCG@10 (and recall, coverage) against
the held-out items. Fit times, and the time homl's model takes to list 10 items for every user.

    .venv/bin/python bench/recommend.py [--ratings PATH] [--time-limit 60] [--folds 5]
                                        [--out bench/results/recommend.md]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _markdown import markdown_table

import homl
from homl.data import per_user_folds
from homl.evaluate import ranking_scores
from homl.models import BiasRating, MeanRating, PopularItems

BENCH = Path(__file__).resolve().parent
MOVIELENS = BENCH.parent / ".." / "shared" / "data" / "movielens" / "ratings.csv.gz"
SURPRISE = BENCH / ".venvs" / "surprise" / "bin" / "python"
K = 10


def read(path: Path, user: str, item: str, rating: str) -> pd.DataFrame:
    frame = pd.read_csv(path)[[user, item, rating]]
    frame.columns = ["user", "item", "rating"]
    frame[["user", "item"]] = frame[["user", "item"]].astype(str)
    return frame.groupby(["user", "item"], as_index=False)["rating"].mean()


def rating_fold(train: pd.DataFrame, test: pd.DataFrame, time_limit: float, scale: tuple[float, float],
                seed: int) -> list[dict]:
    rows = []
    truth = test["rating"].to_numpy()

    def add(name: str, predicted: np.ndarray, fit_s: float) -> None:
        errors = np.asarray(predicted) - truth
        rows.append({"model": name, "rmse": float(np.sqrt(np.mean(errors ** 2))),
                     "mae": float(np.mean(np.abs(errors))), "fit_s": fit_s})

    started = time.perf_counter()
    result = homl.recommend(train, user="user", item="item", rating="rating", scale=scale, time_limit=time_limit,
                            seed=seed)
    fit_s = time.perf_counter() - started
    add(f"homl ({time_limit:g} s): {result.model.metadata['model_name']}",
        result.predict_frame(test[["user", "item"]])["rating"].to_numpy(), fit_s)
    codes_u, users = pd.factorize(train["user"])
    codes_i, items = pd.factorize(train["item"])
    X = np.column_stack([codes_u, codes_i])
    X_test = np.column_stack([users.get_indexer(test["user"]), items.get_indexer(test["item"])])
    for name, model in (("global mean", MeanRating(scale=scale)), ("user and item biases", BiasRating(scale=scale))):
        started = time.perf_counter()
        model.fit(X, train["rating"].to_numpy())
        add(name, model.predict(X_test), time.perf_counter() - started)
    if SURPRISE.exists():
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            train.to_csv(folder / "train.csv", index=False)
            test.to_csv(folder / "test.csv", index=False)
            subprocess.run([str(SURPRISE), str(BENCH / "_peer_surprise.py"), str(folder / "train.csv"),
                            str(folder / "test.csv"), str(folder / "out.json"), "--scale", *map(str, scale),
                            "--seed", str(seed)], check=True)
            peer = json.loads((folder / "out.json").read_text())
        for name, found in peer["models"].items():
            add(f"surprise {peer['version']} {name} (defaults)", np.asarray(found["predictions"]), found["fit_s"])
    return rows


def ranking_fold(train: pd.DataFrame, test: pd.DataFrame, time_limit: float, seed: int) -> list[dict]:
    users = np.array(sorted(set(test["user"])))
    relevant_by_user = test.groupby("user")["item"].apply(list)
    rows = []
    started = time.perf_counter()
    result = homl.recommend(train[["user", "item"]], user="user", item="item", time_limit=time_limit, seed=seed)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    top = result.model.recommend(list(users), n=K)
    list_s = time.perf_counter() - started
    item_index = pd.Index(sorted(set(train["item"]) | set(test["item"])))
    n_items = len(set(train["item"]))

    def scored(name: str, lists: dict[str, list[str]], fit: float, listing: float | None) -> None:
        recommended = np.full((len(users), K), -1, dtype=np.int64)
        for row, user in enumerate(users):
            codes = item_index.get_indexer(lists.get(user, []))[:K]
            recommended[row, :len(codes)] = codes
        relevant = [item_index.get_indexer(relevant_by_user[u]) for u in users]
        rows.append({"model": name, **ranking_scores(recommended, relevant, k=K, n_items=n_items), "fit_s": fit,
                     "top10_all_users_s": listing})

    scored(f"homl ({time_limit:g} s): {result.model.metadata['model_name']}",
           top.groupby("user")["item"].apply(list).to_dict(), fit_s, list_s)
    codes_u, known_users = pd.factorize(train["user"])
    codes_i, known_items = pd.factorize(train["item"])
    X = np.column_stack([codes_u, codes_i])
    seen = train.groupby("user")["item"].apply(set)
    started = time.perf_counter()
    popular = PopularItems().fit(X)
    fit = time.perf_counter() - started
    order = [known_items[c] for c in np.argsort(-popular.score_items(np.array([-1]))[0], kind="stable")]
    scored("most popular", {u: [i for i in order if i not in seen.get(u, set())][:K] for u in users}, fit, None)
    rows.append(_implicit_als(X, known_users, known_items, users, scored))
    return [r for r in rows if r is not None]


def _implicit_als(X: np.ndarray, known_users: pd.Index, known_items: pd.Index, users: np.ndarray, scored) -> None:
    """implicit's AlternatingLeastSquares with its defaults on the same user × item matrix."""
    import implicit
    from implicit.als import AlternatingLeastSquares
    from scipy import sparse
    from threadpoolctl import threadpool_limits

    matrix = sparse.csr_matrix((np.ones(len(X), dtype=np.float32), (X[:, 0], X[:, 1])),
                               shape=(len(known_users), len(known_items)))
    model = AlternatingLeastSquares(random_state=0)
    with threadpool_limits(1, "blas"):
        started = time.perf_counter()
        model.fit(matrix, show_progress=False)
        fit = time.perf_counter() - started
        codes = known_users.get_indexer(users)
        ids, _ = model.recommend(codes[codes >= 0], matrix[codes[codes >= 0]], N=K, filter_already_liked_items=True)
    lists = {u: [known_items[i] for i in row if i >= 0] for u, row in zip(users[codes >= 0], ids)}
    scored(f"implicit {implicit.__version__} ALS (defaults)", lists, fit, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=Path, default=MOVIELENS)
    parser.add_argument("--columns", nargs=3, default=["userId", "movieId", "rating"], metavar=("USER", "ITEM", "RATING"))
    parser.add_argument("--scale", type=float, nargs=2, default=(0.5, 5.0))
    parser.add_argument("--time-limit", type=float, default=60)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=["ratings", "implicit"], default=None)
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "recommend.md")
    args = parser.parse_args()
    frame = read(args.ratings, *args.columns)
    folds = per_user_folds(pd.factorize(frame["user"])[0], args.folds, seed=args.seed)
    tables = {}
    for form in ("ratings", "implicit"):
        if args.only not in (None, form):
            continue
        rows = []
        for number, (train, test) in enumerate(folds, 1):
            print(f"{form}: fold {number}/{len(folds)}", file=sys.stderr, flush=True)
            train_rows, test_rows = frame.iloc[train], frame.iloc[test]
            found = (rating_fold(train_rows, test_rows, args.time_limit, tuple(args.scale), args.seed) if form == "ratings"
                     else ranking_fold(train_rows, test_rows, args.time_limit, args.seed))
            rows += [{**row, "fold": number} for row in found]
        table = pd.DataFrame(rows)
        table["tool"] = table["model"].str.split(":").str[0]
        summary = table.groupby("tool", sort=False).mean(numeric_only=True).drop(columns=["fold"])
        summary.insert(0, "models chosen", table.groupby("tool", sort=False)["model"].agg(
            lambda names: "; ".join(sorted({n.split(": ", 1)[-1] for n in names if ": " in n})) or "-"))
        tables[form] = summary.reset_index()
        print(markdown_table(tables[form]), flush=True)
    lines = [f"# Recommendation: {args.ratings.name}, {args.folds} per-user folds, homl at {args.time_limit:g} s", ""]
    for form, table in tables.items():
        lines += [f"## {'Ratings (lower is better)' if form == 'ratings' else 'Implicit feedback, top 10'}", "",
                  markdown_table(table), ""]
    args.out.write_text("\n".join(lines))
    print(f"written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
