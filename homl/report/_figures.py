"""Generic figures for reports: histogram, bar chart, heat map, scatter matrix, geo scatter.

Every function returns a :class:`matplotlib.figure.Figure` built directly (never pyplot,
so nothing global is touched and no display is needed), in one size and colour scheme.
Inputs are plain pandas objects; sampling is the caller's choice and is said in captions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

BLUE, ORANGE, GREY, RED = "#1d3557", "#e76f51", "#8d99ae", "#c1121f"
SMALL = (4.2, 2.8)
WIDE = (7.0, 4.2)
MAX_BARS = 20


def new_figure(size: tuple[float, float] = SMALL) -> tuple[Figure, Any]:
    """A figure with one axes, laid out so labels are not cut."""
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def histogram(values: pd.Series, title: str, *, bins: int = 40, marks: dict[str, float] | None = None) -> Figure:
    """Distribution of numbers; ``marks`` draws labelled vertical lines (a cap, the median)."""
    fig, ax = new_figure()
    data = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    data = data[np.isfinite(data)]
    if len(data):
        ax.hist(data, bins=min(bins, max(1, len(np.unique(data)))), color=BLUE, alpha=0.85)
    for (label, x), color in zip((marks or {}).items(), (RED, ORANGE, GREY)):
        ax.axvline(x, color=color, linestyle="--", linewidth=1, label=label)
    if marks:
        ax.legend(fontsize="small")
    ax.set_title(title, fontsize="medium")
    ax.set_ylabel("rows")
    return fig


def bar_chart(counts: pd.Series, title: str, *, xlabel: str = "rows") -> Figure:
    """Horizontal bars of ``counts`` (largest first, at most ``MAX_BARS``, the rest summed)."""
    counts = counts.sort_values(ascending=False)
    if len(counts) > MAX_BARS:
        rest = counts.iloc[MAX_BARS - 1 :].sum()
        counts = pd.concat([counts.iloc[: MAX_BARS - 1], pd.Series({f"({len(counts) - MAX_BARS + 1} others)": rest})])
    fig, ax = new_figure((SMALL[0], max(SMALL[1], 0.6 + 0.22 * len(counts))))
    labels = [short_text(label) for label in counts.index]
    y = np.arange(len(counts))[::-1]
    ax.barh(y, counts.to_numpy(dtype=float), color=BLUE)
    ax.set_yticks(y, labels, fontsize="small")
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize="medium")
    return fig


def signed_bars(values: pd.Series, title: str, *, xlabel: str) -> Figure:
    """Horizontal bars of signed values (correlations), largest magnitude at the top."""
    values = values.reindex(values.abs().sort_values(ascending=False).index).head(30)
    fig, ax = new_figure((WIDE[0], max(2.5, 0.6 + 0.25 * len(values))))
    y = np.arange(len(values))[::-1]
    ax.barh(y, values.to_numpy(dtype=float), color=[BLUE if v >= 0 else ORANGE for v in values])
    ax.set_yticks(y, [short_text(v) for v in values.index], fontsize="small")
    ax.axvline(0, color=GREY, linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize="medium")
    return fig


def heat_map(corr: pd.DataFrame, title: str) -> Figure:
    """A correlation matrix in a diverging palette from -1 to 1, annotated when small."""
    n = len(corr)
    side = min(11.0, 2.5 + 0.45 * n)
    fig, ax = new_figure((side + 1.2, side))
    image = ax.imshow(corr.to_numpy(dtype=float), cmap="RdBu_r", vmin=-1, vmax=1)
    labels = [short_text(c, 18) for c in corr.columns]
    ax.set_xticks(range(n), labels, rotation=90, fontsize="small")
    ax.set_yticks(range(n), labels, fontsize="small")
    if n <= 12:
        for i in range(n):
            for j in range(n):
                value = corr.iat[i, j]
                if np.isfinite(value):
                    ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize="x-small",
                            color="white" if abs(value) > 0.6 else "black")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title(title, fontsize="medium")
    return fig


def scatter_matrix(frame: pd.DataFrame, title: str, *, color: pd.Series | None = None) -> Figure:
    """Every pair of the columns of ``frame`` (histograms on the diagonal)."""
    columns = list(frame.columns)
    n = len(columns)
    fig = Figure(figsize=(1.9 * n + 0.6, 1.9 * n), layout="constrained")
    axes = np.asarray(fig.subplots(n, n, squeeze=False))
    colors = _colors(color) if color is not None else BLUE
    for i, row in enumerate(columns):
        for j, col in enumerate(columns):
            ax = axes[i, j]
            x, y = frame[col].to_numpy(dtype=float), frame[row].to_numpy(dtype=float)
            if i == j:
                finite = x[np.isfinite(x)]
                if len(finite):
                    ax.hist(finite, bins=30, color=BLUE, alpha=0.85)
            else:
                ax.scatter(x, y, s=3, alpha=0.25, c=colors, linewidths=0)
            ax.tick_params(labelsize="xx-small")
            _compact_ticks(ax)
            if i == n - 1:
                ax.set_xlabel(short_text(col, 18), fontsize="x-small")
            if j == 0:
                ax.set_ylabel(short_text(row, 18), fontsize="x-small")
    fig.suptitle(title, fontsize="medium")
    return fig


def geo_scatter(lon: pd.Series, lat: pd.Series, title: str, *, color: pd.Series | None = None,
                color_label: str = "", size: pd.Series | None = None, size_label: str = "") -> Figure:
    """Points on longitude/latitude, coloured by ``color`` and sized by ``size`` (the book's map)."""
    fig, ax = new_figure((7.5, 6.0))
    sizes: Any = 6.0
    if size is not None:
        values = pd.to_numeric(size, errors="coerce").clip(lower=0).fillna(0).to_numpy(dtype=float)
        scale = np.nanpercentile(values, 95) if len(values) else 0.0
        sizes = 2 + 40 * np.clip(values / scale, 0, 4) if scale > 0 else 6.0
    kwargs: dict[str, Any] = {"s": sizes, "alpha": 0.4, "linewidths": 0}
    if color is not None and pd.api.types.is_numeric_dtype(color):
        points = ax.scatter(lon, lat, c=color.to_numpy(dtype=float), cmap="jet", **kwargs)
        fig.colorbar(points, ax=ax, label=short_text(color_label, 40), shrink=0.8)
    elif color is not None:
        codes = pd.Categorical(color.astype(str))
        points = ax.scatter(lon, lat, c=codes.codes, cmap="tab10", **kwargs)
        handles = [ax.scatter([], [], color=points.cmap(points.norm(i)), label=short_text(c)) for i, c in enumerate(codes.categories[:10])]
        ax.legend(handles=handles, title=short_text(color_label, 30), fontsize="small")
    else:
        ax.scatter(lon, lat, color=BLUE, **kwargs)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(title + (f"\n(point size: {short_text(size_label, 30)})" if size is not None and size_label else ""),
                 fontsize="medium")
    return fig


def _compact_ticks(ax: Any) -> None:
    """Large numbers as 500k rather than 500000, so that neighbouring panels' labels do not collide."""
    from matplotlib.ticker import EngFormatter, MaxNLocator

    for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        axis.set_major_locator(MaxNLocator(4))
        if max(abs(low), abs(high)) >= 10_000:
            axis.set_major_formatter(EngFormatter(sep=""))


def _colors(values: pd.Series) -> Any:
    if pd.api.types.is_numeric_dtype(values) and values.nunique() > 10:
        return values.to_numpy(dtype=float)
    return pd.Categorical(values.astype(str)).codes


def short_text(text: Any, width: int = 28) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"
