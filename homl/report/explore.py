"""Explore a table before modelling (the book's checklist, step 3), as a self-contained report.

>>> report = explore("housing.csv", target="median_house_value", output="housing-explore.html")  # doctest: +SKIP
>>> report  # in Jupyter, renders inline                                                           # doctest: +SKIP

The report profiles every attribute (type, missing share, distinct values, summary
statistics, skew, outliers, a histogram or bar chart, flags), the target and its
correlations, the map when latitude and longitude exist, and suggests transformations.
What could not be computed is listed at the end; the exploration itself never fails on
odd data, only on a source that cannot be read as a table or a target that is not there.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from homl.data import ColumnInfo, Schema, infer_schema, read_dates, read_table
from homl.errors import ConfigError, TargetError

try:
    from homl.report import _figures as figs
except ImportError as error:  # matplotlib is the optional "report" extra
    raise ConfigError(f"homl explore draws with matplotlib, which is not installed ({error}); "
                      "install it with: pip install 'homl[report]'") from error
from homl.report._html import Report, Section
from homl.report._profile import (
    attempt,
    attribute_table,
    capped,
    correlations,
    numeric_block,
    ratio_candidates,
    target_numbers,
    target_task,
)

SECTIONS = ("Overview", "Attributes", "Target", "Correlations with the target", "Geography",
            "Suggested transformations", "Attributes that look useless", "What could not be computed")
#: Rows drawn for scatter plots (histograms and statistics use every row).
PLOT_ROWS = 5000
SCATTER_MATRIX_ROWS = 2000
HEAT_MAP_COLUMNS = 20
TABLE_ROWS = 300
MAX_PREVIEW_COLUMNS = 30
_UNUSABLE = ("identifier", "constant", "empty")
_COUNT_NAME = re.compile(r"popul|people|persons|inhabitants|households|count|number|size|volume", re.I)


class Exploration(Report):
    """The exploration report, with the tables it was built from.

    ``attributes``: one row per column (kind, missing share, distinct count, statistics,
    flags); ``correlations``: each attribute against the target; ``suggestions``,
    ``useless`` and ``problems``: the sentences of those sections.
    """

    def __init__(self, title: str, subtitle: str = "") -> None:
        super().__init__(title, subtitle)
        self.attributes = pd.DataFrame()
        self.correlations = pd.DataFrame()
        self.suggestions: list[str] = []
        self.useless: list[str] = []
        self.problems: list[str] = []


def explore(source: Any, target: str | None = None, *, output: str | Path | None = None,
            query: str | None = None, max_figures: int = 40, seed: int = 0) -> Exploration:
    """Profile ``source`` (a path, URL or DataFrame) and return the report; write it to ``output``.

    ``max_figures`` caps the per-attribute charts (the others are named as left out);
    ``seed`` draws the rows sampled for scatter plots.
    """
    notes: list[str] = []
    df = read_table(source, query=query, notes=notes)
    if target is not None and target not in df.columns:
        close = difflib.get_close_matches(target, [str(c) for c in df.columns], n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise TargetError(f"target column '{target}' is not in the table ({df.shape[1]} columns){hint}")
    name = Path(str(source)).name if isinstance(source, (str, Path)) and "://" not in str(source) else "table"
    report = Exploration(f"Exploration of {name}",
                         f"{len(df):,} rows × {df.shape[1]:,} columns" + (f"; target: {target}" if target else ""))
    _Explorer(report, df, target, notes, max_figures, seed).run()
    if output is not None:
        report.write(output, prefix=f"{Path(output).stem}-")
    return report


class _Explorer:
    """Computes the statistics once and writes the sections in order."""

    def __init__(self, report: Exploration, df: pd.DataFrame, target: str | None, notes: list[str],
                 max_figures: int, seed: int) -> None:
        self.report, self.df, self.target, self.notes = report, df, target, notes
        self.max_figures, self.seed = max_figures, seed
        self.problems = report.problems
        self.limits: list[str] = []

    # ------------------------------------------------------------------ statistics

    def run(self) -> None:
        df, target, problems = self.df, self.target, self.problems
        schema = attempt(problems, "column kinds", lambda: infer_schema(df, target), None) or _plain_schema(df, target)
        self.kinds = {c.name: c.kind for c in schema.columns}
        self.reasons = {c.name: c.reason for c in schema.columns}
        self.date_formats = {c.name: c.date_format for c in schema.columns}
        if target is not None:
            info = attempt(problems, f"kind of the target '{target}'",
                           lambda: infer_schema(df[[target]]).columns[0], None)
            self.kinds[target] = info.kind if info else "?"
            self.date_formats[target] = info.date_format if info else None
        self.block = attempt(problems, "numeric columns", lambda: numeric_block(df, schema), pd.DataFrame(index=df.index))
        self.table = attribute_table(df, self.kinds, self.block, problems)
        self.attrs = [c for c in df.columns if c != target]
        self.numeric = [c for c in self.attrs if self.kinds.get(c) == "numeric" and c in self.block.columns]
        from homl.prep import find_lat_lon, heavy_tailed

        self.heavy = attempt(problems, "heavy tails", lambda: heavy_tailed(self.block, self.numeric), [])
        self.caps = attempt(problems, "capped values", lambda: capped(self.block), {})
        self.geo = attempt(problems, "latitude/longitude", lambda: find_lat_lon(self.block, self.numeric), None)
        self.task = self.y_numbers = None
        if target is not None:
            self.task = attempt(problems, f"task for target '{target}'", lambda: target_task(df[target]), None)
            if self.task is not None:
                self.y_numbers = attempt(problems, "target as numbers",
                                         lambda: target_numbers(df[target], self.task), None)
        self.corr = attempt(problems, "correlations with the target", self._correlations,
                            pd.DataFrame(columns=["pearson", "spearman", "mutual_info"]))
        self.flags = attempt(problems, "flags", self._flags, {})
        self.table["flags"] = [", ".join(self.flags.get(c, [])) for c in self.table.index]
        self.report.attributes, self.report.correlations = self.table, self.corr
        n = len(df)
        self.plot_rows = df.sample(PLOT_ROWS, random_state=self.seed) if n > PLOT_ROWS else df
        if n > PLOT_ROWS:
            self.limits.append(f"scatter plots show {PLOT_ROWS:,} rows drawn at random from {n:,} "
                               "(statistics and histograms use every row)")
        for write in (self.overview, self.attributes, self.target_section, self.correlation_section,
                      self.geography, self.suggestions, self.useless, self.limits_section):
            section = self.report.section(SECTIONS[len(self.report.sections)])
            try:
                write(section)
            except Exception as error:  # one section failing must not lose the others
                self.problems.append(f"section '{section.title}': could not compute ({type(error).__name__}: {error})")
                section.note(f"This section could not be completed: {type(error).__name__}: {error}")

    def _correlations(self) -> pd.DataFrame:
        if self.target is None or self.task is None:
            return pd.DataFrame(columns=["pearson", "spearman", "mutual_info"])
        usable = [c for c in self.numeric if c != self.target]
        categorical = [c for c in self.attrs if self.kinds.get(c) in ("categorical", "boolean")
                       and self.table.at[c, "distinct"] <= 200]
        corr = correlations(self.block[usable], self.df[categorical], self.df[self.target], self.y_numbers,
                            self.task, self.problems, self.seed)
        key = corr["pearson"].abs().fillna(corr["mutual_info"]) if corr["pearson"].notna().any() else corr["mutual_info"]
        return corr.loc[key.sort_values(ascending=False, na_position="last").index]

    def _flags(self) -> dict[str, list[str]]:
        flags: dict[str, list[str]] = {}
        for column in self.df.columns:
            kind, found = self.kinds.get(column), []
            if kind == "empty":
                found.append("empty")
            elif kind == "constant":
                found.append("constant")
            elif kind == "identifier":
                found.append("ID-like")
            elif kind == "text":
                found.append("free text")
            elif kind == "categorical" and self.table.at[column, "distinct"] > 15:
                found.append(f"{int(self.table.at[column, 'distinct']):,} categories")
            if column in self.caps:
                end, value, rows = self.caps[column]
                found.append(f"{'capped' if end == 'max' else 'floored'} at {_num(value)} ({rows:,} rows)")
            if column in self.heavy:
                found.append("heavy tail")
            missing = self.table.at[column, "missing"]
            if kind != "empty" and missing == missing and missing >= 0.5:
                found.append(f"{missing:.0%} missing")
            if found:
                flags[column] = found
        return flags

    def _show(self, section: Section, fig: Any, name: str, caption: str = "") -> None:
        """Add a figure; one that fails to render becomes a line of the last section."""
        if fig is not None:
            attempt(self.problems, f"figure '{name}'", lambda: section.figure(fig, name, caption=caption), None)

    # ------------------------------------------------------------------ sections

    def overview(self, section: Section) -> None:
        df = self.df
        counts = pd.Series(self.kinds).reindex(self.attrs).value_counts()
        cells = df.shape[0] * df.shape[1]
        missing = attempt(self.problems, "missing cells", lambda: float(df.isna().to_numpy().sum()) / cells, None)
        duplicated = attempt(self.problems, "duplicated rows", lambda: int(df.duplicated().sum()), None)
        cards = {"rows": len(df), "columns": df.shape[1]}
        cards.update({f"{kind} attributes": int(n) for kind, n in counts.items()})
        if missing is not None:
            cards["missing cells"] = f"{missing:.1%}"
        if duplicated is not None:
            cards["duplicated rows"] = duplicated
        section.cards(cards)
        if self.target:
            section.text(f"Target: {self.target} ({self.task or 'task unknown'}).")
        else:
            section.text("No target given: the target and correlation sections are left empty "
                         "(pass target=).")
        if len(df) < 2:
            section.note(f"The table has {len(df)} row: distributions, correlations and outliers need more.")
        section.bullets(self.notes)
        shown = df.iloc[:5, :MAX_PREVIEW_COLUMNS]
        more = f" ({MAX_PREVIEW_COLUMNS} of {df.shape[1]:,} columns)" if df.shape[1] > MAX_PREVIEW_COLUMNS else ""
        section.table(shown, caption=f"First rows{more}")

    def attributes(self, section: Section) -> None:
        shown = self.table.copy()
        shown.insert(0, "attribute", [str(c) for c in shown.index])
        shown["missing"] = [f"{v:.1%}" if v == v else "" for v in shown["missing"]]
        section.table(shown, max_rows=TABLE_ROWS,
                      caption="Outliers: values beyond 1.5 interquartile ranges from the quartiles.")
        if len(shown) > TABLE_ROWS:
            self.limits.append(f"the attribute table shows the first {TABLE_ROWS} of {len(shown):,} columns "
                               "(all of them are in Exploration.attributes)")
        plotted = [c for c in self.df.columns if self.kinds.get(c) not in _UNUSABLE]
        if self.target in plotted:
            plotted.remove(self.target)  # drawn in the target section
        kept, left = plotted[: self.max_figures], plotted[self.max_figures :]
        if kept:
            section.heading("Distributions")
        for i, column in enumerate(kept):
            fig = attempt(self.problems, f"chart of '{column}'", lambda c=column: self._chart(c), None)
            if fig is not None:
                slug = re.sub(r"[^a-z0-9]+", "-", str(column).lower()).strip("-")
                self._show(section, fig, f"attribute-{slug or i + 1}", caption=self._caption(column))
        if left:
            names = ", ".join(str(c) for c in left[:30]) + (" …" if len(left) > 30 else "")
            self.limits.append(f"charts drawn for the first {len(kept)} attributes only; "
                               f"{len(left):,} left out: {names}")
        skipped = [c for c in self.attrs if self.kinds.get(c) in _UNUSABLE]
        if skipped:
            section.text("No chart for empty, constant or ID-like columns: "
                         + ", ".join(str(c) for c in skipped[:30]) + (" …" if len(skipped) > 30 else ""))

    def _caption(self, column: Any) -> str:
        row = self.table.loc[column]
        parts = [str(row["kind"])]
        if row["missing"] == row["missing"]:
            parts.append(f"{row['missing']:.1%} missing")
        if row["distinct"] == row["distinct"]:
            parts.append(f"{int(row['distinct']):,} distinct")
        return f"{column}: {', '.join(parts + self.flags.get(column, []))}"

    def _chart(self, column: Any) -> Any:
        kind, series = self.kinds.get(column), self.df[column]
        title = _short(column)
        if column in self.block.columns and kind in ("numeric", "?"):
            marks = {}
            if column in self.caps:
                end, value, _ = self.caps[column]
                marks[f"{'cap' if end == 'max' else 'floor'} {_num(value)}"] = value
            return figs.histogram(self.block[column], title, marks=marks)
        if kind == "datetime":
            when = read_dates(series, self.date_formats.get(column))  # day-first or month-first throughout
            years = when.dt.year + (when.dt.day_of_year - 1) / 366
            return figs.histogram(years, f"{title} (year)")
        if kind == "text":
            return figs.histogram(series.dropna().astype(str).str.split().str.len(), f"{title} (words per value)")
        return figs.bar_chart(series.astype(str).where(series.notna(), "(missing)").value_counts(), title)

    def target_section(self, section: Section) -> None:
        target = self.target
        if target is None:
            section.text("No target given.")
            return
        row = self.table.loc[target]
        cards = {"task": self.task or "unknown", "kind": row["kind"], "missing": f"{row['missing']:.1%}",
                 "distinct values": row["distinct"]}
        if self.task == "regression":
            cards.update({"mean": row["mean"], "median": row["median"], "skew": row["skew"]})
        section.cards(cards)
        for flag in self.flags.get(target, []):
            section.note(f"The target is flagged: {flag}.")
        if target in self.caps:
            end, value, rows = self.caps[target]
            section.text(f"{rows:,} rows sit exactly at the {end}imum {_num(value)}: the values were probably "
                         f"{'capped' if end == 'max' else 'floored'}. A model will learn never to go beyond it; "
                         "get the true values for those rows or drop them (from training and test alike).")
        if self.task == "regression":
            fig = attempt(self.problems, "target histogram", lambda: figs.histogram(
                self.block[target] if target in self.block else self.df[target], _short(target), bins=50,
                marks={"median": float(row["median"])}), None)
        else:
            fig = attempt(self.problems, "target class counts", lambda: figs.bar_chart(
                self.df[target].astype(str).value_counts(), _short(target)), None)
        if fig is not None:
            self._show(section, fig, "target-distribution", caption=f"Distribution of {target}")

    def correlation_section(self, section: Section) -> None:
        corr = self.corr
        if self.target is not None and self.task is not None and len(corr):
            section.text("Pearson measures a linear relation, Spearman any monotonic one, mutual information "
                         "any dependence at all (0 = none). A relation can be strong and still have a "
                         "Pearson correlation near 0.")
            shown = corr.copy()
            shown.insert(0, "attribute", [str(c) for c in shown.index])
            section.table(shown, max_rows=60)
            measure = corr["pearson"].dropna()
            label = "Pearson correlation"
            if measure.empty:
                measure, label = corr["mutual_info"].dropna(), "mutual information"
            if len(measure):
                fig = attempt(self.problems, "correlation bar chart", lambda: figs.signed_bars(
                    measure, f"{label} with {_short(self.target)}", xlabel=label), None)
                if fig is not None:
                    self._show(section, fig, "target-correlations", caption=f"{label} of each attribute with the target")
            self._scatter_matrix(section)
        elif self.target is not None:
            section.note("Correlations with the target could not be computed (see the last section).")
        self._heat_map(section)

    def _scatter_matrix(self, section: Section) -> None:
        pearson = self.corr["pearson"].dropna() if "pearson" in self.corr else pd.Series(dtype=float)
        top = pearson.abs().sort_values(ascending=False).index[:3].tolist()
        if not top or self.target not in self.block.columns and self.task == "regression":
            return
        rows = self.plot_rows if len(self.plot_rows) <= SCATTER_MATRIX_ROWS else self.plot_rows.sample(
            SCATTER_MATRIX_ROWS, random_state=self.seed)
        if self.task == "regression":
            frame, color = self.block.loc[rows.index, [self.target, *top]], None
        else:
            frame, color = self.block.loc[rows.index, top], self.df.loc[rows.index, self.target]
        fig = attempt(self.problems, "scatter matrix", lambda: figs.scatter_matrix(
            frame, f"Most correlated attributes ({len(frame):,} rows)", color=color), None)
        if fig is not None:
            self._show(section, fig, "scatter-matrix", caption="The attributes most correlated with the target"
                           + ("" if color is None else ", coloured by class"))

    def _heat_map(self, section: Section) -> None:
        columns = [c for c in self.numeric if self.table.at[c, "distinct"] > 1]
        if self.target is not None and self.target in self.block.columns:
            ranked = [c for c in self.corr.index if c in columns]
            columns = [self.target, *ranked, *[c for c in columns if c not in ranked]]
        if len(columns) < 2:
            section.text("Fewer than two numeric attributes: no correlation heat map.")
            return
        if len(columns) > HEAT_MAP_COLUMNS:
            self.limits.append(f"the heat map shows {HEAT_MAP_COLUMNS} of {len(columns):,} numeric columns"
                               + (" (those most correlated with the target)" if self.target else ""))
            columns = columns[:HEAT_MAP_COLUMNS]
        matrix = attempt(self.problems, "correlation matrix", lambda: self.block[columns].corr(), None)
        if matrix is not None:
            fig = attempt(self.problems, "heat map", lambda: figs.heat_map(matrix, "Pearson correlations"), None)
            if fig is not None:
                self._show(section, fig, "correlation-heat-map", caption="Correlations between numeric columns")

    def geography(self, section: Section) -> None:
        if self.geo is None:
            section.text("No latitude/longitude pair found (columns named lat/latitude and lon/lng/longitude, "
                         "in range).")
            return
        lat, lon = self.geo
        rows = self.plot_rows[[lat, lon]].dropna().index
        size_column = self._size_column(exclude={lat, lon, self.target})
        color = None
        if self.target is not None:
            color = self.block.loc[rows, self.target] if self.task == "regression" else self.df.loc[rows, self.target]
        size = self.block.loc[rows, size_column] if size_column else None
        fig = attempt(self.problems, "geographic scatter", lambda: figs.geo_scatter(
            self.block.loc[rows, lon], self.block.loc[rows, lat], f"{len(rows):,} rows by location", color=color,
            color_label=str(self.target or ""), size=size, size_label=str(size_column or "")), None)
        caption = "Each point a row" + (f", coloured by {self.target}" if color is not None else "") + (
            f", sized by {size_column}" if size_column else "")
        self._show(section, fig, "geographic-scatter", caption=caption)

    def _size_column(self, exclude: set[Any]) -> Any:
        """A population-like column, else the most count-like positive one, else None."""
        candidates = [c for c in self.numeric if c not in exclude and self.table.at[c, "min"] >= 0]
        named = [c for c in candidates if _COUNT_NAME.search(str(c))]
        if named:
            return sorted(named, key=lambda c: not re.search("popul|people", str(c), re.I))[0]
        counts = [c for c in candidates if c in self.heavy
                  and bool(np.all(np.mod(self.block[c].dropna().to_numpy(), 1) == 0))]
        return max(counts, key=lambda c: self.table.at[c, "median"]) if counts else None

    def suggestions(self, section: Section) -> None:
        tips = []
        if self.heavy:
            listed = ", ".join(f"{c} (skew {self.table.at[c, 'skew']:.1f})" for c in self.heavy[:20])
            tips.append(f"log(1 + x) of the long right tails: {listed}; closer to a bell shape, "
                        "they suit linear models, k-NN and neural networks better.")
        ratios = attempt(self.problems, "ratio features", lambda: ratio_candidates(
            self.block, [c for c in self.heavy if c != self.target], self.y_numbers), [])
        for top, bottom, ratio_corr, own_corr in ratios:
            text = f"ratio {top} / {bottom} (say '{top} per {bottom}'): the two move together, their ratio may say more"
            if ratio_corr is not None and ratio_corr == ratio_corr:
                text += f" (correlation with the target {ratio_corr:.2f} against {own_corr:.2f} for {top} alone)"
            tips.append(text + ".")
        for column, (end, value, rows) in self.caps.items():
            if column != self.target:
                tips.append(f"{column}: {rows:,} rows at the {end}imum {_num(value)} "
                            f"({'capped' if end == 'max' else 'floored'}); a model cannot see beyond it.")
        for column in self.attrs:
            kind, distinct = self.kinds.get(column), self.table.at[column, "distinct"]
            if kind == "categorical":
                how = "one-hot encoding" if distinct <= 15 else "target or ordinal encoding (too many levels for one-hot)"
                tips.append(f"{column}: {how} ({int(distinct):,} categories).")
            elif kind == "boolean":
                tips.append(f"{column}: map to 0/1.")
            elif kind == "datetime":
                tips.append(f"{column}: split into year, month, day of week (and hour when present).")
            elif kind == "text":
                tips.append(f"{column}: free text; bag of words (TF-IDF) or drop it.")
        missing = [c for c in self.attrs if self.kinds.get(c) not in _UNUSABLE and 0 < self.table.at[c, "missing"] < 0.5]
        for column in self.attrs:
            share = self.table.at[column, "missing"]
            if self.kinds.get(column) not in _UNUSABLE and 0.5 <= share < 0.9:
                tips.append(f"{column}: {share:.0%} missing; whether it is missing may be all it tells "
                            "(replace it by a has-value indicator).")
        if missing:
            tips.append("impute the missing values (median for numbers, most frequent or 'missing' for "
                        "categories, plus a missing-indicator column): " + ", ".join(str(c) for c in missing[:20]) + ".")
        if len(self.numeric) > 1:
            tips.append("standardise the numeric attributes for linear models, SVMs, k-NN and neural networks "
                        "(trees do not need it).")
        if self.geo is not None:
            tips.append(f"{self.geo[0]}/{self.geo[1]}: distances to cluster centres, or neighbours' target values, "
                        "often beat the raw coordinates.")
        self.report.suggestions = tips
        section.bullets(tips) if tips else section.text("Nothing to suggest.")

    def useless(self, section: Section) -> None:
        useless = []
        for column in self.attrs:
            kind = self.kinds.get(column)
            if kind in _UNUSABLE:
                useless.append(f"{column}: {self.reasons.get(column) or kind}.")
            elif self.table.at[column, "missing"] >= 0.9:
                useless.append(f"{column}: {self.table.at[column, 'missing']:.0%} missing.")
            elif column in self.corr.index:
                pearson, mi = self.corr.at[column, "pearson"], self.corr.at[column, "mutual_info"]
                if mi == mi and mi < 0.005 and (pearson != pearson or abs(pearson) < 0.02):
                    useless.append(f"{column}: no sign of a relation with the target "
                                   f"(mutual information {mi:.3f}); check before dropping it.")
        self.report.useless = useless
        section.bullets(useless) if useless else section.text("Every attribute looks worth keeping.")

    def limits_section(self, section: Section) -> None:
        if not self.problems and not self.limits:
            section.text("Every statistic was computed, on every row.")
        if self.limits:
            section.heading("Sampled or left out")
            section.bullets(self.limits)
        if self.problems:
            section.heading("Could not compute")
            section.bullets(self.problems)


def _plain_schema(df: pd.DataFrame, target: str | None) -> Schema:
    """Kinds from the dtypes alone, when the full inference failed."""
    columns = []
    for name in df.columns:
        if name == target:
            continue
        numeric = pd.api.types.is_numeric_dtype(df[name]) and not pd.api.types.is_bool_dtype(df[name])
        columns.append(ColumnInfo(name, "numeric" if numeric else "categorical", str(df[name].dtype), 0, 0))
    return Schema(columns=columns, target=target, n_rows=len(df))


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"


def _short(text: Any) -> str:
    return figs.short_text(text, 40)
