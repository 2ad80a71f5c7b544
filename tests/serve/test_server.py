"""The REST server on the bundled housing and titanic models: the three dialects, metadata,
errors that name the row and field (never a 5xx), API keys, metrics, hot swap under load, and a
real uvicorn process on 127.0.0.1."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the server needs the serve extra: pip install 'homl[serve]'")

from fastapi.testclient import TestClient  # noqa: E402

import homl  # noqa: E402
from homl.data import example_path, example_target  # noqa: E402
from homl.errors import ConfigError  # noqa: E402
from homl.registry import Registry  # noqa: E402
from homl.serve import ModelPool, create_app, hash_key, serve  # noqa: E402


def _fit(name: str, folder, seed: int = 0):
    frame = homl.data.read_table(example_path(name))
    frame = frame.sample(min(len(frame), 1500), random_state=seed)
    result = homl.fit(frame, example_target(name), time_limit=15, models=["lightgbm"], tune=False, ensemble=False,
                      bagging=False, report=False, cv=3, seed=seed)
    result.save(folder)
    return frame.drop(columns=[example_target(name)])


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    registry = Registry(f"sqlite:///{folder / 'registry.db'}")
    rows = {}
    for name in ("housing", "titanic"):
        rows[name] = _fit(name, folder / name)
        registry.add(folder / name, name)
    _fit("housing", folder / "housing-2", seed=1)
    return registry, rows, folder


def _records(frame, n=3):
    return json.loads(frame.head(n).to_json(orient="records"))


def _columns(frame, n=3):
    return {name: [row[name] for row in _records(frame, n)] for name in frame.columns}


@pytest.fixture
def client(served):
    registry, _, _ = served
    return TestClient(create_app(ModelPool(registry), poll_seconds=None))


def test_predictions_in_the_three_dialects_agree_with_the_model(client, served):
    registry, rows, _ = served
    housing = homl.load(registry.path("housing"))
    expected = housing.predict(rows["housing"].head(3))
    mine = client.post("/v1/models/housing/predict", json={"instances": _records(rows["housing"])})
    assert mine.status_code == 200 and mine.json()["version"] == 1
    # housing predicts in ONNX Runtime, checked to within 1e-5 of the Python pipeline
    np.testing.assert_allclose(mine.json()["predictions"], expected, rtol=1e-5)
    tf = client.post("/v1/models/housing:predict", json={"instances": _records(rows["housing"])}).json()
    np.testing.assert_allclose(tf["predictions"], expected, rtol=1e-5)
    columns = _columns(rows["housing"])
    columnar = client.post("/v1/models/housing:predict", json={"inputs": columns}).json()
    np.testing.assert_allclose(columnar["predictions"], expected, rtol=1e-5)
    v2 = client.post("/v2/models/housing/infer", json={"inputs": [
        {"name": k, "shape": [3], "datatype": "BYTES", "data": v} for k, v in columns.items()]})
    assert v2.status_code == 200, v2.text
    np.testing.assert_allclose(v2.json()["outputs"][0]["data"], expected, rtol=1e-5)


def test_a_classifier_answers_with_probabilities(client, served):
    _, rows, _ = served
    answer = client.post("/v1/models/titanic/predict", json={"instances": _records(rows["titanic"], 5)}).json()
    assert len(answer["predictions"]) == 5 and len(answer["probabilities"]) == 5
    assert all(abs(sum(p.values()) - 1) < 1e-9 for p in answer["probabilities"])
    infer = client.post("/v2/models/titanic/infer", json={"inputs": [
        {"name": k, "shape": [5], "datatype": "BYTES", "data": v}
        for k, v in _columns(rows["titanic"], 5).items()]}).json()
    assert [o["name"] for o in infer["outputs"]][:1] == ["predictions"] and len(infer["outputs"]) == 3


def test_metadata_openapi_and_health(client):
    described = client.get("/v1/models/housing").json()
    assert described["version"] == 1 and described["kind"] == "supervised"
    ocean = next(f for f in described["features"] if f["name"] == "ocean_proximity")
    assert "INLAND" in ocean["categories"]
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    instance = schemas["HousingInstance"]
    assert "median_income" in instance["required"] and instance["additionalProperties"] is False
    assert "INLAND" in instance["properties"]["ocean_proximity"]["x-categories"]
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json()["models"] == {"housing": 1, "titanic": 1}
    assert client.get("/v2/models/titanic").json()["name"] == "titanic"


def test_bad_rows_are_refused_naming_the_row_and_the_field(client, served):
    _, rows, _ = served
    good = _records(rows["housing"], 1)[0]
    bad = {**good, "median_income": "high", "colour": "red"}
    del bad["population"]
    answer = client.post("/v1/models/housing/predict", json={"instances": [good, bad]})
    assert answer.status_code == 422
    problems = {(p["row"], p["field"]) for p in answer.json()["detail"]}
    assert problems == {(1, "median_income"), (1, "colour"), (1, "population")}
    nan = json.dumps({"instances": [good]}).replace(str(good["median_income"]), "NaN", 1)
    refused = client.post("/v1/models/housing/predict", content=nan, headers={"content-type": "application/json"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "median_income"
    assert client.post("/v1/models/nope/predict", json={"instances": [good]}).status_code == 404
    assert client.post("/v1/models/housing/predict", content=b"a,b\n1,2", headers={"content-type": "text/plain"}
                       ).status_code == 415
    assert client.post("/v1/models/housing:predict", content=b"a,b\n1,2", headers={"content-type": "text/csv"}
                       ).status_code == 415
    assert client.post("/v1/models/housing/predict", json={"instances": []}).status_code == 422
    wrong_version = client.post("/v1/models/housing/versions/latest/predict", json={"instances": [good]})
    assert wrong_version.status_code == 422 and wrong_version.json()["detail"][0]["field"] == "version"
    superscript = client.post("/v1/models/housing/versions/%C2%B2/predict", json={"instances": [good]})
    assert superscript.status_code == 422 and "'²'" in superscript.json()["detail"][0]["message"]  # a digit, not a number
    assert client.post("/v1/models/housing/versions/9/predict", json={"instances": [good]}).status_code == 404
    assert client.get("/v1/models/housing/predict").status_code == 405


def test_a_body_over_the_limit_is_refused(served):
    registry, _, _ = served
    small = TestClient(create_app(ModelPool(registry, ["housing"]), max_body_bytes=1000, poll_seconds=None))
    answer = small.post("/v1/models/housing/predict", content=b"{" + b" " * 5000 + b"}",
                        headers={"content-type": "application/json"})
    assert answer.status_code == 413 and "1,000" in answer.json()["detail"]


def test_a_thousand_malformed_requests_get_no_server_error(client, served):
    _, rows, _ = served
    good = _records(rows["housing"], 1)[0]
    generator = random.Random(0)
    oddities = [None, "", "x" * 10_000, "\u202e\U0001f600", 1e308, -1e308, 10**400, True, [], {}, [[[[1]]]],
                {"a": {"b": None}}, 0, -0.0, "NaN", "1e999"]

    def mutated() -> bytes:
        choice = generator.randrange(8)
        row = dict(good)
        if choice == 0:
            row[generator.choice(list(row))] = generator.choice(oddities)
        elif choice == 1:
            row.pop(generator.choice(list(row)))
        elif choice == 2:
            row[f"field{generator.randrange(100)}"] = generator.choice(oddities)
        elif choice == 3:
            return json.dumps({"instances": generator.choice(oddities)}).encode()
        elif choice == 4:
            return json.dumps(generator.choice(oddities)).encode()
        elif choice == 5:
            return b"[" * generator.randrange(1, 5000) + b"]" * generator.randrange(0, 5000)
        elif choice == 6:
            text = json.dumps({"instances": [row]})
            cut = generator.randrange(len(text))
            return (text[:cut] + generator.choice(["NaN", "Infinity", "\x00", "}", '"', "\\u12"]) + text[cut:]).encode()
        return json.dumps({"instances": [row] * generator.randrange(1, 3)}, allow_nan=True).encode()

    routes = ["/v1/models/housing/predict", "/v1/models/housing:predict", "/v2/models/housing/infer",
              "/v1/models/housing/versions/1/predict"]
    statuses = []
    for i in range(1200):
        answer = client.post(routes[i % 4], content=mutated(), headers={"content-type": "application/json"})
        statuses.append(answer.status_code)
        if answer.status_code == 422:
            assert answer.json()["detail"], answer.text
    assert max(statuses) < 500, sorted(set(statuses))
    assert statuses.count(200) < len(statuses)  # most were bad, and refused


def test_api_keys_are_needed_when_set(served):
    registry, rows, _ = served
    locked = TestClient(create_app(ModelPool(registry, ["housing"]), api_key_hashes={hash_key("s3cret")},
                                   poll_seconds=None))
    body = {"instances": _records(rows["housing"], 1)}
    assert locked.post("/v1/models/housing/predict", json=body).status_code == 401
    assert locked.post("/v1/models/housing/predict", json=body, headers={"X-API-Key": "wrong"}).status_code == 401
    assert locked.post("/v1/models/housing/predict", json=body, headers={"X-API-Key": "s3cret"}).status_code == 200
    assert locked.get("/health").status_code == 200  # the probes stay open
    with pytest.raises(ConfigError, match="reaches other machines"):
        serve(["housing"], registry=registry.url, host="0.0.0.0")
    with pytest.raises(ConfigError, match="has no models to serve"):
        serve(registry=f"sqlite:///{served[2] / 'empty.db'}")


def test_promoting_a_version_switches_traffic_without_dropping_requests(served):
    registry, rows, folder = served
    pool = ModelPool(registry, ["housing"])
    app = create_app(pool, poll_seconds=0.1)
    body = {"instances": _records(rows["housing"], 2)}
    seen, failures, stop = [], [], threading.Event()
    with TestClient(app) as client:
        def hammer() -> None:
            while not stop.is_set():
                answer = client.post("/v1/models/housing/predict", json=body)
                (seen if answer.status_code == 200 else failures).append(answer.json().get("version"))

        workers = [threading.Thread(target=hammer) for _ in range(4)]
        for worker in workers:
            worker.start()
        time.sleep(0.5)
        second = registry.add(folder / "housing-2", "housing")
        registry.promote("housing", second.version)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (not seen or seen[-1] != second.version):
            time.sleep(0.1)
        time.sleep(0.3)
        stop.set()
        for worker in workers:
            worker.join()
    assert failures == [] and seen[0] == 1 and seen[-1] == second.version
    registry.promote("housing", 1)  # rolled back for the other tests


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _server(registry, *names):
    """``homl serve`` in a child process on a free loopback port: its base URL, until the block ends."""
    import httpx

    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "homl", "serve", *names, "--port", str(port),
                                "--registry", registry.url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env={**os.environ, "COLUMNS": "200"})
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_homl_serve_runs_a_real_server_on_loopback(served):
    import httpx

    registry, rows, _ = served
    with _server(registry, "housing", "titanic") as base:
        answer = httpx.post(f"{base}/v1/models/titanic/predict", json={"instances": _records(rows["titanic"], 2)},
                            timeout=10)
        assert answer.status_code == 200 and len(answer.json()["predictions"]) == 2
        assert 'homl_requests_total{model="titanic"' in httpx.get(f"{base}/metrics").text


def test_the_page_at_the_root_predicts_from_its_form_in_a_browser(served, chromium):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    registry, rows, _ = served
    row = _records(rows["housing"], 1)[0]
    expected = homl.load(registry.path("housing")).predict(rows["housing"].head(1))[0]
    with _server(registry, "housing", "titanic") as base:
        chromium.get(f"{base}/")
        for name, value in row.items():
            field = chromium.find_element(By.ID, f"housing-{name}")
            if field.tag_name == "select":
                Select(field).select_by_visible_text(str(value))
            elif value is not None:
                field.send_keys(repr(value) if isinstance(value, float) else str(value))
        chromium.find_element(By.ID, "predict-housing").click()
        result = chromium.find_element(By.ID, "result-housing")
        WebDriverWait(chromium, 20).until(lambda _: "predictions" in result.text)
        answer = json.loads(result.text)
        assert result.get_attribute("data-status") == "200"
        assert answer["predictions"][0] == pytest.approx(expected, rel=1e-5)
        assert chromium.find_element(By.ID, "form-titanic")  # a form for every model served
        errors = [e["message"] for e in chromium.get_log("browser") if e.get("level") == "SEVERE"]
        assert errors == []


def test_a_prediction_slower_than_the_limit_gets_504(served, monkeypatch):
    import homl.serve._app as server

    registry, rows, _ = served
    real = server._predict

    def slow(model, instances):
        time.sleep(0.5)
        return real(model, instances)

    monkeypatch.setattr(server, "_predict", slow)
    # The Python pipeline predicts in a worker thread, under the time limit (ONNX predicts small requests inline).
    pool = ModelPool(registry, ["housing"], onnx=False)
    hurried = TestClient(create_app(pool, timeout_seconds=0.1, poll_seconds=None))
    answer = hurried.post("/v1/models/housing/predict", json={"instances": _records(rows["housing"], 1)})
    assert answer.status_code == 504 and "0.1 s" in answer.json()["detail"]
    assert 'status="504"' in hurried.get("/metrics").text


def test_schemathesis_finds_no_server_error_in_the_openapi_document(client, served):
    schemathesis = pytest.importorskip("schemathesis", reason="the OpenAPI fuzz needs schemathesis (dev extra)")
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from hypothesis.errors import Unsatisfiable
    from schemathesis.generation import GenerationMode

    # The table uploads' bodies: random bytes, and real tables that are right, cut short or of wrong columns.
    good = served[1]["housing"].head(3)
    tables = {"text/csv": lambda frame: frame.to_csv(index=False).encode(),
              "application/vnd.apache.parquet": lambda frame: frame.to_parquet()}
    for kind, write in tables.items():
        samples = [write(good), write(good)[:-9], write(good.assign(colour="red")), write(good.astype(str))]
        schemathesis.openapi.media_type(kind, st.one_of(st.binary(max_size=512), st.sampled_from(samples)))
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    statuses: list[int] = []
    for found in schema.get_all_operations():
        operation = found.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case) -> None:
                status = case.call().status_code  # the test client raises what the server would answer 500 to
                statuses.append(status)
                assert status < 500, (case.method, case.path, case.body)

            try:
                call()
            except Unsatisfiable:  # no invalid request exists for an operation without parameters
                pass
    assert len(statuses) > 300 and max(statuses) < 500


def test_models_with_an_onnx_form_predict_in_onnx_runtime_as_in_python(client, served):
    registry, rows, _ = served
    assert client.get("/v1/models/housing").json()["served_by"].startswith("ONNX Runtime (checked on")
    assert "free-text" in client.get("/v1/models/titanic").json()["served_by"]  # the Name column: Python
    python = TestClient(create_app(ModelPool(registry, onnx=False), poll_seconds=None))
    assert python.get("/v1/models/housing").json()["served_by"] == "Python pipeline (ONNX turned off)"
    for name in ("housing", "titanic"):
        body = {"instances": _records(rows[name], 200)}
        fast, slow = client.post(f"/v1/models/{name}/predict", json=body).json(), python.post(
            f"/v1/models/{name}/predict", json=body).json()
        if name == "housing":
            np.testing.assert_allclose(fast["predictions"], slow["predictions"], rtol=1e-5)
        else:
            assert fast.pop("request_id") != slow.pop("request_id") and fast == slow
    unseen = client.post("/v1/models/housing/predict", json={"instances": [
        {**_records(rows["housing"], 1)[0], "ocean_proximity": "ON THE MOON"}]}).json()
    assert "never seen in training" in unseen["warnings"][0]


def test_rows_the_model_cannot_take_get_422(served, monkeypatch):
    from homl.tasks._model import TabularModel

    registry, rows, _ = served
    client = TestClient(create_app(ModelPool(registry, onnx=False), poll_seconds=None))

    def overflow(self, data, **kwargs):
        raise ValueError("Input contains infinity or a value too large for dtype('float32')")

    monkeypatch.setattr(TabularModel, "predict_frame", overflow)
    answer = client.post("/v1/models/housing/predict", json={"instances": _records(rows["housing"], 1)})
    assert answer.status_code == 422 and "too large" in answer.json()["detail"][0]["message"]
