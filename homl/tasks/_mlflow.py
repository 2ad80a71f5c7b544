"""MLflow interop: a training run logged to a tracking server, and a model exported as an MLflow model.

>>> result = homl.fit("housing.csv", "median_house_value", output="models/housing")  # doctest: +SKIP
>>> log_to_mlflow(result, "models/housing", tracking_uri="http://127.0.0.1:5000")     # doctest: +SKIP
>>> export_mlflow("models/housing", "mlflow-models/housing")                           # doctest: +SKIP

A run holds the settings (parameters), the scores (metrics), the leaderboard, the report and the
whole model directory (under ``model/``). An export is a pyfunc model whose ``predict(frame)`` is
the homl model's ``predict_frame(frame)``. MLflow is imported here only, when called.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

from homl._atomic import replace_dir
from homl._version import __version__
from homl.errors import ConfigError

#: The experiment runs go to when none is named (nor set in ``MLFLOW_EXPERIMENT_NAME``).
EXPERIMENT = "homl"
#: Where the model directory goes among a run's artifacts.
MODEL_ARTIFACTS = "model"
#: Seconds to wait for the tracking server to accept a connection before saying it cannot be reached
#: (MLflow itself retries for minutes).
CONNECT_SECONDS = 5.0
INSTALL = "pip install 'homl[mlflow]'"
#: Rows of the model's input example saved with an export (its signature is inferred from all of them).
EXAMPLE_ROWS = 5

#: Metadata that is not a setting: scores (logged as metrics), free text, timestamps and bulky tables.
NOT_PARAMS = frozenset({
    "test_score", "baseline_test_score", "test_scores", "baseline_test_scores", "backtest_scores", "test_coverage",
    "evaluation", "supervised", "silhouette", "explained", "reconstruction_error", "threshold", "flagged",
    "cv.mean", "cv.std", "notes", "choice", "profiles", "reason_statistics", "schema", "artifacts",
    "library_versions", "format_version", "kind", "trained", "created", "elapsed", "seconds", "decision",
    "categories", "widths", "weights",
})
#: Scores read from nested metadata: (key, metric name prefix).
_SCORE_TABLES = (("test_scores", "test"), ("baseline_test_scores", "baseline_test"), ("backtest_scores", "backtest"),
                 ("test_coverage", "test_coverage"), ("evaluation", "evaluation"), ("supervised", "supervised"))
_SINGLE_SCORES = ("silhouette", "explained", "reconstruction_error", "threshold", "flagged")


def log_to_mlflow(result: Any, model_dir: str | os.PathLike[str] | None, tracking_uri: str | None = None,
                  experiment: str | None = None, run_name: str | None = None, *,
                  report: str | os.PathLike[str] | None = None) -> str:
    """Log a training run to MLflow and return its run id.

    ``result`` is what a task returned (``homl.fit``, ``segment``, ``detect_anomalies``, ``reduce``,
    ``forecast``, ``recommend``) or a loaded model. The run, named ``run_name`` (default: the model
    directory's name) in ``experiment`` (default: ``MLFLOW_EXPERIMENT_NAME``, else "homl"), holds the
    settings as parameters, the scores as metrics, ``leaderboard.csv``, the report (``report``,
    default ``model_dir/report.html``) and ``model_dir`` under ``model/``; tags ``homl.kind`` and
    ``homl.version``. ``tracking_uri`` None means ``MLFLOW_TRACKING_URI`` (else MLflow's default).
    """
    mlflow = _import_mlflow()
    from mlflow.entities import Metric, Param
    from mlflow.exceptions import MlflowException

    uri = tracking_uri or mlflow.get_tracking_uri()
    kind, metadata = _described(result)
    folder = None if model_dir is None else Path(model_dir)
    if folder is not None and not folder.is_dir():
        raise ConfigError(f"model directory '{folder}' does not exist; nothing to log to MLflow")
    report_file = Path(report) if report is not None else folder / "report.html" if folder is not None else None
    _check_reachable(uri)
    params = [Param(name, value) for name, value in run_params(metadata).items()]
    stamp = int(time.time() * 1000)
    metrics = [Metric(name, value, stamp, 0) for name, value in run_metrics(metadata).items()]
    experiment = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or EXPERIMENT
    run_name = run_name or (folder.name if folder is not None else None)
    try:
        client = mlflow.MlflowClient(uri)
        run = client.create_run(_experiment_id(client, experiment, uri), run_name=run_name,
                                tags={"homl.kind": kind, "homl.version": __version__})
        run_id = run.info.run_id
        try:
            client.log_batch(run_id, metrics=metrics, params=params)
            board = _leaderboard(result)
            if board is not None:
                client.log_text(run_id, board.to_csv(index=False), "leaderboard.csv")
            if report_file is not None and report_file.is_file():
                client.log_artifact(run_id, str(report_file))
            if folder is not None:
                client.log_artifacts(run_id, str(folder), MODEL_ARTIFACTS)
        except BaseException:
            _end(client, run_id, "FAILED")
            raise
        client.set_terminated(run_id, "FINISHED")
    except (MlflowException, OSError) as error:  # OSError: the connection broke (requests' errors are OSErrors)
        reason = error.message if isinstance(error, MlflowException) else str(error)
        raise ConfigError(f"MLflow at {uri} could not log the run: {reason}") from None
    return run_id


def run_params(metadata: dict[str, Any]) -> dict[str, str]:
    """The settings in ``metadata`` as MLflow parameters: scalars only, nested keys joined by dots,
    names and values cut to MLflow's limits."""
    from mlflow.utils.validation import MAX_ENTITY_KEY_LENGTH, MAX_PARAM_VAL_LENGTH

    flat = {name: value for name, value in _flatten(metadata).items()
            if name not in NOT_PARAMS and name.split(".")[0] not in NOT_PARAMS}
    return {_name(name)[:MAX_ENTITY_KEY_LENGTH]: str(value)[:MAX_PARAM_VAL_LENGTH] for name, value in flat.items()}


def run_metrics(metadata: dict[str, Any]) -> dict[str, float]:
    """The scores in ``metadata`` as MLflow metrics: the test score (``test_<metric>``, ``_low``,
    ``_high``), the baseline's, the cross-validation mean and spread, and each kind's own."""
    from mlflow.utils.validation import MAX_ENTITY_KEY_LENGTH

    found: dict[str, Any] = {}
    for key, prefix in (("test_score", "test"), ("baseline_test_score", "baseline_test")):
        score = metadata.get(key)
        if isinstance(score, dict) and score.get("metric"):
            name = f"{prefix}_{score['metric']}"
            found.update({name: score.get("value"), f"{name}_low": score.get("low"), f"{name}_high": score.get("high")})
    cv, metric = metadata.get("cv"), metadata.get("metric")
    if isinstance(cv, dict) and metric:
        found.update({f"cv_{metric}_mean": cv.get("mean"), f"cv_{metric}_std": cv.get("std")})
    for key, prefix in _SCORE_TABLES:
        if isinstance(metadata.get(key), dict):
            found.update({f"{prefix}_{name}": value for name, value in _flatten(metadata[key]).items()})
    found.update({key: metadata.get(key) for key in _SINGLE_SCORES})
    return {_name(name)[:MAX_ENTITY_KEY_LENGTH]: float(value) for name, value in found.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)}


def export_mlflow(model_dir: str | os.PathLike[str], output: str | os.PathLike[str], *,
                  overwrite: bool = False) -> Path:
    """Write the homl model in ``model_dir`` as an MLflow pyfunc model directory at ``output``.

    Its ``predict(frame)`` returns ``predict_frame(frame)`` of the homl model, which it holds as an
    artifact; the signature comes from the model's input example and its predictions, and the pip
    requirements name this homl. Built beside ``output`` and renamed into place; an existing
    ``output`` is replaced only with ``overwrite`` (and only when it is an MLflow model).
    """
    mlflow = _import_mlflow()
    from mlflow.exceptions import MlflowException

    from homl.registry import is_model_dir

    from ._kinds import load
    from ._mlflow_model import ARTIFACT

    folder, output = Path(model_dir), Path(output)
    if not is_model_dir(folder):
        raise ConfigError(f"'{folder}' is not a homl model directory (no model.skops and metadata.json)")
    _check_output(output, overwrite)
    model = load(folder)
    example = model.input_example() if hasattr(model, "input_example") else None
    output.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{output.name}.tmp-", dir=output.parent))
    try:
        signature = None
        if example is not None and len(example):
            example, signature = _signature(model, example)
        mlflow.pyfunc.save_model(
            building / "model", python_model=str(Path(__file__).with_name("_mlflow_model.py")),
            artifacts={ARTIFACT: str(folder)}, signature=signature, pip_requirements=[f"homl=={__version__}"],
            input_example=None if signature is None else example.head(EXAMPLE_ROWS))
        replace_dir(building / "model", output)
    except MlflowException as error:
        raise ConfigError(f"cannot export '{folder}' as an MLflow model: {error.message}") from None
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return output


def _signature(model: Any, example: Any) -> tuple[Any, Any]:
    """The example rows typed as the training table was, and the signature inferred from them and their
    predictions; a column that had missing values in training is optional.

    MLflow refuses floats in a column declared as integers (and integers in one of doubles): a column
    of whole numbers in training stays integers, unless it had missing values, which make it floats.
    """
    import warnings

    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types import ColSpec, Schema

    missing = {column.name for column in model.schema.columns if column.n_missing}
    whole = [column.name for column in model.schema.columns if column.name in example
             and column.dtype.lower().startswith(("int", "uint")) and column.name not in missing
             and example[column.name].notna().all() and (example[column.name] % 1 == 0).all()]
    example = example.astype(dict.fromkeys(whole, "int64"))
    with warnings.catch_warnings():  # MLflow's hint on integer columns: those above never miss a value
        warnings.simplefilter("ignore", UserWarning)
        inferred = infer_signature(example, model.predict_frame(example))
    inputs = Schema([ColSpec(c.type, c.name, required=c.required and c.name not in missing) for c in inferred.inputs])
    return example, ModelSignature(inputs, inferred.outputs)


def _import_mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise ConfigError(f"MLflow is not installed; install it with: {INSTALL}") from None
    return mlflow


def _described(result: Any) -> tuple[str, dict[str, Any]]:
    """The model kind and the metadata of a task's result or of a loaded model."""
    if hasattr(result, "tabular"):  # homl.fit's result: task and target are fields, not metadata
        return "supervised", {**result.metadata, "task": result.task, "target": result.target}
    model = getattr(result, "model", result)
    if not isinstance(getattr(model, "metadata", None), dict) or not getattr(model, "kind", None):
        raise ConfigError(f"cannot log a {type(result).__name__} to MLflow; expected a homl task's result "
                          "or a loaded homl model")
    return model.kind, dict(model.metadata)


def _leaderboard(result: Any) -> Any:
    """The table of models tried (a segmentation's candidates), or None for a kind without one."""
    import pandas as pd

    holder = getattr(result, "model", result)
    tables = getattr(holder, "tables", None) or {}
    found = (getattr(result, "leaderboard", None), getattr(result, "candidates", None), tables.get("leaderboard"),
             tables.get("candidates"))
    return next((table for table in found if isinstance(table, pd.DataFrame)), None)


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Scalars of nested dicts under dotted names; lists and None left out."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, (str, int, float, bool)):
            flat[name] = value
    return flat


def _name(text: str) -> str:
    """``text`` as a valid MLflow parameter or metric name (``precision@10`` → ``precision_10``)."""
    return re.sub(r"[^\w.\- /]", "_", text).strip("/") or "_"


def _check_reachable(uri: str) -> None:
    """Fail fast, naming ``uri``, when an HTTP tracking server does not accept connections."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https"):
        return
    if parts.scheme in getproxies() and not proxy_bypass(parts.hostname or ""):
        return  # reached through a proxy: only MLflow's own requests can tell
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        socket.create_connection((parts.hostname or "", port), timeout=CONNECT_SECONDS).close()
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise ConfigError(f"cannot reach the MLflow tracking server at {uri} ({reason}); start it "
                          "(mlflow server) or give another tracking URI") from None


def _experiment_id(client: Any, name: str, uri: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is None:
        return client.create_experiment(name)
    if found.lifecycle_stage == "deleted":
        raise ConfigError(f"MLflow experiment '{name}' at {uri} is deleted; restore it or name another experiment")
    return found.experiment_id


def _end(client: Any, run_id: str, status: str) -> None:
    try:
        client.set_terminated(run_id, status)
    except Exception:  # the server went away: the run stays open, the first error is the one to report
        pass


def _check_output(output: Path, overwrite: bool) -> None:
    """Refuse to replace anything but an MLflow model, and that only with ``overwrite``."""
    if not os.path.lexists(output) or (output.is_dir() and not any(output.iterdir())):
        return
    if not output.is_dir():
        raise ConfigError(f"output '{output}' is a file; expected a directory for the MLflow model")
    if not overwrite:
        raise ConfigError(f"output '{output}' exists; use overwrite=True to replace it")
    if not (output / "MLmodel").is_file():
        raise ConfigError(f"output '{output}' is a folder that holds no MLflow model (no MLmodel file); "
                          "refusing to replace it: choose a new or empty folder")
