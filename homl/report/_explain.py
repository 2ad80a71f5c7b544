"""The model report's explanations: which input columns matter (and by which method), and the
test rows outside the training range, drawn from the plain values of ``diagnostics.json``."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ._html import Section, num

#: Each importance method's figure in the report.
FIGURES = {"permutation": "permutation-importance", "treeshap": "treeshap-importance",
           "treeshap_member": "treeshap-importance", "own": "model-importance"}
_PLURALS = {"split gain": "split gains", "|coefficient|": "coefficient sizes"}
_CALLS = {"lightgbm": "LightGBM's pred_contrib", "xgboost": "XGBoost's pred_contribs"}


def importances(diagnostics: dict[str, Any]) -> list[dict[str, Any]]:
    """Every importance computed, the most telling first (see :func:`homl.evaluate.best_importance`)."""
    from homl.evaluate import best_importance

    best = best_importance(diagnostics)
    found = [best_importance({key: diagnostics.get(key)}) for key in ("permutation", "treeshap", "own_importance")]
    return sorted((entry for entry in found if entry), key=lambda entry: entry["method"] != best["method"])


def method_phrase(entry: dict[str, Any]) -> str:
    """How an importance was measured, in a few words: "permutation importance on 2,000 test rows"."""
    method = entry["method"]
    if method == "permutation":
        return f"permutation importance on {entry['rows']:,} test rows"
    if method in ("treeshap", "treeshap_member"):
        member = f" of the ensemble's {entry['member']} member" if method == "treeshap_member" else ""
        return f"TreeSHAP ({_CALLS.get(entry['library'], entry['library'])}){member} on {entry['rows']:,} test rows"
    kinds = str(entry.get("kind", "importance")).split(" and ")
    plural = " and ".join(_PLURALS.get(kind, kind) for kind in kinds)
    return f"the ensemble members' own {plural}" if entry.get("ensemble") else f"the model's own {plural}"


def method_sentence(entry: dict[str, Any], metric: str, task: str) -> str:
    """What the importance measures, for the reader who does not know the method."""
    method = entry["method"]
    if method == "permutation":
        text = (f"{_capital(method_phrase(entry))}: how much the test {metric} worsens when one input column "
                f"is shuffled ({entry['repeats']} repeat(s); bars show mean ± std).")
        if entry.get("of", len(entry["columns"])) > len(entry["columns"]):
            ranked = f", those {_ranked_by(entry['ranked_by'])} ranks highest" if entry.get("ranked_by") else ""
            text += f" The time allowed {len(entry['columns'])} of the {entry['of']} columns{ranked}."
        return text
    if method in ("treeshap", "treeshap_member"):
        return (f"{_capital(method_phrase(entry))}: the average size of each input column's contribution to "
                f"a prediction ({_shap_unit(task)}), exact for tree models; a column's prepared features "
                "(one-hot levels, indicators...) are summed.")
    text = (f"{_capital(method_phrase(entry))}, summed over the prepared features of each input column, "
            "as shares of the total")
    if "|coefficient|" in str(entry.get("kind")):
        text += " (each coefficient times its feature's standard deviation, so a rare one-hot level or word weighs " \
                "what it moves)"
    if entry.get("ensemble"):
        text += ", each member counting by its ensemble weight"
        if entry.get("coverage", 1.0) < 0.999:
            text += (f" (members without importances of their own, {1 - entry['coverage']:.0%} of the weight, "
                     "are left out)")
    return text + ". It is read from the fitted model alone: quick, but it says what the model used, not what " \
                  "its test score depends on."


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _ranked_by(method: str) -> str:
    return "TreeSHAP" if method.startswith("treeshap") else "the model's own importance"


def _shap_unit(task: str) -> str:
    return "in units of the target" if task == "regression" else "in log-odds"


def _axis_label(entry: dict[str, Any], metric: str, task: str) -> str:
    if entry["method"] == "permutation":
        return f"drop in {metric}"
    if entry["method"].startswith("treeshap"):
        return f"mean |contribution| ({_shap_unit(task)[3:]})"
    return f"share of {method_phrase(entry)}"


def finding(entry: dict[str, Any], metric: str, task: str) -> str:
    """The summary's key finding: the top input columns and how much the model relies on the first."""
    top, value = entry["columns"][0], entry["values"][0]
    method = entry["method"]
    if method == "permutation":
        text = (f"Key finding: '{top}' is the number-one predictor — shuffling it on the test set worsens "
                f"{metric} by {num(value)}.")
    elif method.startswith("treeshap"):
        text = (f"Key finding: '{top}' is the number-one predictor — it moves a prediction by {num(value)} "
                f"{_shap_unit(task)} on average ({method_phrase(entry)}).")
    else:
        # Diagnostics saved before importances were shares held the model's raw values.
        share = f": {float(value):.0%} of the total" if "ensemble" in entry else ""
        text = f"Key finding: '{top}' is the model's most important input (by {method_phrase(entry)}{share})."
    others = [f"'{c}'" for c in entry["columns"][1:3]]
    if others:
        text += f" Next come {' and '.join(others)}."
    return text


