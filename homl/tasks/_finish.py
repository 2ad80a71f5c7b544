"""The end of a fit: choose what fits in the time left, refit, score once on the test set."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from homl import data as hdata
from homl import models as zoo
from homl import select
from homl._progress import Progress
from homl.metrics import Metric, TestScore, bootstrap_interval

from ._settings import Budget, SearchSettings, TrainTest

#: Margin on refit estimates (they extrapolate from folds to more rows). Small, since the finish
#: has its own guards: it passes over a winner whose refit no longer fits, and skips the refit on
#: all rows when that would pass the time limit.
SAFETY = 1.2
#: A final model is bagged over this many folds (see :func:`homl.models.bagged`) when the fit
#: allows it and both its bags (on the training rows, then on all rows) cost at most
#: ``BAG_SHARE`` of the time limit and fit in the time left.
BAG_FOLDS = 5
BAG_SHARE = 0.15
#: When the time is up, the final refit may still pass the limit by this share of it.
LATE_SHARE = 0.05


def bag_seconds(finalists: list[select.Evaluation], folds: select.Folds, n_train: int, n_final: int,
                reused: bool = False) -> float:
    """Seconds to bag the ``finalists`` on the training rows (nothing when the ``reused`` fold
    models of cross-validation are the bag) and again on all rows: each of the ``BAG_FOLDS``
    fits sees (k-1)/k of the rows."""
    share = (BAG_FOLDS - 1) / BAG_FOLDS
    return BAG_FOLDS * sum(select.refit_time(f, int(n_train * share), folds) * (not reused)
                           + select.refit_time(f, int(n_final * share), folds) * (n_final > n_train)
                           for f in finalists)


def reused_bag(winner: select.Evaluation, folds: select.Folds | None, n_train: int, task: str) -> Any | None:
    """The winner as the average of its cross-validation fold models (unfitted: ``fit`` on the
    training rows only records them), or None where the search did not keep them all or its
    folds did not cover every training row (a sample)."""
    if folds is None or len(folds.y) != n_train:
        return None
    members = winner.members or [(winner, 1.0)]
    if any(m.models is None or len(m.models) != len(folds.splits) for m, _ in members):
        return None
    try:
        return zoo.fold_ensemble([(m.models, w) for m, w in members], None if task == "regression" else folds.classes)
    except ValueError:  # a fold model that missed a rare class
        return None


def _stack_pipeline(winner: select.Evaluation, build, members: list[Any], classes, holdout: str,
                    first_layer: list[np.ndarray] | None) -> Any:
    """``schema → LayeredStack(members, second layer)`` for a two-layer stack ``winner`` whose
    ``members`` are built pipelines; with ``first_layer``, their out-of-fold predictions."""
    from sklearn.pipeline import Pipeline

    names = [f"{m.name}_{i}" for i, (m, _) in enumerate(winner.members)]
    second = build(zoo.get_spec(winner.params["second layer"]), {}, zoo.stack_columns(names, classes))
    steps = [pipeline[1:] for pipeline in members]
    if first_layer is not None:
        steps = [zoo.OutOfFold(step, oof) for step, oof in zip(steps, first_layer)]
    stack = zoo.LayeredStack(list(zip(names, steps)), second[1:], n_folds=BAG_FOLDS, holdout=holdout)
    return Pipeline([("schema", members[0][0]), ("model", stack)])


def _layered_stack(model: Any) -> Any:
    """The :class:`~homl.models.LayeredStack` inside a fitted final model (through a decision threshold)."""
    while not isinstance(model, zoo.LayeredStack):
        model = model.steps[-1][1] if hasattr(model, "steps") else model.estimator_
    return model


def reserve_for_finish(
    finalists: list[select.Evaluation], folds: select.Folds, n_train: int, n_final: int, time_limit: float,
    bagging: bool = False,
) -> float:
    """Seconds to keep for the finish: refits of the dearest likely winner, an ensemble of all
    the ``finalists`` (twice if refitted on all rows), plus the test score, its bootstrap
    interval and the save (a few seconds, more for long runs). With ``bagging`` (the fold
    models kept), the bags instead where they cost at most ``BAG_SHARE`` of the time limit:
    the bag on the training rows reuses the fold models, so the bag on all rows is the cost
    (on a small table an average of fold models scores better than one refit; the few trials
    that time would have run gain less). Nothing is kept for the boosters' rounds grown with
    the rows (see :func:`rounds_growths`): the finish grows them only when the time is already
    there (a reserve for them cost the search more than they gained)."""
    def refits(rows: int) -> float:
        return sum(select.refit_time(f, rows, folds) for f in finalists)

    fits = refits(n_train) + refits(n_final) * (n_final > n_train)
    if bagging:
        bags = bag_seconds(finalists, folds, n_train, n_final, reused=True)
        if _bag_affordable(bags, time_limit):
            fits = max(fits, bags)
    return SAFETY * fits + _scoring_seconds(time_limit)


def _bag_affordable(seconds: float, time_limit: float) -> bool:
    """Whether bags estimated at ``seconds`` stay, with the finish's margin, within ``BAG_SHARE`` of the time limit."""
    return SAFETY * seconds <= BAG_SHARE * time_limit


