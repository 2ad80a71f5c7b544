"""The ``homl`` command: parse, call the Python API, print. No logic the API lacks.

Every command that reads a model directory goes through ``homl.load``, which picks the class
for the directory's kind: ``predict``, ``info`` and ``report`` need no case per kind.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from homl import HomlError, __version__, write_text_atomic

from ._flags import as_flags
from ._operate import feedback, monitor, retrain
from ._options import (
    Mlflow,
    MlflowExperiment,
    Output,
    Overwrite,
    Query,
    Seed,
    TimeLimit,
    Verbose,
    log_run,
    run_training,
    setup_logging,
)
from ._registry import registry_app
from ._render import console, frame_table, leaderboard_table, out, schema_table

app = typer.Typer(
    help="Machine learning on your tables: fit, predict, inspect.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(registry_app, name="registry")


def _show_version(value: bool) -> None:
    if value:
        out.print(f"homl {__version__}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="Show homl's version and exit.")] = False,
) -> None:
    """Machine learning on your tables: fit, predict, inspect."""


@app.command()
def fit(
    source: Annotated[str | None, typer.Argument(help="Table to learn from: CSV/TSV, Parquet, JSON lines, Excel, or a SQLAlchemy URL.")] = None,
    target: Annotated[str | None, typer.Option("--target", "-t", help="Column to predict.")] = None,
    example: Annotated[str | None, typer.Option(help="Use a bundled example table instead: housing or titanic.")] = None,
    output: Output = None,
    time_limit: TimeLimit = 300,
    metric: Annotated[str | None, typer.Option(help="rmse, mae, r2, roc_auc, log_loss, accuracy, balanced_accuracy, f1.")] = None,
    task: Annotated[str | None, typer.Option(help="regression, binary or multiclass (detected if omitted).")] = None,
    test: Annotated[str | None, typer.Option(help="A separate labelled table to use as the test set.")] = None,
    test_size: Annotated[float, typer.Option("--test-size", help="Share of rows held out as the test set.")] = 0.2,
    cv: Annotated[int, typer.Option(help="Cross-validation folds.")] = 5,
    seed: Seed = 42,
    group_by: Annotated[str | None, typer.Option("--group-by", help="Keep rows of a group together when splitting.")] = None,
    time_column: Annotated[str | None, typer.Option("--time-column", help="Hold out the latest rows by this column.")] = None,
    gap: Annotated[int, typer.Option(help="Rows left out between training and validation rows (with --time-column).")] = 0,
    models: Annotated[str | None, typer.Option(help="Comma-separated model families to try (default: all).")] = None,
    tune: Annotated[bool, typer.Option("--tune/--no-tune", help="Fine-tune the best families.")] = True,
    ensemble: Annotated[bool, typer.Option("--ensemble/--no-ensemble", help="Try voting and stacking.")] = True,
    refit_full: Annotated[bool, typer.Option("--refit-full/--no-refit-full", help="Refit the final model on all rows.")] = True,
    bagging: Annotated[bool, typer.Option("--bag/--no-bag", help="Average the final model over fold copies when affordable.")] = True,
    query: Query = None,
    prep: Annotated[list[str] | None, typer.Option("--prep", help="A preparation option fixed for every model, NAME=VALUE (repeatable), e.g. cluster_features=8.")] = None,
    epochs: Annotated[int | None, typer.Option(min=1, help="The most epochs a neural network trains (with --models mlp).")] = None,
    exportable: Annotated[bool, typer.Option("--exportable", help="Keep to models with an exact ONNX form (for `homl export` and the server's fast path).")] = False,
    overwrite: Overwrite = False,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted search stored beside the output.")] = False,
    ray: Annotated[str | None, typer.Option("--ray", envvar="HOML_RAY_ADDRESS", help="Run the search on a Ray cluster, a trial per CPU of every node: auto (the cluster this machine joined), HOST:6379 or ray://HOST:10001 (needs homl[scale] on every node).")] = None,
    mlflow: Mlflow = None,
    mlflow_experiment: MlflowExperiment = "homl",
    verbose: Verbose = False,
) -> None:
    """Learn to predict TARGET from the other columns, and save the best model found."""
    import homl
    from homl.data import example_path, example_target

    if example is not None:
        source, target = str(example_path(example)), target or example_target(example)
    if source is None:
        raise HomlError("give a table to learn from (or --example housing)")
    if target is None:
        raise HomlError("give the column to predict with --target")
    if output is None:
        output = Path("models") / _stem(example or source)
    result = run_training(lambda progress: homl.fit(
        source, target, test=test, task=task, metric=metric, time_limit=time_limit, test_size=test_size,
        cv=cv, seed=seed, group_by=group_by, time_column=time_column, gap=gap,
        models=[m.strip() for m in models.split(",")] if models else None,
        tune=tune, ensemble=ensemble, refit_full=refit_full, bagging=bagging, output=output, overwrite=overwrite,
        resume=resume, query=query, progress=progress, prep=_settings(prep or []), epochs=epochs,
        exportable=exportable, ray=ray,
    ), verbose=verbose)
    out.print(leaderboard_table(result.leaderboard, result.metric, limit=12, width=out.width))
    if result.baseline_score is not None:
        out.print(f"baseline on the test set: {result.baseline_score}")
    if result.test_score is not None:
        out.print(f"[bold]test score[/bold] of {result.winner}: [bold green]{result.test_score}[/bold green]")
    out.print(f"model saved to {output}  ({result.timings['total']:.0f} s)")
    if (Path(output) / "report.html").exists():
        out.print(f"report: {Path(output) / 'report.html'}  (rebuild and open it with `homl report {output}`)")
    log_run(result, Path(output), mlflow, mlflow_experiment)


@app.command()
def segment(
    source: Annotated[str, typer.Argument(help="Table whose rows to segment (CSV/TSV, Parquet, JSON lines, Excel, a SQLAlchemy URL), or an image to segment by colour.")],
    output: Output = None,
    k: Annotated[int | None, typer.Option("--k", help="Number of segments (default: chosen by silhouette).")] = None,
    method: Annotated[str, typer.Option(help="auto, kmeans, gaussian_mixture, bayesian_gaussian_mixture, agglomerative, spectral, dbscan or hdbscan.")] = "auto",
    max_k: Annotated[int, typer.Option("--max-k", help="The most segments tried when choosing k.")] = 10,
    seed: Seed = 42,
    query: Query = None,
    overwrite: Overwrite = False,
    mlflow: Mlflow = None,
    mlflow_experiment: MlflowExperiment = "homl",
    verbose: Verbose = False,
) -> None:
    """Split the rows of SOURCE into segments of similar rows, and say what sets each apart.

    An image (.png, .jpg...) is segmented by colour: written to OUTPUT (a .png) painted with K colours."""
    import homl
    from homl.tasks.segment import is_image

    if is_image(source):
        painted = homl.segment(source, k=k, output=output, seed=seed, overwrite=overwrite)
        out.print(painted.choice, markup=False, highlight=False)
        for colour, share in zip(painted.colours, painted.shares):
            out.print(f"  colour #{''.join(f'{c:02x}' for c in colour)}: {share:.0%} of pixels", markup=False,
                      highlight=False)
        out.print(f"image written to {painted.output}", markup=False, highlight=False)
        return
    if output is None:
        output = Path("models") / f"{_stem(source)}-segments"
    result = run_training(lambda progress: homl.segment(
        source, k=k, method=method, max_clusters=max_k, output=output, overwrite=overwrite, seed=seed, query=query,
        progress=progress,
    ), verbose=verbose)
    out.print(result.model.metadata["choice"], markup=False, highlight=False)
    for profile in result.profiles:
        out.print(f"  {profile['description']}", markup=False, highlight=False)
    out.print(f"model saved to {output}; report: {Path(output) / 'report.html'}", markup=False, highlight=False)
    log_run(result, Path(output), mlflow, mlflow_experiment)


@app.command()
def anomalies(
    source: Annotated[str, typer.Argument(help="Table whose rows to score: CSV/TSV, Parquet, JSON lines, Excel, or a SQLAlchemy URL.")],
    output: Output = None,
    label: Annotated[str | None, typer.Option("--label", help="Column of known anomalies (1/0, yes/no): only to evaluate, never learned from.")] = None,
    method: Annotated[str, typer.Option(help="auto, or one detector: isolation_forest, lof, one_class_svm, knn, ...")] = "auto",
    contamination: Annotated[str, typer.Option(help="Expected share of anomalies, e.g. 0.01 (default: estimated).")] = "auto",
    precision: Annotated[float | None, typer.Option(help="With --label: threshold reaching this precision.")] = None,
    recall: Annotated[float | None, typer.Option(help="With --label: threshold reaching this recall.")] = None,
    seed: Seed = 42,
    query: Query = None,
    overwrite: Overwrite = False,
    mlflow: Mlflow = None,
    mlflow_experiment: MlflowExperiment = "homl",
    verbose: Verbose = False,
) -> None:
    """Score every row of SOURCE by how unusual it is, flag the anomalies and say why each is one."""
    import homl

    share: float | str = contamination
    if contamination != "auto":
        try:
            share = float(contamination)
        except ValueError:
            raise HomlError(f"--contamination must be auto or a share such as 0.01; got {contamination!r}") from None
    if output is None:
        output = Path("models") / f"{_stem(source)}-anomalies"
    result = run_training(lambda progress: homl.detect_anomalies(
        source, label=label, method=method, contamination=share, precision=precision, recall=recall, output=output,
        overwrite=overwrite, seed=seed, query=query, progress=progress,
    ), verbose=verbose)
    for line in result.model.info().summary[:-1]:
        out.print(line, markup=False, highlight=False)
    out.print(f"model saved to {output}; report: {Path(output) / 'report.html'}", markup=False, highlight=False)
    log_run(result, Path(output), mlflow, mlflow_experiment)


@app.command()
def reduce(
    source: Annotated[str, typer.Argument(help="Table whose rows to reduce: CSV/TSV, Parquet, JSON lines, Excel, or a SQLAlchemy URL.")],
    to: Annotated[str, typer.Option("--to", help="Columns to keep (2), a share of variance with pca (0.95), or auto with a random projection.")] = "2",
    method: Annotated[str, typer.Option(help="pca, randomized_pca, incremental_pca, gaussian_random_projection, sparse_random_projection, kernel_pca, lle, isomap, mds, tsne or umap.")] = "pca",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="CSV of the reduced rows (default: <table name>-<method>.csv); its report beside it.")] = None,
    color: Annotated[str | None, typer.Option("--color", help="Column kept out of the reduction that colours the plots.")] = None,
    model: Annotated[Path | None, typer.Option("--model", help="Also save a model directory that places new rows (homl predict).")] = None,
    chunk_rows: Annotated[int | None, typer.Option("--chunk-rows", min=2, help="Read SOURCE this many rows at a time (a file larger than memory); with --method incremental_pca.")] = None,
    seed: Seed = 42,
    query: Query = None,
    overwrite: Overwrite = False,
    mlflow: Mlflow = None,
    mlflow_experiment: MlflowExperiment = "homl",
    verbose: Verbose = False,
) -> None:
    """Fewer columns for the rows of SOURCE: one output row per input row, in order, and a report."""
    import homl

    target: int | float | str = to
    if to != "auto":
        try:
            target = float(to) if "." in to else int(to)
        except ValueError:
            raise HomlError(f"--to must be a number of columns (2), a share of variance (0.95) or auto; got {to!r}") from None
    output = output or Path(f"{_stem(source)}-{method}.csv")
    result = run_training(lambda progress: homl.reduce(
        source, n_components=target, method=method, color=color, output=output, model_output=model,
        overwrite=overwrite, seed=seed, query=query, chunk_rows=chunk_rows, progress=progress,
    ), verbose=verbose)
    report = result.report()
    report.write(output.with_suffix(".html"), prefix=f"{output.stem}-")  # figures of several reports side by side
    meta = result.model.metadata
    kept = f", {meta['explained']:.1%} of the variance" if meta.get("explained") is not None else ""
    out.print(f"{meta['n_rows']:,} rows reduced from {meta['n_prepared']} to {meta['n_components']} columns with "
              f"{meta['method_name']}{kept}", markup=False, highlight=False)
    out.print(f"written to {output}; report: {output.with_suffix('.html')} ({len(report.figures)} figures)",
              markup=False, highlight=False)
    if model is not None:
        out.print(f"model saved to {model}", markup=False, highlight=False)
    log_run(result, model, mlflow, mlflow_experiment, run_name=output.stem, report=output.with_suffix(".html"))


@app.command()
def forecast(
    source: Annotated[str, typer.Argument(help="Table of the series: CSV/TSV, Parquet, JSON lines, Excel, or a SQLAlchemy URL.")],
    time: Annotated[str, typer.Option("--time", help="Column of the timestamps.")],
    target: Annotated[str, typer.Option("--target", "-t", help="Column to forecast; several, comma-separated, are forecast together.")],
    horizon: Annotated[int, typer.Option("--horizon", help="Steps to forecast.")],
    id: Annotated[str | None, typer.Option("--id", help="Column telling several series apart.")] = None,
    covariates: Annotated[str | None, typer.Option("--covariates", help="Columns known in advance, comma-separated (rows after the last target value give their future values).")] = None,
    past_covariates: Annotated[str | None, typer.Option("--past-covariates", help="Columns only known up to now, comma-separated.")] = None,
    freq: Annotated[str | None, typer.Option("--freq", help="Spacing of the steps as a pandas alias (D, W-SUN, MS, h...): detected if omitted.")] = None,
    test: Annotated[int | None, typer.Option("--test", min=1, help="Steps at the end set aside as the test period (default: one backtest window).")] = None,
    folds: Annotated[int, typer.Option("--folds", min=1, help="Rolling-origin backtest windows.")] = 3,
    models: Annotated[str | None, typer.Option("--models", help="Forecasters to try, comma-separated (naive, seasonal_naive, ets, arima, lag_lightgbm, gru...).")] = None,
    output: Output = None,
    time_limit: TimeLimit = 120,
    seed: Seed = 42,
    query: Query = None,
    overwrite: Overwrite = False,
    mlflow: Mlflow = None,
    mlflow_experiment: MlflowExperiment = "homl",
    verbose: Verbose = False,
) -> None:
    """Forecast the next HORIZON steps of a series (or of one series per --id), with intervals and a report."""
    import homl

    if output is None:
        output = Path("models") / f"{_stem(source)}-forecast"
    result = run_training(lambda progress: homl.forecast(
        source, time=time, target=target, horizon=horizon, id=id, covariates=_names(covariates),
        past_covariates=_names(past_covariates), freq=freq, test=test, folds=folds,
        models=_names(models) or None, time_limit=time_limit, output=output, overwrite=overwrite, seed=seed,
        query=query, progress=progress,
    ), verbose=verbose)
    for line in result.model.info().summary[:-1]:
        out.print(line, markup=False, highlight=False)
    out.print(frame_table(result.leaderboard[["name", "mase", "mae", "rmse", "smape"]], "Backtests (by MASE)",
                          limit=15))
    if result.forecast is not None:
        out.print(frame_table(result.forecast, f"Forecast of the next {horizon} step(s)", limit=15))
    out.print(f"model saved to {output}; report: {Path(output) / 'report.html'}; "
              f"`homl predict {output}` forecasts again", markup=False, highlight=False)
    log_run(result, Path(output), mlflow, mlflow_experiment)


@app.command()
def recommend(
    source: Annotated[str, typer.Argument(help="Log of interactions: CSV/TSV, Parquet, JSON lines, Excel, or a SQLAlchemy URL.")],
    user: Annotated[str, typer.Option("--user", help="Column of the users.")],
    item: Annotated[str, typer.Option("--item", help="Column of the items.")],
    rating: Annotated[str | None, typer.Option("--rating", help="Column of explicit ratings; without it each row is an implicit interaction (a purchase, a click).")] = None,
    time_column: Annotated[str | None, typer.Option("--time-column", help="Column of times: each user's latest interactions are held out to test on.")] = None,
    scale: Annotated[str | None, typer.Option("--scale", help="Lowest and highest possible rating, e.g. 1,5 (default: the range seen).")] = None,
    items: Annotated[str | None, typer.Option("--items", help="Table of the items (with the item column) whose names the report and recommendations show.")] = None,
    item_name: Annotated[str | None, typer.Option("--item-name", help="Column of --items naming each item (default: its first text column).")] = None,
    test_size: Annotated[float, typer.Option("--test-size", help="Share of each user's interactions held out to test on.")] = 0.2,
    top: Annotated[int, typer.Option("--top", help="Length of each user's list of recommendations scored (precision@k, NDCG@k...).")] = 10,
    models: Annotated[str | None, typer.Option("--models", help="Families to try, comma-separated (ratings: biases, factors, item_neighbours, user_neighbours; implicit: popular, als, item_neighbours, bpr).")] = None,
    output: Output = None,
    time_limit: TimeLimit = 60,
    seed: Seed = 42,
    query: Query = None,
    overwrite: Overwrite = False,
    mlflow: Mlflow = None,
    mlflow_experiment: MlflowExperiment = "homl",
    verbose: Verbose = False,
) -> None:
    """Learn which items each user will like from a log of ratings or interactions, with a report."""
    import homl

    if output is None:
        output = Path("models") / _stem(source)
    result = run_training(lambda progress: homl.recommend(
        source, user=user, item=item, rating=rating, time=time_column, scale=_scale(scale), items=items,
        item_name=item_name, test_size=test_size, top=top, models=_names(models) or None, time_limit=time_limit,
        output=output, overwrite=overwrite, seed=seed, query=query, progress=progress,
    ), verbose=verbose)
    for line in result.model.info().summary[:-1]:
        out.print(line, markup=False, highlight=False)
    out.print(frame_table(result.leaderboard, "Models (held-out part of training, best first)",
                          limit=15))
    how = ("`homl predict MODEL pairs.csv` predicts ratings" if rating
           else "`homl predict MODEL --top 10` lists each user's next items")
    out.print(f"model saved to {output}; report: {Path(output) / 'report.html'}; {how.replace('MODEL', str(output))}",
              markup=False, highlight=False)
    log_run(result, Path(output), mlflow, mlflow_experiment)


def _scale(text: str | None) -> tuple[float, float] | None:
    """``"1,5"`` as (1.0, 5.0)."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        low, high = (float(p) for p in parts)
    except ValueError:
        raise HomlError(f"--scale {text!r}: expected the lowest and highest rating, e.g. 1,5") from None
    return low, high


