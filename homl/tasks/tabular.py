"""Supervised learning on a table, end to end: the book's checklist as one function.

load → frame → split → schema → short-list → fine-tune → ensemble → test once → refit → save
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from homl import data as hdata
from homl import models as zoo
from homl import select
from homl._json import to_json
from homl._progress import Progress
from homl.errors import ConfigError, SchemaError, TargetError
from homl.metrics import TestScore, get_metric

from ._finish import affordable, finish, reserve_for_finish, with_categories_of
from ._model import EXAMPLE_ROWS, EXAMPLE_TABLE, TabularModel, check_output, summary_repr
from ._resume import data_hash, load_shortlist, open_workdir, save_shortlist
from ._settings import Budget, SearchSettings, SplitSettings, TrainTest, report_seconds
from .monitor import REFERENCE_FILE, reference_for

#: Families fine-tuned after the short-list.
TUNED_FAMILIES = 3
#: Rows below which the whole training set is used for the search, per second of budget.
SEARCH_ROWS_PER_SECOND = 200
MIN_SEARCH_ROWS = 20_000
#: Below this many rows the folds are drawn ``CV_REPEATS`` times (one draw is too noisy to choose
#: on) when the budget is at least ``REPEAT_MIN_SECONDS``: with less, three times the folds left
#: the short-list too little time for the slower families (forests skipped on a 1,000-row table at 60 s).
REPEAT_BELOW_ROWS = 2000
CV_REPEATS = 3
REPEAT_MIN_SECONDS = 120
#: Candidates the ensembles are built from; the short-list keeps the fold models of this many.
KEPT_MODELS = 6
#: The second layer of the two-layer stack, for classification and for regression: a linear
#: model, which learns how far to trust each member and may correct them with the columns.
SECOND_LAYER = ("linear", "ridge")
#: The two-layer stack is tried on tables of at least this many training rows. Its second layer
#: learns from predictions of models that saw the rows validating it; on small tables that
#: optimism swamps the score (diabetes, 353 rows: 13% better than the best model in
#: cross-validation, 3% worse on the test set).
LAYERED_MIN_ROWS = 2000
#: The preparation option that encodes categories (``"native"``: the model splits on them itself).
_CATEGORICAL = f"{zoo.PREP_PREFIX}categorical"
#: A model directory's copy of its neural network, when it has one, for Keras itself (homl reads
#: the network saved inside ``model.skops``).
NETWORK_FILE = "network.keras"


@dataclass
class FitResult:
    """What ``fit`` found: the fitted model, the leaderboard and the one test score."""

    model: Any
    leaderboard: pd.DataFrame
    test_score: TestScore | None
    baseline_score: TestScore | None
    task: str
    target: str
    metric: str
    schema: hdata.Schema
    winner: str
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    study_path: Path | None = None
    #: Data rows (1 = the first) held out as the test set, when ``fit`` drew it.
    test_rows: np.ndarray | None = None
    #: A few test rows as given (feature columns), saved as the model's input example: what
    #: an exported form of the model is checked against (see :func:`homl.tasks.export_onnx`).
    example_rows: pd.DataFrame | None = None
    #: A summary of the training rows and of the predictions on test rows, which monitoring
    #: compares new rows with (see :func:`homl.tasks.monitor.reference_for`); saved as ``reference.json``.
    reference: dict[str, Any] | None = field(default=None, repr=False)
    #: Test-set predictions, importances, curves... (plain data) behind the model report.
    diagnostics: dict[str, Any] | None = field(default=None, repr=False)
    _pending: Any = field(default=None, repr=False)  # what ``report()`` needs when fit ran without one

    @property
    def tabular(self) -> TabularModel:
        return TabularModel(self.model, self.schema, self.task, self.metadata, self.leaderboard)

    def predict(self, data: Any, *, issues: list[str] | None = None) -> np.ndarray:
        """As :meth:`TabularModel.predict`: one prediction per row; problems found go to ``issues``."""
        return self.tabular.predict(data, issues=issues)

    def predict_proba(self, data: Any, *, issues: list[str] | None = None) -> np.ndarray:
        return self.tabular.predict_proba(data, issues=issues)

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the model directory (pipeline, schema, metrics, leaderboard, versions, study)."""
        import tempfile

        files = {"study.db": self.study_path} if self.study_path and self.study_path.exists() else {}
        tables = {} if self.test_rows is None else {"split": pd.DataFrame({"test_row": self.test_rows})}
        if self.example_rows is not None and len(self.example_rows):
            tables[EXAMPLE_TABLE] = self.example_rows
        with tempfile.TemporaryDirectory(prefix="homl-report-") as folder:
            if self.diagnostics is not None:
                files.update(self._report_files(Path(folder)))
            network = Path(folder) / NETWORK_FILE
            if zoo.save_network(self.model, network):  # the network alone, for Keras itself
                files[NETWORK_FILE] = network
            if self.reference is not None:
                reference = Path(folder) / REFERENCE_FILE
                reference.write_text(json.dumps(to_json(self.reference)), encoding="utf-8")
                files[REFERENCE_FILE] = reference
            return self.tabular.save(path, overwrite=overwrite, files=files or None, tables=tables or None)

    def report(self, path: str | Path | None = None) -> Any:
        """The model report (:class:`homl.report.Report`); written to ``path`` when given.

        Diagnostics are computed now if ``fit`` ran with ``report=False``."""
        from homl.evaluate import diagnose
        from homl.report.model import build_model_report

        if self.diagnostics is None:
            if self._pending is None:
                raise ConfigError("this result keeps no data to diagnose the model; fit again to get a report")
            seconds = report_seconds(self.metadata.get("time_limit", 60))
            self.diagnostics = diagnose(self._pending, time.monotonic() + seconds)
            self._pending = None
        report = build_model_report(self._report_metadata(), self.leaderboard, self.diagnostics)
        if path is not None:
            report.write(path)
        return report

    def _report_metadata(self) -> dict[str, Any]:
        return {**self.metadata, "task": self.task, "target": self.target}

    def _report_files(self, folder: Path) -> dict[str, Path]:
        """``diagnostics.json``, ``report.html`` and ``figures/*.png`` written into ``folder``."""
        from homl.evaluate import DIAGNOSTICS_FILE
        from homl.report.model import REPORT_FILE

        (folder / DIAGNOSTICS_FILE).write_text(json.dumps(self.diagnostics), encoding="utf-8")
        self.report(folder / REPORT_FILE)
        files = {DIAGNOSTICS_FILE: folder / DIAGNOSTICS_FILE, REPORT_FILE: folder / REPORT_FILE}
        files.update({f"figures/{p.name}": p for p in sorted((folder / "figures").glob("*.png"))})
        return files

    def __repr__(self) -> str:
        score = None if self.test_score is None else self.test_score.value
        return summary_repr(self, TabularModel.kind, self.task, self.metric, self.winner, score)

    def _repr_html_(self) -> str:
        from homl.report.model import summary_html

        return summary_html(self._report_metadata(), self.leaderboard)


