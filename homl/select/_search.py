"""Fine-tuning: an Optuna (TPE) search per short-listed family, sharing one time budget.

Each family's study lives in one SQLite file, so a run that is killed keeps every
finished trial and ``resume`` picks up where it stopped (losing at most the trial in
flight). Preparation options are searched together with the model's own parameters.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from homl._progress import Progress
from homl.models import ModelSpec, Space, sample

from ._cv import Evaluation, Folds
from ._executor import Executor, Job, LocalExecutor, Outcome, Pruned

#: A family leaves the search after this many trials in a row too slow for the time left...
MAX_MISSES = 3
#: ...counting as one this many turned down before their first fold (their estimate too slow).
TURNED_DOWN_PER_MISS = 3
#: ...or after this many finished or pruned trials in a row none better than its best: on a
#: small table a long search only finds configurations that fit its folds' noise.
STALE_TRIALS = 50
#: Where the steps of a trial's epochs start, apart from its folds' steps (0, 1, ...): the
#: pruner compares a trial's held-out loss after epoch e with other trials' after epoch e.
EPOCH_STEPS = 10_000
#: Parameters that scale fit time (trees, boosting rounds).
_SIZE_PARAMS = ("n_estimators", "max_iter")
#: A trial's fold time is estimated from the family's defaults' (scaled by :func:`cost_ratio`),
#: corrected by how far off that estimate was for the family's last this many measured trials.
CALIBRATION_TRIALS = 5
#: Besides its best, each family hands back up to this many next-best trials for the ensembles:
#: configurations that err differently average better than one configuration alone.
RUNNERS_UP = 2


def size_defaults(pipeline: Any) -> dict[str, float]:
    """The default value of each parameter the pipeline's fit time grows with.

    Trees and rounds, or, for a booster that stops early, the inverse of its learning rate:
    it grows trees until the held-out rows stop improving, the more the slower it learns.
    """
    from homl.models import EarlyStopping

    params = pipeline.get_params(deep=True)
    stops_early = any(isinstance(value, EarlyStopping) for value in params.values())
    wanted = ("learning_rate",) if stops_early else _SIZE_PARAMS
    return {key.split("__")[-1]: float(value) for key, value in params.items()
            if key.split("__")[-1] in wanted and isinstance(value, (int, float)) and not isinstance(value, bool)}


def cost_ratio(params: dict[str, Any], defaults: dict[str, float]) -> float:
    """How much slower than the defaults a configuration should be (more trees, more time)."""
    ratio = 1.0
    for name, default in defaults.items():
        if name in params and default > 0 and params[name] > 0:
            ratio *= default / params[name] if name == "learning_rate" else params[name] / default
    return max(ratio, 0.2)


def seed_params(config: dict[str, Any], space: Space) -> dict[str, Any]:
    """The parameters of a seed configuration this ``space`` searches.

    Its options on the preparation (``prep:...``) go together: they apply only where the
    space offers every one of them, with these values (a date as a category only where days
    repeat, and where categories may be native).
    """
    prep = [name for name in config if name.startswith("prep:")]
    together = all(name in space and config[name] in space[name] for name in prep)
    return {k: v for k, v in config.items() if k in space and (together or not k.startswith("prep:"))}


class Search:
    """Interleaved searches over several families until a deadline.

    Trials are handed to the ``executor`` (default: one after another here) as jobs; the
    studies ask and are told in this process, so resuming works whatever ran the trials.
    """

    def __init__(
        self,
        families: list[tuple[ModelSpec, Evaluation]],
        build: Callable[[ModelSpec, dict[str, Any]], Any],
        space_for: Callable[[ModelSpec], Space],
        folds: Folds,
        *,
        storage: str | None,
        workdir: Path | None,
        seed: int,
        progress: Progress,
        executor: Executor | None = None,
        reserve: list[tuple[ModelSpec, Evaluation]] | None = None,
    ):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.storage, self.seed = storage, seed
        self.build, self.space_for, self.folds = build, space_for, folds
        self.workdir, self.progress = workdir, progress
        self.executor = executor or LocalExecutor()
        self.best: dict[str, Evaluation] = {}
        self.runners: dict[str, list[Evaluation]] = {}  # each family's next-best trials, best first
        self.default_time: dict[str, float] = {}
        self.size_defaults: dict[str, dict[str, float]] = {}
        self.studies: dict[str, Any] = {}  # families still searched
        self.all_studies: dict[str, Any] = {}
        self.misses: dict[str, int] = {}  # trials in a row that could not finish in time (see _record)
        # measured fold time / the scaled defaults', over each family's last CALIBRATION_TRIALS trials
        self.misjudged: dict[str, deque[float]] = {}
        self.stale: dict[str, int] = {}  # finished or pruned trials in a row none better than the best
        self.specs: dict[str, ModelSpec] = {}
        #: Families searched next, in order, each when a search ends with nothing better to find.
        self.reserve = list(reserve or [])
        for spec, default in families:
            self._open(spec, default)

    def _open(self, spec: ModelSpec, default: Evaluation) -> None:
        """Start (or resume) the study of one family, its seeds first."""
        import optuna

        study = optuna.create_study(
            study_name=spec.name,
            storage=self.storage,
            load_if_exists=True,
            direction="minimize",
            sampler=optuna.samplers.TPESampler(seed=self.seed + len(self.all_studies), n_startup_trials=6,
                                               multivariate=True),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0),
        )
        self._fail_interrupted(study)
        space = self.space_for(spec)
        if not study.trials:
            for config in spec.seeds:
                study.enqueue_trial(seed_params(config, space))
        self.studies[spec.name] = study
        self.all_studies[spec.name] = study
        self.specs[spec.name] = spec
        self.default_time[spec.name] = default.fit_time
        self.size_defaults[spec.name] = size_defaults(self.build(spec, {}))
        self.best[spec.name] = self._restore_best(study, spec) or default

    @property
    def n_trials(self) -> int:
        import optuna

        done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        return sum(len(s.get_trials(deepcopy=False, states=done)) for s in self.all_studies.values())

    def _fail_interrupted(self, study: Any) -> None:
        """Trials left running by a killed process can never finish: mark them failed."""
        import optuna

        for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
            self.progress.note(f"{study.study_name}: trial {trial.number} was interrupted; dropped")

    def _oof_path(self, name: str) -> Path | None:
        return None if self.workdir is None else self.workdir / f"oof-{name}.npy"

    def _restore_best(self, study: Any, spec: ModelSpec) -> Evaluation | None:
        """The best finished trial of an earlier run, with its saved out-of-fold predictions."""
        import optuna

        completed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        path = self._oof_path(spec.name)
        if not completed or path is None or not path.exists():
            return None
        best = min(completed, key=lambda t: t.value)
        if best.user_attrs.get("oof_saved") is not True:
            return None
        return Evaluation(
            spec.name, best.params, best.user_attrs["fold_scores"], best.user_attrs["fit_time"],
            np.load(path), stage="tuned", rounds=best.user_attrs.get("rounds"),
        )

    def run(self, deadline: Callable[[], float]) -> list[Evaluation]:
        """Run trials, best families more often, until ``deadline()``; return each family's best.

        The deadline is asked again before every trial: it moves earlier as the best models
        found grow slower to refit.
        """
        start = time.monotonic()
        total = max(deadline() - start, 0.0)
        self.progress.phase("Fine-tune", total=total)
        reported = 0.0
        for outcome in self.executor.run(self._jobs(deadline), self.folds):
            self._record(outcome)
            elapsed = min(time.monotonic() - start, total)
            self.progress.advance(elapsed - reported, detail=f"{self.n_trials} trials")
            reported = elapsed
        self.progress.end_phase()
        return list(self.best.values())

    @property
    def runners_up(self) -> list[Evaluation]:
        """Each family's next-best trials (up to ``RUNNERS_UP``), with their out-of-fold
        predictions for the ensembles; their stage says their place (``"tuned #2"``: second best)."""
        return [e for kept in self.runners.values() for e in kept]

    def _keep_runner(self, name: str, evaluation: Evaluation) -> None:
        if evaluation.stage != "tuned" or evaluation.oof is None:
            return  # a family's defaults are on the candidates' list already (their fold models kept there)
        kept = sorted([*self.runners.get(name, []), evaluation], key=lambda e: self.folds.metric.loss(e.mean))
        for dropped in kept[RUNNERS_UP:]:
            dropped.models = None  # the fold models of the runners-up stay: a blend may reuse them as its bag
        self.runners[name] = kept[:RUNNERS_UP]
        for place, runner in enumerate(self.runners[name], start=2):
            runner.stage = f"tuned #{place}"

    def _schedule(self) -> list[str]:
        ranked = sorted(self.studies, key=lambda n: self.folds.metric.loss(self.best[n].mean))
        return ranked[:1] * 2 + ranked[1:]

    def _jobs(self, deadline: Callable[[], float]) -> Iterator[Job]:
        """Trials to run, in rounds over the families still searched, until the deadline."""
        while time.monotonic() < deadline() and self.studies:
            for name in self._schedule():
                if time.monotonic() >= deadline():
                    return
                if name in self.studies:  # not dropped earlier in this round
                    job = self._job(name, deadline())
                    if job is not None:
                        yield job

    def _job(self, name: str, deadline: float) -> Job | None:
        """The next trial of family ``name`` as a job (None when its pipeline cannot be built)."""
        import optuna

        spec, study = self.specs[name], self.studies[name]
        trial = study.ask()
        params = sample(self.space_for(spec), trial)

        def report(fold: int, loss: float) -> None:
            trial.report(loss, fold)
            if trial.should_prune():
                raise Pruned()

        def report_epoch(epoch: int, loss: float) -> None:  # a network's first fold, epoch by epoch
            # Optuna judges a trial by its best report, so a network is pruned by its epochs, not its folds
            trial.report(loss, EPOCH_STEPS + epoch)
            if trial.should_prune():
                raise Pruned()

        estimate = self._estimate(name, params)
        try:
            pipeline = self.build(spec, params)
        except Exception as error:  # one bad configuration must not end the search
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            self.progress.note(f"{name}: trial {trial.number} failed ({type(error).__name__}: {error})")
            return None
        return Job(name, pipeline, params=params, deadline=deadline, all_folds_by=deadline,
                   fold_estimate=estimate, on_fold=report, on_epoch=report_epoch, tag=(name, trial))

    def _scaled_default(self, name: str, params: dict[str, Any]) -> float:
        return self.default_time[name] * cost_ratio(params, self.size_defaults[name])

    def _estimate(self, name: str, params: dict[str, Any]) -> float:
        """A fold's fit time for ``params``: the defaults' scaled by their cost, corrected as measured.

        The scaling cannot see everything (a booster's regularisation, its classes, a held-out
        curve that keeps creeping down all lengthen its early-stopped growth), so each trial's
        measured fold time corrects the next estimates: a configuration too slow for the time
        left is then turned down before it costs a fold.
        """
        ratios = self.misjudged.get(name)
        return self._scaled_default(name, params) * (float(np.median(ratios)) if ratios else 1.0)

    def _record(self, outcome: Outcome) -> None:
        """Tell the study how the trial went; drop a family after too many trials too slow to finish."""
        import optuna

        name, trial = outcome.job.tag
        scaled = self._scaled_default(name, outcome.job.params)
        if outcome.fold_time is not None and scaled > 0:
            self.misjudged.setdefault(name, deque(maxlen=CALIBRATION_TRIALS)).append(outcome.fold_time / scaled)
        study, evaluation = self.studies.get(name) or self.all_studies[name], outcome.evaluation
        if outcome.pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            self._note_stale(name, better=False)
            return
        if outcome.out_of_time is not None:
            # Too slow for the time left; a cheaper configuration may still fit, a few tries. One
            # turned down by its estimate costs nothing: it counts a share of one that ran a fold.
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            self.misses[name] = self.misses.get(name, 0) + (1 if outcome.turned_down else TURNED_DOWN_PER_MISS)
            if self.misses[name] >= MAX_MISSES * TURNED_DOWN_PER_MISS and name in self.studies:
                self.studies.pop(name)
                self.progress.note(f"{name}: too many configurations in a row too slow for the time left; "
                                   "its search ends")
            return
        if outcome.error is not None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            error = outcome.error
            self.progress.note(f"{name}: trial {trial.number} failed ({type(error).__name__}: {error})")
            return
        self.misses[name] = 0
        evaluation.stage = "tuned"
        trial.set_user_attr("fold_scores", evaluation.fold_scores)
        trial.set_user_attr("fit_time", evaluation.fit_time)
        trial.set_user_attr("rounds", evaluation.rounds)
        better = self.folds.metric.better(evaluation.mean, self.best[name].mean)
        # Only a family's best may become the final model; the next best may join an ensemble.
        self._keep_runner(name, self.best[name] if better else evaluation)
        path = self._oof_path(name)
        if better and path is not None:
            np.save(path, evaluation.oof)
            trial.set_user_attr("oof_saved", True)
        study.tell(trial, self.folds.metric.loss(evaluation.mean))
        if better:
            self.best[name] = evaluation
        self._note_stale(name, better)

    def _note_stale(self, name: str, better: bool) -> None:
        """Count the trials since the family's best; after ``STALE_TRIALS`` its search ends."""
        self.stale[name] = 0 if better else self.stale.get(name, 0) + 1
        if self.stale[name] >= STALE_TRIALS and name in self.studies:
            self.studies.pop(name)
            note = f"{name}: no better configuration in {STALE_TRIALS} trials; its search ends"
            if self.reserve:  # the time it leaves goes to the next family of the short-list
                spec, default = self.reserve.pop(0)
                self._open(spec, default)
                note += f", {spec.name}'s begins"
            self.progress.note(note)