def _scoring_seconds(time_limit: float) -> float:
    """Seconds the finish keeps beside its refits: the test score, its bootstrap interval, the save."""
    return 0.03 * time_limit + 1.5


def _closing_seconds(time_limit: float) -> float:
    """Seconds the finish keeps after its last refit: the reference rows' predictions, the result."""
    return 0.01 * time_limit + 1.0


def _refit_seconds_left(end: float, time_limit: float, scored: bool = False) -> float:
    """Seconds the refits may still take, with the finish's margin on their estimates; once the
    test rows are ``scored``, only the closing steps are kept after them."""
    kept = _closing_seconds(time_limit) if scored else _scoring_seconds(time_limit)
    return (end - time.monotonic() - kept) / SAFETY


def _has_boosters(winner: select.Evaluation) -> bool:
    """Whether the winner (or a member) is an early-stopping booster, whose rounds may grow."""
    return any(m.rounds for m, _ in winner.members or [(winner, 1.0)])


def _share_within(seconds: float, low: float, high: float) -> float:
    """The share of the way from a refit taking ``low`` seconds to one taking ``high`` that fits in ``seconds``."""
    if high <= seconds or high <= low:  # it all fits, or growing costs nothing
        return 1.0
    return min(max((seconds - low) / (high - low), 0.0), 1.0)


def rounds_growths(winner: select.Evaluation, folds: select.Folds | None, rows: list[int], fits: int,
                   seconds: float) -> list[float]:
    """How much each planned refit (``fits`` fits on each of ``rows`` rows) grows its boosters'
    rounds: as much of :func:`homl.select.rounds_growth` as the ``seconds`` allow, the same share
    for every refit, none when even the rounds as kept do not fit."""
    if folds is None or not rows or not _has_boosters(winner):
        return [1.0] * len(rows)
    wanted = [select.rounds_growth(n, folds) for n in rows]
    kept = fits * sum(select.refit_time(winner, n, folds) for n in rows)
    grown = fits * sum(select.refit_time(winner, n, folds, g) for n, g in zip(rows, wanted))
    share = _share_within(seconds, kept, grown)
    return [1.0 + share * (g - 1.0) for g in wanted]


def affordable(candidates: list[select.Evaluation], folds: select.Folds, n_train: int, end: float,
                progress: Progress, time_limit: float | None = None) -> select.Evaluation:
    """The best candidate whose final refit still fits in the time left.

    When none does (the time is up), the best whose refit costs at most ``LATE_SHARE`` of the
    ``time_limit`` (a second at least), else the quickest to refit: never a poor model for a
    saving of a fraction of a second."""
    left = end - time.monotonic()
    cost = {id(c): select.refit_time(c, n_train, folds) for c in candidates}
    fitting = next((c for c in candidates if cost[id(c)] <= left), None)
    if fitting is not None:
        for candidate in candidates[:candidates.index(fitting)]:
            progress.note(f"{candidate.name} passed over: its refit would not fit in the {left:.0f} s left")
        return fitting
    late = max(LATE_SHARE * (time_limit or 0.0), 1.0)
    chosen = next((c for c in candidates if cost[id(c)] <= late), min(candidates, key=lambda c: cost[id(c)]))
    progress.note(f"no refit fits in the {max(left, 0):.0f} s left: {chosen.name}, the best whose refit takes "
                  f"about {cost[id(chosen)]:.1f} s, is refitted past the time limit")
    return chosen