def fit(
    source: Any,
    target: str,
    *,
    test: Any = None,
    task: str | None = None,
    metric: str | None = None,
    time_limit: float = 300,
    test_size: float = 0.2,
    cv: int = 5,
    seed: int = 42,
    group_by: str | None = None,
    time_column: str | None = None,
    gap: int = 0,
    models: list[str] | None = None,
    tune: bool = True,
    ensemble: bool = True,
    refit_full: bool = True,
    bagging: bool = True,
    output: str | Path | None = None,
    overwrite: bool = False,
    resume: bool = False,
    query: str | None = None,
    progress: Progress | None = None,
    report: bool | None = None,
    prep: dict[str, Any] | None = None,
    epochs: int | None = None,
    exportable: bool = False,
    ray: str | None = None,
    **options: Any,
) -> FitResult:
    """Learn ``target`` from the other columns of ``source`` within ``time_limit`` seconds.

    ``source`` is a path, a SQLAlchemy URL (with ``query``) or a DataFrame. ``test`` is an
    optional table held out instead of drawing a ``test_size`` share. With ``time_column`` the
    latest rows are the test set and every later split (folds, the search's sample, the rows
    a booster stops early on) keeps to time order, ``gap`` rows apart; with ``group_by`` each
    keeps groups whole. ``models`` restricts
    the families tried; ``tune=False`` and ``ensemble=False`` skip those steps. With
    ``output`` the model directory is written there (and the search can ``resume``).
    ``bagging`` averages the final model over copies fitted without one fold each, when that
    costs little of the budget (not with a time column).
    ``report`` (default: on when ``output`` is given) computes the diagnostics of the model
    report within the time limit and writes ``report.html`` and ``figures/`` into the output.
    ``prep`` fixes preparation options for every model (parameters of
    :class:`homl.prep.TablePreprocessor`, e.g. ``{"cluster_features": 8}`` for distances to
    k-means centres as features); the search then leaves them as given. ``categorical="native"``
    holds for the families that read categories themselves (LightGBM, CatBoost, the neural
    network's embeddings); the others keep their own encoding. ``epochs`` caps the epochs of
    the neural families (``models=["mlp"]``); each still stops early on held-out rows.
    ``exportable`` keeps to what has an exact ONNX form (see :func:`homl.tasks.export.onnx_form`):
    no free-text column, no nearest-neighbour target features, no CatBoost or neural family, no
    second stacking layer; the final model is then checked in ONNX Runtime on test rows.
    ``ray`` runs the short-list and the search on a Ray cluster, one trial per CPU: ``"auto"``
    (the cluster this machine belongs to), ``"HOST:6379"`` or ``"ray://HOST:10001"``; the
    trials there are not pruned, and ``metadata["ray"]`` counts the trials each node ran.
    """
    _check_options(options, time_limit, cv, models)
    if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1):
        raise ConfigError(f"epochs={epochs!r}: the most epochs a network trains is a whole number, at least 1")
    fixed_prep = _fixed_prep(prep)
    if exportable:
        fixed_prep.setdefault("prep:geo_neighbors", 0)
    report = output is not None if report is None else bool(report)
    budget = Budget(time_limit, report=report)
    splitting = SplitSettings(test, test_size, cv, seed, group_by, time_column, gap)
    strategy = splitting.strategy()
    searching = SearchSettings(tuple(models) if models else None, tune, ensemble, refit_full, seed,
                               bagging=bagging and strategy.kind != "time")
    progress = progress or Progress()
    if output is not None:
        check_output(Path(output), overwrite)
    executor = _ray_executor(ray, progress)  # an unreachable cluster fails here, before any work

    # 1-3. Load, frame, and set the test set aside before anything looks at the data.
    frame, labeled_rows, task, metric_ = _load_and_frame(source, target, task, metric, query, progress)
    # With a time column both parts come in time order: folds, samples and early-stopping rows
    # are drawn by position from here on.
    train_frame, test_frame, split_note, test_rows = _split(frame, labeled_rows, target, task, splitting)
    progress.note(f"split: {split_note}; {len(train_frame):,} training rows")

    # 4. Schema from the training rows only.
    schema = hdata.infer_schema(train_frame, target)
    if exportable and schema.names("text"):
        schema = schema.without(schema.names("text"), "free text has no exact ONNX form (exportable fit)")
    for note in schema.notes:
        progress.note(note)
    if not schema.features:
        dropped = "; ".join(f"'{c.name}' ({c.reason})" for c in schema.dropped) or "none"
        raise SchemaError(f"no column can be used to predict '{target}': {dropped}")
    with _about_test_set(test) if test is not None else nullcontext():
        X_test = hdata.coerce_frame(test_frame, schema)
    rows = TrainTest(
        hdata.coerce_frame(train_frame, schema), _target_values(train_frame[target], task),
        X_test, _target_values(test_frame[target], task),
        groups=_groups_of(train_frame, group_by) if strategy.kind == "group" else None,
        test_groups=_groups_of(test_frame, group_by) if strategy.kind == "group" else None,
    )

    # 5. Short-list on (a sample of) the training rows, every family on the same folds.
    sample = _search_sample(len(rows.y_train), rows.y_train, task, time_limit, strategy, rows.groups, progress)
    folds = select.make_folds(rows.X_train.iloc[sample], rows.y_train[sample], task, metric_,
                              _fold_strategy(strategy, len(sample), time_limit),
                              groups=None if rows.groups is None else rows.groups[sample])
    # The final model may reuse the fold models as its bag when they cover every training row.
    folds.keep_models = searching.bagging and len(sample) == len(rows.y_train)
    folds_how = folds.strategy.describe(len(folds.splits))
    progress.note(f"cross-validation: {folds_how}")
    data_sha256 = data_hash(frame)
    workdir, storage = open_workdir(output, resume, {
        "data_sha256": data_sha256, "target": target, "task": task, "metric": metric_.name, "seed": seed,
        "split": folds_how, **({"prep": fixed_prep} if fixed_prep else {}),
    }, progress)
    context = _context(rows.X_train, schema, rows.y_train if task == "regression" else None,
                       by_time=strategy.kind == "time")
    context["fixed_prep"] = fixed_prep
    context["exportable"] = exportable
    build = _builder(task, schema, seed, _threads(len(rows.X_train), context["n_features"], progress), strategy.kind,
                     fixed_prep, epochs)
    base = select.baseline(folds)
    progress.note(f"baseline ({'mean' if task == 'regression' else 'class frequencies'}): {metric_.label} {base.mean:.5g}")
    specs = [s for s in zoo.candidates_for(task, models) if s.max_features is None or context["n_features"] <= s.max_features]
    specs = _for_target(specs, rows, task, named=bool(models))
    if exportable:
        specs = [s for s in specs if s.exportable]
    for note in [] if models else zoo.missing_families():
        progress.note(note)
    kept: list[select.Evaluation] = []

    def on_result(evaluation: select.Evaluation) -> None:
        save_shortlist(workdir, evaluation)
        kept.append(evaluation)
        select.keep_models_of(kept, metric_, KEPT_MODELS)

    evaluations = select.shortlist(
        specs, lambda spec: build(spec, {}), folds, deadline=budget.shortlist_end(tune),
        anchor_deadline=budget.anchor_end(tune),
        progress=progress, done=load_shortlist(workdir) if resume else {}, on_result=on_result, executor=executor,
    ) or [_fallback(specs, build, folds, progress, budget.fit_end - 0.2 * budget.time_limit)]
    ranked = sorted(evaluations, key=lambda e: metric_.loss(e.mean))

    # 6. Fine-tune the best few families (preparation options included).
    n_final = rows.n_final if refit_full else len(rows.X_train)
    tuned, runners, studies = [], [], {}
    if tune:
        tuned, runners, studies = _tune(
            ranked, build, folds, task, context, storage, workdir, seed, progress,
            deadline_for=lambda finalists: budget.fit_end - reserve_for_finish(
                finalists, folds, len(rows.X_train), n_final, time_limit, bagging=folds.keep_models),
            executor=executor,
        )
    ray_summary = _ray_done(executor, progress)
    candidates = _unique([*tuned, *ranked])
    pool = {id(e) for e in _pool(candidates)}
    for evaluation in candidates:  # only the ensembles' pool may become the final model
        if id(evaluation) not in pool:
            evaluation.models = None

    # 7. Ensembles, kept only when they beat the best single model in cross-validation.
    if ensemble:
        # The two-layer stack's final fits learn from the out-of-fold predictions of every training row;
        # its second layer's cross-validation may take the finish's time, short of the best model's refits.
        best = min(candidates, key=lambda e: metric_.loss(e.mean))
        candidates = _with_ensembles(
            candidates, folds, progress, build, task, runners=runners,
            layers=not exportable and len(sample) == len(rows.y_train) >= LAYERED_MIN_ROWS,
            deadline=budget.fit_end - reserve_for_finish([best], folds, len(rows.X_train), n_final, time_limit,
                                                         bagging=folds.keep_models))
    candidates.sort(key=lambda e: metric_.loss(e.mean))
    folds.prepared.clear()  # no more cross-validation: let go of the prepared rows

    # 8. Finish: refit the winner on the training rows, test once, refit on all rows.
    winner = affordable(candidates, folds, len(rows.X_train), budget.fit_end, progress, time_limit)
    decision = _decision(winner, folds, task, metric_, progress)
    final, test_score, baseline_score, refitted, trained = finish(
        winner, build, task, metric_, rows, budget, searching, progress, decision, folds)
    if refitted:
        schema = with_categories_of(schema, rows.X_test)
    for evaluation in candidates:  # the final model holds the fold models it reuses
        evaluation.models = None

    metadata = {
        "winner": winner.name,
        "winner_params": to_json(winner.params),
        "metric": metric_.name,
        "test_score": to_json(test_score),
        "baseline_test_score": to_json(baseline_score),
        "cv": {"folds": len(folds.splits), "rows": len(folds.y), "mean": winner.mean, "std": winner.std,
               "strategy": folds_how},
        "split": {"note": split_note, "seed": seed, "test_size": test_size, "train_rows": len(rows.X_train),
                  "test_rows": len(rows.X_test)},
        "data_sha256": data_sha256,
        "time_limit": time_limit,
        "prep": fixed_prep,
        # What `homl retrain` fits again with.
        "settings": {"test_size": test_size, "cv": cv, "seed": seed, "group_by": group_by,
                     "time_column": time_column, "gap": gap, "models": list(models) if models else None,
                     "tune": tune, "ensemble": ensemble, "refit_full": refit_full, "bagging": bagging,
                     "epochs": epochs, "exportable": exportable},
        "decision": None if decision is None else decision.to_dict(),
        "notes": list(progress.notes),
    }
    if ray_summary is not None:
        metadata["ray"] = ray_summary
    result = FitResult(
        model=final, leaderboard=select.leaderboard([base, *candidates], metric_), test_score=test_score,
        baseline_score=baseline_score, task=task, target=target, metric=metric_.name, schema=schema,
        winner=winner.name, notes=list(progress.notes), metadata=metadata,
        study_path=workdir / "study.db" if workdir is not None else None, test_rows=test_rows,
        example_rows=rows.X_test.head(EXAMPLE_ROWS).reset_index(drop=True),
    )
    if exportable:
        _check_export(result, progress)
    checked = rows.X_test if len(rows.X_test) else rows.X_train
    result.reference = reference_for(rows.X_train, schema.kinds(), task, trained.predict, checked, seed=seed)
    # 9. Diagnostics for the report, from the model fitted on the training rows only.
    pending = _diagnose_input(trained, rows, task, metric_, schema, winner, candidates, build, studies, specs,
                              folds, result, seed)
    if report and len(rows.X_test):
        from homl.evaluate import diagnose

        progress.phase("Report diagnostics")
        result.diagnostics = diagnose(pending, budget.diagnostics_end)
        progress.end_phase()
    else:
        if workdir is not None:  # the studies' storage is removed below
            from homl.evaluate import tuning_history

            pending.tuning = tuning_history(pending)
        result._pending = pending
    result.metadata["elapsed"] = time.monotonic() - budget.start
    if output is not None:
        result.save(output, overwrite=overwrite)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
        if result.diagnostics is not None:
            progress.note(f"report written to {Path(output) / 'report.html'}")
    result.timings["total"] = time.monotonic() - budget.start
    return result


