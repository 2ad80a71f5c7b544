"""homl against peer AutoML tools at equal wall-clock budgets.

    .venv/bin/python bench/peers.py --budget 60 [--sets housing,titanic] [--tools homl,flaml]

Every tool gets the same raw training table, the same budget and seed, and the
same test rows (20 %, seed 42, stratified: on the target for classification, on
10 target quantile bins for regression, on the book's income categories for
housing). Each tool runs as a subprocess in its own virtual environment
(``bench/.venvs/<tool>``, made by bench/setup_peers.sh; homl uses this
interpreter) and returns test predictions; this script scores them all with the
same code: RMSE for regression, ROC AUC (and accuracy at 0.5) for binary tasks,
log loss (and accuracy of the likeliest class) for multiclass ones.
Results go to stdout and to bench/results/peers-<budget>s.{md,csv}.

``--sets unseen`` runs tables from neither this repository nor ../shared: the ones
statsmodels and scikit-learn bundle (the project builds for such tables, it is not
tuned on them). ``--tools`` may add ``histgb``: a default scikit-learn
HistGradientBoosting, the baseline every tool should beat.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from _peer_common import METRICS
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, roc_auc_score
from sklearn.model_selection import train_test_split

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = ROOT / ".." / "shared" / "data"
RESULTS = BENCH / "results"
TOOLS = ("homl", "flaml", "autogluon", "histgb")
#: Tools run with this interpreter (no venv of their own).
LOCAL_TOOLS = ("homl", "histgb")
SEED = 42
OVERRUN = 1.10  # flag a fit that took more than 110 % of the budget


@dataclass(frozen=True)
class Spec:
    """One benchmark set: how to load the raw table, its target and task."""

    load: Callable[[], pd.DataFrame]
    target: str
    task: str  # "regression", "binary" or "multiclass"
    drop: tuple[str, ...] = ()  # leaking columns


def _csv(rel: str, **kw) -> Callable[[], pd.DataFrame]:
    return lambda: pd.read_csv(DATA / rel, **kw)


def _auto_mpg() -> pd.DataFrame:
    names = ["mpg", "cylinders", "displacement", "horsepower", "weight",
             "acceleration", "model_year", "origin", "car_name"]
    return pd.read_csv(DATA / "auto_mpg/auto-mpg.data", sep=r"\s+", header=None,
                       na_values="?", quotechar='"', names=names)


def _statsmodels(name: str, drop: tuple[str, ...] = ()) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import statsmodels.api as sm

        return getattr(sm.datasets, name).load_pandas().data.drop(columns=list(drop))

    return load


def _sklearn(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import sklearn.datasets

        return getattr(sklearn.datasets, f"load_{name}")(as_frame=True).frame

    return load


#: Tables in neither this repository nor ../shared, bundled with statsmodels and scikit-learn.
UNSEEN: dict[str, Spec] = {
    # RAND health insurance experiment: doctor visits, a skewed count.
    "randhie": Spec(_statsmodels("randhie"), "mdvis", "regression"),
    # Extramarital affairs survey: time spent, mostly zero with a heavy tail.
    "fair": Spec(_statsmodels("fair"), "affairs", "regression"),
    "diabetes": Spec(_sklearn("diabetes"), "target", "regression"),
    # 1996 US election survey: the vote (Dole or Clinton); logpopul is log(popul).
    "anes96": Spec(_statsmodels("anes96", drop=("logpopul",)), "vote", "binary"),
    "breast_cancer": Spec(_sklearn("breast_cancer"), "target", "binary"),
    # Handwritten digits, 8 x 8 pixels: ten classes.
    "digits": Spec(_sklearn("digits"), "target", "multiclass"),
    # Wines of three cultivars, from their chemistry.
    "wine": Spec(_sklearn("wine"), "target", "multiclass"),
}

SETS: dict[str, Spec] = {
    "housing": Spec(_csv("housing/housing.csv"), "median_house_value", "regression"),
    "titanic": Spec(_csv("titanic/train.csv"), "Survived", "binary"),
    # cnt = casual + registered: those two leak the target. instant/dteday stay (raw table).
    "bike_sharing": Spec(_csv("bike_sharing/hour.csv.gz"), "cnt", "regression",
                         drop=("casual", "registered")),
    "auto_mpg": Spec(_auto_mpg, "mpg", "regression"),
    "diamonds": Spec(_csv("diamonds/diamonds.csv.gz"), "price", "regression"),
    "abalone": Spec(_csv("abalone/abalone.csv"), "Rings", "regression"),
    "wine_red": Spec(_csv("wine_quality/winequality-red.csv"), "quality", "regression"),
    "adult": Spec(_csv("adult/adult.csv.gz"), "income_status", "binary"),
    "spambase": Spec(_csv("spambase/spambase.csv"), "58", "binary"),
    "credit_default": Spec(_csv("credit_default/default_credit_card_clients.csv.gz"), "default", "binary"),
    "telco_churn": Spec(_csv("telco_churn/telco_customer_churn.csv.gz"), "Churn", "binary"),
    "credit_card_fraud": Spec(_csv("credit_card_fraud/creditcard_sample.csv.gz"), "Class", "binary"),
}
SHARED = tuple(SETS)
SETS.update(UNSEEN)


def prepare(name: str, spec: Spec) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Load a set and split it: (train with target, test features, test target).

    Binary targets are encoded 0/1 with 1 = the minority class (>50K, Yes, fraud...);
    multiclass targets 0..K-1, in the sorted order of the classes.
    """
    df = spec.load().drop(columns=list(spec.drop))
    df.columns = [str(c) for c in df.columns]
    if spec.task == "binary":
        counts = df[spec.target].value_counts()
        if len(counts) != 2:
            raise ValueError(f"{name}: {len(counts)} classes in {spec.target}, expected 2")
        df[spec.target] = (df[spec.target] == counts.idxmin()).astype(int)
        strata = df[spec.target]
    elif spec.task == "multiclass":
        df[spec.target] = pd.factorize(df[spec.target], sort=True)[0]
        strata = df[spec.target]
    elif name == "housing":  # the book's split (Géron, chapter 2)
        strata = pd.cut(df["median_income"], [0.0, 1.5, 3.0, 4.5, 6.0, np.inf], labels=False)
    else:
        strata = pd.qcut(df[spec.target], 10, labels=False, duplicates="drop")
    train, test = train_test_split(df, test_size=0.2, random_state=SEED, stratify=strata)
    return train, test.drop(columns=[spec.target]), test[spec.target].to_numpy()


