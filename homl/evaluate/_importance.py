"""Cheap feature importances of a fitted model, per input column, in well under a second.

The model's own importances (split gains of trees, coefficient sizes of linear models) and
TreeSHAP contributions of a LightGBM or XGBoost booster are read on the *prepared* features;
each prepared feature is traced back to the input columns it comes from by changing one
input column at a time on a few rows and seeing which prepared features move (one-hot
levels, missing-value indicators, logs, geographic features of two columns...). An ensemble's
members each count by their ensemble weight.

Each result records its ``method``: ``"own"``, ``"treeshap"`` or ``"permutation"`` (the last
computed by the diagnostics themselves, when time allows); :func:`best_importance` picks the
most telling one available.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: Test rows whose TreeSHAP contributions are averaged, at most...
SHAP_ROWS = 500
#: ...and at least (timed first, to size the rest).
SHAP_PROBE = 10
#: Rows on which the spread of each prepared feature is measured (for coefficients).
SPREAD_ROWS = 500
#: Rows changed per input column when tracing prepared features back (fewer when there are many columns).
TRACE_ROWS = 64
#: Prepared-table cells traced in one go at most: the trace stays far below a second.
TRACE_CELLS = 6000
#: Prepared-table cells one tracing call produces at most (memory stays in tens of megabytes).
PREPARED_CELLS = 4_000_000
#: Input columns kept in an importance result, most important first.
TOP = 30
#: Most telling first; an ensemble member's TreeSHAP only describes part of the model.
PREFERENCE = ("permutation", "treeshap", "own", "treeshap_member")


@dataclass
class _Leaf:
    """A fitted model inside the winner, the fitted steps from the input table to its input, and
    its share of the winner's prediction."""

    estimator: Any
    chain: list[Any]
    weight: float = 1.0
    member: str | None = None  # the ensemble member it belongs to


def own_importance(model: Any, X: pd.DataFrame, seed: int = 0) -> dict[str, Any] | None:
    """The model's own importances summed per input column of ``X``, as shares of the whole.

    Trees give their split gains, linear models their coefficient sizes, each times its
    feature's standard deviation on (up to ``SPREAD_ROWS``) rows of ``X``, so that a one-hot
    level or a word set in few rows weighs what it moves, not its coefficient; an ensemble weighs
    each member's shares by its ensemble weight (members without importances are left out,
    and ``coverage`` says how much of the weight the rest carries). None when no part of the
    model has importances of its own (k-NN, kernel SVM...).
    """
    leaves = _leaves(model)
    shares, kinds, coverage = np.zeros(X.shape[1]), set(), 0.0
    traces: dict[tuple[int, ...], np.ndarray] = {}
    for leaf in leaves:
        found = _own_values(leaf.estimator)
        if found is None:
            continue
        values, kind = found
        if kind == "|coefficient|":  # a coefficient moves the prediction as far as its feature varies
            values = values * _spread(leaf, X, seed)
        per_column = _trace(leaf, X, seed, traces).T @ values
        if not np.isfinite(per_column).all() or per_column.sum() <= 0:
            continue
        shares += leaf.weight * per_column / per_column.sum()
        kinds.add(kind)
        coverage += leaf.weight
    if coverage == 0:
        return None
    result = _ranked(list(X.columns), shares / coverage)
    result.update({"method": "own", "kind": " and ".join(sorted(kinds)),
                   "ensemble": any(leaf.member for leaf in leaves), "coverage": coverage})
    return result


def booster_leaves(model: Any, single: str) -> list[_Leaf]:
    """The LightGBM or XGBoost boosters whose TreeSHAP values describe ``model`` (several when
    bagged): the model itself, or in an ensemble the member that is the best single model
    ``single``; none when that is no booster."""
    leaves = _leaves(model)
    if any(leaf.member for leaf in leaves):
        leaves = [leaf for leaf in leaves if (leaf.member or "").rsplit("_", 1)[0] == single]
    return leaves if leaves and all(_library(leaf.estimator) for leaf in leaves) else []


