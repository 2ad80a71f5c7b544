"""Anomaly and fraud detection on a table, end to end: read → prepare → score → threshold → explain → save.

Unsupervised: a known label (``label=``) is held back from the detector and used only to
evaluate it, to set the threshold for a target precision or recall, and to compare with a
supervised classifier trained on the same label, so the user learns which framing wins.

>>> import homl
>>> result = homl.detect_anomalies("transactions.csv", label="is_fraud")   # doctest: +SKIP
>>> result.evaluation["pr_auc"], result.supervised["pr_auc"]              # doctest: +SKIP
>>> homl.load("models/fraud").predict_frame("today.csv")                  # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from homl import data as hdata
from homl._progress import Progress
from homl.errors import ConfigError, TargetError

from ._kinds import ModelInfo
from ._model import check_output
from ._resume import data_hash
from ._unsupervised import UnsupervisedModel, UnsupervisedResult, distance_pipeline, read_rows

#: Rows listed as the most anomalous in the report.
TOP_ROWS = 20
#: Folds of the supervised comparison.
SUPERVISED_FOLDS = 5


class AnomalyModel(UnsupervisedModel):
    """A fitted detector: ``schema → preparation → AnomalyDetector``, with its threshold.

    ``predict_frame`` gives each row its ``anomaly_score`` (higher = more anomalous),
    ``is_anomaly`` (1 at or above the threshold) and ``reason`` (the attributes that make the
    row unusual, in words).
    """

    kind: ClassVar[str] = "anomalies"
    TABLES = ("most_anomalous",)

    @property
    def threshold(self) -> float:
        return float(self.metadata["threshold"])

    def score(self, data: Any, *, issues: list[str] | None = None) -> np.ndarray:
        """Each row's anomaly score (higher = more anomalous), in input order."""
        X = self._checked(data, issues)
        return self.pipeline[-1].anomaly_score(self.pipeline[:-1].transform(X)) if len(X) else np.empty(0)

    def _output_columns(self) -> dict[str, str]:
        return {"anomaly_score": "float64", "is_anomaly": "int64", "reason": "object"}

    def _predict_rows(self, X: pd.DataFrame) -> pd.DataFrame:
        from homl.evaluate import row_reasons

        scores = self.pipeline[-1].anomaly_score(self.pipeline[:-1].transform(X))
        out = pd.DataFrame(index=X.index)
        out["anomaly_score"] = scores
        out["is_anomaly"] = (scores >= self.threshold).astype(int)
        out["reason"] = row_reasons(X, self.metadata["reason_statistics"])
        return out

    @classmethod
    def _check_metadata(cls, metadata: dict[str, Any]) -> None:
        float(metadata["threshold"])
        if "numeric" not in metadata["reason_statistics"]:
            raise KeyError("reason_statistics")

    def info(self) -> ModelInfo:
        meta = self.metadata
        lines = [f"detector: {meta.get('method_name', meta.get('method'))}",
                 f"threshold: {self.threshold:.4g} ({meta.get('threshold_rule', '')}); "
                 f"{meta.get('flagged', '?')} of {meta.get('n_rows', '?')} training rows flagged"]
        evaluation = meta.get("evaluation")
        if evaluation:
            lines.append(f"against '{meta.get('label')}': PR AUC {evaluation['pr_auc']:.3f}, ROC AUC "
                         f"{evaluation['roc_auc']:.3f}, precision {evaluation['precision']:.2f}, "
                         f"recall {evaluation['recall']:.2f}")
        supervised = meta.get("supervised")
        if supervised:
            lines.append(f"a supervised {supervised['model']} on the same label: PR AUC {supervised['pr_auc']:.3f} "
                         "(cross-validated)")
        lines.append(f"trained {meta.get('created', '?')} on data sha256 {meta.get('data_sha256', '?')[:16]}…")
        return ModelInfo(kind=self.kind, summary=lines, schema=self.schema,
                         versions=dict(meta.get("library_versions", {})))

    def _build_report(self, metadata: dict[str, Any], diagnostics: dict[str, Any] | None) -> Any:
        from homl.report.anomalies import build_anomaly_report

        return build_anomaly_report(metadata, diagnostics)

    def __repr__(self) -> str:
        return f"AnomalyModel(kind='anomalies', method={self.metadata.get('method')!r}, threshold={self.threshold:.4g})"


