"""Decision thresholds for binary classifiers, chosen on out-of-fold probabilities.

A binary model says ``classes[1]`` once its probability passes 0.5. For accuracy, balanced
accuracy or F1, above all on skewed classes, another threshold often scores better. The
threshold is where the metric peaks over candidates (quantiles of the out-of-fold
probabilities of ``classes[1]``), smoothed over neighbouring candidates so that a handful
of rows cannot move it.

A threshold chosen and scored on the same rows flatters itself, so it is first checked the
way cross-validation checks a model: for each fold, a threshold is chosen on the other
folds' out-of-fold rows and scored on that fold's rows. Only if these nested choices beat
0.5 on the same rows, in at least ``CONFIDENCE`` of paired bootstrap resamples, is the
threshold chosen on all validated rows kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from homl.errors import ConfigError
from homl.metrics import Metric, get_metric

from ._cv import Evaluation, Folds

#: The metrics that judge predicted labels, so that a decision threshold changes them.
THRESHOLD_METRICS = ("accuracy", "balanced_accuracy", "f1")
#: Fewer validated rows than this, or fewer rows of either class than ``MIN_CLASS_ROWS``: no threshold.
MIN_ROWS = 200
MIN_CLASS_ROWS = 20
#: Candidate thresholds: these quantiles of the out-of-fold probabilities (every half percent).
LEVELS = np.linspace(0.005, 0.995, 199)
#: Candidates whose scores are averaged around each one (the smoothing window).
WINDOW = 5
#: Share of the paired bootstrap resamples in which the nested thresholds must beat 0.5.
CONFIDENCE = 0.95
N_RESAMPLES = 2000

# A score from confusion counts: true and false positives, positive and negative rows (arrays broadcast).
Score = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _accuracy(tp, fp, n_pos, n_neg):
    return (tp + n_neg - fp) / (n_pos + n_neg)


def _balanced_accuracy(tp, fp, n_pos, n_neg):
    return (tp / n_pos + (n_neg - fp) / n_neg) / 2


def _f1(tp, fp, n_pos, n_neg):
    return 2 * tp / (tp + fp + n_pos)


_SCORES: dict[str, Score] = {"accuracy": _accuracy, "balanced_accuracy": _balanced_accuracy, "f1": _f1}


@dataclass(frozen=True)
class Decision:
    """A decision threshold on the probability of ``classes[1]``, and what it was measured to gain.

    ``default_score`` and ``score`` are the ``metric`` on the ``rows`` validated out-of-fold
    rows at 0.5 and at ``threshold``; ``score`` was chosen on those rows, so it runs high.
    ``nested_score`` is the honest figure: on each fold, the threshold chosen on the other folds.
    """

    threshold: float
    metric: str
    default_score: float
    score: float
    nested_score: float
    rows: int

    def apply(self, proba: np.ndarray) -> np.ndarray:
        """Class probabilities as the threshold decides: 1 in the chosen class's column, 0 in the other.

        Threshold metrics (which take the most probable class) score these as the labels the
        thresholded model predicts.
        """
        positive = np.asarray(proba, dtype=float)[:, 1] >= self.threshold
        return np.column_stack([~positive, positive]).astype(float)

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for a model's metadata."""
        return asdict(self)


def decision_metric(task: str, metric: Metric, threshold_metric: str | None = None) -> Metric | None:
    """The metric a decision threshold is tuned for, or ``None`` when none is tuned.

    ``threshold_metric`` asks for one (accuracy, balanced_accuracy or f1; binary tasks only).
    Otherwise it is the fit's ``metric`` on a binary task when that judges labels: the default,
    roc_auc (``DEFAULT_METRIC``), judges the ranking, so by default no threshold is tuned.
    """
    if threshold_metric is None:
        return metric if task == "binary" and metric.name in THRESHOLD_METRICS else None
    if task != "binary":
        raise ConfigError(f"threshold_metric='{threshold_metric}' is for binary classification; this task is {task}")
    chosen = get_metric(threshold_metric, task)
    if chosen.name not in THRESHOLD_METRICS:
        raise ConfigError(
            f"threshold_metric must be one of {', '.join(THRESHOLD_METRICS)}; got '{threshold_metric}', "
            "which does not depend on a threshold"
        )
    return chosen


