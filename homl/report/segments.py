"""The segmentation report: how many segments and why, what sets each apart, and where they lie.

Built from plain data only (the model's metadata and its saved diagnostics), so
``homl report MODEL_DIR`` rebuilds it without the training data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._figures import BLUE, GREY, ORANGE, WIDE, new_figure
from ._html import Report, Section
from ._preparation import preparation_section

#: Section titles, in order.
SECTIONS = ("Summary", "Segment profiles", "Segment map", "Choosing the number of segments", "Preparation")
#: Colours of segments 0, 1...; noise is grey.
_PALETTE = ("#1d3557", "#e76f51", "#2a9d8f", "#e9c46a", "#8338ec", "#f4a261", "#457b9d", "#d62828", "#6a994e",
            "#bc6c25", "#3a86ff", "#ff006e")


def build_segment_report(metadata: dict[str, Any], diagnostics: dict[str, Any] | None) -> Report:
    """The report of one segmentation, from its metadata and diagnostics."""
    diag = diagnostics or {}
    k = metadata.get("n_clusters", "?")
    report = Report(f"Segmentation: {k} segments", f"{metadata.get('method_name', metadata.get('method', ''))} · "
                                                   f"{metadata.get('n_rows', '?'):,} rows · {metadata.get('source', '')}")
    summary = report.section("Summary")
    silhouette = metadata.get("silhouette")
    summary.cards({"segments": k, "rows": metadata.get("n_rows"), "method": metadata.get("method_name", "?"),
                   "silhouette": "-" if silhouette is None else f"{silhouette:.3f}"})
    summary.text(metadata.get("choice", ""))
    summary.text("A silhouette near 1 means rows sit well inside their segment, near 0 on a border between two; "
                 "segments are numbered from the largest.")
    _profiles(report.section("Segment profiles"), metadata.get("profiles", []))
    _map(report.section("Segment map"), diag)
    _choice(report.section("Choosing the number of segments"), diag)
    preparation_section(report, metadata, "so that each weighs alike in the distances")
    return report


def _profiles(section: Section, profiles: list[dict[str, Any]]) -> None:
    if not profiles:
        section.note("No segment profiles were saved with this model.")
        return
    section.text("What sets each segment apart from all rows, in the table's own units: the three attributes "
                 "that differ most (numbers by the segment's median against the overall median, categories by "
                 "their most over-represented value).")
    section.bullets([p["description"] for p in profiles])
    sizes = pd.Series({_name(p["segment"]): p["rows"] for p in profiles})
    fig, ax = new_figure()
    ax.barh(sizes.index[::-1], sizes.to_numpy()[::-1], color=[_colour(p["segment"]) for p in profiles][::-1])
    ax.set_xlabel("rows")
    ax.set_title("Segment sizes", fontsize="medium")
    section.figure(fig, "segment-sizes")


def _map(section: Section, diag: dict[str, Any]) -> None:
    points = diag.get("map")
    if not points:
        section.note("No segment map was saved with this model.")
        return
    x, y, segment = (np.asarray(points[key]) for key in ("x", "y", "segment"))
    fig, ax = new_figure(WIDE)
    for label in sorted(set(segment.tolist())):
        rows = segment == label
        ax.scatter(x[rows], y[rows], s=8, alpha=0.6, color=_colour(label), label=_name(label))
    explained = points.get("explained", [])
    ax.set_xlabel(f"first principal component ({explained[0]:.0%} of variance)" if explained else "PC1")
    ax.set_ylabel(f"second principal component ({explained[1]:.0%})" if len(explained) > 1 else "PC2")
    ax.legend(fontsize="small", markerscale=2, loc="best")
    ax.set_title("Segments on the two main directions of the prepared data", fontsize="medium")
    section.figure(fig, "segment-map", f"{len(x):,} rows drawn.")
    values = diag.get("silhouette")
    if values:
        section.figure(_silhouette_diagram(np.asarray(values["segment"]), np.asarray(values["value"])),
                       "silhouette-diagram",
                       "Each row's silhouette coefficient, by segment (the book's silhouette diagram): a segment "
                       "whose rows mostly fall left of the dashed mean is poorly separated.")


def _silhouette_diagram(segments: np.ndarray, values: np.ndarray) -> Any:
    fig, ax = new_figure(WIDE)
    bottom = 0
    for label in sorted(set(segments.tolist())):
        rows = np.sort(values[segments == label])
        ax.fill_betweenx(np.arange(bottom, bottom + len(rows)), 0, rows, color=_colour(label), alpha=0.8)
        ax.text(-0.05, bottom + len(rows) / 2, str(label), ha="right", va="center", fontsize="small")
        bottom += len(rows) + 10
    ax.axvline(float(values.mean()), color=ORANGE, linestyle="--", linewidth=1)
    ax.set_xlabel("silhouette coefficient")
    ax.set_yticks([])
    ax.set_title("Silhouette diagram", fontsize="medium")
    return fig


def _choice(section: Section, diag: dict[str, Any]) -> None:
    candidates = pd.DataFrame(diag.get("candidates") or [])
    if candidates.empty:
        section.note("No record of the tries was saved with this model.")
        return
    section.text(diag.get("choice", ""))
    by_k = candidates.dropna(subset=["silhouette"])
    if by_k["method"].duplicated().any():
        fig, ax = new_figure(WIDE)
        for (method, rows), colour in zip(by_k.groupby("method", sort=False), _PALETTE):
            if len(rows) > 1:
                ax.plot(rows["n_clusters"], rows["silhouette"], marker="o", color=colour, label=method)
        ax.set_xlabel("segments (k)")
        ax.set_ylabel("silhouette score")
        ax.legend(fontsize="small")
        ax.set_title("Silhouette score by number of segments", fontsize="medium")
        section.figure(fig, "silhouette-by-k")
    for column, title, caption in (
        ("inertia", "k-means inertia (the elbow)",
         "Inertia always falls as k grows; a bend (the elbow) marks where more segments stop paying."),
        ("bic", "Gaussian mixture BIC", "Lower is better: the mixture's likelihood, paid for by its parameters."),
    ):
        rows = candidates.dropna(subset=[column]) if column in candidates else candidates.iloc[:0]
        if len(rows) > 1:
            fig, ax = new_figure()
            ax.plot(rows["n_clusters"], rows[column], marker="o", color=BLUE if column == "inertia" else GREY)
            ax.set_xlabel("segments (k)")
            ax.set_title(title, fontsize="medium")
            section.figure(fig, f"{column}-by-k", caption)
    shown = candidates.rename(columns={"n_clusters": "segments", "noise_share": "noise share"})
    section.table(shown, caption="Every try: higher silhouette and Calinski-Harabasz are better, lower "
                                 "Davies-Bouldin and BIC are better.")


def _name(segment: int) -> str:
    return "noise" if segment < 0 else f"segment {segment}"


def _colour(segment: int) -> str:
    return "#adb5bd" if segment < 0 else _PALETTE[segment % len(_PALETTE)]
