"""Tasks: one module per job, wiring the layers below; and loading a saved model of any kind."""

from homl.tasks._kinds import KINDS, ModelInfo, ModelKind, kind_class, load
from homl.tasks._mlflow import export_mlflow, log_to_mlflow

__all__ = ["KINDS", "ModelInfo", "ModelKind", "kind_class", "load", "export_mlflow", "log_to_mlflow"]
