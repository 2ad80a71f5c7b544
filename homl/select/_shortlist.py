"""Short-listing: every model family with its default settings, cross-validated within a budget."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from homl._progress import Progress
from homl.models import ModelSpec

from ._cv import Evaluation, Folds, OutOfTime, cross_validate


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
) -> list[Evaluation]:
    """Cross-validate each family at its defaults, cheapest decisions first, until ``deadline``.

    A family whose remaining folds would not finish in time is skipped, and ``progress``
    says why. ``done`` holds results of an earlier, interrupted run (they are reused).
    """
    results = dict(done or {})
    progress.phase("Short-list", total=len(specs))
    for spec in specs:
        if spec.name in results:
            progress.advance(detail=f"{spec.name} (from the earlier run)")
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            progress.note(f"skipped {spec.label}: the short-list budget was spent")
            progress.advance()
            continue
        # No family may take more than half of what is left, so one slow model cannot starve the rest.
        share = time.monotonic() + max(left * 0.5, min(left, 5.0))
        try:
            evaluation = cross_validate(spec.name, build(spec), folds, deadline=deadline, all_folds_by=share)
        except OutOfTime as reason:
            progress.note(f"skipped {spec.label}: too slow for the budget ({reason})")
        except Exception as error:  # a family that fails on this data must not end the run
            progress.note(f"skipped {spec.label}: it failed on this data ({type(error).__name__}: {error})")
        else:
            if not np.all(np.isfinite(evaluation.fold_scores)):
                progress.note(f"skipped {spec.label}: it gave no finite score")
            else:
                results[spec.name] = evaluation
                if on_result is not None:
                    on_result(evaluation)
        progress.advance(detail=spec.name)
    progress.end_phase()
    return list(results.values())