def tree_shap(leaves: list[_Leaf], X: pd.DataFrame, deadline: float, seed: int = 0) -> dict[str, Any]:
    """Mean |TreeSHAP contribution| per input column on up to ``SHAP_ROWS`` rows of ``X``.

    Read from LightGBM's ``pred_contrib`` or XGBoost's ``pred_contribs`` (exact for trees, in
    the booster's raw units: the target's for regression, log-odds for classification; bagged
    copies' contributions are averaged as their predictions are). Its cost grows with the
    trees and their depth (a tenth of a second a row for a large model), so ``SHAP_PROBE`` rows
    are timed first and the others sized to end by ``deadline``.
    """
    sample = _rows(X, SHAP_ROWS, seed)
    started = time.monotonic()
    probe = _contributions(leaves, sample.iloc[:SHAP_PROBE])
    per_row = (time.monotonic() - started) / min(SHAP_PROBE, len(sample))
    # The probe's rows are kept however long they took: the time is spent.
    affordable = (deadline - time.monotonic()) / max(per_row, 1e-6)
    rows = sample.iloc[:int(min(len(sample), max(SHAP_PROBE, affordable)))]
    total = probe * min(SHAP_PROBE, len(rows))
    if len(rows) > SHAP_PROBE:
        total = total + _contributions(leaves, rows.iloc[SHAP_PROBE:]) * (len(rows) - SHAP_PROBE)
    # Copies of one bagged model share their preparation, hence its trace.
    result = _ranked(list(X.columns), _trace(leaves[0], X, seed, {}).T @ (total / len(rows)))
    member = leaves[0].member
    result.update({"method": "treeshap" if member is None else "treeshap_member",
                   "library": _library(leaves[0].estimator), "rows": len(rows), "member": member,
                   "copies": len(leaves)})
    return result


def _contributions(leaves: list[_Leaf], rows: pd.DataFrame) -> np.ndarray:
    """Mean |contribution| per prepared feature on ``rows`` (summed over classes) of the boosters'
    weighted average, without the bias term."""
    total = sum(leaf.weight for leaf in leaves)
    combined = 0.0
    for leaf in leaves:
        raw = _lightgbm_raw if _library(leaf.estimator) == "lightgbm" else _xgboost_raw
        combined = combined + leaf.weight / total * raw(leaf.estimator, _through(leaf.chain, rows))
    return np.abs(combined).mean(axis=0).sum(axis=0)


def best_importance(diagnostics: dict[str, Any]) -> dict[str, Any] | None:
    """The most telling importance in ``diagnostics`` (permutation, else TreeSHAP, else the model's
    own), with its ``method``, ``columns`` and ``values``; None when there is none."""
    found = {}
    for key in ("permutation", "treeshap", "own_importance"):
        entry = diagnostics.get(key)
        # Diagnostics saved before importances were traced to input columns named prepared features.
        columns = list((entry or {}).get("columns") or (entry or {}).get("names") or [])
        if columns:
            method = entry.get("method", "permutation" if key == "permutation" else "own")
            found[method] = {**entry, "method": method, "columns": columns,
                             "values": entry.get("values", entry.get("mean"))}
    return next((found[m] for m in PREFERENCE if m in found), None)


def top_columns(diagnostics: dict[str, Any], n: int) -> list[str]:
    """The ``n`` most important input columns by :func:`best_importance` (none when there is none)."""
    best = best_importance(diagnostics)
    return [] if best is None else best["columns"][:n]


def _ranked(columns: list[str], values: np.ndarray) -> dict[str, Any]:
    order = np.argsort(-values, kind="stable")[:TOP]
    return {"columns": [columns[i] for i in order], "values": values[order], "of": len(columns)}


# ------------------------------------------------------------------ the models inside the winner


