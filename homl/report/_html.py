"""A self-contained HTML report: sections of text, key figures, tables and plots.

Figures are matplotlib :class:`~matplotlib.figure.Figure` objects rendered to PNG and
embedded as ``data:`` URIs, so the file opens offline and can be sent as it is;
:meth:`Report.write` also saves every figure as ``figures/<name>.png`` beside it.
No script and no external resource is referenced.
"""

from __future__ import annotations

import base64
import html
import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from homl._atomic import write_bytes_atomic, write_text_atomic

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2733;background:#f6f7f9;line-height:1.45}
header{background:#1d3557;color:#fff;padding:1.2rem 2rem}header h1{margin:0;font-size:1.6rem}header p{margin:.3rem 0 0;opacity:.85}
nav{padding:.6rem 2rem;background:#e9edf2;font-size:.9rem}nav a{margin-right:1rem;color:#1d3557;text-decoration:none}
main{max-width:1100px;margin:0 auto;padding:1rem 2rem 3rem}
section{background:#fff;border-radius:8px;padding:1rem 1.5rem;margin:1.2rem 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h2{margin-top:.2rem;color:#1d3557;font-size:1.3rem}h3{font-size:1.05rem;margin-bottom:.3rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0;display:block;overflow-x:auto;max-width:100%}
th,td{padding:.25rem .6rem;border-bottom:1px solid #e3e6ea;text-align:right;white-space:nowrap}
th{background:#f0f2f5;position:sticky;top:0}td:first-child,th:first-child{text-align:left}
figure{margin:.8rem 0;display:inline-block;max-width:100%;vertical-align:top}
figure img{max-width:100%;height:auto;border:1px solid #eee}figcaption{font-size:.85rem;color:#566}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:.5rem 0}
.card{background:#f0f4f8;border-radius:6px;padding:.5rem .9rem;min-width:9rem}
.card b{display:block;font-size:1.15rem}.card span{font-size:.8rem;color:#566}
.note{background:#fff8e1;border-left:4px solid #f2b705;padding:.4rem .8rem;margin:.5rem 0}
.caption{color:#566;font-size:.85rem}
"""


@dataclass
class _Block:
    html: str


@dataclass
class Section:
    """One titled part of a report; blocks appear in the order they are added."""

    title: str
    anchor: str
    blocks: list[_Block] = field(default_factory=list)
    _report: Report | None = field(default=None, repr=False)

    def text(self, text: str) -> Section:
        """A paragraph of plain text (escaped)."""
        self.blocks.append(_Block(f"<p>{html.escape(text)}</p>"))
        return self

    def note(self, text: str) -> Section:
        """A highlighted remark: a warning, a limit, something that could not be computed."""
        self.blocks.append(_Block(f'<div class="note">{html.escape(text)}</div>'))
        return self

    def heading(self, text: str) -> Section:
        self.blocks.append(_Block(f"<h3>{html.escape(text)}</h3>"))
        return self

    def bullets(self, items: list[str]) -> Section:
        if items:
            rows = "".join(f"<li>{html.escape(str(item))}</li>" for item in items)
            self.blocks.append(_Block(f"<ul>{rows}</ul>"))
        return self

    def cards(self, values: dict[str, Any]) -> Section:
        """Key figures shown large, each with its label underneath."""
        cards = "".join(
            f'<div class="card"><b>{html.escape(_fmt(v))}</b><span>{html.escape(k)}</span></div>'
            for k, v in values.items()
        )
        self.blocks.append(_Block(f'<div class="cards">{cards}</div>'))
        return self

    def table(self, frame: pd.DataFrame, *, caption: str = "", max_rows: int = 60, index: bool = False) -> Section:
        """A DataFrame as an HTML table (first ``max_rows`` rows, numbers formatted)."""
        shown = frame.head(max_rows)
        body = shown.to_html(index=index, border=0, na_rep="", float_format=_fmt, escape=True)
        more = f'<p class="caption">{len(frame) - max_rows:,} more rows not shown</p>' if len(frame) > max_rows else ""
        cap = f'<p class="caption">{html.escape(caption)}</p>' if caption else ""
        self.blocks.append(_Block(cap + body + more))
        return self

    def figure(self, fig: Any, name: str, caption: str = "", *, dpi: int = 100) -> Section:
        """Render a matplotlib figure to PNG, embed it and keep it for ``figures/<name>.png``."""
        assert self._report is not None
        png = render_png(fig, dpi=dpi)
        name = self._report._unique_figure_name(name)
        self._report.figures[name] = png
        data = base64.b64encode(png).decode("ascii")
        alt = html.escape(caption or name)
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self.blocks.append(_Block(f'<figure><img src="data:image/png;base64,{data}" alt="{alt}" data-name="{name}">{cap}</figure>'))
        return self

    def raw(self, markup: str) -> Section:
        """Trusted markup built by homl itself (never user text)."""
        self.blocks.append(_Block(markup))
        return self


class Report:
    """An HTML report; ``write`` saves it, ``_repr_html_`` shows it inline in Jupyter."""

    def __init__(self, title: str, subtitle: str = "") -> None:
        self.title = title
        self.subtitle = subtitle
        self.sections: list[Section] = []
        self.figures: dict[str, bytes] = {}

    def section(self, title: str, intro: str = "") -> Section:
        anchor = _slug(title) or f"section-{len(self.sections) + 1}"
        taken = {s.anchor for s in self.sections}
        while anchor in taken:
            anchor += "-"
        section = Section(title, anchor, _report=self)
        if intro:
            section.text(intro)
        self.sections.append(section)
        return section

    def html(self) -> str:
        nav = "".join(f'<a href="#{s.anchor}">{html.escape(s.title)}</a>' for s in self.sections)
        body = "".join(
            f'<section id="{s.anchor}"><h2>{html.escape(s.title)}</h2>{"".join(b.html for b in s.blocks)}</section>'
            for s in self.sections
        )
        subtitle = f"<p>{html.escape(self.subtitle)}</p>" if self.subtitle else ""
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style></head><body>"
            f"<header><h1>{html.escape(self.title)}</h1>{subtitle}</header><nav>{nav}</nav>"
            f"<main>{body}</main></body></html>"
        )

    def write(self, path: str | Path, *, figures: bool = True, prefix: str = "") -> Path:
        """Write the HTML file atomically, and each figure as ``figures/<prefix><name>.png`` beside it.

        A ``prefix`` keeps the figures of several reports written to one folder apart.
        """
        path = Path(path)
        if figures and self.figures:
            folder = path.parent / "figures"
            folder.mkdir(parents=True, exist_ok=True)
            for name, png in self.figures.items():
                write_bytes_atomic(folder / f"{prefix}{name}.png", png)
        write_text_atomic(path, self.html())
        return path

    def _repr_html_(self) -> str:
        """Jupyter: the page in a frame of its own, so its styles leave the notebook alone."""
        page = html.escape(self.html(), quote=True)
        return f'<iframe srcdoc="{page}" style="width:100%;height:720px;border:1px solid #ddd"></iframe>'

    def _unique_figure_name(self, name: str) -> str:
        base = _slug(name) or "figure"
        candidate, n = base, 2
        while candidate in self.figures:
            candidate, n = f"{base}-{n}", n + 1
        return candidate


def render_png(fig: Any, *, dpi: int = 100) -> bytes:
    """PNG bytes of a matplotlib figure."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # Names in scripts the default font lacks draw as boxes: readable enough, not an error.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from")
        warnings.filterwarnings("ignore", message=r"Matplotlib currently does not support")
        # A layout engine already fits the figure; cropping it again would draw it twice.
        tight = None if fig.get_layout_engine() is not None else "tight"
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches=tight)
    return buffer.getvalue()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")[:60]


def num(value: Any) -> str:
    """A number for a sentence: thousands without decimals, else four significant digits."""
    value = float(value)
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def _fmt(value: Any) -> str:
    """Numbers with sensible precision; everything else as text."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:
            return ""
        if value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    return str(value)
