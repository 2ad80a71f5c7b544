"""Diagnostics of a fitted model as plain data: computed once at fit time, saved in the model
directory as ``diagnostics.json``, and drawn by the model report without the training data.

The cheap facts come first, whatever the time left: the test predictions, the rows outside
the training range, and the model's own importances per input column (so some importance is
always there). Every costly step (TreeSHAP, permutation importance, learning and validation
curves, partial dependence) runs on a row sample and before a deadline; a step that does not
fit is skipped and listed in ``skipped``, so the report can say what it lacks and why.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from homl._json import to_json
from homl.data import Schema, SplitStrategy
from homl.errors import ConfigError
from homl.metrics import Metric
from homl.models import network_history
from homl.select import cost_ratio, fit_pipeline, predict_output, size_defaults

from ._budget import OutOfTime
from ._importance import best_importance, booster_leaves, own_importance, top_columns, tree_shap
from ._range import RangeCheck, out_of_range, p_actual

DIAGNOSTICS_FILE = "diagnostics.json"
#: Rows used for the learning and validation curves.
CURVE_ROWS = 3000
#: Test rows used for permutation importance, and training rows for partial dependence.
PERMUTATION_ROWS = 2000
#: ...and at least this many when the model is slow to predict.
MIN_PERMUTATION_ROWS = 300
#: When not every column fits in the time, at least this many (the most important first) or none.
MIN_PERMUTED = 3
PDP_ROWS = 200
#: The best possible value of each metric: errors are read as a share of the way to the baseline.
PERFECT = {"rmse": 0.0, "mae": 0.0, "r2": 1.0, "roc_auc": 1.0, "log_loss": 0.0, "accuracy": 1.0,
           "balanced_accuracy": 1.0, "f1": 1.0}
#: Shares of the diagnostics' time for each costly step, in the order they run.
SHARES = {"TreeSHAP": 0.1, "permutation importance": 0.3, "learning curve": 0.25, "validation curve": 0.15,
          "partial dependence": 0.1, "leakage check": 0.1}
KEYS = {"TreeSHAP": "treeshap", "permutation importance": "permutation", "learning curve": "learning_curve",
        "validation curve": "validation_curve", "partial dependence": "partial_dependence",
        "leakage check": "single_feature"}


@dataclass
class DiagnoseInput:
    """Everything the diagnostics need; kept on a result fitted without a report."""

    model: Any  # the winner fitted on the training rows only
    X_train: pd.DataFrame
    y_train: np.ndarray
    X_test: pd.DataFrame
    y_test: np.ndarray
    task: str
    metric: Metric
    schema: Schema
    winner: str
    single: str  # the best single (non-ensemble) family: curves use it
    single_params: dict[str, Any]
    build_single: Callable[[dict[str, Any]], Any]
    space: dict[str, Any]
    studies: dict[str, Any] = field(default_factory=dict)
    families: list[str] = field(default_factory=list)  # families that could have been tried
    tried: list[str] = field(default_factory=list)  # names on the leaderboard
    notes: list[str] = field(default_factory=list)
    seed: int = 42
    tuning: dict[str, Any] | None = None  # read from the studies early when their storage goes away
    fit_seconds: float = 0.0  # the single model's fit time in cross-validation...
    fit_rows: int = 1  # ...on this many rows
    strategy: SplitStrategy = field(default_factory=SplitStrategy)  # how the fit split its training rows
    groups: np.ndarray | None = None  # each training row's group, when the strategy keeps groups whole
    test_rows: np.ndarray | None = None  # each test row's number in the data (1 = the first), when known

    def fit_estimate(self, n_rows: int) -> float:
        """Seconds one fit of the single model on ``n_rows`` rows should take (never below a tenth)."""
        return self.fit_seconds * max(n_rows / max(self.fit_rows, 1), 0.1)

    def affordable_rows(self, seconds: float, fits: float, most: int) -> int:
        """Rows such that ``fits`` fits on them take about ``seconds`` (200 to ``most``)."""
        if self.fit_seconds <= 0:
            return most
        rows = seconds / (fits * self.fit_seconds) * self.fit_rows
        return int(min(most, max(200, rows)))


def diagnose(inp: DiagnoseInput, deadline: float) -> dict[str, Any]:
    """All diagnostics as a JSON-ready dict; costly steps share the time left before ``deadline``."""
    if len(inp.X_test) == 0:
        raise ConfigError("the model report needs test rows to diagnose the model; this fit had none")
    classes = None if inp.task == "regression" else np.asarray(inp.model.classes_)
    out: dict[str, Any] = {"format": 1, "task": inp.task, "metric": inp.metric.name, "winner": inp.winner,
                           "single_model": inp.single, "skipped": []}
    out["seconds"] = {"started": round(deadline - time.monotonic(), 2)}  # seconds there were at the start
    out["test"], out["out_of_range"] = _test_predictions(inp, classes)
    out["data"] = _data_facts(inp)
    out["tuning"] = inp.tuning if inp.tuning is not None else tuning_history(inp)
    out["epochs"] = _cheap(out, "epochs", lambda: network_history(inp.model))
    started = time.monotonic()
    out["own_importance"] = _cheap(out, "own importance", lambda: own_importance(inp.model, inp.X_test, inp.seed))
    out["seconds"]["own importance"] = round(time.monotonic() - started, 2)
    boosters = _cheap(out, "TreeSHAP", lambda: booster_leaves(inp.model, inp.single))
    steps: dict[str, Callable[[float], Any]] = {
        "TreeSHAP": lambda d: tree_shap(boosters, inp.X_test, d, inp.seed),
        "permutation importance": lambda d: _permutation_importance(inp, classes, d, _ranking(out)),
        "learning curve": lambda d: _learning_curve(inp, d),
        "partial dependence": lambda d: _partial_dependence(inp, classes, _top_features(out, inp, 3), d),
        "leakage check": lambda d: _single_feature_scores(inp, _top_features(out, inp, 3), d),
        "validation curve": lambda d: _validation_curve(inp, out["tuning"], d),  # the least telling: last
    }
    out["treeshap"] = None
    if not boosters:
        del steps["TreeSHAP"]
    names = list(steps)
    for i, name in enumerate(names):
        now = time.monotonic()
        left = deadline - now
        share = SHARES[name] / sum(SHARES[n] for n in names[i:])
        out[KEYS[name]] = None
        if left <= 0.05:
            out["skipped"].append(f"{name}: no time left within the time limit")
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[KEYS[name]] = steps[name](now + left * share)
        except OutOfTime as stop:
            out["skipped"].append(f"{name}: {stop}")
        except Exception as error:  # a diagnostic must never lose the model
            out["skipped"].append(f"{name}: could not be computed ({type(error).__name__}: {error})")
        out["seconds"][name] = round(time.monotonic() - now, 2)
    out["verdict"] = learning_verdict(out["learning_curve"], inp.metric.name)
    out["leakage"] = _leakage_warnings(out, inp)
    return to_json(out)


def _cheap(out: dict[str, Any], name: str, step: Callable[[], Any]) -> Any:
    """A step that runs whatever the time left (it takes well under a second); None if it fails."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return step()
    except Exception as error:  # a diagnostic must never lose the model
        out["skipped"].append(f"{name}: could not be computed ({type(error).__name__}: {error})")
        return None