def _diagnose_input(trained, rows: TrainTest, task, metric, schema, winner, candidates, build, studies, specs, folds,
                    result, seed):
    """What the report's diagnostics need; the curves use the best single (non-ensemble) model."""
    from homl.evaluate import DiagnoseInput

    single = next((e for e in candidates if e.members is None), winner)
    spec = zoo.get_spec(single.name)
    return DiagnoseInput(
        model=trained, X_train=rows.X_train, y_train=rows.y_train, X_test=rows.X_test, y_test=rows.y_test, task=task,
        metric=metric, schema=schema, winner=winner.name, single=single.name, single_params=dict(single.params),
        build_single=lambda params: build(spec, params), space=dict(zoo.tunable_space(spec, task)),
        studies=studies, families=[s.name for s in specs], tried=list(result.leaderboard["model"]),
        notes=list(result.notes), seed=seed, fit_seconds=single.fit_time,
        fit_rows=int(np.mean([len(train) for train, _ in folds.splits])), strategy=folds.strategy, groups=rows.groups,
        test_rows=result.test_rows,
    )


def _check_options(options: dict[str, Any], time_limit: float, cv: int, models: list[str] | None) -> None:
    """Refuse bad settings before any work."""
    if options:
        raise ConfigError(f"unknown option(s): {', '.join(options)}")
    if isinstance(time_limit, bool) or not isinstance(time_limit, (int, float)) or not np.isfinite(time_limit) \
            or time_limit <= 0:
        raise ConfigError(f"time limit must be a positive number of seconds, got {time_limit!r}")
    if cv < 2:
        raise ConfigError(f"cross-validation needs at least 2 folds, got {cv}")
    for name in models or []:
        zoo.get_spec(name)