def importance_section(section: Section, diagnostics: dict[str, Any], metric: str, task: str) -> None:
    """The best importance with the sentence naming its method, then the others computed."""
    from . import _model_figures as figs

    found = importances(diagnostics)
    if not found:
        section.note("No feature importance could be computed (see Assumptions and limits).")
    for i, entry in enumerate(found):
        if i == 1:
            section.heading("Also computed")
        sentence = method_sentence(entry, metric, task)
        section.text(sentence)
        errors = entry.get("std") if entry["method"] == "permutation" else None
        section.figure(figs.importance_bars(entry["columns"], entry["values"], errors, _axis_label(entry, metric, task)),
                       FIGURES[entry["method"]], f"Feature importance: {method_phrase(entry)} (top 20 input columns)")
    if found and not diagnostics.get("permutation"):
        section.note("Permutation importance was not computed (see Assumptions and limits).")


# ------------------------------------------------------------------ rows outside the training range


def range_summary(ranges: dict[str, Any] | None) -> str | None:
    """One sentence for the summary when test rows lie outside the training range."""
    if not ranges or not ranges["count"]:
        return None
    return f"{ranges['count']:,} test row(s) lie outside the training range: {_score_text(ranges['scores'])}"


def range_section(section: Section, ranges: dict[str, Any] | None, test_rows: int) -> None:
    """Which test rows have numeric values outside the training range, and how the model did on them."""
    if ranges is None:
        return
    section.heading("Test rows outside the training range")
    if not ranges["count"]:
        section.text(f"Every test row's values lie within the range seen in training ({len(ranges['checked'])} "
                     "numeric column(s) checked).")
        return
    columns = ranges["columns"]
    named = ", ".join(f"'{c['column']}' ({c['rows']:,})" for c in columns[:5]) + (
        f" and {len(columns) - 5} more" if len(columns) > 5 else "")
    section.text(f"{ranges['count']:,} of {test_rows:,} test rows ({ranges['share']:.1%}) have a numeric value "
                 f"below the smallest or above the largest seen in training, in {len(columns)} column(s): {named}. "
                 "The model extrapolates there (tree models predict as at the edge of what they saw). "
                 f"{_score_text(ranges['scores'])}")
    section.table(pd.DataFrame(columns).rename(columns={"rows": "rows outside", "below": "below min",
                                                        "above": "above max", "min": "training min",
                                                        "max": "training max"}),
                  caption="Columns with test values outside the training range", max_rows=20)
    section.table(_worst_table(ranges), caption=f"The {len(ranges['worst'])} test row(s) furthest outside the "
                  "training range (distance beyond it, in widths of the training range)", max_rows=10)


def _worst_table(ranges: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for entry in ranges["worst"]:
        row = {ranges["row_label"]: entry["row"],
               "outside the training range": "; ".join(f"{c}: {v}" for c, v in entry["outside"].items()),
               "distance (range widths)": entry["distance"], "actual": entry["truth"], "predicted": entry["prediction"]}
        if "error" in entry:
            row["predicted − actual"] = entry["error"]
        else:
            row["p(actual)"] = entry["p(actual)"]
        rows.append(row)
    return pd.DataFrame(rows)


def _score_text(scores: dict[str, dict[str, float | None]]) -> str:
    labels = {"rmse": "RMSE", "mae": "MAE", "accuracy": "accuracy", "log_loss": "log loss"}
    parts = [f"{labels[name]} {num(s['outside'])} on them against {num(s['inside'])} on the others"
             if s["inside"] is not None else f"{labels[name]} {num(s['outside'])} on them (no other rows)"
             for name, s in scores.items()]
    return "; ".join(parts) + "."
