"""Short-listing: every model family with its default settings, cross-validated within a budget."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from homl._progress import Progress
from homl.models import ModelSpec

from ._cv import Evaluation, Folds, cross_validate
from ._executor import Executor, Job, LocalExecutor


def baseline(folds: Folds) -> Evaluation:
    """The trivial model every score is read against: the mean, or the class frequencies."""
    from sklearn.dummy import DummyClassifier, DummyRegressor

    model = DummyRegressor() if folds.classes is None else DummyClassifier(strategy="prior")
    evaluation = cross_validate("baseline", model, folds)
    evaluation.stage = "baseline"
    return evaluation


def shortlist(
    specs: list[ModelSpec],
    build: Callable[[ModelSpec], Any],
    folds: Folds,
    *,
    deadline: float,
    progress: Progress,
    done: dict[str, Evaluation] | None = None,
    on_result: Callable[[Evaluation], None] | None = None,
    executor: Executor | None = None,
    anchor_deadline: float | None = None,
) -> list[Evaluation]:
    """Cross-validate each family at its defaults, in ``specs`` order, until ``deadline``.

    A family whose remaining folds would not finish in time is skipped, and ``progress``
    says why. Anchor families (see :attr:`~homl.models.ModelSpec.anchor`) go first, and
    are never skipped: a busy machine, a small budget or a slow table must not leave the
    likely winner out. Their folds share the time to ``anchor_deadline`` (default
    ``deadline``), each fold's end told to the model: a booster stops growing trees there.
    ``done`` holds results of an earlier, interrupted run (they are reused). The ``executor``
    (default: one family after another here) runs the cross-validations.
    """
    results = dict(done or {})
    progress.phase("Short-list", total=len(specs))
    anchor_deadline = max(deadline, anchor_deadline or deadline)
    ordered = [s for s in specs if s.anchor] + [s for s in specs if not s.anchor]

    def jobs() -> Iterator[Job]:
        for spec in ordered:
            if spec.name in results:
                progress.advance(detail=f"{spec.name} (from the earlier run)")
                continue
            now = time.monotonic()
            if spec.anchor:  # its folds share the time to the anchors' end, a booster growing what fits
                yield Job(spec.name, build(spec), shared_until=anchor_deadline, tag=spec)
                continue
            left = deadline - now
            if left <= 0:
                progress.note(f"skipped {spec.label}: the short-list budget was spent")
                progress.advance()
                continue
            # No family may take more than half of what is left, so one slow model cannot starve the rest.
            share = now + max(left * 0.5, min(left, 5.0))
            yield Job(spec.name, build(spec), deadline=deadline, all_folds_by=share, tag=spec)

    for outcome in (executor or LocalExecutor()).run(jobs(), folds):
        spec, evaluation = outcome.job.tag, outcome.evaluation
        if outcome.out_of_time is not None:
            progress.note(f"skipped {spec.label}: too slow for the budget ({outcome.out_of_time})")
        elif outcome.error is not None:
            error = outcome.error
            progress.note(f"skipped {spec.label}: it failed on this data ({type(error).__name__}: {error})")
        elif not np.all(np.isfinite(evaluation.fold_scores)):
            progress.note(f"skipped {spec.label}: it gave no finite score")
        else:
            results[spec.name] = evaluation
            if on_result is not None:
                on_result(evaluation)
        progress.advance(detail=spec.name)
    progress.end_phase()
    return list(results.values())