def final_estimator(winner: select.Evaluation, build, task: str, decision: select.Decision | None = None,
                    bag: str | None = None, classes: np.ndarray | None = None, holdout: str = "random",
                    first_layer: list[np.ndarray] | None = None, growth: float = 1.0) -> Any:
    """The winner as one pipeline: ``schema → model``, where an ensemble's members each
    carry their own preparation (they may have tuned it differently); a binary ``decision``
    sets the probability above which it predicts the second class. With ``bag`` (how folds
    are drawn: ``"random"`` or ``"group"``) each model is bagged over ``BAG_FOLDS`` folds.
    A two-layer stack's second layer learns from its members' out-of-fold predictions,
    ``first_layer`` (one per member, on the rows it is fitted on; by default, ``BAG_FOLDS``
    folds drawn the ``holdout`` way), as the ``classes``' log-odds for a classifier; each
    member is then fitted once on every row (see :class:`homl.models.LayeredStack`).
    An early-stopping booster grows, on every row, ``growth`` times the rounds it kept in cross-validation."""
    pipeline = _winner_pipeline(winner, build, task, bag, classes, holdout, first_layer, growth)
    return pipeline if decision is None else zoo.with_threshold(pipeline, decision.threshold)


def _winner_pipeline(winner: select.Evaluation, build, task: str, bag: str | None, classes=None,
                     holdout: str = "random", first_layer: list[np.ndarray] | None = None,
                     growth: float = 1.0) -> Any:
    def built(evaluation: select.Evaluation) -> Any:
        pipeline = zoo.with_rounds(build(zoo.get_spec(evaluation.name), evaluation.params), evaluation.rounds, growth)
        return pipeline if bag is None else zoo.bagged(pipeline, BAG_FOLDS, bag, random_state=0)

    if winner.members is None:
        return built(winner)
    if winner.name == select.LAYERED:
        return _stack_pipeline(winner, build, [built(m) for m, _ in winner.members], classes, holdout, first_layer)
    from sklearn.ensemble import VotingClassifier, VotingRegressor
    from sklearn.pipeline import Pipeline

    members = [built(m) for m, _ in winner.members]
    estimators = [(f"{m.name}_{i}", pipeline[1:]) for i, ((m, _), pipeline) in enumerate(zip(winner.members, members))]
    weights = [float(w) for _, w in winner.members]
    if task == "regression":
        ensemble = VotingRegressor(estimators, weights=weights)
    else:
        ensemble = VotingClassifier(estimators, voting="soft", weights=weights)
    return Pipeline([("schema", members[0][0]), ("model", ensemble)])