def interpreter(tool: str) -> Path:
    """Python that runs ``tool``: this one for homl and histgb, bench/.venvs/<tool> for peers."""
    if tool in LOCAL_TOOLS:
        return Path(sys.executable)
    return BENCH / ".venvs" / tool / "bin" / "python"


def autogluon_presets(budget: float, chosen: str | None) -> str:
    """AutoGluon's presets: as chosen, else its default below 300 s and ``best_quality`` from 300 s."""
    return chosen or ("best_quality" if budget >= 300 else "medium_quality")


def run_tool(tool: str, spec: Spec, files: dict[str, Path], budget: float, workdir: Path,
             presets: str = "medium_quality") -> dict:
    """Run one tool's runner as a subprocess; return its JSON plus ``wall_s``."""
    out = workdir / f"{tool}.json"
    cmd = [str(interpreter(tool)), str(BENCH / f"_peer_{tool}.py"),
           "--train", str(files["train"]), "--test", str(files["test"]), "--target", spec.target,
           "--task", spec.task, "--budget", str(budget), "--seed", str(SEED), "--out", str(out)]
    env = dict(os.environ, PYTHONPATH=str(ROOT), AUTOGLUON_PRESETS=presets)  # homl from this checkout
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True,
                              timeout=3 * budget + 300)
    except subprocess.TimeoutExpired:
        return {"tool": tool, "error": "timed out", "wall_s": time.perf_counter() - t0}
    wall = time.perf_counter() - t0
    if not out.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"tool": tool, "error": f"exit {proc.returncode}: {tail[0]}", "wall_s": wall}
    res = json.loads(out.read_text())
    res["wall_s"] = wall
    return res


