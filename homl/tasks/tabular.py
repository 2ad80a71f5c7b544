"""Supervised learning on a table, end to end: the book's checklist as one function.

load → frame → split → schema → short-list → fine-tune → ensemble → test once → refit → save
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from homl import data as hdata
from homl import models as zoo
from homl import select
from homl._progress import Progress
from homl.errors import ConfigError, ModelDirError, SchemaError, TargetError
from homl.metrics import Metric, bootstrap_interval, get_metric

from ._model import TabularModel, TestScore, to_json

#: Share of the budget given to the short-list; the search gets what is left before the finish.
SHORTLIST_SHARE = 0.3
#: Families fine-tuned after the short-list.
TUNED_FAMILIES = 3
#: Rows below which the whole training set is used for the search, per second of budget.
SEARCH_ROWS_PER_SECOND = 200
MIN_SEARCH_ROWS = 20_000


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

    @property
    def tabular(self) -> TabularModel:
        return TabularModel(self.model, self.schema, self.task, self.metadata, self.leaderboard)

    def predict(self, data: Any) -> np.ndarray:
        return self.tabular.predict(data)

    def predict_proba(self, data: Any) -> np.ndarray:
        return self.tabular.predict_proba(data)

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the model directory (pipeline, schema, metrics, leaderboard, versions, study)."""
        files = {"study.db": self.study_path} if self.study_path and self.study_path.exists() else None
        tables = None if self.test_rows is None else {"split": pd.DataFrame({"test_row": self.test_rows})}
        return self.tabular.save(path, overwrite=overwrite, files=files, tables=tables)


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
    models: list[str] | None = None,
    tune: bool = True,
    ensemble: bool = True,
    refit_full: bool = True,
    output: str | Path | None = None,
    overwrite: bool = False,
    resume: bool = False,
    query: str | None = None,
    progress: Progress | None = None,
    **options: Any,
) -> FitResult:
    """Learn ``target`` from the other columns of ``source`` within ``time_limit`` seconds.

    ``source`` is a path, a SQLAlchemy URL (with ``query``) or a DataFrame. ``test`` is an
    optional table held out instead of drawing a ``test_size`` share. ``models`` restricts
    the families tried; ``tune=False`` and ``ensemble=False`` skip those steps. With
    ``output`` the model directory is written there (and the search can ``resume``).
    """
    start = time.monotonic()
    if options:
        raise ConfigError(f"unknown option(s): {', '.join(options)}")
    if not time_limit or not np.isfinite(time_limit) or time_limit <= 0:
        raise ConfigError(f"time limit must be a positive number of seconds, got {time_limit}")
    if cv < 2:
        raise ConfigError(f"cross-validation needs at least 2 folds, got {cv}")
    if models is not None:
        for name in models:
            zoo.get_spec(name)  # refuse an unknown family before any work
    progress = progress or Progress()
    end = start + time_limit
    if output is not None:
        _check_output(Path(output), overwrite)

    # 1-2. Load and frame.
    notes: list[str] = []
    frame = hdata.read_table(source, query=query, notes=notes)
    for note in notes:
        progress.note(note)
    y_all = hdata.check_target(frame, target)
    labeled_rows = np.flatnonzero(y_all.notna().to_numpy())
    unlabeled = int(y_all.isna().sum())
    if unlabeled:
        progress.note(f"{unlabeled} row(s) have no '{target}' value: they cannot be learned from and were set aside")
        frame = frame[y_all.notna()]
    task = hdata.detect_task(frame[target], task)
    metric_ = get_metric(metric, task)
    progress.note(f"task: {task} (target '{target}'), metric: {metric_.label}")

    # 3. Split off the test set before anything looks at the data.
    if test is not None:
        test_frame = hdata.read_table(test)
        hdata.check_target(test_frame, target)
        test_frame = test_frame[test_frame[target].notna()]
        train_frame = frame
        split_note = f"test set given: {len(test_frame):,} rows"
        test_rows = None
    else:
        train_pos, test_pos, split_note = hdata.split_train_test(
            frame, target, task, test_size=test_size, seed=seed, group_by=group_by, time_column=time_column
        )
        train_frame, test_frame = frame.iloc[train_pos], frame.iloc[test_pos]
        test_rows = labeled_rows[test_pos] + 1
    progress.note(f"split: {split_note}; {len(train_frame):,} training rows")

    # 4. Schema from the training rows only.
    schema = hdata.infer_schema(train_frame, target)
    for note in schema.notes:
        progress.note(note)
    if not schema.features:
        dropped = "; ".join(f"'{c.name}' ({c.reason})" for c in schema.dropped) or "none"
        raise SchemaError(f"no column can be used to predict '{target}': {dropped}")
    X_train = hdata.coerce_frame(train_frame, schema)
    y_train = _target_values(train_frame[target], task)
    X_test = hdata.coerce_frame(test_frame, schema)
    y_test = _target_values(test_frame[target], task)

    # 5. Short-list on (a sample of) the training rows, all on the same folds.
    search_X, search_y = _search_sample(X_train, y_train, task, time_limit, seed, progress)
    groups = search_X.index.map(dict(zip(train_frame.index, train_frame[group_by]))).to_numpy() if group_by else None
    folds = select.make_folds(search_X, search_y, task, metric_, n_folds=cv, seed=seed, groups=groups)
    data_sha256 = data_hash(frame)
    workdir, storage = _workdir(output, resume, data_sha256, target, task, metric_.name, seed, progress)
    specs = zoo.candidates_for(task, models)
    context = _context(X_train, schema)
    build = _builder(task, schema, seed)
    base = select.baseline(folds)
    progress.note(f"baseline ({'mean' if task == 'regression' else 'class frequencies'}): {metric_.label} {base.mean:.5g}")
    done = _load_shortlist(workdir, folds) if resume else {}
    short_deadline = start + time_limit * (SHORTLIST_SHARE if tune else 0.8)
    specs = [s for s in specs if s.max_features is None or context["n_features"] <= s.max_features]
    evaluations = select.shortlist(
        specs, lambda spec: build(spec, {}), folds, deadline=short_deadline, progress=progress, done=done,
        on_result=lambda e: _save_shortlist(workdir, e),
    )
    if not evaluations:
        evaluations = [_fallback(specs, build, folds, progress)]
    ranked = sorted(evaluations, key=lambda e: metric_.loss(e.mean))

    # 6. Fine-tune the best few families (preparation options included).
    tuned: list[select.Evaluation] = []
    n_rows_final = len(X_train) + (len(X_test) if refit_full else 0)
    if tune:
        families = [(zoo.get_spec(e.name), e) for e in ranked if _space(e.name, task, context)][:TUNED_FAMILIES]
        if families:
            search = select.Search(
                families, build, lambda spec: _space(spec.name, task, context), folds,
                storage=storage, workdir=workdir, seed=seed, progress=progress,
            )

            def deadline() -> float:
                best = min(search.best.values(), key=lambda e: metric_.loss(e.mean))
                return end - _reserve(best, folds, len(X_train), n_rows_final, time_limit)

            tuned = search.run(deadline)
            progress.note(f"fine-tuning ran {search.n_trials} trials over {', '.join(search.specs)}")
    candidates = _unique([*tuned, *ranked])

    # 7. Ensembles, kept only when they beat the best single model in cross-validation.
    pool = [e for e in candidates if e.oof is not None][:6]
    if ensemble and len(pool) >= 2:
        for blend in (select.voting(pool, folds), select.stacking(pool, folds)):
            if blend is not None:
                candidates.append(blend)
    candidates.sort(key=lambda e: metric_.loss(e.mean))
    best_single = next(e for e in candidates if e.stage != "ensemble")
    if candidates[0].stage == "ensemble":
        progress.note(f"{candidates[0].name} ensemble beats the best single model in CV ({candidates[0].mean:.5g} vs {best_single.mean:.5g})")
    elif ensemble and len(pool) >= 2:
        progress.note("ensembles did not beat the best single model in CV; not kept")

    # 8. Finish: refit the winner on all training rows, test once, refit on everything.
    winner = _affordable(candidates, folds, len(X_train), end, progress)
    final = _final_estimator(winner, build, task)
    progress.phase("Finish", total=3 if refit_full else 2)
    t = time.monotonic()
    _quiet_fit(final, X_train, y_train)
    fit_seconds = time.monotonic() - t
    progress.advance(detail="refit on the training set")
    classes = None if task == "regression" else np.asarray(final.classes_)
    test_score = _test_score(metric_, final, X_test, y_test, classes, seed)
    baseline_score = _baseline_test_score(metric_, X_train, y_train, X_test, y_test, classes, seed)
    progress.advance(detail="test score")
    if refit_full and len(X_test):
        expected = fit_seconds * (len(X_train) + len(X_test)) / len(X_train)
        if time.monotonic() + expected <= end + 0.05 * time_limit:
            final = _final_estimator(winner, build, task)
            _quiet_fit(final, pd.concat([X_train, X_test]), np.concatenate([y_train, y_test]))
            schema = _with_categories_of(schema, X_test)
            progress.note("final model refitted on all rows (training + test)")
        else:
            progress.note(
                f"not refitted on all rows: that refit (about {expected:.1f} s) would pass the time limit; "
                "the saved model is the one fitted on the training rows"
            )
    progress.advance(detail="final model")
    progress.end_phase()

    leaderboard = _leaderboard([base, *candidates], metric_)
    metadata = {
        "winner": winner.name,
        "winner_params": to_json(winner.params),
        "metric": metric_.name,
        "test_score": to_json(test_score),
        "baseline_test_score": to_json(baseline_score),
        "cv": {"folds": len(folds.splits), "rows": len(search_y), "mean": winner.mean, "std": winner.std},
        "split": {"note": split_note, "seed": seed, "test_size": test_size, "train_rows": len(X_train),
                  "test_rows": len(X_test)},
        "data_sha256": data_sha256,
        "time_limit": time_limit,
        "elapsed": time.monotonic() - start,
        "notes": list(progress.notes),
    }
    result = FitResult(
        model=final, leaderboard=leaderboard, test_score=test_score, baseline_score=baseline_score,
        task=task, target=target, metric=metric_.name, schema=schema, winner=winner.name,
        notes=list(progress.notes), metadata=metadata,
        study_path=workdir / "study.db" if workdir is not None else None, test_rows=test_rows,
    )
    if output is not None:
        result.save(output, overwrite=overwrite)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
    result.timings["total"] = time.monotonic() - start
    result.metadata["elapsed"] = result.timings["total"]
    return result


