"""homl's anomaly detectors on labelled anomaly sets: PR AUC, ROC AUC, flagged share, fit time.

Each detector is fitted without labels on every row of each set (columns standardised first,
alike for all detectors), scores every row, and is judged against the held-back label: PR AUC
(average precision) and ROC AUC. Randomised detectors (and "auto") are averaged over
``--seeds`` seeds. "auto" is homl's default; ``isolation_forest`` is scikit-learn's
IsolationForest with its defaults. The share of rows "auto" contamination flags is shown beside
the true share. Candidate defaults (averages of standardised detector scores) are compared at
the end. The credit-card sample keeps ``Time`` as a feature, as given.

``--unseen`` runs instead on anomaly sets made from scikit-learn's bundled tables the way
ADBench makes its own: one class, thinned out, becomes the anomalies among the others
(malignant tumours, a wine cultivar, handwritten zeros). ``--table path.csv:label:value[:kept]``
(repeatable) runs instead on any labelled CSV: the rows whose ``label`` is ``value`` are the
anomalies, thinned to ``kept`` rows when given; categories are one-hot encoded.

    .venv/bin/python bench/anomalies.py [--seeds 3] [--unseen | --table path.csv:label:value[:kept] ...] [--out FILE]
"""

from __future__ import annotations

import argparse
import sys
import time
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from _markdown import markdown_table
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.preprocessing import StandardScaler

from homl.models import AUTO_MEMBERS, AnomalyDetector, available_detectors

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
#: name: (file under DATA, label column)
SETS = {
    "cardio": ("cardio_anomaly/cardio.csv", "outlier"),
    "thyroid": ("thyroid_anomaly/thyroid.csv", "outlier"),
    "shuttle": ("shuttle_anomaly/shuttle.csv.gz", "outlier"),
    "mammography": ("mammography_anomaly/mammography.csv", "outlier"),
    "creditcard": ("credit_card_fraud/creditcard_sample.csv.gz", "Class"),
}
#: Detectors whose scores change with the seed (a random forest, a random row sample, random starts).
RANDOMISED = {"auto", "isolation_forest", "one_class_svm", "gaussian_mixture", "elliptic_envelope"}
#: Detectors that candidate defaults add to the isolation forest, one, two or three at a time.
PARTNERS = ("ecdf", "hbos", "copod", "one_class_svm", "knn", "pca", "gaussian_mixture", "elliptic_envelope")
#: Candidate defaults: detectors whose standardised scores are averaged ("rank:" averages ranks).
CANDIDATES = [("isolation_forest", *partners) for size in (1, 2, 3) for partners in combinations(PARTNERS, size)]
CANDIDATES.append(("rank:", *AUTO_MEMBERS))
#: Candidate defaults shown in the result file: the best by mean PR AUC (the forest alone is shown above).
SHOWN_CANDIDATES = 15
#: Tables named with --table: name: (path, label column, the label's anomalous value, rows of it kept or None).
TABLES: dict[str, tuple[Path, str, str, int | None]] = {}

#: name: (scikit-learn loader, the class made rare, how many of its rows are kept)
UNSEEN = {
    "breast cancer (malignant)": ("load_breast_cancer", 0, 20),
    "wine (cultivar 0)": ("load_wine", 0, 6),
    "digits (zeros)": ("load_digits", 0, 30),
}


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name in UNSEEN:
        return _rare_class(*UNSEEN[name])
    if name in TABLES:
        return _labelled_table(*TABLES[name])
    path, label = SETS[name]
    frame = pd.read_csv(DATA / path)
    y = frame.pop(label).to_numpy()
    return StandardScaler().fit_transform(frame.to_numpy(dtype=float)), y


def _rare_class(loader: str, rare: int, kept: int) -> tuple[np.ndarray, np.ndarray]:
    """A bundled table with one class thinned to ``kept`` rows (drawn with seed 0), labelled 1."""
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, loader)()
    rows = np.flatnonzero(bunch.target != rare)
    chosen = np.random.default_rng(0).choice(np.flatnonzero(bunch.target == rare), kept, replace=False)
    rows = np.sort(np.concatenate([rows, chosen]))
    X = bunch.data[rows].astype(float)
    X = X[:, X.std(axis=0) > 0]
    return StandardScaler().fit_transform(X), (bunch.target[rows] == rare).astype(int)