def score(task: str, y: np.ndarray, pred: list[float]) -> dict[str, float]:
    """Same metric code for every tool."""
    p = np.asarray(pred, dtype=float)
    if task == "regression":
        return {"score": float(np.sqrt(mean_squared_error(y, p)))}
    if task == "multiclass":
        p = p / p.sum(axis=1, keepdims=True)
        return {"score": float(log_loss(y, p, labels=range(p.shape[1]))), "accuracy": float(accuracy_score(y, p.argmax(axis=1)))}
    return {"score": float(roc_auc_score(y, p)), "accuracy": float(accuracy_score(y, p >= 0.5))}


def error(task: str, score: float) -> float:
    """The score as an error, lower better: RMSE and log loss as they are, 1 - ROC AUC."""
    return 1 - score if task == "binary" else score


def winner(task: str, scores: dict[str, float]) -> str:
    """Best tool (lower RMSE or log loss, higher AUC); '-' with fewer than two results; ties joined by '='."""
    if len(scores) < 2:
        return "-"
    best = (max if task == "binary" else min)(scores.values())
    return "=".join(t for t, s in scores.items() if abs(s - best) <= 1e-9 * max(1.0, abs(best)))


def check_tools(tools: list[str]) -> list[str]:
    """Drop peers whose venv is missing (with a note); fail if nothing is left."""
    ready = []
    for tool in tools:
        if tool not in TOOLS:
            sys.exit(f"unknown tool {tool!r}; known: {', '.join(TOOLS)}")
        if not interpreter(tool).exists():
            print(f"note: {interpreter(tool).relative_to(ROOT)} is missing, skipping {tool}: "
                  f"run bench/setup_peers.sh {tool} first", file=sys.stderr)
        elif tool == "homl" and subprocess.run([sys.executable, "-c", "import homl; homl.fit"],
                                               cwd=ROOT, capture_output=True).returncode:
            print("note: `homl.fit` cannot be imported here, skipping homl", file=sys.stderr)
        else:
            ready.append(tool)
    if not ready:
        sys.exit("no tool to run: run bench/setup_peers.sh first")
    return ready


def normalised(rows: list[dict], tools: list[str]) -> dict[str, list[float]]:
    """Each tool's error relative to the best tool's, per set (1 = best): RMSE, 1 - ROC AUC or log loss."""
    out: dict[str, list[float]] = {t: [] for t in tools}
    for r in rows:
        errors = {t: error(r["task"], x["score"]) for t, x in r["res"].items() if "score" in x}
        best = min(errors.values(), default=np.nan)
        for t in tools:
            out[t].append(errors[t] / best if t in errors and best > 0 else np.nan)
    return out


def fmt(x: float | None, digits: int = 4) -> str:
    return "-" if x is None or np.isnan(x) else f"{x:.{digits}g}"


