"""The model report (checklist steps 5-7): what was found, how sure we are, where the model fails.

Built from plain data only — the metadata, the leaderboard and the diagnostics a model directory
keeps as ``metadata.json``, ``leaderboard.csv`` and ``diagnostics.json`` — so ``homl report MODEL_DIR``
rebuilds it without the training data. Reading the directory is the model's job (the tasks layer):

>>> import homl
>>> homl.load("models/housing").report().write("models/housing/report.html")  # doctest: +SKIP
PosixPath('models/housing/report.html')
"""

from __future__ import annotations

import html
import json
from typing import Any

import numpy as np
import pandas as pd

from . import _explain
from ._html import Report, Section
from ._html import num as _num

REPORT_FILE = "report.html"
#: Section titles, in order; their anchors are what tests and links rely on.
SECTIONS = ("Summary", "Leaderboard", "Learning curves", "Tuning", "Test-set results", "Feature importance",
            "Assumptions and limits")


def build_model_report(metadata: dict[str, Any], leaderboard: pd.DataFrame | None,
                       diagnostics: dict[str, Any] | None) -> Report:
    """The report of one fitted model, from its metadata, leaderboard and diagnostics."""
    from homl.metrics import METRICS

    diag = diagnostics or {}
    metric = METRICS[metadata["metric"]]
    target = metadata.get("target", "target")
    report = Report(f"Model report: {target}", f"{metadata.get('task', '')} · metric {metric.label} · "
                                               f"winner {metadata.get('winner', '?')}")
    _summary(report.section("Summary"), metadata, diag, metric)
    _leaderboard(report.section("Leaderboard"), leaderboard, metric)
    _learning(report.section("Learning curves"), diag, metric, metadata)
    _tuning(report.section("Tuning"), diag, metric)
    results = report.section("Test-set results")
    if diag.get("test") is None:
        results.note("No test-set diagnostics were saved with this model.")
    elif metadata.get("task") == "regression":
        _regression(results, diag["test"], target)
    else:
        _classification(results, diag["test"], target)
    if diag.get("test") is not None:
        _explain.range_section(results, diag.get("out_of_range"), diag["test"]["rows"])
    _importance(report.section("Feature importance"), diag, metric, target, metadata.get("task", ""))
    _limits(report.section("Assumptions and limits"), metadata, diag)
    return report


def summary_html(metadata: dict[str, Any], leaderboard: pd.DataFrame | None) -> str:
    """A short summary and the leaderboard, for Jupyter (no figures, no matplotlib)."""
    rows = [("task", metadata.get("task")), ("target", metadata.get("target")), ("metric", metadata.get("metric")),
            ("winner", metadata.get("winner")), ("test score", _score_text(metadata.get("test_score"))),
            ("baseline", _score_text(metadata.get("baseline_test_score")))]
    items = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
                    f"{html.escape(str(v))}</td></tr>" for k, v in rows if v is not None)
    board = "" if leaderboard is None else _board_columns(leaderboard).to_html(index=False, float_format="{:.5g}".format)
    return f"<div><table>{items}</table>{board}</div>"


# ------------------------------------------------------------------ sections


def _score_text(score: dict[str, Any] | None) -> str | None:
    from homl.metrics import TestScore

    return None if not score else str(TestScore(**score))


def _summary(section: Section, metadata: dict[str, Any], diag: dict[str, Any], metric: Any) -> None:
    test, base = metadata.get("test_score"), metadata.get("baseline_test_score")
    cards = {"task": metadata.get("task", "?"), "metric": metric.label, "winner": metadata.get("winner", "?")}
    if base:
        cards["baseline (test)"] = base["value"]
    if test:
        cards[f"test {metric.label}"] = test["value"]
        cards["95% CI"] = f"{_num(test['low'])} to {_num(test['high'])}"
    section.cards(cards)
    section.text(key_finding(diag, metric))
    outside = _explain.range_summary(diag.get("out_of_range"))
    if outside:
        section.text(outside)
    if test and base:
        better = metric.better(test["value"], base["value"])
        section.text(
            f"On {test['n_rows']:,} test rows never seen during the search, {metadata.get('winner')} scores "
            f"{metric.label} {_num(test['value'])} (95% CI {_num(test['low'])} to {_num(test['high'])}); predicting "
            f"the {'mean' if metadata.get('task') == 'regression' else 'class frequencies'} scores "
            f"{_num(base['value'])}: the model is {'better' if better else 'NOT better'} than that baseline."
        )
    verdict = diag.get("verdict")
    if verdict:
        section.text(f"Learning curves: {verdict['verdict']}.")
    for warning in diag.get("leakage", []):
        section.note(f"Possible leakage: {warning}")


def key_finding(diag: dict[str, Any], metric: Any) -> str:
    """The number-one predictor, how much the model relies on it, and the two next ones."""
    from homl.evaluate import best_importance

    best = best_importance(diag)
    if best is None:
        return "No feature importance could be computed."
    return _explain.finding(best, metric.label, diag.get("task", ""))