def _load_and_frame(source, target, task, metric, query, progress):
    """The table with labelled rows only (and where they were), the task and the metric."""
    notes: list[str] = []
    frame = hdata.read_table(source, query=query, notes=notes)
    for note in notes:
        progress.note(note)
    y_all = hdata.check_target(frame, target)
    labeled = y_all.notna().to_numpy()
    if not labeled.all():
        progress.note(
            f"{int((~labeled).sum())} row(s) have no '{target}' value: they cannot be learned from and were set aside"
        )
        frame = frame[labeled]
    task = hdata.detect_task(frame[target], task)
    metric_ = get_metric(metric, task)
    progress.note(f"task: {task} (target '{target}'), metric: {metric_.label}")
    return frame, np.flatnonzero(labeled), task, metric_


def _check_export(result: FitResult, progress: Progress) -> None:
    """Note whether the final model's ONNX form predicts as it does on the test rows (metadata ``onnx``)."""
    from .export import ExportError, onnx_form

    if result.example_rows is None or not len(result.example_rows):
        return
    try:
        form = onnx_form(result.tabular, rows=result.example_rows)
    except ExportError as error:
        progress.note(f"ONNX export: {error}")
        result.metadata["onnx"] = {"error": str(error)}
        return
    progress.note(f"ONNX export: the graph predicts as the model does on {form.rows} test rows "
                  f"(within {form.max_error:.1e})")
    result.metadata["onnx"] = {"rows": form.rows, "max_error": form.max_error}