def report(rows: list[dict], tools: list[str], budget: float) -> str:
    """Markdown: one summary table, then per-tool details (accuracy, times, errors)."""
    head = ["set", "task", "metric", *tools, "winner", *[f"{t} s" for t in tools]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["set"], r["task"], r["metric"]]
        cells += [fmt(r["res"][t].get("score")) if "score" in r["res"][t] else "error" for t in tools]
        cells.append(r["winner"])
        for t in tools:
            fit_s = r["res"][t].get("fit_s")
            flag = " ⚠" if fit_s is not None and fit_s > OVERRUN * budget else ""
            cells.append(f"{fmt(fit_s, 3)}{flag}")
        lines.append("| " + " | ".join(cells) + " |")
    ratios = normalised(rows, tools)
    lines += ["", "Error relative to the best tool of the set (RMSE, 1 - ROC AUC or log loss; 1 = best):", "",
              "| set | " + " | ".join(tools) + " |", "|" + "---|" * (len(tools) + 1)]
    lines += [f"| {r['set']} | " + " | ".join(fmt(ratios[t][i], 3) for t in tools) + " |" for i, r in enumerate(rows)]
    lines.append("| **mean** | " + " | ".join(f"**{fmt(float(np.nanmean(ratios[t])), 3)}**" for t in tools) + " |")
    lines += ["", f"Seconds are the fit call's own time; ⚠ marks a fit over {OVERRUN:.0%} of the "
              f"{budget:g} s budget.", "",
              "| set | tool | version | model | score | accuracy | fit s | predict s | process wall s | error |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        for t in tools:
            x = r["res"][t]
            lines.append(f"| {r['set']} | {t} | {x.get('version', '-')} | {x.get('model', '-')} | {fmt(x.get('score'))} | "
                         f"{fmt(x.get('accuracy'))} | {fmt(x.get('fit_s'), 3)} | "
                         f"{fmt(x.get('predict_s'), 3)} | {fmt(x.get('wall_s'), 3)} | "
                         f"{x.get('error', '')} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", type=float, default=60, help="seconds per tool and set")
    ap.add_argument("--sets", default=",".join(SHARED), help=f"comma-separated subset of: {', '.join(SETS)}; "
                    "'shared' and 'unseen' name the two groups")
    ap.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset of: " + ", ".join(TOOLS))
    ap.add_argument("--autogluon-presets", help="AutoGluon presets (default: its default below 300 s, "
                    "best_quality from 300 s)")
    ap.add_argument("--tag", default="", help="suffix of the result files (peers-<budget>s<tag>.md)")
    args = ap.parse_args()
    groups = {"shared": SHARED, "unseen": tuple(UNSEEN)}
    names = [n for s in args.sets.split(",") if s.strip() for n in groups.get(s.strip(), (s.strip(),))]
    if unknown := [s for s in names if s not in SETS]:
        sys.exit(f"unknown set(s) {unknown}; known: {', '.join(SETS)}")
    if any(n in SHARED for n in names) and not DATA.is_dir():
        sys.exit(f"data folder not found: {DATA} (expected ../shared/data beside the repo)")
    tools = check_tools([t.strip() for t in args.tools.split(",") if t.strip()])
    presets = autogluon_presets(args.budget, args.autogluon_presets)

    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="homl-peers-") as tmp:
        for name in names:
            spec = SETS[name]
            train, test_x, y_test = prepare(name, spec)
            work = Path(tmp) / name
            work.mkdir()
            files = {"train": work / "train.parquet", "test": work / "test.parquet"}
            train.to_parquet(files["train"], index=False)
            test_x.to_parquet(files["test"], index=False)
            res: dict[str, dict] = {}
            for tool in tools:
                print(f"[{name}] {tool}: {len(train)} train / {len(test_x)} test rows, "
                      f"{args.budget:g} s ...", file=sys.stderr, flush=True)
                res[tool] = run_tool(tool, spec, files, args.budget, work, presets)
                if "pred" in res[tool]:
                    res[tool].update(score(spec.task, y_test, res[tool].pop("pred")))
                else:
                    print(f"  {tool} failed: {res[tool].get('error')}", file=sys.stderr)
            scores = {t: r["score"] for t, r in res.items() if "score" in r}
            rows.append({"set": name, "task": spec.task, "res": res, "winner": winner(spec.task, scores),
                         "metric": METRICS[spec.task]})

    table = report(rows, tools, args.budget)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    stem = f"peers-{args.budget:g}s{args.tag}"
    header = (f"# homl vs peers, {args.budget:g} s budget\n\n{time.strftime('%Y-%m-%d')}, "
              f"{os.cpu_count()} CPUs, seed {SEED}, 20 % test split"
              + (f", AutoGluon presets {presets}" if "autogluon" in tools else "") + ". "
              f"Command: `bench/peers.py --budget {args.budget:g} --sets {','.join(names)} --tools {','.join(tools)}`\n\n")
    (RESULTS / f"{stem}.md").write_text(header + table + "\n")
    pd.DataFrame([{"set": r["set"], "task": r["task"], "metric": r["metric"], "tool": t, "winner": r["winner"],
                   **{k: v for k, v in x.items() if k != "tool"}}
                  for r in rows for t, x in r["res"].items()]).to_csv(RESULTS / f"{stem}.csv", index=False)
    print(f"\nwrote bench/results/{stem}.md and .csv", file=sys.stderr)


if __name__ == "__main__":
    main()