def finish(winner, build, task: str, metric: Metric, rows: TrainTest, budget: Budget, searching: SearchSettings,
           progress: Progress, decision: select.Decision | None = None, folds: select.Folds | None = None):
    """Refit on the training rows (bagged when ``searching.bagging`` and affordable), score once on
    the test rows, then refit on all rows if time allows.

    Also gives back the model fitted on the training rows only (the test-set diagnostics use it;
    it is ``final`` itself when there was no refit on all rows)."""
    X_train, y_train, X_test, y_test = rows.X_train, rows.y_train, rows.X_test, rows.y_test
    refit_full, end, time_limit, seed = searching.refit_full, budget.fit_end, budget.time_limit, searching.seed
    train_groups, test_groups = rows.groups, rows.test_groups
    layered = winner.name == select.LAYERED
    holdout = "group" if train_groups is not None else "random"
    classes = None if task == "regression" or folds is None else folds.classes
    # A two-layer stack's second layer learns from the cross-validation's out-of-fold predictions.
    first_layer = [m.oof for m, _ in winner.members] if layered and folds is not None and len(folds.y) == len(
        X_train) else None
    reused = None if layered or not searching.bagging else reused_bag(winner, folds, len(X_train), task)
    bag = None if layered else _bagging(winner, folds, rows, budget, searching, progress, reused is not None)
    reuse = bag is not None and reused is not None
    all_rows = refit_full and len(X_test) > 0
    # Boosters learn longer on more rows, with the time left (each bag's fit sees (k-1)/k of them).
    share = 1.0 if bag is None else (BAG_FOLDS - 1) / BAG_FOLDS
    on_train, on_all = int(len(X_train) * share), int(rows.n_final * share)
    planned = [*([] if reuse else [on_train]), *([on_all] if all_rows else [])]
    growths = rounds_growths(winner, folds, planned, 1 if bag is None else BAG_FOLDS,
                             _refit_seconds_left(end, time_limit))
    growth = 1.0 if reuse else growths[0]
    if reuse:
        final = reused if decision is None else zoo.with_threshold(reused, decision.threshold)
    else:
        final = final_estimator(winner, build, task, decision, bag, classes, holdout, first_layer, growth)
    progress.phase("Finish", total=3 if refit_full else 2)
    started = time.monotonic()
    quiet_fit(final, X_train, y_train, groups=train_groups)
    if first_layer is not None:
        _layered_stack(final).forget_given_predictions()
    trained = final
    fit_seconds = time.monotonic() - started
    if reuse:  # the bag cost no fit: estimate the refit from the folds
        fit_seconds = bag_seconds([winner], folds, len(X_train), len(X_train))
    progress.advance(detail="the cross-validation fold models, averaged" if reuse else "refit on the training set")
    classes = None if task == "regression" else np.asarray(final.classes_)
    test_score = test_score_of(metric, final, X_test, y_test, classes, seed, decision)
    baseline_score = baseline_test_score(metric, X_train, y_train, X_test, y_test, classes, seed)
    progress.advance(detail="test score")
    refitted = False
    growth_all = None
    if all_rows:
        # Timed from the refit just measured: the rounds grow as far as the time left allows.
        growth_all = _growth_within(fit_seconds, winner, folds, (on_train, growth), on_all,
                                    _refit_seconds_left(end, time_limit, scored=True))
        if growth_all < growth and time.monotonic() + _scaled(
                fit_seconds, winner, folds, (on_train, growth), (on_all, growth)) <= end + 0.05 * time_limit:
            growth_all = growth  # no fewer rounds than the model just tested, while that fits
        expected = _scaled(fit_seconds, winner, folds, (on_train, growth), (on_all, growth_all))
        if time.monotonic() + expected <= end + 0.05 * time_limit:
            if first_layer is not None:  # the test rows' first-layer predictions are out of sample too
                tested = _layered_stack(trained).first_layer_output(X_test)
                first_layer = [np.concatenate([oof, out]) for oof, out in zip(first_layer, tested)]
            final = final_estimator(winner, build, task, decision, bag, classes, holdout, first_layer, growth_all)
            all_groups = None if test_groups is None else np.concatenate([train_groups, test_groups])
            quiet_fit(final, pd.concat([X_train, X_test]), np.concatenate([y_train, y_test]), groups=all_groups)
            if first_layer is not None:
                _layered_stack(final).forget_given_predictions()
            refitted = True
            progress.note("final model refitted on all rows (training + test)")
        else:
            growth_all = None
            progress.note(
                f"not refitted on all rows: that refit (about {expected:.1f} s) would pass the time limit; "
                "the saved model is the one fitted on the training rows"
            )
    _note_rounds(winner, progress, growth, growth_all)
    progress.advance(detail="final model")
    progress.end_phase()
    return final, test_score, baseline_score, refitted, trained


def _note_rounds(winner: select.Evaluation, progress: Progress, growth: float, growth_all: float | None) -> None:
    rounds = [f"{m.name} {m.rounds}" for m, _ in winner.members or [(winner, 1.0)] if m.rounds is not None]
    if not rounds:
        return
    grown = [f"{g:.2f} times on the training rows" for g in [growth] if g > 1.0]
    grown += [f"{g:.2f} times on all rows" for g in [growth_all] if g is not None and g > 1.0]
    progress.note(f"boosters refitted on every row with the trees early stopping kept in cross-validation "
                  f"(median over folds): {', '.join(rounds)}"
                  + (f"; grown with the rows, {' and '.join(grown)}" if grown else ""))