def _names(text: str | None) -> list[str]:
    """Comma-separated names as a list (empty when none)."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@app.command()
def predict(
    model: Annotated[Path, typer.Argument(help="Model directory written by `homl fit`, `homl forecast`, `homl recommend`...")],
    source: Annotated[str | None, typer.Argument(help="Table of new rows to predict (for a forecast model: newer rows of the series, or omitted to forecast after the saved ones; for a recommender: (user, item) pairs to score).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="CSV file to write (default: standard output).")] = None,
    top: Annotated[int | None, typer.Option("--top", help="Recommender: the N best unseen items of each user (of --users, or of every known user).")] = None,
    users: Annotated[str | None, typer.Option("--users", help="Recommender, with --top: table of the users to recommend to (its user column, or its only column).")] = None,
    similar_to: Annotated[str | None, typer.Option("--similar-to", help="Recommender: the items most like this one (--top of them, 10 by default).")] = None,
    verbose: Verbose = False,
) -> None:
    """Predict every row of SOURCE, in order, with the model in MODEL (or list recommendations)."""
    import homl

    setup_logging(verbose)
    if output is not None and source is not None and Path(source).exists() and output.resolve() == Path(source).resolve():
        raise HomlError(f"output '{output}' is the input file; choose another name so the input is kept")
    loaded = homl.load(model)
    asks_ranking = top is not None or users is not None or similar_to is not None
    if asks_ranking and loaded.kind != "recommend":
        raise HomlError(f"--top, --users and --similar-to are for recommenders; {model} is a {loaded.kind} model")
    if asks_ranking and source is not None:
        raise HomlError("give either a table of (user, item) pairs to score or --top/--similar-to, not both")
    if users is not None and top is None:
        raise HomlError("--users needs --top N: how many items to recommend to each user")
    if top is not None and top < 1:
        raise HomlError(f"--top {top}: expected a number of items of at least 1")
    if similar_to is not None:
        frame = loaded.similar_items(similar_to, top or 10)
    elif top is not None:
        from homl.data import read_table

        frame = loaded.recommend(read_table(users) if users is not None else None, top)
    elif source is None and loaded.kind != "forecast":
        hint = " (or --top N for recommendations)" if loaded.kind == "recommend" else ""
        raise HomlError(f"give a table of rows to predict{hint}: {model} is a {loaded.kind} model")
    else:
        frame = _predictions(loaded, source)
    if output is None:
        frame.to_csv(sys.stdout, index=False)
        return
    write_text_atomic(output, frame.to_csv(index=False))
    console.print(f"{len(frame):,} {'rows' if asks_ranking else 'predictions'} written to {output}")


def _predictions(loaded: Any, source: str | None) -> Any:
    """``loaded``'s predictions for the rows of ``source``, one per row in order: a ragged row is
    refused rather than skipped, and a problem with the columns names the file. A forecast's rows
    are the series' history, read as fitting reads them."""
    from homl.data import read_table
    from homl.errors import SchemaError

    if source is None or loaded.kind == "forecast":
        return loaded.predict_frame(source)
    rows = read_table(source, ragged="refuse")
    try:
        return loaded.predict_frame(rows)
    except SchemaError as error:
        raise SchemaError(f"{source}: {error}") from None


