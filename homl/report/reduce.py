"""The dimensionality-reduction report: how much the kept columns hold, and the rows in 2-D and 3-D.

Built from plain data only (the model's metadata and its saved diagnostics).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._figures import BLUE, ORANGE, WIDE, new_figure
from ._html import Report, Section
from ._preparation import preparation_section

#: Section titles, in order.
SECTIONS = ("Summary", "Variance kept", "The rows, reduced", "Preparation")
#: Distinct colour values drawn as categories (more are drawn as a colour scale when numeric).
MAX_CATEGORIES = 20


def build_reduce_report(metadata: dict[str, Any], diagnostics: dict[str, Any] | None) -> Report:
    """The report of one reduction, from its metadata and diagnostics."""
    diag = diagnostics or {}
    report = Report(f"Dimensionality reduction: {metadata.get('method_name', '')}",
                    f"{metadata.get('n_prepared', '?')} prepared columns to {metadata.get('n_components', '?')} · "
                    f"{metadata.get('n_rows', 0):,} rows · {metadata.get('source', '')}")
    summary = report.section("Summary")
    cards = {"columns kept": metadata.get("n_components"), "prepared columns": metadata.get("n_prepared"),
             "rows": metadata.get("n_rows")}
    if metadata.get("explained") is not None:
        cards["variance kept"] = f"{metadata['explained']:.1%}"
    if metadata.get("reconstruction_error") is not None:
        cards["reconstruction error"] = f"{metadata['reconstruction_error']:.4g}"
    summary.cards(cards)
    _variance(report.section("Variance kept"), diag)
    _points(report.section("The rows, reduced"), diag, metadata.get("color"))
    preparation_section(report, metadata, "before the reduction")
    return report


def _variance(section: Section, diag: dict[str, Any]) -> None:
    ratios = diag.get("explained")
    search = diag.get("search")
    if search:
        section.text("Kernel and gamma chosen by reconstruction error on a sample of rows (lower is better):")
        section.table(pd.DataFrame(search))
    if not ratios:
        section.text("This method keeps no variance ratios: its columns are not ordered by what they explain.")
        return
    cumulative = np.cumsum(ratios)
    fig, ax = new_figure(WIDE)
    ax.bar(np.arange(1, len(ratios) + 1), ratios, color=BLUE, alpha=0.7, label="each component")
    ax.plot(np.arange(1, len(ratios) + 1), cumulative, color=ORANGE, marker="o", markersize=3, label="cumulative")
    ax.set_xlabel("components")
    ax.set_ylabel("share of variance")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize="small")
    ax.set_title("Explained variance", fontsize="medium")
    section.figure(fig, "explained-variance",
                   f"The {len(ratios)} kept components hold {cumulative[-1]:.1%} of the prepared data's variance.")


def _points(section: Section, diag: dict[str, Any], color: str | None) -> None:
    points = diag.get("points") or {}
    names = list(points)
    if len(names) < 2:
        section.note("One column kept: there is no plane to draw the rows in.")
        return
    colours = diag.get("colour")
    fig, ax = new_figure(WIDE)
    _scatter(ax, [np.asarray(points[n]) for n in names[:2]], colours)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title("Rows on the first two columns" + (f", coloured by '{color}'" if color else ""), fontsize="medium")
    section.figure(fig, "reduced-2d", f"{len(points[names[0]]):,} rows drawn.")
    if len(names) >= 3:
        from matplotlib.figure import Figure

        fig3 = Figure(figsize=WIDE, layout="constrained")
        ax3 = fig3.add_subplot(projection="3d")
        _scatter(ax3, [np.asarray(points[n]) for n in names[:3]], colours)
        ax3.set_xlabel(names[0])
        ax3.set_ylabel(names[1])
        ax3.set_zlabel(names[2])
        section.figure(fig3, "reduced-3d", "The first three columns.")


def _scatter(ax: Any, coords: list[np.ndarray], colours: list[str] | None) -> None:
    if colours is None:
        ax.scatter(*coords, s=6, alpha=0.6, color=BLUE)
        return
    values = pd.Series(colours)
    numbers = pd.to_numeric(values, errors="coerce")
    if values.nunique() > MAX_CATEGORIES and numbers.notna().all():
        shown = ax.scatter(*coords, s=6, alpha=0.7, c=numbers.to_numpy(), cmap="viridis")
        ax.figure.colorbar(shown, ax=ax, shrink=0.8)
        return
    from matplotlib import colormaps

    palette = colormaps["tab20"]
    for i, level in enumerate(values.value_counts().index[:MAX_CATEGORIES]):
        rows = (values == level).to_numpy()
        ax.scatter(*(c[rows] for c in coords), s=6, alpha=0.7, color=palette(i % 20), label=str(level)[:20])
    ax.legend(fontsize="x-small", markerscale=2, ncol=2)
