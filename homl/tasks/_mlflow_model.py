"""The MLflow python model behind :func:`homl.tasks.export_mlflow`, as MLflow's "model from code".

The export copies this file into the MLflow model; MLflow runs it when it loads the model, so
nothing is pickled and it imports mlflow at its top. Only the export and MLflow import it.
"""

from __future__ import annotations

from typing import Any

import mlflow.models
import mlflow.pyfunc
import pandas as pd

#: The name of the homl model directory among the MLflow model's artifacts.
ARTIFACT = "homl_model"


class HomlModel(mlflow.pyfunc.PythonModel):
    """A homl model directory of any kind, predicting as ``homl.load(directory).predict_frame``: the
    prediction column, with one ``proba_<class>`` column per class for a classifier."""

    def load_context(self, context: Any) -> None:
        from homl.tasks import load

        self.model = load(context.artifacts[ARTIFACT])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        if self.model.kind == "forecast" and not len(model_input):
            return self.model.predict_frame(None)  # no newer rows: forecast after the saved ones
        return self.model.predict_frame(pd.DataFrame(model_input))


mlflow.models.set_model(HomlModel())