def _board_columns(board: pd.DataFrame) -> pd.DataFrame:
    return board[[c for c in ("model", "stage", "cv_mean", "cv_std", "fit_time") if c in board.columns]]


def _leaderboard(section: Section, board: pd.DataFrame | None, metric: Any) -> None:
    from . import _model_figures as figs

    if board is None or board.empty:
        section.note("No leaderboard was saved with this model.")
        return
    section.text(f"Every candidate was scored by cross-validation on the same folds ({metric.label}, "
                 f"{'higher' if metric.greater_is_better else 'lower'} is better), with the seconds "
                 "spent fitting.")
    section.table(_board_columns(board), caption="CV mean ± std per model family and stage")
    section.figure(figs.leaderboard(board, metric.label), "leaderboard", "Cross-validated score and fit time")


def _learning(section: Section, diag: dict[str, Any], metric: Any, metadata: dict[str, Any]) -> None:
    from . import _model_figures as figs

    epochs = diag.get("epochs")
    if epochs and epochs.get("loss"):
        section.heading("The network, epoch by epoch")
        section.figure(figs.epoch_curves(epochs), "epoch-curves",
                       "Training and validation loss of the neural network per epoch (its final fit)")
    curve = diag.get("learning_curve")
    if not curve:
        section.note("Learning curves were not computed (see Assumptions and limits).")
        return
    if diag.get("single_model") != metadata.get("winner"):
        section.text(f"The winner ({metadata.get('winner')}) is an ensemble; the curves show its best single "
                     f"model, {curve['model']}.")
    section.text(f"{curve['folds']}-fold cross-validation on {curve['rows']:,} training rows.")
    section.figure(figs.learning_curve(curve, metric.label), "learning-curve",
                   f"Training and validation {metric.label} as the training set grows")
    verdict = diag.get("verdict")
    if verdict:
        section.heading(f"Verdict: {verdict['verdict']}")
        section.text(verdict["advice"])


def _tuning(section: Section, diag: dict[str, Any], metric: Any) -> None:
    from . import _model_figures as figs

    curve = diag.get("validation_curve")
    if curve:
        section.heading(f"Validation curve of {curve['model']}: {curve['param']}")
        section.figure(figs.validation_curve(curve, metric.label), "validation-curve",
                       f"Training and validation {metric.label} as {curve['param']} varies (3-fold CV, "
                       f"{curve['rows']:,} rows); the dotted line marks the value chosen by the search")
        if curve.get("left_out"):
            section.text(f"Left out, too slow to fit within the time limit: {', '.join(curve['left_out'])}.")
    else:
        section.note("No validation curve (see Assumptions and limits).")
    families = diag.get("tuning") or {}
    if not any(t["value"] is not None for f in families.values() for t in f["trials"]):
        section.note("No hyperparameter search ran (tuning off, or no time left for it).")
        return
    section.heading("Tuning history")
    rows = []
    for name, family in families.items():
        done = [t for t in family["trials"] if t["value"] is not None]
        best = (max if metric.greater_is_better else min)(done, key=lambda t: t["value"]) if done else None
        rows.append({"family": name, "trials": len(family["trials"]), "completed": len(done),
                     "best CV score": best["value"] if best else None,
                     "best parameters": json.dumps(best["params"]) if best else ""})
    section.table(pd.DataFrame(rows), caption="Optuna trials per family")
    section.figure(figs.tuning_history(families, metric.label, metric.greater_is_better), "tuning-history",
                   "Every trial's cross-validated score over time, and the best so far")
    if any(f["importance"] for f in families.values()):
        section.figure(figs.param_importance(families), "parameter-importance",
                       "Which hyperparameters mattered most in each search (Optuna, fANOVA)")


def _regression(section: Section, test: dict[str, Any], target: str) -> None:
    from . import _model_figures as figs

    y, p = np.asarray(test["y_true"], dtype=float), np.asarray(test["prediction"], dtype=float)
    section.text(f"Predictions of the model fitted on the training rows only, on the {len(y):,} test rows.")
    section.cards({"RMSE": float(np.sqrt(np.mean((y - p) ** 2))), "MAE": float(np.mean(np.abs(y - p))),
                   "median |error|": float(np.median(np.abs(y - p)))})
    section.figure(figs.predicted_vs_actual(y, p, target), "predicted-vs-actual", "Predicted against actual values")
    section.figure(figs.residuals(y, p, target), "residuals",
                   "Residuals against predictions: a pattern or a funnel means systematic error")
    # Diagnostics saved before the range check have no such column.
    marked = " ('outside training range' names a row's values beyond those seen in training)"
    section.table(pd.DataFrame(test["worst"]), max_rows=15, caption="Worst errors on the test set"
                  + (marked if "outside training range" in test["worst"] else ""))


