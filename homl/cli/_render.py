"""Rich renderings for the terminal: the consoles, progress bars, the leaderboard and the schema."""

from __future__ import annotations

import json

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from homl import Progress as BaseProgress
from homl.data import Schema
from homl.metrics import METRICS

from ._flags import as_flags

#: Progress, notes and errors go to standard error; results (tables, predictions) to standard output.
console = Console(stderr=True)
out = Console()


class RichProgress(BaseProgress):
    """Progress bars on the terminal; notes printed when ``verbose``."""

    def __init__(self, console: Console, verbose: bool = False):
        super().__init__()
        self.console, self.verbose = console, verbose
        self.bars = Progress(
            TextColumn("{task.description:<12}"), BarColumn(), TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(), console=console, transient=False, disable=not console.is_terminal and not verbose,
        )
        self.bars.start()
        self.task = None

    def phase(self, name: str, total: float | None = None) -> None:
        self.end_phase()
        self.task = self.bars.add_task(name, total=total, detail="")

    def advance(self, amount: float = 1, detail: str = "") -> None:
        if self.task is not None:
            self.bars.update(self.task, advance=amount, detail=detail)

    def end_phase(self) -> None:
        if self.task is not None:
            total = self.bars.tasks[self.task].total
            if total is not None:
                self.bars.update(self.task, completed=total)
            self.task = None

    def note(self, message: str) -> None:
        self.notes.append(message)
        if self.verbose:
            self.bars.console.print(f"[dim]·[/dim] {escape(as_flags(message))}", highlight=False)

    def close(self) -> None:
        self.end_phase()
        self.bars.stop()


def _fmt(value: float, like: float | None = None) -> str:
    """A score as a person reads it; ``like`` gives the scale (a std is shown like its mean)."""
    if pd.isna(value):
        return "-"
    scale = abs(value if like is None else like)
    return f"{value:,.0f}" if scale >= 1000 else f"{value:.4f}"


def leaderboard_table(board: pd.DataFrame, metric: str, limit: int = 12, width: int = 120) -> Table:
    """The leaderboard within ``width`` characters: the settings column gives way, never the scores."""
    label = METRICS[metric].label if metric in METRICS else metric
    rows = []
    for i, row in enumerate(board.head(limit).itertuples(index=False), start=1):
        params = row.params if isinstance(row.params, str) else json.dumps(row.params)
        rows.append([str(i), str(row.model), str(row.stage), _fmt(row.cv_mean), _fmt(row.cv_std, like=row.cv_mean),
                     f"{row.fit_time:.2f}", "" if params == "{}" else params])
    headers = (("#", "right"), ("model", "left"), ("stage", "left"), ("CV mean", "right"), ("± std", "right"),
               ("fit s", "right"), ("settings", "left"))
    widths = [max([len(h)] + [len(r[j]) for r in rows]) for j, (h, _) in enumerate(headers)]
    room = width - sum(widths[:-1]) - 3 * len(headers) - 1  # each column takes 3 more for borders and padding
    if room < len("settings"):
        headers, rows = headers[:-1], [r[:-1] for r in rows]
    else:
        for r in rows:
            r[-1] = r[-1] if len(r[-1]) <= room else r[-1][: room - 3] + "..."
    table = Table(title=f"Leaderboard (cross-validated {label})")
    for column, justify in headers:
        table.add_column(column, justify=justify, no_wrap=True)
    for row in rows:
        table.add_row(*row)
    return table


def frame_table(frame: pd.DataFrame, title: str, limit: int = 12) -> Table:
    """Any small table of results: one column a field, numbers to four significant digits."""
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column), justify="right" if pd.api.types.is_numeric_dtype(frame[column]) else "left")
    for row in frame.head(limit).itertuples(index=False):
        table.add_row(*("" if pd.isna(v) else f"{v:.4g}" if isinstance(v, float) else str(v) for v in row))
    return table


def schema_table(schema: Schema) -> Table:
    target = f"target '{schema.target}'" if schema.target else "no target"
    table = Table(title=f"Schema ({schema.n_rows:,} training rows, {target})")
    for column in ("column", "kind", "missing", "distinct", "note"):
        table.add_column(column)
    for column in schema.columns:
        style = None if column.usable else "dim"
        note = column.reason if not column.usable else ""
        table.add_row(column.name, column.kind, f"{column.n_missing:,}", f"{column.n_unique:,}", note, style=style)
    return table
