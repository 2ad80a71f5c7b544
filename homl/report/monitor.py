"""The monitoring report: whether new rows still look like the reference rows (data and prediction drift)
and how the model scores on labelled live rows against its test score.

Built from plain results only (:class:`~homl.evaluate.DriftResult`, :class:`~homl.evaluate.FeatureDrift`,
:class:`~homl.evaluate.LivePerformance`), so a saved check can be drawn again without the rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from homl.evaluate import DriftResult, FeatureDrift, LivePerformance
from homl.metrics import METRICS

from ._figures import BLUE, GREY, ORANGE, RED, WIDE, new_figure, short_text
from ._html import Report, Section
from ._html import num as _num

#: Section titles, in order (the last three only when there is something to show).
SECTIONS = ("Verdict", "Data drift", "Prediction drift", "Live performance", "Notes")
#: Drifted features drawn at most, and bins drawn per feature.
MAX_FIGURES, MAX_BINS = 12, 20


def build_monitor_report(drift: DriftResult, *, title: str, predictions: FeatureDrift | None = None,
                         live: LivePerformance | None = None, notes: list[str] | None = None) -> Report:
    """The report of one monitoring check: drift of the features and predictions, and the live score."""
    report = Report(title, f"{drift.current_rows:,} current rows against {drift.reference_rows:,} reference rows")
    _verdict(report.section("Verdict"), drift, predictions, live)
    _data_drift(report.section("Data drift"), drift)
    if predictions is not None:
        _prediction_drift(report.section("Prediction drift"), predictions)
    if live is not None:
        _live(report.section("Live performance"), live)
    if notes:
        report.section("Notes").bullets(notes)
    return report


def overall_status(drift: DriftResult, predictions: FeatureDrift | None = None,
                   live: LivePerformance | None = None) -> str:
    """One word for the whole check: "performance drop", "drift", "warn", "too few rows" or "ok"."""
    if live is not None and live.alert:
        return "performance drop"
    statuses = {f.status for f in drift.features} | ({predictions.status} if predictions is not None else set())
    for status in ("drift", "warn"):
        if status in statuses:
            return status
    return "too few rows" if statuses == {"too few rows"} else "ok"


def _verdict(section: Section, drift: DriftResult, predictions: FeatureDrift | None,
             live: LivePerformance | None) -> None:
    judged = [f for f in drift.features if f.status != "too few rows"]
    cards = {"status": overall_status(drift, predictions, live),
             "features drifted / checked": f"{len(drift.drifted)} / {len(drift.features)}",
             "current rows": drift.current_rows, "reference rows": drift.reference_rows}
    if predictions is not None:
        cards["predictions"] = predictions.status
    if live is not None and np.isfinite(live.overall.get("score", np.nan)):
        cards[f"live {_label(live.metric)}"] = _num(live.overall["score"])
    section.cards(cards)
    sentences = []
    if drift.features and not judged:
        sentences.append(f"Only {drift.current_rows:,} current rows, fewer than {drift.thresholds.min_rows}: "
                         "too few to judge drift.")
    elif drift.drifted:
        sentences.append(f"{len(drift.drifted)} of {len(drift.features)} features drifted: {_names(drift.drifted)}.")
    else:
        sentences.append(f"None of the {len(drift.features)} features drifted.")
    warned = [f.name for f in drift.features if f.status == "warn"]
    if warned:
        sentences.append(f"{len(warned)} {'shows' if len(warned) == 1 else 'show'} a warning: {_names(warned)}.")
    if predictions is not None and predictions.status in ("drift", "warn"):
        sentences.append(f"The predictions {'drifted' if predictions.status == 'drift' else 'show a warning'} "
                         f"(PSI {predictions.psi:.2f}).")
    elif predictions is not None and predictions.status == "ok":
        sentences.append("The predictions are spread as they were.")
    if live is not None:
        sentences.append(live.reason)
    section.text(" ".join(sentences))


def _data_drift(section: Section, drift: DriftResult) -> None:
    t = drift.thresholds
    section.text(
        "Each feature of the current rows is set against the summary of the reference rows. PSI (population "
        f"stability index) measures how far its distribution moved ({t.psi_warn:g} a moderate shift, {t.psi_drift:g} "
        "a major one); a Kolmogorov-Smirnov test (numbers) or a chi-square test (categories, and binned numbers with "
        "their missing values) says whether the move is more than chance, its p-value multiplied by the number of "
        f"tests made (Bonferroni). A feature drifts when both agree (p < {t.alpha:g} and PSI ≥ {t.psi_warn:g}); one "
        "alone is a warning, since large samples make tiny moves significant and small samples make PSI noisy. "
        "Wasserstein is the mean move of the quantiles, in reference standard deviations.")
    if not drift.features:
        section.note("No feature was checked.")
        return
    section.table(drift.table())
    drawn = [f for f in drift.features if f.status == "drift"]
    for feature in drawn[:MAX_FIGURES]:
        section.figure(shares_figure(feature), f"drift-{feature.name}", feature.reason)
    if len(drawn) > MAX_FIGURES:
        section.note(f"{len(drawn) - MAX_FIGURES} more drifted features are in the table but not drawn.")


def _prediction_drift(section: Section, predictions: FeatureDrift) -> None:
    section.text(f"The model's predictions on the current rows against its predictions on the reference rows: "
                 f"{predictions.status}. {predictions.reason} Predictions that move while the features do not "
                 "point at the features the model leans on most; predictions that stay put despite drifted "
                 "features suggest the drift touches features that matter little.")
    section.figure(shares_figure(predictions), "prediction-drift")


def _live(section: Section, live: LivePerformance) -> None:
    better = "higher" if live.greater_is_better else "lower"
    section.text(f"{live.reason} The {_label(live.metric)} ({better} is better) on labelled live rows, per window "
                 "with its 95% bootstrap interval; a window whose whole interval lies on the worse side of the test "
                 "score is a drop.")
    if live.windows.empty:
        section.note("No window holds labelled rows.")
        return
    section.figure(live_figure(live), "live-performance")
    shown = live.windows.copy()
    for column in ("start", "end"):
        shown[column] = [_when(t) for t in shown[column]]
    section.table(shown)


def shares_figure(feature: FeatureDrift) -> Figure:
    """Reference and current share of rows per bin, side by side (bins empty on both sides left out)."""
    shares = pd.DataFrame({"reference": feature.reference_shares, "current": feature.current_shares},
                          index=[_bin_label(b) for b in feature.bins])
    shares = shares[(shares > 0).any(axis=1).to_numpy()]
    if len(shares) > MAX_BINS:
        largest = np.argsort(-shares.max(axis=1).to_numpy(), kind="stable")[: MAX_BINS - 1]
        kept = np.isin(np.arange(len(shares)), largest)
        rest = shares[~kept].sum().rename(f"({(~kept).sum()} more)")
        shares = pd.concat([shares[kept], rest.to_frame().T])
    fig, ax = new_figure((max(WIDE[0], 0.45 * len(shares) + 2), WIDE[1]))
    x = np.arange(len(shares))
    ax.bar(x - 0.2, shares["reference"], width=0.4, color=GREY, label="reference")
    ax.bar(x + 0.2, shares["current"], width=0.4, color=RED if feature.status == "drift" else BLUE, label="current")
    ax.set_xticks(x, list(shares.index), rotation=40, ha="right", fontsize="x-small")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_ylabel("share of rows")
    ax.legend(fontsize="small")
    ax.set_title(f"{short_text(feature.name, 40)}: {feature.status} (PSI {feature.psi:.2f})", fontsize="medium")
    return fig


def live_figure(live: LivePerformance) -> Figure:
    """Score per window with its interval, coloured by status, and the test score as a dashed line."""
    windows = live.windows
    fig, ax = new_figure(WIDE)
    x = np.arange(len(windows))
    colours = {"ok": BLUE, "drop": RED, "too few rows": GREY}
    for status, colour in colours.items():
        rows = (windows["status"] == status).to_numpy()
        if rows.any():
            score = windows["score"].to_numpy(dtype=float)[rows]
            low, high = windows["low"].to_numpy(dtype=float)[rows], windows["high"].to_numpy(dtype=float)[rows]
            error = np.nan_to_num(np.vstack([score - low, high - score]).clip(min=0))
            ax.errorbar(x[rows], score, yerr=error, fmt="o", color=colour, capsize=3)
    handles = [Patch(color=c, label=s) for s, c in colours.items() if (windows["status"] == s).any()]
    if live.reference is not None:
        ax.axhline(live.reference, color=ORANGE, linestyle="--", linewidth=1)
        handles.append(Patch(color=ORANGE, label=f"test score {_num(live.reference)}"))
    ax.set_xticks(x, [_when(t) for t in windows["start"]], rotation=40, ha="right", fontsize="x-small")
    ax.set_xlabel("window start")
    ax.set_ylabel(_label(live.metric))
    ax.legend(handles=handles, fontsize="small")
    ax.set_title(f"Live {_label(live.metric)} per window", fontsize="medium")
    return fig


def _bin_label(text: str, width: int = 36) -> str:
    """A bin's name short enough for the axis, keeping its end, where names often differ ("... number 12")."""
    return text if len(text) <= width else short_text(text[: -width // 3], width - width // 3) + text[-width // 3:]


def _label(metric: str) -> str:
    return METRICS[metric].label if metric in METRICS else metric


def _when(value: object) -> str:
    if value is None or pd.isna(value):
        return "all rows"
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M").removesuffix(" 00:00")


def _names(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