def _split(frame, labeled_rows, target, task, splitting: SplitSettings):
    """Training rows, test rows (both in time order with a time column), how they were drawn, and
    the test rows' numbers in the input."""
    if splitting.test is not None:
        time_column = splitting.time_column
        hdata.check_split_columns(frame, splitting.group_by, time_column)
        test_frame = hdata.read_table(splitting.test)
        with _about_test_set(splitting.test):
            hdata.check_target(test_frame, target)
        test_frame = test_frame[test_frame[target].notna()]
        if time_column is not None:
            frame = frame.iloc[hdata.time_order(frame, time_column)]
            if time_column in test_frame.columns:
                test_frame = test_frame.iloc[hdata.time_order(test_frame, time_column)]
        return frame, test_frame, f"test set given: {len(test_frame):,} rows", None
    train_pos, test_pos, note = hdata.split_train_test(
        frame, target, task, test_size=splitting.test_size, seed=splitting.seed, group_by=splitting.group_by,
        time_column=splitting.time_column,
    )
    return frame.iloc[train_pos], frame.iloc[test_pos], note, labeled_rows[test_pos] + 1


@contextmanager
def _about_test_set(test: Any) -> Iterator[None]:
    """Errors about a given test set's columns say that it is the test set at fault, not the training table."""
    try:
        yield
    except (SchemaError, TargetError) as error:
        where = f"test set {test}" if isinstance(test, (str, PathLike)) else "the test set"
        raise type(error)(f"{where}: {error}") from None


