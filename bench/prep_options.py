"""Which preparation options help LightGBM on which tables: one option changed at a time.

The question: should the search's seeded trials (the configurations it tries first, the only
ones a small budget may reach) fix their preparation options instead of drawing them at
random? Each table's training split (bench/peers.py's shared and unseen sets) is
cross-validated with LightGBM at homl's first seeded configuration: once with the
preprocessor's defaults, then once for each value of each preparation option the search
offers on that table (``homl.models.prep_space``), one option changed at a time; where days
repeat, the dates as categories both target-encoded and as LightGBM's own categories; and,
beside them, every column offered to every tree (``colsample_bytree`` 1.0, the seed has 0.8).
5 shuffled folds, three times over for tables under 2,000 rows. It prints the error (RMSE,
1 - ROC AUC, or log loss) with the defaults and the change of each variant (negative is better).

    .venv/bin/python bench/prep_options.py [--sets housing,titanic,...]
"""

from __future__ import annotations

import argparse
import time
import warnings

import peers
from sklearn.model_selection import RepeatedKFold, RepeatedStratifiedKFold, cross_val_score

from homl.data import coerce_frame, infer_schema
from homl.models import build_pipeline, get_spec, prep_space
from homl.prep import TablePreprocessor
from homl.tasks.tabular import _context

#: Tables under this many rows are cross-validated three times over.
SMALL_ROWS = 2_000


def variants(X, schema) -> dict[str, dict]:
    """Label -> the parameters that differ from the seeded configuration with default preparation."""
    context = _context(X, schema)  # what the search reads of the table: the same options as a fit's
    space = prep_space(get_spec("lightgbm"), context["has_geo"], context["has_heavy"], context["has_categorical"],
                       context["has_repeated_dates"])
    found = {"all columns per tree": {"colsample_bytree": 1.0}}
    defaults = TablePreprocessor().get_params()
    for option, choice in space.items():
        for value in choice.options:
            if value != defaults[option.removeprefix("prep:")]:
                found[f"{option.removeprefix('prep:')} {value}"] = {option: value}
    if context["has_repeated_dates"]:
        found["date_values True, categorical native"] = {"prep:date_values": True, "prep:categorical": "native"}
    return found


def table_row(name: str) -> str:
    """The table's row: the error with the defaults and the change of each variant."""
    lightgbm = get_spec("lightgbm")
    spec = peers.SETS[name]
    train, _, _ = peers.prepare(name, spec)
    schema = infer_schema(train, spec.target)
    X, y = train.drop(columns=[spec.target]), train[spec.target]
    splitter = RepeatedKFold if spec.task == "regression" else RepeatedStratifiedKFold
    folds = splitter(n_splits=5, n_repeats=3 if len(X) < SMALL_ROWS else 1, random_state=peers.SEED)
    scoring = {"regression": "neg_root_mean_squared_error", "binary": "roc_auc"}.get(spec.task, "neg_log_loss")

    def error(params: dict) -> float:
        model = build_pipeline(lightgbm, spec.task, schema, {**lightgbm.seeds[0], **params}, seed=peers.SEED)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = cross_val_score(model, X, y, cv=folds, scoring=scoring).mean()
        return 1 - score if spec.task == "binary" else -score

    base = error({})
    changes = {label: error(params) / base - 1 for label, params in variants(coerce_frame(X, schema), schema).items()}
    return f"| {name} | {base:.5g} | " + ", ".join(f"{label} {change:+.1%}" for label, change in changes.items())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default=",".join([*peers.SHARED, *peers.UNSEEN]))
    args = ap.parse_args()
    print("| table | error with the defaults | change of each variant | seconds |")
    print("|---|---|---|---|")
    for name in [s.strip() for s in args.sets.split(",") if s.strip()]:
        start = time.perf_counter()
        print(f"{table_row(name)} | {time.perf_counter() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()