def _labelled_table(path: Path, label: str, anomalous: str, kept: int | None) -> tuple[np.ndarray, np.ndarray]:
    """A CSV table whose ``label`` equals ``anomalous`` on the anomalies (thinned to ``kept`` rows, drawn
    with seed 0, when given); categories one-hot, constant columns dropped, every column standardised."""
    frame = pd.read_csv(path)
    if label not in frame:
        sys.exit(f"{path}: no column {label!r}; its columns are {', '.join(frame.columns)}")
    y = (frame.pop(label).astype(str).str.strip() == anomalous).to_numpy().astype(int)
    if not y.any():
        sys.exit(f"{path}: no row has {label} = {anomalous!r}")
    if kept is not None:
        chosen = np.random.default_rng(0).choice(np.flatnonzero(y), min(kept, int(y.sum())), replace=False)
        rows = np.sort(np.concatenate([np.flatnonzero(y == 0), chosen]))
        frame, y = frame.iloc[rows], y[rows]
    X = pd.get_dummies(frame, drop_first=True).astype(float).to_numpy()
    X = X[:, X.std(axis=0) > 0]
    return StandardScaler().fit_transform(X), y


def _table_option(text: str) -> tuple[str, tuple[Path, str, str, int | None]]:
    """``path.csv:label:anomalous[:kept]`` as a name and the arguments of ``_labelled_table``."""
    parts = text.split(":")
    if len(parts) not in (3, 4):
        raise argparse.ArgumentTypeError(f"--table {text!r}: expected path.csv:label:anomalous_value[:rows_kept]")
    path, label, anomalous = Path(parts[0]), parts[1], parts[2]
    kept = int(parts[3]) if len(parts) == 4 else None
    name = f"{path.stem} ({label} = {anomalous}" + (f", {kept} kept)" if kept else ")")
    return name, (path, label, anomalous, kept)


def run_set(name: str, seeds: int) -> tuple[list[dict], dict[str, list[np.ndarray]]]:
    """One row a detector (figures averaged over seeds) and every run's anomaly scores."""
    X, y = load(name)
    rows, scores = [], {}
    for method in ["auto", *available_detectors()]:
        runs = []
        for seed in range(seeds if method in RANDOMISED else 1):
            start = time.perf_counter()
            detector = AnomalyDetector(method=method, random_state=seed).fit(X)
            seconds = time.perf_counter() - start
            score = detector.anomaly_score(X)
            runs.append((average_precision_score(y, score), roc_auc_score(y, score), seconds,
                         float(np.mean(detector.predict(X) == -1))))
            scores.setdefault(method, []).append(score)
        pr, roc, seconds, flagged = np.mean(runs, axis=0)
        rows.append({"set": name, "detector": method, "rows": len(X), "true share": float(y.mean()),
                     "PR AUC": pr, "ROC AUC": roc, "fit s": seconds, "flagged share": flagged})
        print(f"{name:12s} {method:18s} PR AUC {pr:.3f}  ROC AUC {roc:.3f}  {seconds:6.1f} s", flush=True)
    return rows, scores


def candidate(members: tuple[str, ...], scores: dict[str, list[np.ndarray]], y: np.ndarray) -> float:
    """Mean PR AUC over seeds of the average of the members' standardised (or ranked) scores."""
    ranked = members[0] == "rank:"
    members = members[1:] if ranked else members
    if any(m not in scores for m in members):
        return np.nan
    aps = []
    for seed in range(max(len(scores[m]) for m in members)):
        parts = [scores[m][seed % len(scores[m])] for m in members]
        combined = np.mean([rankdata(p) if ranked else p for p in parts], axis=0)
        aps.append(average_precision_score(y, combined))
    return float(np.mean(aps))