def _groups_of(frame: pd.DataFrame, group_by: str) -> np.ndarray | None:
    """The group of each row, or None where the table lacks the column (a given test set)."""
    return frame[group_by].astype(str).to_numpy() if group_by in frame.columns else None


def _tune(ranked, build, folds, task, context, storage, workdir, seed, progress, deadline_for, executor=None):
    """Fine-tune the best ``TUNED_FAMILIES`` families that have something to tune (the next ones
    in turn as their searches find nothing better): each family's best, the next-best trials
    (for the ensembles) and the studies."""
    tunable = [(zoo.get_spec(e.name), e) for e in ranked if _space(e.name, task, context)]
    families = tunable[:TUNED_FAMILIES]
    if not families:
        return [], [], {}
    search = select.Search(
        families, build, lambda spec: _space(spec.name, task, context), folds,
        storage=storage, workdir=workdir, seed=seed, progress=progress, executor=executor,
        reserve=tunable[TUNED_FAMILIES:],
    )
    # The finish must fit after the search: its cost grows with the models found so far (the
    # winner may be an ensemble of every tuned family's best).
    tuned = search.run(lambda: deadline_for(list(search.best.values())))
    progress.note(f"fine-tuning ran {search.n_trials} trials over {', '.join(search.specs)}")
    return tuned, search.runners_up, search.all_studies


def _with_ensembles(candidates, folds, progress, build, task: str, *, runners=(), layers: bool = True,
                    deadline: float | None = None):
    """Add voting, stacking and (with ``layers``, by ``deadline``) a two-layer stack over the
    candidates' and the search's ``runners``-up out-of-fold predictions; say if one wins.

    The runners-up join the candidates (each family's best beats them) but not the two-layer
    stack, whose final model refits every member."""
    pool = _pool(candidates)
    blended = [*pool, *runners]
    candidates = [*candidates, *runners]
    if len(blended) < 2:
        return candidates
    blends = [b for b in (select.voting(blended, folds), select.stacking(blended, folds)) if b is not None]
    if layers:  # the second layer is fitted (it needs two members); the blends above cost no fit
        second = zoo.get_spec(SECOND_LAYER[task == "regression"])
        stack = select.layered(pool, folds, lambda columns: build(second, {}, columns), second=second.name,
                               deadline=deadline)
        blends += [stack] if stack is not None else []
    if blends:
        best_single = min(candidates, key=lambda e: folds.metric.loss(e.mean))
        best_blend = min(blends, key=lambda e: folds.metric.loss(e.mean))
        if folds.metric.better(best_blend.mean, best_single.mean):
            progress.note(
                f"{best_blend.name} ensemble beats the best single model in CV "
                f"({best_blend.mean:.5g} vs {best_single.mean:.5g})"
            )
        else:
            progress.note("ensembles did not beat the best single model in CV; not kept")
    return [*candidates, *blends]


def _pool(candidates: list[select.Evaluation]) -> list[select.Evaluation]:
    """The candidates the ensembles are built from."""
    return [e for e in candidates if e.oof is not None][:KEPT_MODELS]


def _decision(winner, folds, task, metric, progress: Progress) -> select.Decision | None:
    """For a binary task scored by a threshold metric: the decision threshold the out-of-fold rows support."""
    decider = select.decision_metric(task, metric)
    decision = None if decider is None else select.choose_threshold(winner, folds, decider)
    if decision is not None:
        progress.note(
            f"decision threshold {decision.threshold:.3f} for {decider.label}: {decision.default_score:.4g} at 0.5 "
            f"-> {decision.nested_score:.4g} (nested cross-validation)"
        )
    elif decider is not None:
        progress.note(f"decision threshold kept at 0.5: no other threshold did better for {decider.label} out of fold")
    return decision