@dataclass
class AnomalyResult(UnsupervisedResult):
    """What ``detect_anomalies`` found: the model, each training row's score and flag, and, with a
    label, how well the scores find the known anomalies."""

    model: AnomalyModel
    scores: np.ndarray
    is_anomaly: np.ndarray
    top: pd.DataFrame
    evaluation: dict[str, Any] | None = None
    supervised: dict[str, Any] | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict, repr=False)
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        meta = self.model.metadata
        return (f"AnomalyResult(method={meta.get('method')!r}, flagged={int(self.is_anomaly.sum())}, "
                f"rows={len(self.scores)})")


def detect_anomalies(
    data: Any,
    *,
    label: str | None = None,
    method: str = "auto",
    contamination: float | str = "auto",
    precision: float | None = None,
    recall: float | None = None,
    compare_supervised: bool = True,
    output: str | Path | None = None,
    overwrite: bool = False,
    seed: int = 42,
    query: str | None = None,
    progress: Progress | None = None,
) -> AnomalyResult:
    """Score every row of a table by how unusual it is, flag the anomalies and say why each is one.

    ``method``: "auto" (homl's default, robust across tables) or a detector of
    :func:`homl.models.available_detectors`. The threshold comes from ``contamination`` (the
    expected share of anomalies, estimated when "auto") or, with ``label``, from a target
    ``precision`` or ``recall`` on the labelled rows. ``label`` (1/0, yes/no...) is never shown to
    the detector: it evaluates it, and a supervised classifier trained on it (cross-validated,
    class weights for the imbalance) is compared unless ``compare_supervised`` is False.
    With ``output`` the model directory is written there (with its report).
    """
    from homl.evaluate import label_scores, reason_statistics, row_reasons, threshold_for
    from homl.models import AnomalyDetector, available_detectors

    progress = progress or Progress()
    if method != "auto" and method not in available_detectors():
        raise ConfigError(f"unknown anomaly detector {method!r}; expected auto or one of "
                          f"{', '.join(available_detectors())}")
    if (precision is not None or recall is not None) and label is None:
        raise ConfigError("a target precision or recall needs --label, the column that says which rows are anomalies")
    if precision is not None and recall is not None:
        raise ConfigError("give a target precision or a target recall, not both")
    for name, value in (("precision", precision), ("recall", recall)):
        if value is not None and not 0 < value <= 1:
            raise ConfigError(f"{name} must be in (0, 1]; got {value}")
    contamination = _contamination(contamination)
    if output is not None:
        check_output(Path(output), overwrite)
    rows = read_rows(data, query=query, what="anomaly detection", progress=progress, label=label)
    labels = _labels(rows.frame[label], rows.name) if label is not None else None
    table = rows.unlabelled
    detector = AnomalyDetector(method=method, contamination=contamination, random_state=seed)
    pipeline = distance_pipeline(rows.schema, ("detector", detector), seed)
    progress.phase("scoring the rows")
    prepared = pipeline[:-1].fit_transform(table)  # the pipeline's own fit, one preparation pass
    detector = pipeline[-1].fit(prepared)
    scores = detector.anomaly_score(prepared)
    flagged_by_detector = scores > detector.threshold_  # as ``predict`` flags them
    threshold = float(scores[flagged_by_detector].min()) if flagged_by_detector.any() else float(np.inf)
    rule = (f"the expected share of anomalies, {contamination:.1%}" if not isinstance(contamination, str)
            else "the share of anomalies estimated from the scores")
    if labels is not None and (precision is not None or recall is not None):
        target = threshold_for(labels, scores, precision=precision, recall=recall)
        wanted = f"precision {precision}" if precision is not None else f"recall {recall}"
        if target is None:
            progress.note(f"no threshold reaches {wanted} on the labelled rows; kept the threshold of {rule}")
        else:
            threshold, rule = target, f"{wanted} on the labelled rows"
    flagged = scores >= threshold
    progress.note(f"{int(flagged.sum()):,} of {len(scores):,} rows flagged as anomalies (threshold from {rule})")
    statistics = reason_statistics(rows.features, rows.schema)
    order = np.argsort(-scores, kind="stable")[:TOP_ROWS]
    top = table.iloc[order].copy()
    top.insert(0, "anomaly_score", scores[order])
    top.insert(0, "row", order + 1)
    top["reason"] = row_reasons(rows.features.iloc[order], statistics)
    evaluation = supervised = None
    if labels is not None:
        evaluation = label_scores(labels, scores, flagged)
        progress.note(f"against '{label}': PR AUC {evaluation['pr_auc']:.3f}, ROC AUC {evaluation['roc_auc']:.3f}")
        if compare_supervised:
            progress.phase("comparing with a supervised classifier")
            supervised = _supervised(table, rows.schema, labels, seed)
    metadata = {
        "method": method, "method_name": _detector_name(detector.method_),
        "threshold": threshold, "threshold_rule": rule, "flagged": int(flagged.sum()), "n_rows": len(scores),
        "label": label, "evaluation": _without_curve(evaluation), "supervised": supervised,
        "reason_statistics": statistics, "source": rows.name, "data_sha256": data_hash(table),
        "notes": rows.notes, "seed": seed,
    }
    diagnostics = _diagnostics(scores, threshold, evaluation, supervised, top)
    model = AnomalyModel(pipeline, rows.schema, metadata, {"most_anomalous": top})
    result = AnomalyResult(model, scores, flagged.astype(int), top, evaluation, supervised, diagnostics, rows.notes)
    progress.end_phase()
    if output is not None:
        result.save(output, overwrite=overwrite)
    return result


