"""``homl serve --log-inputs``: every answer names its request, the drawn share of requests is
written to the registry's prediction log off the request path, and the count is in /metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi", reason="the server needs the serve extra: pip install 'homl[serve]'")

from fastapi.testclient import TestClient  # noqa: E402

import homl  # noqa: E402
from homl.errors import ConfigError  # noqa: E402
from homl.registry import Registry  # noqa: E402
from homl.serve import REQUEST_ID, ModelPool, PredictionLogger, create_app, serve  # noqa: E402


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Registry:
    folder = tmp_path_factory.mktemp("logging")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "colour": rng.choice(["red", "blue"], 300)})
    frame["y"] = np.where(frame["colour"] == "red", 1, 0) + frame["x"] > 0.5
    homl.fit(frame, "y", time_limit=10, models=["linear"], tune=False, ensemble=False, bagging=False,
             report=False, cv=3).save(folder / "model")
    opened = Registry(f"sqlite:///{folder / 'registry.db'}")
    opened.add(folder / "model", "yes")
    return opened


def _instances(n: int, start: int = 0) -> list[dict]:
    return [{"x": float(start + i) / 10, "colour": "red" if i % 2 else "blue"} for i in range(n)]


def test_every_logged_row_is_there_with_its_request_id_and_prediction(registry):
    logger = PredictionLogger(registry, 1.0)
    with TestClient(create_app(ModelPool(registry), poll_seconds=None, prediction_log=logger)) as client:
        answers = [client.post("/v1/models/yes/predict", json={"instances": _instances(3, 10 * k)}) for k in range(4)]
        tf = client.post("/v1/models/yes:predict", json={"instances": _instances(1)})
        metrics = client.get("/metrics").text
    ids = [a.json()["request_id"] for a in answers]
    assert all(a.status_code == 200 for a in answers) and len(set(ids)) == 4
    assert [a.headers[REQUEST_ID] for a in answers] == ids and tf.headers[REQUEST_ID] not in ids
    log = registry.prediction_log("yes")
    assert len(log) == 13
    first = log.info["request_id"] == ids[0]
    assert log.info["row"][first].tolist() == [0, 1, 2]
    assert log.inputs["x"][first].tolist() == [0.0, 0.1, 0.2]
    assert log.outputs["prediction"][first].tolist() == answers[0].json()["predictions"]
    assert log.outputs["proba_True"][first].tolist() == [p["True"] for p in answers[0].json()["probabilities"]]
    assert 'homl_logged_rows{outcome="written"}' in metrics


def test_only_the_drawn_share_of_requests_is_logged(registry):
    before = len(registry.prediction_log("yes"))
    logger = PredictionLogger(registry, 0.25, seed=3)
    with TestClient(create_app(ModelPool(registry), poll_seconds=None, prediction_log=logger)) as client:
        for k in range(200):
            assert client.post("/v1/models/yes/predict", json={"instances": _instances(2, k)}).status_code == 200
    logged_requests = (len(registry.prediction_log("yes")) - before) // 2
    assert 25 <= logged_requests <= 75  # 50 expected; a binomial(200, 0.25) falls here with near certainty


def test_a_share_outside_0_to_1_is_refused(registry):
    with pytest.raises(ConfigError, match="--log-inputs 1.5"):
        serve(["yes"], registry=registry.url, log_inputs=1.5)
    with pytest.raises(ValueError, match="more than 0"):
        PredictionLogger(registry, 0)