def choose_threshold(evaluation: Evaluation, folds: Folds, metric: Metric | str, *, seed: int = 0) -> Decision | None:
    """The decision threshold for ``metric`` from ``evaluation``'s out-of-fold probabilities, if one helps.

    ``None`` when a threshold cannot help: not a binary task, a metric that does not judge
    labels, no out-of-fold probabilities, fewer than two folds (nothing to check the choice
    on), too few validated rows of either class, or nested thresholds that do not beat 0.5
    reliably (see the module's docstring).
    """
    name = metric if isinstance(metric, str) else metric.name
    binary = folds.classes is not None and len(folds.classes) == 2
    if name not in _SCORES or evaluation.oof is None or not binary or len(folds.splits) < 2:
        return None
    proba = np.asarray(evaluation.oof, dtype=float)[:, 1]
    positive = np.asarray(folds.y) == folds.classes[1]
    validated = folds.validated
    validated = validated[np.isfinite(proba[validated])]
    n_pos = int(positive[validated].sum())
    if len(validated) < MIN_ROWS or min(n_pos, len(validated) - n_pos) < MIN_CLASS_ROWS:
        return None
    score = _SCORES[name]
    truth, nested, default = _nested(proba, positive, folds, validated, score)
    share = _share_better(truth, nested, default, score, np.random.default_rng(seed))
    if share < CONFIDENCE:
        return None
    threshold = _best_threshold(proba[validated], positive[validated], score)
    p, actual = proba[validated], positive[validated]
    return Decision(
        threshold=threshold, metric=name, default_score=_score_of(_predicted(p, 0.5, strict=True), actual, score),
        score=_score_of(_predicted(p, threshold), actual, score), nested_score=_score_of(nested, truth, score),
        rows=len(validated),
    )


def _predicted(proba: np.ndarray, threshold: float, *, strict: bool = False) -> np.ndarray:
    """Rows predicted ``classes[1]``: probability at least ``threshold``; above it when ``strict``
    (the most probable class at 0.5: a tie goes to ``classes[0]``)."""
    return proba > threshold if strict else proba >= threshold


def _score_of(predicted: np.ndarray, actual: np.ndarray, score: Score) -> float:
    """The score of boolean predictions of ``classes[1]`` against the boolean truth."""
    n_pos = actual.sum()
    return float(score((predicted & actual).sum(), (predicted & ~actual).sum(), n_pos, len(actual) - n_pos))


def _best_threshold(proba: np.ndarray, positive: np.ndarray, score: Score) -> float:
    """The candidate threshold where the smoothed score peaks on these rows."""
    candidates = np.unique(np.quantile(proba, LEVELS))
    pos, neg = np.sort(proba[positive]), np.sort(proba[~positive])
    tp = len(pos) - np.searchsorted(pos, candidates, side="left")
    fp = len(neg) - np.searchsorted(neg, candidates, side="left")
    with np.errstate(divide="ignore", invalid="ignore"):
        curve = np.nan_to_num(score(tp, fp, len(pos), len(neg)), nan=-np.inf)
    half = WINDOW // 2
    smoothed = np.convolve(np.pad(curve, half, mode="edge"), np.ones(WINDOW) / WINDOW, mode="valid")
    return float(candidates[int(np.argmax(smoothed))])


def _nested(proba: np.ndarray, positive: np.ndarray, folds: Folds, validated: np.ndarray,
            score: Score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Over every fold's ``validated`` rows: the truth, the predictions of the threshold chosen
    on the other folds' rows, and those at 0.5."""
    usable = np.zeros(len(proba), dtype=bool)
    usable[validated] = True
    truth, nested, default = [], [], []
    for _, valid in folds.splits:
        others = usable.copy()
        others[valid] = False
        valid = valid[usable[valid]]
        threshold = _best_threshold(proba[others], positive[others], score)
        truth.append(positive[valid])
        nested.append(_predicted(proba[valid], threshold))
        default.append(_predicted(proba[valid], 0.5, strict=True))
    return np.concatenate(truth), np.concatenate(nested), np.concatenate(default)


def _share_better(truth: np.ndarray, nested: np.ndarray, default: np.ndarray, score: Score,
                  rng: np.random.Generator) -> float:
    """Share of paired bootstrap resamples of the rows in which ``nested`` scores above ``default``.

    A resample only changes how many rows of each kind (truth × nested × default) it holds,
    so it is drawn as multinomial counts of the eight kinds: fast whatever the rows.
    """
    kind = truth.astype(int) * 4 + nested.astype(int) * 2 + default.astype(int)
    counts = rng.multinomial(len(kind), np.bincount(kind, minlength=8) / len(kind), size=N_RESAMPLES)
    is_pos, says_nested, says_default = (np.arange(8) // 4) == 1, (np.arange(8) // 2) % 2 == 1, np.arange(8) % 2 == 1
    n_pos = counts[:, is_pos].sum(axis=1)
    n_neg = len(kind) - n_pos
    with np.errstate(divide="ignore", invalid="ignore"):
        tuned = score(counts[:, is_pos & says_nested].sum(axis=1), counts[:, ~is_pos & says_nested].sum(axis=1),
                      n_pos, n_neg)
        base = score(counts[:, is_pos & says_default].sum(axis=1), counts[:, ~is_pos & says_default].sum(axis=1),
                     n_pos, n_neg)
    return float(np.mean(tuned > base))