def _with_categories_of(schema: hdata.Schema, frame: pd.DataFrame) -> hdata.Schema:
    """The schema with the categories of ``frame`` added: the final model has seen them too."""
    from homl.data import MAX_STORED_CATEGORIES

    widened = hdata.Schema.from_dict(schema.to_dict())
    for column in widened.columns:
        if column.categories is not None and column.name in frame.columns:
            seen = set(column.categories) | set(frame[column.name].dropna().astype(str))
            column.categories = sorted(seen) if len(seen) <= MAX_STORED_CATEGORIES else None
    return widened


def _quiet_fit(model: Any, X: pd.DataFrame, y: np.ndarray) -> None:
    """Fit without the libraries' convergence and deprecation chatter (CV hides it too)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)


def _check_output(path: Path, overwrite: bool) -> None:
    """Refuse before any work starts, rather than after minutes of training."""
    from homl.registry import is_model_dir

    if path.exists() and not path.is_dir():
        raise ModelDirError(f"output '{path}' is a file; expected a directory for the model")
    if is_model_dir(path) and not overwrite:
        raise ModelDirError(f"output '{path}' holds a model already; use --overwrite to replace it")
    if path.is_dir() and any(path.iterdir()) and not is_model_dir(path):
        raise ModelDirError(f"output '{path}' is a folder with other files in it; choose a new or empty folder")


def _target_values(y: pd.Series, task: str) -> np.ndarray:
    if task == "regression":
        values = pd.to_numeric(y.astype(object) if not pd.api.types.is_numeric_dtype(y) else y, errors="coerce")
        values = values.to_numpy(dtype=float)
        if not np.all(np.isfinite(values)):
            bad = np.flatnonzero(~np.isfinite(values))[:5] + 1
            raise TargetError(f"target column '{y.name}' has values that are not finite numbers (rows {list(bad)})")
        return values
    values = y.to_numpy()
    if values.dtype == object or pd.api.types.is_string_dtype(y):
        return np.asarray([str(v) for v in values], dtype=object)
    return values


def _search_sample(X: pd.DataFrame, y: np.ndarray, task: str, time_limit: float, seed: int, progress: Progress):
    limit = max(MIN_SEARCH_ROWS, int(SEARCH_ROWS_PER_SECOND * time_limit))
    if len(X) <= limit:
        return X, y
    from sklearn.model_selection import train_test_split

    strata = hdata.stratification_labels(pd.Series(y), task)
    keep, _ = train_test_split(np.arange(len(X)), train_size=limit, random_state=seed, stratify=strata)
    keep = np.sort(keep)
    progress.note(
        f"{len(X):,} training rows: the short-list and search use a sample of {limit:,} rows; "
        "the final model is fitted on all of them"
    )
    return X.iloc[keep], y[keep]


def _context(X: pd.DataFrame, schema: hdata.Schema) -> dict[str, Any]:
    from homl.prep import find_lat_lon, heavy_tailed

    numeric = schema.names("numeric")
    categorical = schema.names("categorical")
    n_features = len(numeric) * 2 + len(schema.names("boolean")) + 7 * len(schema.names("datetime"))
    n_features += sum(min(X[c].nunique(), 16) for c in categorical) + 200 * len(schema.names("text"))
    return {
        "has_geo": find_lat_lon(X, numeric) is not None,
        "has_heavy": len(heavy_tailed(X, numeric)) >= 2,
        "has_categorical": bool(categorical),
        "n_features": n_features,
    }


def _space(name: str, task: str, context: dict[str, Any]) -> zoo.Space:
    spec = zoo.get_spec(name)
    space = zoo.tunable_space(spec, task)
    if not space:
        return {}
    prep = zoo.prep_space(context["has_geo"], context["has_heavy"], context["has_categorical"])
    return {**space, **prep}


def _builder(task: str, schema: hdata.Schema, seed: int):
    def build(spec: zoo.ModelSpec, params: dict[str, Any]) -> Any:
        return zoo.build_pipeline(spec, task, schema, params, seed=seed)

    return build


def _reserve(best: select.Evaluation, folds: select.Folds, n_train: int, n_final: int, time_limit: float) -> float:
    """Seconds to keep for the finish: refits of the winner (twice if refitted on all rows)."""
    refits = select.refit_time(best, n_train, folds) + select.refit_time(best, n_final, folds) * (n_final > n_train)
    # An ensemble of the tuned families may win: it costs about the sum of their refits.
    # Plus the test score, its bootstrap interval and the save: a few seconds, more for long runs.
    return 1.5 * refits * 1.6 + 0.05 * time_limit + 2.0


def _affordable(candidates: list[select.Evaluation], folds: select.Folds, n_train: int, end: float,
                progress: Progress) -> select.Evaluation:
    """The best candidate whose final refit still fits in the time left."""
    left = end - time.monotonic()
    for candidate in candidates:
        if candidate.stage == "baseline":
            continue
        if select.refit_time(candidate, n_train, folds) <= left or candidate is candidates[-1]:
            return candidate
        progress.note(f"{candidate.name} passed over: its refit would not fit in the {left:.0f} s left")
    return candidates[0]


def _final_estimator(winner: select.Evaluation, build, task: str) -> Any:
    """The winner as one pipeline: ``schema → model``, where an ensemble's members each
    carry their own preparation (they may have tuned it differently)."""
    if winner.members is None:
        return build(zoo.get_spec(winner.name), winner.params)
    from sklearn.ensemble import VotingClassifier, VotingRegressor
    from sklearn.pipeline import Pipeline

    members = [build(zoo.get_spec(m.name), m.params) for m, _ in winner.members]
    estimators = [(f"{m.name}_{i}", pipeline[1:]) for i, ((m, _), pipeline) in enumerate(zip(winner.members, members))]
    weights = [float(w) for _, w in winner.members]
    if task == "regression":
        ensemble = VotingRegressor(estimators, weights=weights)
    else:
        ensemble = VotingClassifier(estimators, voting="soft", weights=weights)
    return Pipeline([("schema", members[0][0]), ("model", ensemble)])


def _fallback(specs, build, folds, progress: Progress) -> select.Evaluation:
    """When the budget allowed no family at all, cross-validate the cheapest one regardless."""
    cheap = [s for s in specs if s.name in ("linear", "decision_tree")] or specs[:1]
    progress.note(f"the budget was too small for the short-list; using {cheap[0].label}")
    return select.cross_validate(cheap[0].name, build(cheap[0], {}), folds)


def _unique(evaluations: list[select.Evaluation]) -> list[select.Evaluation]:
    """Tuned results first, then short-list results of families that were not tuned."""
    seen, kept = set(), []
    for e in evaluations:
        key = (e.name, e.stage)
        if key not in seen:
            seen.add(key)
            kept.append(e)
    return kept


def _test_score(metric: Metric, model: Any, X: pd.DataFrame, y: np.ndarray, classes, seed: int) -> TestScore | None:
    if len(X) == 0:
        return None
    prediction = select.predict_output(model, X, classes)
    value = metric(y, prediction, classes)
    low, high = bootstrap_interval(metric, y, prediction, classes, seed=seed)
    return TestScore(metric.name, value, low, high, len(X))


def _baseline_test_score(metric, X_train, y_train, X_test, y_test, classes, seed) -> TestScore | None:
    from sklearn.dummy import DummyClassifier, DummyRegressor

    dummy = DummyRegressor() if classes is None else DummyClassifier(strategy="prior")
    dummy.fit(X_train, y_train)
    return _test_score(metric, dummy, X_test, y_test, classes, seed)


def _leaderboard(evaluations: list[select.Evaluation], metric: Metric) -> pd.DataFrame:
    rows = []
    for e in evaluations:
        row = e.summary()
        row["params"] = json.dumps(to_json(row["params"]), sort_keys=True)
        rows.append(row)
    board = pd.DataFrame(rows)
    board = board.sort_values("cv_mean", ascending=not metric.greater_is_better, kind="stable")
    return board.reset_index(drop=True)


def data_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of a table's values and column names (what the model was trained on)."""
    import hashlib

    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