def _growth_within(fit_seconds: float, winner: select.Evaluation, folds: select.Folds | None,
                   trained: tuple[int, float], n_rows: int, seconds: float) -> float:
    """The most a refit on ``n_rows`` rows may grow its boosters' rounds (up to
    :func:`homl.select.rounds_growth`) and, scaled from the measured one, take at most ``seconds``."""
    if folds is None or not _has_boosters(winner):
        return 1.0
    wanted = select.rounds_growth(n_rows, folds)
    low = _scaled(fit_seconds, winner, folds, trained, (n_rows, 1.0))
    high = _scaled(fit_seconds, winner, folds, trained, (n_rows, wanted))
    return 1.0 + (wanted - 1.0) * _share_within(seconds, low, high)


def _scaled(fit_seconds: float, winner: select.Evaluation, folds: select.Folds | None,
            trained: tuple[int, float], wanted: tuple[int, float]) -> float:
    """The refit on the training rows, as measured, scaled to another (rows, rounds' growth)."""
    if folds is None:
        return fit_seconds * wanted[0] / max(trained[0], 1)
    (n_trained, grown), (n_wanted, growth) = trained, wanted
    return fit_seconds * (select.refit_time(winner, n_wanted, folds, growth)
                          / select.refit_time(winner, n_trained, folds, grown))


def _bagging(winner, folds, rows: TrainTest, budget: Budget, searching: SearchSettings,
             progress: Progress, reused: bool = False) -> str | None:
    """How the final model's bags draw their folds (``"random"``, ``"group"``), or None: no bagging.

    With ``reused`` fold models the bag on the training rows costs nothing; only the one on all rows counts."""
    if not searching.bagging or folds is None:
        return None
    n_final = rows.n_final if searching.refit_full else len(rows.X_train)
    estimate = bag_seconds([winner], folds, len(rows.X_train), n_final, reused)
    seconds = SAFETY * estimate
    if not _bag_affordable(estimate, budget.time_limit) or time.monotonic() + seconds > budget.fit_end:
        progress.note(f"final model not bagged: {BAG_FOLDS} fits (about {seconds:.0f} s) would cost too much of the budget")
        return None
    how = ("on the training rows, the cross-validation fold models" if reused
           else f"{BAG_FOLDS} copies, each fitted without one fold of the rows")
    progress.note(f"final model bagged: {how}, averaged")
    return "group" if rows.groups is not None else "random"


def quiet_fit(model: Any, X: pd.DataFrame, y: np.ndarray, *, groups: np.ndarray | None = None) -> None:
    """Fit without the libraries' convergence and deprecation chatter (CV hides it too)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        select.fit_pipeline(model, X, y, groups=groups)


def test_score_of(metric: Metric, model: Any, X: pd.DataFrame, y: np.ndarray, classes, seed: int,
                  decision: select.Decision | None = None) -> TestScore | None:
    """The metric on the test rows, with its bootstrap interval; labels follow the ``decision``'s threshold."""
    if len(X) == 0:
        return None
    prediction = select.predict_output(model, X, classes)
    if decision is not None and metric.name in select.THRESHOLD_METRICS:
        prediction = decision.apply(prediction)
    value = metric(y, prediction, classes)
    low, high = bootstrap_interval(metric, y, prediction, classes, seed=seed)
    return TestScore(metric.name, value, low, high, len(X))


def baseline_test_score(metric, X_train, y_train, X_test, y_test, classes, seed) -> TestScore | None:
    from sklearn.dummy import DummyClassifier, DummyRegressor

    dummy = DummyRegressor() if classes is None else DummyClassifier(strategy="prior")
    dummy.fit(X_train, y_train)
    return test_score_of(metric, dummy, X_test, y_test, classes, seed)


def with_categories_of(schema: hdata.Schema, frame: pd.DataFrame) -> hdata.Schema:
    """The schema with the categories of ``frame`` added: the final model has seen them too."""
    from homl.data import MAX_STORED_CATEGORIES

    widened = hdata.Schema.from_dict(schema.to_dict())
    for column in widened.columns:
        if column.categories is not None and column.name in frame.columns:
            seen = set(column.categories) | set(frame[column.name].dropna().astype(str))
            column.categories = sorted(seen) if len(seen) <= MAX_STORED_CATEGORIES else None
    return widened