def _classification(section: Section, test: dict[str, Any], target: str) -> None:
    from sklearn.metrics import (
        auc,
        average_precision_score,
        classification_report,
        confusion_matrix,
        precision_recall_curve,
        roc_curve,
    )

    from . import _model_figures as figs

    # Classes are compared by position: labels read back from JSON may mix types sklearn refuses.
    classes = list(test["classes"])
    position = {c: j for j, c in enumerate(classes)}
    truth = np.array([position.get(v, -1) for v in test["y_true"]])
    proba = np.asarray(test["prediction"], dtype=float)[truth >= 0]
    y = truth[truth >= 0]
    labels = np.arange(len(classes))
    names = [str(c) for c in classes]
    predicted = np.argmax(proba, axis=1)
    section.text(f"Predictions of the model fitted on the training rows only, on the {len(y):,} test rows "
                 f"({len(classes)} classes).")
    matrix = confusion_matrix(y, predicted, labels=labels)
    rows = np.clip(matrix.sum(axis=1, keepdims=True), 1, None)
    section.figure(figs.confusion(matrix, names, normalised=False), "confusion-matrix", "Confusion matrix (counts)")
    section.figure(figs.confusion(matrix / rows, names, normalised=True), "confusion-matrix-normalised",
                   "Confusion matrix, each row divided by its total")
    report = classification_report(y, predicted, labels=labels, target_names=names, output_dict=True, zero_division=0)
    table = pd.DataFrame(report).T.reset_index().rename(columns={"index": "class"})
    section.table(table, caption="Per-class precision, recall and F1 (argmax of the probabilities)")
    pr, roc = [], []
    if len(classes) == 2:
        positive = y == labels[1]
        precision, recall, thresholds = precision_recall_curve(positive, proba[:, 1])
        f1 = 2 * precision * recall / np.clip(precision + recall, 1e-12, None)
        chosen = float(thresholds[int(np.argmax(f1[:-1]))]) if len(thresholds) else 0.5
        section.figure(figs.threshold_curve(thresholds, precision, recall, chosen), "precision-recall-threshold",
                       f"Precision and recall against the threshold on p({target} = {names[1]}); the chosen "
                       "threshold maximises F1 on the test set (choose it on validation data before relying on it)")
        targets = [(names[1], positive, proba[:, 1])]
    else:
        targets = [(name, y == label, proba[:, j]) for j, (name, label) in enumerate(zip(names, labels))][:10]
    for name, positive, score in targets:
        if positive.all() or not positive.any():
            continue
        precision, recall, _ = precision_recall_curve(positive, score)
        pr.append((name, recall, precision, average_precision_score(positive, score)))
        fpr, tpr, _ = roc_curve(positive, score)
        roc.append((name, fpr, tpr, auc(fpr, tpr)))
    if pr:
        kind = "" if len(classes) == 2 else " (one class against the rest)"
        section.figure(figs.pr_curves(pr), "pr-curve", f"Precision-recall curve{kind}")
        section.figure(figs.roc_curves(roc), "roc-curve", f"ROC curve{kind}")


def _importance(section: Section, diag: dict[str, Any], metric: Any, target: str, task: str) -> None:
    from . import _model_figures as figs

    _explain.importance_section(section, diag, metric.label, task)
    curves = diag.get("partial_dependence")
    if curves:
        section.figure(figs.partial_dependence(curves, target, task), "partial-dependence",
                       "Partial dependence of the top features: the average prediction as one feature varies")


def _limits(section: Section, metadata: dict[str, Any], diag: dict[str, Any]) -> None:
    data = diag.get("data") or {}
    split = metadata.get("split", {})
    cv = metadata.get("cv", {})
    train_rows, features = split.get("train_rows", data.get("train_rows")), data.get("features", [])
    facts = [f"{train_rows:,} training rows and {split.get('test_rows', data.get('test_rows', 0)):,} test rows "
             f"({split.get('note', '')})" if train_rows is not None else "data size unknown",
             f"{len(features)} feature column(s) used",
             f"cross-validation: {cv.get('folds', '?')} folds on {cv.get('rows', 0):,} rows"]
    if features and train_rows is not None and train_rows < 10 * len(features):
        facts.append("few rows per feature: scores are noisy and over-fitting is likely")
    if metadata.get("time_limit"):
        facts.append(f"time limit {metadata['time_limit']:.0f} s; the run took {metadata.get('elapsed', 0):.0f} s")
    section.heading("Data")
    section.bullets(facts)
    section.heading("Leakage warnings")
    section.bullets(diag.get("leakage") or ["none found (top feature's share of importance and single-feature "
                                            "scores look normal)"])
    dropped = data.get("dropped") or []
    section.heading("Columns dropped")
    if dropped:
        section.table(pd.DataFrame(dropped), caption="Columns not used, and why")
    else:
        section.text("No column was dropped.")
    section.heading("Not tried or cut short within the budget")
    items = [f"model family not tried: {name}" for name in data.get("not_tried", [])]
    if not any(t["value"] is not None for f in (diag.get("tuning") or {}).values() for t in f["trials"]):
        items.append("no hyperparameter search ran (tuning off, or no time left for it)")
    items += data.get("limits_notes", []) + [f"diagnostic skipped — {s}" for s in diag.get("skipped", [])]
    section.bullets(items or ["everything planned ran"])
