"""The anomaly report: how the scores spread and where the threshold cuts, the most anomalous rows
and why, and with a label how well the scores find the known anomalies.

Built from plain data only (the model's metadata and its saved diagnostics), so
``homl report MODEL_DIR`` rebuilds it without the training data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._figures import BLUE, ORANGE, RED, WIDE, new_figure
from ._html import Report, Section
from ._preparation import preparation_section

#: Section titles, in order.
SECTIONS = ("Summary", "Scores and threshold", "Most anomalous rows", "Against the known label", "Preparation")


def build_anomaly_report(metadata: dict[str, Any], diagnostics: dict[str, Any] | None) -> Report:
    """The report of one anomaly detector, from its metadata and diagnostics."""
    diag = diagnostics or {}
    rows, flagged = metadata.get("n_rows", 0), metadata.get("flagged", 0)
    report = Report("Anomaly detection", f"{metadata.get('method_name', metadata.get('method', ''))} · "
                                         f"{rows:,} rows · {metadata.get('source', '')}")
    summary = report.section("Summary")
    cards = {"rows": rows, "flagged": flagged, "share flagged": f"{flagged / rows:.1%}" if rows else "-",
             "threshold": f"{metadata.get('threshold', float('nan')):.4g}"}
    evaluation = metadata.get("evaluation")
    if evaluation:
        cards.update({"PR AUC": f"{evaluation['pr_auc']:.3f}", "ROC AUC": f"{evaluation['roc_auc']:.3f}"})
    summary.cards(cards)
    summary.text(f"Each row gets an anomaly score (higher is more unusual); rows at or above the threshold are "
                 f"flagged. The threshold comes from {metadata.get('threshold_rule', 'the detector')}.")
    _scores(report.section("Scores and threshold"), diag)
    _top(report.section("Most anomalous rows"), diag)
    _label(report.section("Against the known label"), metadata, diag)
    preparation_section(report, metadata, "before scoring")
    return report


def _scores(section: Section, diag: dict[str, Any]) -> None:
    scores = diag.get("scores")
    if not scores:
        section.note("No scores were saved with this model.")
        return
    fig, ax = new_figure(WIDE)
    values = np.asarray(scores, dtype=float)
    ax.hist(values, bins=60, color=BLUE, alpha=0.85)
    ax.set_yscale("log")
    if diag.get("threshold") is not None:
        ax.axvline(diag["threshold"], color=RED, linestyle="--", label="threshold")
        ax.legend(fontsize="small")
    ax.set_xlabel("anomaly score")
    ax.set_ylabel("rows (log scale)")
    ax.set_title("Anomaly scores", fontsize="medium")
    section.figure(fig, "anomaly-scores", "Rows right of the dashed line are flagged.")


def _top(section: Section, diag: dict[str, Any]) -> None:
    top = pd.DataFrame(diag.get("top") or [])
    if top.empty:
        section.note("No rows were saved with this model.")
        return
    section.text("The rows with the highest scores, with the attributes that make each unusual ('row' counts "
                 "the table's data rows from 1).")
    first = ["row", "anomaly_score", "reason"]
    section.table(top[first + [c for c in top.columns if c not in first]])


def _label(section: Section, metadata: dict[str, Any], diag: dict[str, Any]) -> None:
    evaluation = diag.get("evaluation")
    if not evaluation:
        section.text("No label was given: the detector is unsupervised, and nothing here says how many flagged "
                     "rows are true anomalies. Give the column that records known anomalies (--label) to "
                     "measure it.")
        return
    label = metadata.get("label")
    section.text(f"'{label}' marks {evaluation['anomalies']:,} known anomalies, never shown to the detector. At "
                 f"the threshold, {evaluation['precision']:.0%} of flagged rows are known anomalies (precision) "
                 f"and {evaluation['recall']:.0%} of known anomalies are flagged (recall).")
    curve = evaluation.get("curve")
    if curve:
        fig, ax = new_figure()
        ax.plot(curve["recall"], curve["precision"], color=BLUE)
        share = evaluation["anomalies"] / max(metadata.get("n_rows", 1), 1)
        ax.axhline(share, color=ORANGE, linestyle=":", label="chance")
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.legend(fontsize="small")
        ax.set_title(f"Precision-recall (PR AUC {evaluation['pr_auc']:.3f})", fontsize="medium")
        section.figure(fig, "precision-recall")
    supervised = diag.get("supervised")
    if supervised:
        better = supervised["pr_auc"] > evaluation["pr_auc"]
        verdict = ("With this label, a supervised classifier finds the known anomalies better: train one with "
                   f"`homl fit --target {label}`." if better else
                   "The unsupervised detector does as well as a classifier trained on the label: it also "
                   "flags kinds of anomaly the label has not seen yet.")
        section.text(f"A {supervised['model']} trained on the label scores PR AUC {supervised['pr_auc']:.3f} "
                     f"({supervised['folds']}-fold cross-validated) against {evaluation['pr_auc']:.3f} for the "
                     f"detector. {verdict}")