def _leaves(model: Any, chain: list[Any] | None = None, weight: float = 1.0, member: str | None = None
            ) -> list[_Leaf]:
    """The fitted models inside ``model`` (through pipelines, voting ensembles and wrappers; a
    two-layer stack's first layer, its members weighed equally)."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.ensemble import VotingClassifier, VotingRegressor
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import FixedThresholdClassifier, TunedThresholdClassifierCV
    from sklearn.pipeline import Pipeline

    from homl.models import ClippedOutput, EarlyStopping, FoldBagged, LabelEncoded, LayeredStack, RowCap

    chain = list(chain or [])
    if isinstance(model, FrozenEstimator):  # a fold model reused as it was fitted
        return _leaves(model.estimator, chain, weight, member)
    if isinstance(model, Pipeline):
        steps = [step for _, step in model.steps[:-1] if step not in (None, "passthrough")]
        return _leaves(model.steps[-1][1], chain + steps, weight, member)
    if isinstance(model, (VotingRegressor, VotingClassifier)):
        weights = [1.0] * len(model.estimators) if model.weights is None else list(model.weights)
        kept = [(name, w) for (name, step), w in zip(model.estimators, weights) if step != "drop"]
        total = sum(w for _, w in kept) or 1.0
        return [leaf for (name, w), fitted in zip(kept, model.estimators_)
                for leaf in _leaves(fitted, chain, weight * w / total, member or name)]
    if isinstance(model, LayeredStack):  # its first layer's members
        share = weight / len(model.members_)
        return [leaf for name, fitted in zip(model.names_, model.members_)
                for leaf in _leaves(fitted, chain, share, member or name)]
    if isinstance(model, FoldBagged):  # copies fitted on different folds, averaged
        return [leaf for copy in model.estimators_
                for leaf in _leaves(copy, chain, weight / len(model.estimators_), member)]
    if isinstance(model, (EarlyStopping, LabelEncoded, RowCap, ClippedOutput, FixedThresholdClassifier,
                          TunedThresholdClassifierCV)):
        return _leaves(model.estimator_, chain, weight, member)
    if isinstance(model, TransformedTargetRegressor):
        return _leaves(model.regressor_, chain, weight, member)
    calibrated = getattr(model, "calibrated_classifiers_", None)
    if calibrated is not None and len(calibrated) == 1:  # CalibratedClassifierCV(ensemble=False)
        return _leaves(calibrated[0].estimator, chain, weight, member)
    return [_Leaf(model, chain, weight, member)]


def _library(estimator: Any) -> str | None:
    """``"lightgbm"`` or ``"xgboost"`` for a tree booster of those libraries, else None."""
    module = type(estimator).__module__.split(".")[0]
    if module == "lightgbm":
        return module
    if module == "xgboost" and getattr(estimator, "booster", None) in (None, "gbtree", "dart"):
        return module
    return None


def _own_values(estimator: Any) -> tuple[np.ndarray, str] | None:
    """Importance per prepared feature, and what it is, or None for a model without any."""
    if _library(estimator) == "lightgbm":  # its default counts splits; their gains say more
        return np.asarray(estimator.booster_.feature_importance("gain"), dtype=float), "split gain"
    values = getattr(estimator, "feature_importances_", None)
    if values is not None:
        return np.asarray(values, dtype=float).ravel(), "split gain"
    coef = getattr(estimator, "coef_", None)
    if coef is not None:
        coef = np.abs(np.asarray(coef, dtype=float))
        return (coef.mean(axis=0) if coef.ndim == 2 else coef), "|coefficient|"
    return None


def _lightgbm_raw(estimator: Any, prepared: Any) -> np.ndarray:
    """Contributions as rows × classes (1 for regression) × prepared features, without the bias."""
    raw = estimator.predict(prepared, pred_contrib=True)
    if isinstance(raw, list):  # sparse input: one matrix per class
        raw = np.hstack([block.toarray() for block in raw])
    raw = np.asarray(raw, dtype=float)
    return raw.reshape(len(raw), -1, estimator.n_features_in_ + 1)[:, :, :-1]


def _xgboost_raw(estimator: Any, prepared: Any) -> np.ndarray:
    import xgboost

    booster = estimator.get_booster()
    best = getattr(estimator, "best_iteration", None)
    ranges = {} if best is None else {"iteration_range": (0, int(best) + 1)}
    matrix = xgboost.DMatrix(prepared, enable_categorical=True)
    raw = np.asarray(booster.predict(matrix, pred_contribs=True, **ranges), dtype=float)
    return raw.reshape(len(raw), -1, raw.shape[-1])[:, :, :-1]


# ------------------------------------------------------------------ tracing prepared features back


def _trace(leaf: _Leaf, X: pd.DataFrame, seed: int, traces: dict[tuple[int, ...], np.ndarray]) -> np.ndarray:
    """Prepared features × input columns: each prepared feature's weight on the columns it comes from.

    Every input column is changed in its own copy of a few rows (its values shuffled among
    them) and the copies go through the leaf's steps together; a prepared feature comes
    from the columns whose change moved it, in equal parts. A feature that no change moved (its
    column constant on those rows) is matched by name: the longest input column its name holds.
    Leaves behind the same fitted steps (bagged copies) share one trace in ``traces``.
    """
    key = tuple(id(step) for step in leaf.chain)
    if key not in traces:
        traces[key] = _traced(leaf, X, seed)
    return traces[key]


def _traced(leaf: _Leaf, X: pd.DataFrame, seed: int) -> np.ndarray:
    """The trace of :func:`_trace`, computed."""
    columns = list(X.columns)
    if not leaf.chain:  # the model reads the input columns themselves
        return np.eye(len(columns))
    n = int(np.clip(TRACE_CELLS // max(len(columns), 1), 8, TRACE_ROWS))
    rows = _rows(X, n, seed).reset_index(drop=True)
    base = _matrix(_through(leaf.chain, rows))
    rng = np.random.default_rng(seed)
    per_call = max(1, PREPARED_CELLS // max(base.size, 1))  # input columns changed per call
    changed = np.vstack([_changed(leaf.chain, rows, base, columns[start:start + per_call], rng)
                         for start in range(0, len(columns), per_call)])  # input columns × prepared features
    trace = changed.T.astype(float)
    unmoved = np.flatnonzero(trace.sum(axis=1) == 0)
    names = _feature_names(leaf, trace.shape[0]) if len(unmoved) else []
    for j in unmoved:
        match = _by_name(names[j], columns) if names else None
        if match is not None:
            trace[j, match] = 1.0
    return trace / np.clip(trace.sum(axis=1, keepdims=True), 1, None)


def _spread(leaf: _Leaf, X: pd.DataFrame, seed: int) -> np.ndarray:
    """The standard deviation of each prepared feature (the leaf's input) on rows of ``X``."""
    return np.nanstd(_matrix(_through(leaf.chain, _rows(X, SPREAD_ROWS, seed))), axis=0)


def _changed(chain: list[Any], rows: pd.DataFrame, base: np.ndarray, columns: list[str],
             rng: np.random.Generator) -> np.ndarray:
    """Which prepared features move when each of ``columns`` is shuffled among ``rows``."""
    n = len(rows)
    varied = pd.concat([rows] * len(columns), ignore_index=True)
    for k, column in enumerate(columns):
        values = varied[column].to_numpy(copy=True)
        values[k * n:(k + 1) * n] = rows[column].to_numpy()[_derangement(n, rng)]
        varied[column] = pd.Series(values, dtype=rows[column].dtype)
    moved = _matrix(_through(chain, varied)).reshape(len(columns), n, -1)
    return ~np.isclose(moved, base[None], equal_nan=True).all(axis=1)


def _derangement(n: int, rng: np.random.Generator) -> np.ndarray:
    """A shuffle of ``n`` positions that moves every one (a random rotation of a random order)."""
    order = rng.permutation(n)
    moved = np.empty(n, dtype=int)
    moved[order] = np.roll(order, 1)
    return moved


def _feature_names(leaf: _Leaf, width: int) -> list[str]:
    try:
        names = [str(name) for name in leaf.chain[-1].get_feature_names_out()]
    except Exception:  # a step without names, or no step at all
        return []
    return names if len(names) == width else []


def _by_name(name: str, columns: list[str]) -> int | None:
    held = [k for k, column in enumerate(columns) if column in name]
    return max(held, key=lambda k: len(columns[k]), default=None)


def _through(chain: list[Any], X: Any) -> Any:
    for step in chain:
        X = step.transform(X)
    return X


def _matrix(prepared: Any) -> np.ndarray:
    """A prepared table as floats: category columns as their codes, a sparse matrix made dense."""
    if isinstance(prepared, pd.DataFrame):
        prepared = pd.DataFrame({c: prepared[c].cat.codes if isinstance(prepared[c].dtype, pd.CategoricalDtype)
                                 else prepared[c] for c in prepared.columns})
    if hasattr(prepared, "toarray"):
        prepared = prepared.toarray()
    matrix = np.asarray(prepared, dtype=float)
    return matrix.reshape(len(matrix), -1)


def _rows(X: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    if len(X) <= n:
        return X
    return X.iloc[np.sort(np.random.default_rng(seed).choice(len(X), size=n, replace=False))]