def _target_values(y: pd.Series, task: str) -> np.ndarray:
    if task == "regression":
        values = y if pd.api.types.is_numeric_dtype(y) else hdata.numbers_from_text(y)
        values = values.to_numpy(dtype=float, na_value=np.nan)
        if not np.all(np.isfinite(values)):
            bad = np.flatnonzero(~np.isfinite(values))[:5] + 1
            raise TargetError(f"target column '{y.name}' has values that are not finite numbers (rows {list(bad)})")
        return values
    values = y.to_numpy()
    if values.dtype == object and all(isinstance(v, (bool, np.bool_)) for v in values):
        return values.astype(bool)  # a boolean column that had missing values
    if values.dtype == object or pd.api.types.is_string_dtype(y):
        return np.asarray([str(v) for v in values], dtype=object)
    if values.dtype.kind == "f" and not np.all(np.mod(values, 1) == 0):
        return np.asarray([str(v) for v in values], dtype=object)  # classes such as 0.5 and 1.5
    return values


def _search_sample(n_rows: int, y: np.ndarray, task: str, time_limit: float, strategy: hdata.SplitStrategy,
                   groups: np.ndarray | None, progress: Progress) -> np.ndarray:
    """Positions of the training rows the short-list and search use: all, or a sample drawn the ``strategy``'s way."""
    limit = max(MIN_SEARCH_ROWS, int(SEARCH_ROWS_PER_SECOND * time_limit))
    if n_rows <= limit:
        return np.arange(n_rows)
    strata = hdata.stratification_labels(pd.Series(y), task)
    keep = strategy.sample(n_rows, limit, strata=strata, groups=groups)
    how = {"time": " (the latest rows)", "group": f" (whole '{strategy.column}' groups)"}.get(strategy.kind, "")
    progress.note(
        f"{n_rows:,} training rows: the short-list and search use a sample of {len(keep):,} rows{how}; "
        "the final model is fitted on all of them"
    )
    return keep


def _fold_strategy(strategy: hdata.SplitStrategy, n_rows: int, time_limit: float) -> hdata.SplitStrategy:
    """The strategy the folds are drawn with: shuffled folds of a small table are drawn several
    times when the budget allows."""
    from dataclasses import replace

    if strategy.kind != "random" or n_rows >= REPEAT_BELOW_ROWS or time_limit < REPEAT_MIN_SECONDS:
        return strategy
    return replace(strategy, repeats=CV_REPEATS)


def _threads(n_rows: int, n_features: int, progress: Progress) -> int | None:
    """Threads per model: one for a small table, else the cores other processes leave free (said when fewer)."""
    import os

    threads = zoo.threads_for(n_rows, n_features)
    if threads is None:
        threads = zoo.threads_for(n_rows, n_features, zoo.free_cores())
        if threads is not None:
            progress.note(f"other processes keep cores busy: models use {threads} of {os.cpu_count()} threads")
    return threads


def _context(X: pd.DataFrame, schema: hdata.Schema, y: np.ndarray | None = None,
             by_time: bool = False) -> dict[str, Any]:
    """What the search spaces depend on: the table's kinds of columns, and a regression target ``y``.

    Rows split ``by_time`` never see a later day in training: days that repeat are no
    categories to learn then."""
    from homl.prep import days_repeat, find_lat_lon, heavy_tailed

    numeric = schema.names("numeric")
    categorical = schema.names("categorical")
    n_features = len(numeric) * 2 + len(schema.names("boolean")) + 7 * len(schema.names("datetime"))
    n_features += sum(min(X[c].nunique(), 16) for c in categorical) + 200 * len(schema.names("text"))
    return {
        "has_geo": find_lat_lon(X, numeric) is not None,
        "has_heavy": len(heavy_tailed(X, numeric)) >= 2,
        "has_categorical": bool(categorical),
        "has_repeated_dates": not by_time and any(days_repeat(X[c]) for c in schema.names("datetime")),
        "n_features": n_features,
        "target_space": {} if y is None else zoo.target_space(y),
    }


def _space(name: str, task: str, context: dict[str, Any]) -> zoo.Space:
    spec = zoo.get_spec(name)
    space = zoo.tunable_space(spec, task)
    if not space:
        return {}
    prep = zoo.prep_space(spec, context["has_geo"], context["has_heavy"], context["has_categorical"],
                          context["has_repeated_dates"])
    # A log-link family models the log of the mean itself, on the target as it is.
    target = {} if spec.log_link else context.get("target_space", {})
    if context.get("exportable") and _CATEGORICAL in prep:  # LightGBM's category splits: no exact ONNX form
        prep[_CATEGORICAL] = zoo.Choice(tuple(v for v in prep[_CATEGORICAL].options if v != "native"))
    fixed = context.get("fixed_prep", {})
    return {name: values for name, values in {**space, **prep, **target}.items() if name not in fixed}