def _label(members: tuple[str, ...]) -> str:
    if members[0] == "rank:":
        return "ranks of " + " + ".join(members[1:])
    return " + ".join(members)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--unseen", action="store_true", help="the sets made from scikit-learn's bundled tables")
    parser.add_argument("--table", type=_table_option, action="append", default=[],
                        help="instead, a labelled CSV: path.csv:label:anomalous_value[:rows_kept] (repeatable)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    TABLES.update(args.table)
    names = list(TABLES) or (list(UNSEEN) if args.unseen else list(SETS))
    kind = "tables" if TABLES else "unseen" if args.unseen else None
    out = args.out or Path(__file__).parent / "results" / (f"anomalies-{kind}.md" if kind else "anomalies.md")
    if kind is None and not DATA.exists():
        sys.exit(f"data folder not found: {DATA} (expected shared/data beside the repository)")
    rows, candidates = [], []
    for name in names:
        set_rows, scores = run_set(name, args.seeds)
        rows += set_rows
        y = load(name)[1]
        candidates.append({_label(c): candidate(c, scores, y) for c in CANDIDATES})
    board = pd.DataFrame(rows)
    board.to_csv(out.with_suffix(".csv"), index=False, float_format="%.4f")
    options = [f"{path.name}:{label}:{value}" + (f":{kept}" if kept else "") for path, label, value, kept in TABLES.values()]
    command = " --unseen" if kind == "unseen" else "".join(f" --table {o}" for o in options)
    text = report(board, pd.DataFrame(candidates, index=names), args.seeds, names, command)
    print(text)
    out.write_text(text, encoding="utf-8")


def report(board: pd.DataFrame, candidates: pd.DataFrame, seeds: int, names: list[str], command: str = "") -> str:
    pr = board.pivot(index="detector", columns="set", values="PR AUC")[names]
    roc = board.pivot(index="detector", columns="set", values="ROC AUC")[names]
    fit = board.pivot(index="detector", columns="set", values="fit s")[names]
    ranks = pr.rank(ascending=False, method="min")
    pr_table = pr.assign(mean=pr.mean(axis=1), **{"mean rank": ranks.mean(axis=1)}).sort_values("mean", ascending=False)
    roc_table = roc.assign(mean=roc.mean(axis=1)).loc[pr_table.index]
    auto = board[board.detector == "auto"].set_index("set")
    forest = board[board.detector == "isolation_forest"].set_index("set")
    versus = pd.DataFrame({
        "rows": auto["rows"].astype(int).astype(str),
        "auto PR AUC": auto["PR AUC"], "isolation forest PR AUC": forest["PR AUC"],
        "auto rank": ranks.loc["auto"].astype(int).astype(str) + f" of {len(pr)}",
        "worst PR AUC": pr.min(axis=0), "true share": auto["true share"],
        "auto flagged share": auto["flagged share"], "forest flagged share": forest["flagged share"],
    }).loc[names].reset_index()
    means = candidates.mean(axis=0)
    worst = pr.min(axis=0)
    alternatives = pd.DataFrame({
        "candidate default": means.index, "mean PR AUC": means.to_numpy(),
        **{name: candidates.loc[name].to_numpy() for name in names},
        "worst on a set": ["yes" if (candidates[c] <= worst).any() else "no" for c in means.index],
    }).sort_values("mean PR AUC", ascending=False)
    auto_label = _label(AUTO_MEMBERS)
    shown = alternatives.head(SHOWN_CANDIDATES)
    if auto_label not in set(shown["candidate default"]):
        shown = pd.concat([shown, alternatives[alternatives["candidate default"] == auto_label]])
    return (
        "# Unsupervised anomaly detectors on labelled sets\n\n"
        f"`.venv/bin/python bench/anomalies.py{command}`: each detector fitted without labels on every row (columns "
        "standardised), scoring every row; randomised detectors and auto averaged over "
        f"{seeds} seeds. auto = mean of the standardised scores of {auto_label}; isolation_forest = "
        "scikit-learn's IsolationForest with its defaults."
        + (" The credit-card sample keeps `Time` as a feature." if "creditcard" in names else "") + "\n\n"
        "## PR AUC (average precision)\n\n"
        f"{markdown_table(pr_table.reset_index())}\n\n"
        "## auto beside the isolation forest, and the share of rows flagged (contamination auto)\n\n"
        f"{markdown_table(versus)}\n\n"
        "## ROC AUC\n\n"
        f"{markdown_table(roc_table.reset_index())}\n\n"
        "## Fit seconds (one fit, mean over seeds)\n\n"
        "The first set's PyOD figures include importing PyOD and compiling its numba code.\n\n"
        f"{markdown_table(fit.loc[pr_table.index].reset_index())}\n\n"
        f"## Candidate defaults: the best {SHOWN_CANDIDATES} of {len(alternatives)} by mean PR AUC, and auto's\n\n"
        "The isolation forest with one, two or three of the other detectors, their standardised scores averaged "
        "(ranks of: ranks averaged instead).\n\n"
        f"{markdown_table(shown)}\n"
    )


if __name__ == "__main__":
    main()