def _contamination(value: Any) -> float | str:
    """``contamination`` checked: "auto", or a share above 0 and at most 0.5 (a number, or its text)."""
    if isinstance(value, str) and value.strip() == "auto":
        return "auto"
    share = value
    if isinstance(value, str):
        try:
            share = float(value)
        except ValueError:
            share = None
    if isinstance(share, (bool, np.bool_)) or not isinstance(share, (int, float, np.integer, np.floating)) \
            or not 0 < share <= 0.5:
        raise ConfigError(f"contamination must be 'auto' or the expected share of anomalies, above 0 and at most "
                          f"0.5 (e.g. 0.01); got {value!r}")
    return float(share)


def _detector_name(members: tuple[str, ...]) -> str:
    from homl.models import DETECTORS

    names = [DETECTORS[name].readable for name in members]
    return names[0] if len(names) == 1 else f"mean of the standardised scores of {' and '.join(names)}"


def _labels(values: pd.Series, name: str) -> np.ndarray:
    """The label column as 1 (anomaly) / 0, or an error naming what is wrong with it."""
    label = values.name
    if values.isna().any():
        raise TargetError(f"label column '{label}' of {name} has {int(values.isna().sum())} missing value(s); "
                          "every row needs one to evaluate the detector")
    levels = sorted(values.unique(), key=str)
    if len(levels) != 2:
        raise TargetError(f"label column '{label}' of {name} has {len(levels)} distinct value(s) "
                          f"({', '.join(map(str, levels[:5]))}); expected two: anomaly and normal")
    positive = _anomaly_level(values)
    return (values == positive).to_numpy().astype(int)


def _anomaly_level(values: pd.Series) -> Any:
    """Which of two levels means "anomaly": one that reads as 1, true, yes, fraud, anomaly or outlier,
    else the rarer one."""
    counts = values.value_counts()
    for level in counts.index:
        if str(level).strip().lower() in ("1", "1.0", "true", "yes", "y", "fraud", "anomaly", "outlier"):
            return level
    return counts.index[-1]


def _supervised(table: pd.DataFrame, schema: hdata.Schema, labels: np.ndarray, seed: int) -> dict[str, Any] | None:
    """A class-weighted LightGBM on the label, cross-validated: the supervised framing's PR AUC."""
    from sklearn.metrics import average_precision_score, roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from homl.models import build_pipeline, get_spec, threads_for

    folds = min(SUPERVISED_FOLDS, int(labels.sum()), int((1 - labels).sum()))
    if folds < 2:
        return None
    threads = threads_for(len(table), table.shape[1])
    pipeline = build_pipeline(get_spec("lightgbm"), "binary", schema, {"class_weight": "balanced"}, seed=seed,
                              threads=threads)
    proba = cross_val_predict(pipeline, table, labels, cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
                              method="predict_proba")[:, 1]
    return {"model": "LightGBM (class-weighted)", "folds": folds,
            "pr_auc": float(average_precision_score(labels, proba)), "roc_auc": float(roc_auc_score(labels, proba))}


def _without_curve(evaluation: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if evaluation is None else {k: v for k, v in evaluation.items() if k != "curve"}


def _diagnostics(scores: np.ndarray, threshold: float, evaluation: dict[str, Any] | None,
                 supervised: dict[str, Any] | None, top: pd.DataFrame) -> dict[str, Any]:
    from homl._json import to_json

    return to_json({
        "scores": np.round(scores, 6).tolist() if len(scores) <= 20_000 else
        np.round(np.quantile(scores, np.linspace(0, 1, 20_001)), 6).tolist(),
        "threshold": threshold if np.isfinite(threshold) else None,
        "evaluation": evaluation, "supervised": supervised,
        "top": json.loads(top.to_json(orient="records")),
    })
