"""Where selection hands out its work: the families of the short-list and the trials of the search.

The short-list and the search describe each piece of work as a :class:`Job` (a pipeline to
cross-validate on the shared folds, with its deadlines) and give a stream of jobs to an
executor, which runs them and gives back one :class:`Outcome` per job, as each finishes (the
callers know a job by its ``tag``, not by its place in the stream). Jobs are drawn from the
stream only when a slot is free, so each one is planned with the time left at its start
(and the search asks its sampler for the next trial after the last result).

:class:`LocalExecutor`, one job after another in this process, is the default;
:class:`~homl.select.RayExecutor` runs them on a Ray cluster, one per CPU.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from ._cv import Evaluation, Folds, OutOfTime, cross_validate


@dataclass
class Job:
    """One cross-validation to run: ``pipeline`` on every fold, before the deadlines.

    ``tag`` is the caller's own (the family, the trial) and comes back with the outcome.
    With ``shared_until`` instead of deadlines, the job runs whatever the time, each fold told
    the end of its even share of the time left (see :func:`~homl.select.cross_validate`).
    ``on_fold`` is called after each fold with the running mean loss; it raises :class:`Pruned`
    to stop a job that cannot beat the others (the search's pruner); ``on_epoch`` likewise after
    each epoch of a network's training in the first fold.
    """

    name: str
    pipeline: Any
    params: dict[str, Any] = field(default_factory=dict)
    deadline: float | None = None
    all_folds_by: float | None = None
    fold_estimate: float | None = None
    shared_until: float | None = None
    on_fold: Callable[[int, float], None] | None = None
    on_epoch: Callable[[int, float], None] | None = None
    tag: Any = None


@dataclass
class Outcome:
    """What became of a job: its evaluation, or why there is none."""

    job: Job
    evaluation: Evaluation | None = None
    out_of_time: OutOfTime | None = None
    error: Exception | None = None
    pruned: bool = False
    #: Where it ran, when an executor runs jobs on several machines (a Ray node's address).
    node: str | None = None
    #: The mean fit time of the folds it fitted, whatever became of it (None before any fold).
    fold_time: float | None = None
    #: Out of time before its first fold, on its estimate alone: it cost no fit.
    turned_down: bool = False


class Pruned(Exception):
    """Raised from a job's ``on_fold`` to stop it early: its folds so far show it will not win."""


class Executor(Protocol):
    """Runs jobs and yields one outcome per job, as each finishes (one at a time: in the order they came).

    A job's ``on_fold`` and ``on_epoch`` are called where the job runs; an executor that runs
    jobs in other processes drops them (its jobs are not pruned).
    """

    #: How many jobs may run at once.
    slots: int

    def run(self, jobs: Iterable[Job], folds: Folds) -> Iterator[Outcome]: ...


def run_job(job: Job, folds: Folds) -> Outcome:
    """Cross-validate one job; running out of time, being pruned or failing is an outcome, not an error."""
    fold_times: list[float] = []
    try:
        evaluation = cross_validate(
            job.name, job.pipeline, folds, params=job.params, deadline=job.deadline,
            all_folds_by=job.all_folds_by, fold_estimate=job.fold_estimate, on_fold=job.on_fold,
            on_epoch=job.on_epoch, shared_until=job.shared_until, fold_times=fold_times,
        )
    except OutOfTime as reason:
        return Outcome(job, out_of_time=reason, fold_time=_mean(fold_times), turned_down=not fold_times)
    except Pruned:
        return Outcome(job, pruned=True, fold_time=_mean(fold_times))
    except Exception as error:  # one family or configuration that fails must not end the run
        return Outcome(job, error=error)
    return Outcome(job, evaluation=evaluation, fold_time=_mean(fold_times))


def _mean(times: list[float]) -> float | None:
    return sum(times) / len(times) if times else None


class LocalExecutor:
    """One job after another, in this process: the default."""

    slots = 1

    def run(self, jobs: Iterable[Job], folds: Folds) -> Iterator[Outcome]:
        for job in jobs:
            yield run_job(job, folds)
