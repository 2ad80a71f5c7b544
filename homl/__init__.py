"""homl: machine-learning projects from raw data to a served model.

>>> import homl
>>> homl.explore("housing.csv", target="median_house_value")                      # doctest: +SKIP
>>> result = homl.fit("housing.csv", target="median_house_value", time_limit=60)  # doctest: +SKIP
>>> result.leaderboard                                                           # doctest: +SKIP
>>> homl.load("models/housing").predict(new_rows)                                # doctest: +SKIP
>>> homl.segment("customers.csv", output="models/segments").profiles              # doctest: +SKIP
>>> homl.detect_anomalies("transactions.csv", label="is_fraud").evaluation         # doctest: +SKIP
>>> homl.forecast("sales.csv", time="month", target="revenue", horizon=12).forecast  # doctest: +SKIP
>>> homl.reduce("faces.csv", n_components=0.95).embedding                        # doctest: +SKIP
>>> homl.recommend("ratings.csv", user="userId", item="movieId", rating="rating")  # doctest: +SKIP
>>> homl.export_onnx(homl.load("models/housing"), "housing.onnx")                 # doctest: +SKIP
>>> homl.monitor("models/housing", "last_week.csv").alerts                         # doctest: +SKIP
>>> homl.retrain("housing", "fresh.csv").promoted                                  # doctest: +SKIP

The public functions load on first use (PEP 562), so ``import homl`` stays fast and the
heavy libraries (scikit-learn, LightGBM, Optuna...) load only when work starts.
``homl.load`` reads a model directory of any kind (see :class:`ModelKind`). ``Progress`` (what
long work reports to) and ``write_text_atomic`` are there for the faces: the command line, the server.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from homl._version import __version__
from homl.errors import ConfigError, DataError, HomlError, ModelDirError, SchemaError, TargetError

if TYPE_CHECKING:
    from homl._atomic import write_text_atomic
    from homl._progress import Progress
    from homl.report.explore import explore
    from homl.tasks import ModelKind, load
    from homl.tasks.anomalies import AnomalyModel, AnomalyResult, detect_anomalies
    from homl.tasks.batch import BatchResult, predict_batch
    from homl.tasks.batch_ray import RayBatchResult, predict_batch_ray
    from homl.tasks.export import ExportError, export_onnx, onnx_form
    from homl.tasks.feedback import feed_back
    from homl.tasks.forecast import ForecastModel, ForecastResult, forecast
    from homl.tasks.monitor import MonitorResult, monitor
    from homl.tasks.recommend import RecommendModel, RecommendResult, recommend
    from homl.tasks.reduce import ReduceModel, ReduceResult, reduce
    from homl.tasks.retrain import RetrainResult, retrain
    from homl.tasks.segment import SegmentModel, SegmentResult, segment
    from homl.tasks.tabular import FitResult, TabularModel, fit

_LAZY = {
    "explore": "homl.report.explore",
    "fit": "homl.tasks.tabular",
    "detect_anomalies": "homl.tasks.anomalies",
    "AnomalyResult": "homl.tasks.anomalies",
    "AnomalyModel": "homl.tasks.anomalies",
    "segment": "homl.tasks.segment",
    "forecast": "homl.tasks.forecast",
    "ForecastModel": "homl.tasks.forecast",
    "ForecastResult": "homl.tasks.forecast",
    "reduce": "homl.tasks.reduce",
    "recommend": "homl.tasks.recommend",
    "RecommendModel": "homl.tasks.recommend",
    "RecommendResult": "homl.tasks.recommend",
    "ReduceResult": "homl.tasks.reduce",
    "ReduceModel": "homl.tasks.reduce",
    "SegmentResult": "homl.tasks.segment",
    "SegmentModel": "homl.tasks.segment",
    "load": "homl.tasks",
    "monitor": "homl.tasks.monitor",
    "MonitorResult": "homl.tasks.monitor",
    "feed_back": "homl.tasks.feedback",
    "retrain": "homl.tasks.retrain",
    "RetrainResult": "homl.tasks.retrain",
    "predict_batch": "homl.tasks.batch",
    "BatchResult": "homl.tasks.batch",
    "predict_batch_ray": "homl.tasks.batch_ray",
    "RayBatchResult": "homl.tasks.batch_ray",
    "export_onnx": "homl.tasks.export",
    "onnx_form": "homl.tasks.export",
    "ExportError": "homl.tasks.export",
    "FitResult": "homl.tasks.tabular",
    "ModelKind": "homl.tasks",
    "Progress": "homl._progress",
    "TabularModel": "homl.tasks.tabular",
    "write_text_atomic": "homl._atomic",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'homl' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "AnomalyModel",
    "AnomalyResult",
    "BatchResult",
    "ConfigError",
    "DataError",
    "ExportError",
    "FitResult",
    "ForecastModel",
    "ForecastResult",
    "HomlError",
    "ModelDirError",
    "ModelKind",
    "MonitorResult",
    "Progress",
    "RecommendModel",
    "RecommendResult",
    "ReduceModel",
    "RayBatchResult",
    "ReduceResult",
    "RetrainResult",
    "SchemaError",
    "SegmentModel",
    "SegmentResult",
    "TabularModel",
    "TargetError",
    "__version__",
    "detect_anomalies",
    "explore",
    "export_onnx",
    "feed_back",
    "fit",
    "forecast",
    "load",
    "monitor",
    "onnx_form",
    "predict_batch",
    "predict_batch_ray",
    "recommend",
    "reduce",
    "retrain",
    "segment",
    "write_text_atomic",
]