def _ranking(out: dict[str, Any]) -> tuple[list[str], str] | None:
    """The input columns ranked by the cheap importances so far, and the method that ranked them."""
    best = best_importance(out)
    return None if best is None else (list(best["columns"]), best["method"])


# ------------------------------------------------------------------ cheap facts


def _test_predictions(inp: DiagnoseInput, classes: np.ndarray | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Test-set truth and predictions of the training-rows model, the worst errors, and the rows
    outside the training range."""
    prediction = predict_output(inp.model, inp.X_test, classes)
    test: dict[str, Any] = {"y_true": inp.y_test, "prediction": prediction, "rows": len(inp.y_test),
                            "classes": classes}
    numeric = [c.name for c in inp.schema.features if c.kind == "numeric" and c.name in inp.X_test.columns]
    check = RangeCheck.of(inp.X_train, inp.X_test, numeric)
    ranges = out_of_range(check, inp.y_test, prediction, classes, inp.test_rows)
    test["worst"] = _worst_errors(inp, prediction, classes, check, ranges["row_label"])
    return test, ranges


def _worst_errors(inp: DiagnoseInput, prediction: np.ndarray, classes: np.ndarray | None, check: RangeCheck,
                  row_label: str) -> dict[str, list[Any]]:
    """The 15 test rows with the largest errors, beside their inputs and the values outside the training range."""
    if inp.task == "regression":
        error = prediction - inp.y_test.astype(float)
    else:
        error = 1 - p_actual(inp.y_test, prediction, classes)
    worst = np.argsort(-np.abs(error))[:15]
    table = inp.X_test.iloc[worst].astype(object).copy()
    ids = np.arange(1, len(error) + 1) if inp.test_rows is None else np.asarray(inp.test_rows)
    table.insert(0, row_label, ids[worst])
    table.insert(1, "actual", inp.y_test[worst])
    if inp.task == "regression":
        table.insert(2, "predicted", prediction[worst])
        table.insert(3, "predicted − actual", error[worst])
    else:
        table.insert(2, "predicted", classes[np.argmax(prediction[worst], axis=1)])
        table.insert(3, "p(actual)", 1 - error[worst])
    table.insert(4, "outside training range", ["; ".join(f"{c}: {v}" for c, v in check.describe(p).items())
                                               for p in worst])
    return table.where(table.notna(), None).to_dict(orient="list")


def _data_facts(inp: DiagnoseInput) -> dict[str, Any]:
    features = [c.name for c in inp.schema.features]
    return {
        "train_rows": len(inp.X_train), "test_rows": len(inp.X_test), "features": features,
        "kinds": {c.name: c.kind for c in inp.schema.features},
        "dropped": [{"column": c.name, "reason": c.reason or c.kind} for c in inp.schema.dropped],
        "not_tried": [f for f in inp.families if f not in inp.tried],
        "limits_notes": [n for n in inp.notes if _is_limit(n)],
    }


def _is_limit(note: str) -> bool:
    words = ("left out", "passed over", "not refitted", "too small", "sample of", "set aside", "not kept",
             "dropped", "skipped", "could not")
    return any(w in note for w in words)


def tuning_history(inp: DiagnoseInput) -> dict[str, Any]:
    """Optuna trials per family (values in metric units), and parameter importances."""
    families = {}
    for name, study in inp.studies.items():
        trials = []
        for t in study.get_trials(deepcopy=False):
            value = None if t.value is None else (-t.value if inp.metric.greater_is_better else t.value)
            trials.append({
                "number": t.number, "state": t.state.name, "value": value,
                "start": t.datetime_start.isoformat() if t.datetime_start else None,
                "seconds": t.duration.total_seconds() if t.duration else None,
                "params": t.params,
            })
        families[name] = {"trials": trials, "importance": _param_importance(study)}
    return families


def _param_importance(study: Any) -> dict[str, float]:
    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 4 or not any(t.params for t in complete):
        return {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            evaluator = optuna.importance.FanovaImportanceEvaluator(n_trees=16, seed=0)
            return dict(optuna.importance.get_param_importances(study, evaluator=evaluator))
    except Exception:  # too few distinct values, a single-point space...
        return {}


# ------------------------------------------------------------------ costly steps


def _sample(X: pd.DataFrame, y: np.ndarray, n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    if len(X) <= n:
        return X, y
    keep = np.sort(np.random.default_rng(seed).choice(len(X), size=n, replace=False))
    return X.iloc[keep], y[keep]


def _score(metric: Metric, model: Any, X: pd.DataFrame, y: np.ndarray, classes: np.ndarray | None) -> float:
    return metric(y, predict_output(model, X, classes), classes)


def _check(deadline: float, what: str) -> None:
    if time.monotonic() > deadline:
        raise OutOfTime(f"stopped at {what}: it did not fit in the time limit")


def _late(deadline: float, what: str, done: list[Any], enough: int) -> bool:
    """Past the deadline: stop and keep what is done when that is ``enough``, else give up."""
    if time.monotonic() <= deadline:
        return False
    if len(done) >= enough:
        return True
    raise OutOfTime(f"stopped at {what}: it did not fit in the time limit")


def _permutation_importance(inp: DiagnoseInput, classes, deadline: float,
                            ranking: tuple[list[str], str] | None = None) -> dict[str, Any]:
    """Drop in the test score when each original column is shuffled (positive = the model uses it).

    Columns go in the order of ``ranking`` (columns ranked by a cheaper importance, and its
    method) when given; when not all of them fit in the time, the first ones are kept.
    """
    X, y = _sample(inp.X_test, inp.y_test, PERMUTATION_ROWS, inp.seed)
    if len(X) < 10:
        raise OutOfTime("the test set has fewer than 10 rows")
    ranked = [c for c in (ranking[0] if ranking else []) if c in X.columns]
    columns = ranked + [c for c in X.columns if c not in ranked]
    while True:
        started = time.monotonic()
        reference = _score(inp.metric, inp.model, X, y, classes)
        one = max(time.monotonic() - started, 1e-3)
        started = time.monotonic()
        predict_output(inp.model, pd.concat([X, X], ignore_index=True), classes)
        # A column's repeats go through one call: a fixed cost, plus this much per repeat.
        per_repeat = min(max(time.monotonic() - started - one, 0.0), one)
        pass_seconds = _pass_cost(one, per_repeat, len(columns))
        # Fewer rows when not even two repeats fit: a model slow to predict still gets an answer.
        if time.monotonic() + pass_seconds(2) <= deadline or len(X) <= MIN_PERMUTATION_ROWS:
            break
        shrink = (deadline - time.monotonic()) / pass_seconds(2)
        X, y = _sample(X, y, max(MIN_PERMUTATION_ROWS, int(len(X) * shrink * 0.8)), inp.seed)
    left = deadline - time.monotonic()
    repeats = max([r for r in range(1, 6) if pass_seconds(r) <= left], default=0)
    total = len(columns)
    if repeats < 1:  # one repeat of the columns that fit, the most important first
        columns, repeats = columns[:int(left / one)], 1
        if len(columns) < min(MIN_PERMUTED, total):
            raise OutOfTime(f"one pass over the {total} columns takes about {pass_seconds(1):.1f} s, "
                            "more than its share of the time limit")
    rng = np.random.default_rng(inp.seed)
    sign = 1 if inp.metric.greater_is_better else -1
    drops: list[np.ndarray] = []
    for column in columns:
        if _late(deadline, f"column '{column}'", drops, min(MIN_PERMUTED, total)):
            break
        values = X[column].to_numpy()
        shuffles = [values[rng.permutation(len(X))] for _ in range(repeats)]
        predictions = _predict_varied(inp.model, X, column, shuffles, classes)
        drops.append(np.array([sign * (reference - inp.metric(y, p, classes)) for p in predictions]))
    done, matrix = columns[:len(drops)], np.asarray(drops)
    order = np.argsort(-matrix.mean(axis=1), kind="stable")
    return {"method": "permutation", "columns": [done[i] for i in order], "mean": matrix.mean(axis=1)[order],
            "std": matrix.std(axis=1)[order], "repeats": repeats, "rows": len(X), "reference": reference,
            "of": total, "ranked_by": ranking[1] if ranking and len(done) < total else None}


def _predict_varied(model: Any, X: pd.DataFrame, column: str, variants: list[np.ndarray],
                    classes: np.ndarray | None) -> list[np.ndarray]:
    """Predictions of ``X`` with ``column`` replaced by each of ``variants`` in turn.

    Every variant's copy of the rows goes through one prediction call: a model's fixed cost
    per call (thread start-up, preparation) is paid once, not once per variant.
    """
    varied = pd.concat([X] * len(variants), ignore_index=True)
    varied[column] = pd.Series(np.concatenate(variants), dtype=X[column].dtype)
    return np.split(predict_output(model, varied, classes), len(variants))


def _pass_cost(one: float, per_repeat: float, n_columns: int) -> Callable[[int], float]:
    """Seconds of a pass over the columns with so many repeats: one call per column, a fixed
    cost ``one`` plus ``per_repeat`` for each repeat after the first."""
    return lambda repeats: (one + (repeats - 1) * per_repeat) * n_columns


def _split_sample(inp: DiagnoseInput, n: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None]:
    """About ``n`` training rows, drawn as the fit drew its search sample (the latest rows, whole groups),
    with their groups."""
    keep = inp.strategy.sample(len(inp.y_train), n, groups=inp.groups)
    return inp.X_train.iloc[keep], inp.y_train[keep], None if inp.groups is None else inp.groups[keep]


def _folds(inp: DiagnoseInput, y: np.ndarray, groups: np.ndarray | None, n: int = 3):
    """``n`` folds drawn the fit's way, so curves are not flattered by a split the selection refused."""
    strata = y if inp.task != "regression" and pd.Series(y).value_counts().min() >= n else None
    return replace(inp.strategy, n_folds=n, repeats=1).folds(len(y), strata=strata, groups=groups)


def _fit_score(inp: DiagnoseInput, params: dict[str, Any], X, y, groups, train, valid, classes
               ) -> tuple[float, float]:
    model = inp.build_single(params)
    # One thread: small fits gain nothing from more, and threads that wait for busy cores stall.
    model.set_params(**{k: 1 for k in model.get_params() if k.endswith("n_jobs")})
    fit_pipeline(model, X.iloc[train], y[train], groups=None if groups is None else groups[train])
    return (_score(inp.metric, model, X.iloc[train], y[train], classes),
            _score(inp.metric, model, X.iloc[valid], y[valid], classes))


def _classes(y: np.ndarray, task: str) -> np.ndarray | None:
    return None if task == "regression" else np.unique(y)


def _learning_curve(inp: DiagnoseInput, deadline: float) -> dict[str, Any]:
    """Training and validation scores of the best single model as the training set grows (3 folds)."""
    from sklearn.dummy import DummyClassifier, DummyRegressor

    # 3 folds of 5 sizes (0.1 + 0.25 + 0.5 + 0.75 + 1 = 2.6 full fits each) on 2/3 of the sample.
    rows = inp.affordable_rows(deadline - time.monotonic(), 3 * 2.6 * 2 / 3, CURVE_ROWS)
    X, y, groups = _split_sample(inp, rows)
    classes, folds = _classes(y, inp.task), _folds(inp, y, groups)
    rng = np.random.default_rng(inp.seed)
    dummy = DummyRegressor() if classes is None else DummyClassifier(strategy="prior")
    baseline = float(np.mean([_score(inp.metric, dummy.fit(X.iloc[t], y[t]), X.iloc[v], y[v], classes)
                              for t, v in folds]))
    points, timed = [], []  # timed: (size, seconds) of each size fitted
    for share in (0.1, 0.25, 0.5, 0.75, 1.0):
        size = max(int(share * min(len(t) for t, _ in folds)), 10)
        expected = _extrapolate(timed, size) if timed else 3 * inp.fit_estimate(size)
        if time.monotonic() + expected > deadline:
            break
        started, scores = time.monotonic(), []
        for train, valid in folds:
            train = rng.permutation(train)[:size]
            scores.append(_fit_score(inp, inp.single_params, X, y, groups, train, valid, classes))
        timed.append((size, time.monotonic() - started))
        s = np.asarray(scores)
        points.append({"size": size, "train_mean": s[:, 0].mean(), "train_std": s[:, 0].std(),
                       "valid_mean": s[:, 1].mean(), "valid_std": s[:, 1].std()})
        if time.monotonic() > deadline:
            break
    if len(points) < 2:
        raise OutOfTime("fewer than two training-set sizes fitted in the time limit")
    return {"model": inp.single, "points": points, "baseline": baseline, "folds": len(folds), "rows": len(X)}


def _extrapolate(timed: list[tuple[int, float]], size: int) -> float:
    """Seconds for ``size`` rows: a fixed cost plus a cost per row, from the sizes timed so far.

    Small fits are mostly fixed cost (preparation, set-up), so scaling the first one by rows
    would overstate the next; with one timing, half of it is taken as fixed.
    """
    (n1, t1), *rest = timed[-2:]
    if not rest:
        return t1 / 2 + t1 / 2 * size / n1
    n2, t2 = rest[0]
    per_row = max((t2 - t1) / max(n2 - n1, 1), 0.0)
    return max(t2 + per_row * (size - n2), t2)


def main_parameter(inp: DiagnoseInput, tuning: dict[str, Any]) -> str | None:
    """The single model's most important tuned parameter (Optuna's importances), else its first one."""
    from homl.models import Choice

    fixed = {p for p, d in inp.space.items() if isinstance(d, Choice) and len(d.options) < 2}
    model_params = [p for p in inp.space if not p.startswith("prep:") and p not in fixed]
    importance = tuning.get(inp.single, {}).get("importance", {})
    ranked = [p for p in sorted(importance, key=importance.get, reverse=True) if p in model_params]
    return (ranked or model_params or [None])[0]


def _grid(dimension: Any, current: Any) -> list[Any]:
    from homl.models import Choice, FloatRange, IntRange

    if isinstance(dimension, Choice):
        values = list(dimension.options)[:6]
    elif isinstance(dimension, (IntRange, FloatRange)):
        space = np.geomspace if dimension.log and dimension.low > 0 else np.linspace
        values = list(space(dimension.low, dimension.high, 6))
        if isinstance(dimension, IntRange):
            values = sorted({int(round(v)) for v in values})
    else:
        return []
    if current is not None and current not in values:
        values.append(current)
        if not isinstance(dimension, Choice):
            values.sort()
    return values


def _validation_curve(inp: DiagnoseInput, tuning: dict[str, Any], deadline: float) -> dict[str, Any]:
    """Training and validation scores of the best single model over its main hyperparameter (3 folds)."""
    param = main_parameter(inp, tuning)
    if param is None:
        raise OutOfTime(f"{inp.single} has no hyperparameter to vary")
    current = inp.single_params.get(param)
    values = _grid(inp.space[param], current)
    rows = inp.affordable_rows(deadline - time.monotonic(), 3 * len(values) * 2 / 3, CURVE_ROWS // 2)
    X, y, groups = _split_sample(inp, rows)
    classes, folds = _classes(y, inp.task), _folds(inp, y, groups)
    points: list[dict[str, Any]] = []
    # A value's cost follows the search's cost model (more trees, or a slower learning rate).
    defaults = size_defaults(inp.build_single({}))
    current_cost = cost_ratio(inp.single_params, defaults)
    three_fits = 3 * inp.fit_estimate(int(np.mean([len(t) for t, _ in folds])))
    correction, left_out = 1.0, []

    def relative_cost(value: Any) -> float:
        return cost_ratio({**inp.single_params, param: value}, defaults) / current_cost

    for value in sorted(values, key=relative_cost):  # the cheapest first; drawn in order of value
        shown = f"{param}={value:.4g}" if isinstance(value, float) else f"{param}={value}"
        params = {**inp.single_params, param: value}
        expected = three_fits * relative_cost(value) * correction
        if time.monotonic() + expected > deadline:
            left_out.append(shown)  # a dearer value; cheaper ones may still fit
            continue
        started = time.monotonic()
        s = np.asarray([_fit_score(inp, params, X, y, groups, t, v, classes) for t, v in folds])
        correction = max(correction, (time.monotonic() - started) / max(expected / correction, 1e-3))
        points.append({"value": value, "train_mean": s[:, 0].mean(), "train_std": s[:, 0].std(),
                       "valid_mean": s[:, 1].mean(), "valid_std": s[:, 1].std()})
    points.sort(key=lambda point: values.index(point["value"]))
    if len(points) < 2:
        raise OutOfTime(f"fewer than two values of {param} fitted in the time limit"
                        + (f" ({', '.join(left_out)} would not fit)" if left_out else ""))
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    log = bool(getattr(inp.space[param], "log", False))
    return {"model": inp.single, "param": param, "current": current, "points": points, "numeric": numeric,
            "log": log, "rows": len(X), "left_out": left_out}


def _top_features(out: dict[str, Any], inp: DiagnoseInput, n: int) -> list[str]:
    """The ``n`` most important columns a curve can vary (the first columns when none is ranked)."""
    usable = [c.name for c in inp.schema.features if c.kind not in ("text", "datetime")]
    ranked = top_columns(out, len(usable)) or usable
    return [c for c in ranked if c in usable][:n]


def _partial_dependence(inp: DiagnoseInput, classes, features: list[str], deadline: float) -> list[dict[str, Any]]:
    """Average prediction as one feature is set to each value of a grid, the others kept as they are."""
    X, _ = _sample(inp.X_train, inp.y_train, PDP_ROWS, inp.seed)
    curves: list[dict[str, Any]] = []
    last = 0.0  # seconds the previous feature took
    for feature in features:
        if _late(deadline - last, f"feature '{feature}'", curves, 1):
            break
        started = time.monotonic()
        column = X[feature]
        kind = inp.schema[feature].kind
        if kind == "numeric":
            grid = list(np.unique(np.nanquantile(column.astype(float), np.linspace(0.05, 0.95, 12))))
        else:
            grid = list(column.dropna().value_counts().index[:10])
        settings = [np.full(len(X), value, dtype=object) for value in grid]
        values = [block.mean(axis=0) for block in _predict_varied(inp.model, X, feature, settings, classes)]
        curves.append({"feature": feature, "kind": kind, "grid": grid, "values": values,
                       "classes": classes})
        last = time.monotonic() - started
    return curves


def _single_feature_scores(inp: DiagnoseInput, features: list[str], deadline: float) -> dict[str, float]:
    """Cross-validated score of a small tree on each top feature alone: near perfect hints at leakage."""
    from sklearn.model_selection import cross_val_score
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    X, y, groups = _split_sample(inp, 2000)
    folds = _folds(inp, y, groups)
    scores = {}
    for feature in features:
        _check(deadline, f"feature '{feature}'")
        column = X[feature]
        if inp.schema[feature].kind == "numeric":
            values = column.astype(float).fillna(column.astype(float).median()).to_numpy()
        else:
            values = pd.Series(pd.factorize(column.astype(str))[0]).to_numpy()
        tree = DecisionTreeRegressor(max_depth=6) if inp.task == "regression" else DecisionTreeClassifier(max_depth=6)
        scoring = "r2" if inp.task == "regression" else "accuracy"
        scores[feature] = float(np.mean(cross_val_score(tree, values.reshape(-1, 1), y, cv=folds, scoring=scoring)))
    return scores


# ------------------------------------------------------------------ readings


def normalised_error(value: float, baseline: float, metric: str) -> float:
    """0 for a perfect score, 1 for the baseline's (can exceed 1 when worse than the baseline)."""
    perfect = PERFECT.get(metric, 0.0)
    span = baseline - perfect
    return float((value - perfect) / span) if span else float("nan")


def learning_verdict(curve: dict[str, Any] | None, metric: str) -> dict[str, str] | None:
    """The book's reading of learning curves (chapter 4): under-fitting, over-fitting or fine."""
    if not curve:
        return None
    last, previous = curve["points"][-1], curve["points"][-2]
    base = curve["baseline"]
    train, valid = (normalised_error(last[k], base, metric) for k in ("train_mean", "valid_mean"))
    improving = normalised_error(previous["valid_mean"], base, metric) - valid > 0.03
    gap = valid - train
    if not np.isfinite(gap):
        return None
    more_data = " The validation score still improves with more rows: more data would likely help." if improving else ""
    if train > 0.5 and gap < 0.15:
        return {"verdict": "under-fitting (high bias)",
                "advice": "Both curves plateau close together and far from perfect: the model is too simple for "
                          "the data. Try a more powerful model, better features (combinations, transformations), "
                          "or less regularisation; more rows alone will not help." + more_data}
    if gap > 0.15:
        return {"verdict": "over-fitting (high variance)",
                "advice": "The training score is much better than the validation score: the model memorises "
                          "the training rows. Try more training data, more regularisation (or fewer degrees of "
                          "freedom), or fewer, cleaner features." + more_data}
    return {"verdict": "fine",
            "advice": "The curves end close together and well above the baseline: neither strong bias nor strong "
                      "variance. Gains now come from better features or more data." + more_data}


def _leakage_warnings(out: dict[str, Any], inp: DiagnoseInput) -> list[str]:
    warnings_: list[str] = []
    permutation = out.get("permutation")
    if permutation:
        positive = np.clip(np.asarray(permutation["mean"], dtype=float), 0, None)
        if positive.sum() > 0 and positive[0] / positive.sum() > 0.8 and len(positive) > 1:
            warnings_.append(
                f"'{permutation['columns'][0]}' carries {positive[0] / positive.sum():.0%} of the permutation "
                "importance: check that it is known at prediction time and not derived from the target."
            )
    for feature, score in (out.get("single_feature") or {}).items():
        limit = 0.98 if inp.task == "regression" else 0.995
        if score >= limit:
            what = "R²" if inp.task == "regression" else "accuracy"
            warnings_.append(f"'{feature}' alone predicts the target almost perfectly ({what} {score:.3f} in "
                             "3-fold CV): a likely leak (a copy or a consequence of the target).")
    return warnings_