def _fixed_prep(prep: dict[str, Any] | None) -> dict[str, Any]:
    """``prep`` as ``prep:``-prefixed parameters, checked before any work starts."""
    from sklearn.utils._param_validation import InvalidParameterError

    from homl.prep import TablePreprocessor

    if not prep:
        return {}
    settable = set(TablePreprocessor().get_params()) - {"columns", "target_type", "random_state"}
    unknown = sorted(set(prep) - settable)
    if unknown:
        raise ConfigError(f"unknown preparation option(s) {', '.join(unknown)}; expected some of {', '.join(sorted(settable))}")
    try:
        TablePreprocessor(**prep)._validate_params()
    except InvalidParameterError as error:
        raise ConfigError(f"preparation option: {error}") from None
    return {f"{zoo.PREP_PREFIX}{name}": value for name, value in prep.items()}


def _builder(task: str, schema: hdata.Schema, seed: int, threads: int | None, holdout: str,
             fixed_prep: dict[str, Any] | None = None, epochs: int | None = None):
    """``build(spec, params, extra_columns=())``: the family's pipeline over the table's columns
    and, for a second stacking layer, the first layer's prediction columns; ``fixed_prep`` wins
    over the preparation options in ``params`` (native categories only for the families that read
    categories themselves: the others keep their own encoding), and a network trains at most
    ``epochs`` epochs."""
    def build(spec: zoo.ModelSpec, params: dict[str, Any], extra_columns: list[str] = ()) -> Any:
        columns = schema.with_numeric(list(extra_columns)) if extra_columns else schema
        fixed = dict(fixed_prep or {})
        if fixed.get(_CATEGORICAL) == "native" and not spec.native_categories:
            del fixed[_CATEGORICAL]
        pipeline = zoo.build_pipeline(spec, task, columns, {**params, **fixed}, seed=seed,
                                      threads=threads, holdout=holdout)
        return zoo.with_epochs(pipeline, epochs)

    return build


def _for_target(specs: list[zoo.ModelSpec], rows: TrainTest, task: str, named: bool) -> list[zoo.ModelSpec]:
    """The families that suit the target: a log-link family only where the training rows' target is
    skewed and never negative, and no test row's (the final refit learns from them too) is negative."""
    if task != "regression" or not any(s.log_link for s in specs):
        return specs
    if zoo.suits_log_link(rows.y_train) and (len(rows.y_test) == 0 or rows.y_test.min() >= 0):
        return specs
    if named:
        unsuited = next(s.name for s in specs if s.log_link)
        raise ConfigError(f"model family {unsuited} models the log of the target's mean: it needs a skewed "
                          f"target that is never negative, and this one is not")
    return [s for s in specs if not s.log_link]


def _fallback(specs, build, folds, progress: Progress, until: float) -> select.Evaluation:
    """When the budget allowed no family at all, cross-validate the cheapest one regardless, its
    folds sharing the time to ``until`` (a network trains the epochs that fit in its share)."""
    cheap = [s for s in specs if s.name in ("linear", "decision_tree")] or specs[:1]
    progress.note(f"the budget was too small for the short-list; using {cheap[0].label}")
    return select.cross_validate(cheap[0].name, build(cheap[0], {}), folds, shared_until=until)


def _unique(evaluations: list[select.Evaluation]) -> list[select.Evaluation]:
    """Tuned results first, then short-list results of families that were not tuned."""
    seen, kept = set(), []
    for e in evaluations:
        key = (e.name, e.stage)
        if key not in seen:
            seen.add(key)
            kept.append(e)
    return kept


def _ray_executor(address: str | None, progress: Progress) -> select.RayExecutor | None:
    """The executor of the short-list and the search on the Ray cluster at ``address``, joined now (None: here)."""
    if address is None:
        return None
    if not isinstance(address, str) or not address.strip():
        raise ConfigError(f"ray={address!r}: expected a Ray cluster's address: 'auto', 'HOST:6379' or "
                          "'ray://HOST:10001'")
    return select.RayExecutor(address.strip(), progress=progress).connect()


def _ray_done(executor: select.RayExecutor | None, progress: Progress) -> dict[str, Any] | None:
    """Leave the cluster, say how many trials each node ran, and return that as plain data."""
    if executor is None:
        return None
    executor.close()
    progress.note(f"trials per node: {executor.describe()}")
    return executor.summary()