@app.command("predict-batch")
def predict_batch(
    model: Annotated[str, typer.Argument(help="A model directory, or a registered model: NAME, NAME@VERSION or NAME@ALIAS.")],
    sources: Annotated[list[str], typer.Argument(metavar="SOURCE", help="CSV or Parquet file of new rows, of any size; with --ray, one or more files, folders or glob patterns.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Parquet or CSV file to write; with --ray, the folder to write the parts to.")],
    chunk_rows: Annotated[int | None, typer.Option("--chunk-rows", min=1, help="Rows predicted at a time (default 100,000; with --ray, each block read).")] = None,
    ray_address: Annotated[str | None, typer.Option("--ray", envvar="HOML_RAY_ADDRESS", metavar="ADDRESS", help="Predict on the Ray cluster at ADDRESS (host:port of its head, or auto for the one this machine is in): one Parquet part per block, in order, and a manifest.json in the -o folder.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="With --ray: replace the predictions an earlier run left in the output folder.")] = False,
    registry: Annotated[str | None, typer.Option("--registry", envvar="HOML_REGISTRY", help="Registry database URL.")] = None,
    verbose: Verbose = False,
) -> None:
    """Predict every row of SOURCE chunk by chunk, in constant memory; run it again to resume.
    With --ray, predict every SOURCE in parallel on a Ray cluster."""
    import homl

    setup_logging(verbose)
    if ray_address is not None:
        from homl.tasks.batch_ray import predict_batch_ray

        with console.status("connecting to Ray...") as status:
            done = predict_batch_ray(model, sources, output, address=ray_address, registry=registry,
                                     batch_rows=chunk_rows, overwrite=overwrite,
                                     on_progress=lambda parts, rows: status.update(f"part {parts}: {rows:,} rows"))
        console.print(f"{done.rows:,} predictions of {done.model} written to {output} in {done.parts} parts on "
                      f"{done.nodes} node(s), {done.rows_per_second:,.0f} rows/s")
        return
    if len(sources) != 1:
        raise HomlError(f"{len(sources)} sources given: predict-batch reads one file, or several with --ray ADDRESS")
    source, chunk_rows = sources[0], chunk_rows or 100_000
    with console.status("predicting...") as status:
        done = homl.predict_batch(model, source, output, chunk_rows=chunk_rows, registry=registry,
                                  on_chunk=lambda chunk, rows: status.update(f"chunk {chunk}: {rows:,} rows"))
    resumed = f" ({done.resumed_chunks} chunks from an earlier run)" if done.resumed_chunks else ""
    console.print(f"{done.rows:,} predictions of {done.model} written to {output} in {done.chunks} chunks{resumed}")


@app.command()
def export(
    model: Annotated[str, typer.Argument(help="A model directory, or a registered model: NAME, NAME@VERSION or NAME@ALIAS.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="ONNX file to write, its schema beside it as NAME.schema.json; with --format mlflow, the MLflow model directory.")],
    format_: Annotated[str, typer.Option("--format", help="Format to write: onnx, or mlflow (a pyfunc model for MLflow's tools, e.g. `mlflow models serve`).")] = "onnx",
    data: Annotated[str | None, typer.Option("--data", help="Rows to check the ONNX export on (default: the test rows saved with the model).")] = None,
    registry: Annotated[str | None, typer.Option("--registry", envvar="HOML_REGISTRY", help="Registry database URL.")] = None,
    overwrite: Overwrite = False,
) -> None:
    """Write MODEL as ONNX, checked against the Python model, with a JSON schema of its inputs and outputs;
    or as an MLflow model that predicts as `homl predict` does."""
    import homl
    from homl.tasks.batch import model_folder

    if format_.lower() not in ("onnx", "mlflow"):
        raise HomlError(f"--format {format_!r}: the formats written are onnx and mlflow")
    if format_.lower() == "mlflow" and data is not None:
        raise HomlError("--data is for --format onnx; an MLflow model's signature comes from the rows saved with the model")
    folder, label = model_folder(model, registry)
    if format_.lower() == "mlflow":
        from homl.tasks import export_mlflow

        with console.status("writing the MLflow model..."):
            path = export_mlflow(folder, output, overwrite=overwrite)
        out.print(f"{label} written to {path} as an MLflow model; serve it with `mlflow models serve -m {path} "
                  "--env-manager local`", markup=False, highlight=False)
        return
    with console.status("converting and checking..."):
        name = folder.name if Path(model).exists() else model.partition("@")[0]
        path, schema_path, form = homl.export_onnx(homl.load(folder), output, rows=data, name=name,
                                                   overwrite=overwrite)
    out.print(f"{label} written to {path} ({path.stat().st_size:,} bytes) and its schema to {schema_path}; on "
              f"{form.rows} check rows its outputs differ from the model's by at most {form.max_error:.1e}",
              markup=False, highlight=False)


@app.command()
def info(
    model: Annotated[Path, typer.Argument(help="Model directory written by `homl fit` or `homl segment`.")],
) -> None:
    """Show a model's kind, task, scores, schema, leaderboard and library versions."""
    import homl
    from homl.tasks.export import served_form

    loaded = homl.load(model)
    shown = loaded.info()
    out.print(str(model), style="bold", markup=False, highlight=False)
    out.print(f"kind: {shown.kind}", markup=False)
    for line in shown.summary:
        out.print(line, markup=False)
    out.print(f"served by: {served_form(loaded)[1]}", markup=False, highlight=False)
    if shown.schema is not None:
        out.print(schema_table(shown.schema))
    if shown.leaderboard is not None and {"model", "stage", "cv_mean"} <= set(shown.leaderboard.columns):
        out.print(leaderboard_table(shown.leaderboard, shown.metric, limit=10, width=out.width))
    elif shown.leaderboard is not None:
        out.print(frame_table(shown.leaderboard, f"Tries (compared by {shown.metric})", limit=40))
    out.print(f"versions: {', '.join(f'{k} {v}' for k, v in shown.versions.items())}", markup=False)


@app.command()
def explore(
    source: Annotated[str | None, typer.Argument(help="Table to explore: CSV/TSV, Parquet, JSON lines, Excel, or a SQLAlchemy URL.")] = None,
    target: Annotated[str | None, typer.Option("--target", "-t", help="Column to be predicted later (adds its distribution and correlations).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="HTML file to write (default: <table name>-explore.html here).")] = None,
    example: Annotated[str | None, typer.Option(help="Explore a bundled example table instead: housing or titanic.")] = None,
    query: Query = None,
    verbose: Verbose = False,
) -> None:
    """Profile a table before modelling and write a self-contained HTML report (figures beside it)."""
    import homl
    from homl.data import example_path, example_target

    setup_logging(verbose)
    if example is not None:
        source, target = str(example_path(example)), target or example_target(example)
    if source is None:
        raise HomlError("give a table to explore (or --example housing)")
    output = output or Path(f"{_stem(example or source)}-explore.html")
    report = homl.explore(source, target, output=output, query=query)
    out.print(f"exploration written to {output} ({len(report.figures)} figures, also in {output.parent / 'figures'})",
              markup=False, highlight=False)
    if report.problems:
        out.print(f"{len(report.problems)} statistic(s) could not be computed: listed at the end of the report")
    if verbose:
        for line in report.problems:
            console.print(f"  {line}", highlight=False)


@app.command()
def report(
    model: Annotated[Path, typer.Argument(help="Model directory written by `homl fit`.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="HTML file to write (default: MODEL/report.html).")] = None,
    open_: Annotated[bool, typer.Option("--open/--no-open", help="Open the report in the web browser.")] = True,
) -> None:
    """Rebuild the model report of MODEL from its directory alone, and open it."""
    import webbrowser

    import homl
    from homl.report.model import REPORT_FILE

    path = homl.load(model).report().write(output if output is not None else model / REPORT_FILE)
    out.print(f"report written to {path} (figures in {path.parent / 'figures'})")
    if open_:
        try:
            webbrowser.open(path.resolve().as_uri())
        except Exception:  # no browser (a headless machine): the file is there all the same
            pass


@app.command()
def serve(
    names: Annotated[list[str] | None, typer.Argument(help="Registered models to serve (default: all of them).")] = None,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    host: Annotated[str, typer.Option(help="Address to bind; anything but loopback needs API keys or --insecure.")] = "127.0.0.1",
    api_key_hash: Annotated[list[str] | None, typer.Option("--api-key-hash", help="SHA-256 of an accepted API key (repeatable; or HOML_API_KEY_HASHES).")] = None,
    insecure: Annotated[bool, typer.Option(help="Serve off loopback without API keys.")] = False,
    poll: Annotated[float, typer.Option(min=0, max=86_400, help="Seconds between checks of the registry for newly promoted versions (0: never).")] = 5.0,
    registry: Annotated[str | None, typer.Option("--registry", envvar="HOML_REGISTRY", help="Registry database URL.")] = None,
    onnx: Annotated[bool, typer.Option("--onnx/--no-onnx", help="Predict in ONNX Runtime where a model's checked ONNX form exists.")] = True,
    log_inputs: Annotated[float, typer.Option("--log-inputs", min=0, max=1, help="Share of requests whose rows and predictions are logged to the registry, for `homl feedback` and `homl monitor` (e.g. 0.1).")] = 0.0,
) -> None:
    """Serve the promoted version of registered models over REST until stopped (Ctrl-C)."""
    from homl.serve import serve as run_server

    def announce() -> None:
        out.print(f"serving {', '.join(names) if names else 'every registered model'} on http://{host}:{port} "
                  f"(docs at /docs, metrics at /metrics)", markup=False)

    run_server(names or None, registry=registry, host=host, port=port, api_key_hashes=api_key_hash,
               insecure=insecure, poll_seconds=poll, onnx=onnx, log_inputs=log_inputs, on_start=announce)


def _settings(pairs: list[str]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs as a dict, values read as numbers or yes/no where they are."""
    settings: dict[str, Any] = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        if not equals or not name.strip():
            raise HomlError(f"--prep takes NAME=VALUE, e.g. cluster_features=8; got {pair!r}")
        value: Any = text.strip()
        if value.lower() in ("true", "yes", "false", "no"):
            value = value.lower() in ("true", "yes")
        else:
            for kind in (int, float):
                try:
                    value = kind(value)
                    break
                except ValueError:
                    continue
        settings[name.strip()] = value
    return settings


def _stem(source: Any) -> str:
    name = Path(str(source).split("?")[0]).name or "model"
    for suffix in (".gz", ".bz2", ".zip", ".xz"):
        name = name.removesuffix(suffix)
    return Path(name).stem or "model"


for _command in (feedback, monitor, retrain):
    app.command()(_command)  # operating a model in use: see _operate


def main() -> None:
    """Entry point: bad input ends in one clear line and exit code 2, never a traceback."""
    from rich.markup import escape

    try:
        code = app(standalone_mode=False)  # a command's typer.Exit(code) comes back as its return value
    except HomlError as error:
        console.print(f"[bold red]error:[/bold red] {escape(as_flags(str(error)))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except OSError as error:  # the file system refused: a folder where a file goes, no permission, a full disk
        where = f"{error.filename}: " if error.filename else ""
        console.print(f"[bold red]error:[/bold red] {escape(where + (error.strerror or str(error)))}",
                      highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("interrupted; run the same command with --resume to continue the search")
        sys.exit(130)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except Exception as error:  # the command line's usage errors, and anything unexpected
        # Usage errors come from the click bundled with typer: recognise them by behaviour.
        if callable(getattr(error, "show", None)) and isinstance(getattr(error, "exit_code", None), int):
            error.show()
            sys.exit(2)
        if type(error).__name__ == "Abort":
            sys.exit(1)
        message = f"{type(error).__name__}: {error}"
        console.print(f"[bold red]internal error:[/bold red] {escape(message)}", highlight=False, soft_wrap=True)
        if os.environ.get("HOML_DEBUG"):
            raise
        console.print("set HOML_DEBUG=1 to see the traceback, and please report it")
        sys.exit(1)
    if isinstance(code, int) and code:
        sys.exit(code)