# --- resumable search state -------------------------------------------------------------


def _workdir(output, resume: bool, data_sha256: str, target: str, task: str, metric: str, seed: int,
             progress: Progress) -> tuple[Path | None, str | None]:
    """The folder beside the output that holds the search study, so a killed run can resume."""
    if output is None:
        return None, None
    output = Path(output)
    workdir = output.parent / f"{output.name}.homl-work"
    state = {"data_sha256": data_sha256, "target": target, "task": task, "metric": metric, "seed": seed}
    state_file = workdir / "state.json"
    if workdir.exists():
        previous = json.loads(state_file.read_text()) if state_file.exists() else None
        if resume and previous == state:
            progress.note(f"resuming the search stored in {workdir}")
        else:
            if resume:
                progress.note("--resume: the stored search was for other data or options; starting afresh")
            shutil.rmtree(workdir)
    elif resume:
        progress.note("--resume: no interrupted search found; starting afresh")
    workdir.mkdir(parents=True, exist_ok=True)
    _atomic_write(state_file, json.dumps(state))
    return workdir, f"sqlite:///{(workdir / 'study.db').as_posix()}"


def _atomic_write(path: Path, text: str) -> None:
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
        handle.write(text)
    Path(handle.name).replace(path)


def _save_shortlist(workdir: Path | None, evaluation: select.Evaluation) -> None:
    if workdir is None:
        return
    np.save(workdir / f"short-{evaluation.name}.npy", evaluation.oof)
    _atomic_write(workdir / f"short-{evaluation.name}.json", json.dumps(to_json({
        "params": evaluation.params, "fold_scores": evaluation.fold_scores, "fit_time": evaluation.fit_time,
    })))


def _load_shortlist(workdir: Path | None, folds: select.Folds) -> dict[str, select.Evaluation]:
    if workdir is None:
        return {}
    done = {}
    for path in workdir.glob("short-*.json"):
        name = path.stem[len("short-"):]
        oof_path = workdir / f"short-{name}.npy"
        if not oof_path.exists():
            continue
        saved = json.loads(path.read_text())
        done[name] = select.Evaluation(name, saved["params"], saved["fold_scores"], saved["fit_time"], np.load(oof_path))
    return done
