"""CSV and Parquet uploads to ``/v1/models/{name}/predict``: the same checks and predictions as JSON
``instances``, a CSV answer for ``Accept: text/csv``, and 4xx (never 5xx) for what cannot be read."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

pytest.importorskip("fastapi", reason="the server needs the serve extra: pip install 'homl[serve]'")

from fastapi.testclient import TestClient  # noqa: E402

import homl  # noqa: E402
from homl.data import example_path, example_target  # noqa: E402
from homl.registry import Registry  # noqa: E402
from homl.serve import ModelPool, create_app  # noqa: E402

CSV = {"content-type": "text/csv"}
PARQUET = {"content-type": "application/vnd.apache.parquet"}


def _fit(name: str, folder) -> pd.DataFrame:
    """A small LightGBM model on 400 rows of a bundled example, saved in ``folder``; rows to predict."""
    frame = homl.data.read_table(example_path(name)).sample(400, random_state=0)
    result = homl.fit(frame, example_target(name), time_limit=15, models=["lightgbm"], tune=False, ensemble=False,
                      bagging=False, report=False, cv=3, seed=0)
    result.save(folder)
    return frame.drop(columns=[example_target(name)])


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> tuple[Registry, dict[str, pd.DataFrame]]:
    folder = tmp_path_factory.mktemp("uploads")
    registry = Registry(f"sqlite:///{folder / 'registry.db'}")
    rows = {}
    for name in ("housing", "titanic"):  # a regression and a classifier
        rows[name] = _fit(name, folder / name)
        registry.add(folder / name, name)
    return registry, rows


@pytest.fixture
def client(served) -> TestClient:
    return TestClient(create_app(ModelPool(served[0]), poll_seconds=None))


def _json(client: TestClient, name: str, frame: pd.DataFrame) -> dict:
    answer = client.post(f"/v1/models/{name}/predict", json={"instances": json.loads(frame.to_json(orient="records"))})
    assert answer.status_code == 200, answer.text
    return _answer(answer)


def _answer(response) -> dict:
    """The JSON answer less its request id (new for every request), once that is checked."""
    body = response.json()
    request_id = body.pop("request_id")
    assert len(request_id) == 32 and response.headers["X-Request-ID"] == request_id
    return body


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


@pytest.mark.parametrize("name", ["housing", "titanic"])
def test_a_csv_upload_predicts_as_the_same_rows_in_json(client, served, name):
    frame = served[1][name].head(6)
    expected = _json(client, name, frame)
    answer = client.post(f"/v1/models/{name}/predict", content=_csv(frame), headers=CSV)
    assert answer.status_code == 200, answer.text
    assert _answer(answer) == expected
    if name == "titanic":
        assert frame.isna().any().any()  # empty cells went through as unknown values
        assert len(answer.json()["probabilities"]) == 6
    alias = client.post(f"/v1/models/{name}/versions/1/predict", content=frame.to_csv().encode("latin-1"),
                        headers={"content-type": "application/csv; charset=latin-1"})  # an index column, left out
    assert alias.status_code == 200, alias.text
    assert alias.json()["predictions"] == expected["predictions"]


@pytest.mark.parametrize("name", ["housing", "titanic"])
def test_a_parquet_upload_predicts_as_the_same_rows_in_json(client, served, name):
    frame = served[1][name].head(6)  # a sampled index, which pandas writes as a column
    expected = _json(client, name, frame)
    for kind in ("application/vnd.apache.parquet", "application/x-parquet", "application/parquet"):
        answer = client.post(f"/v1/models/{name}/predict", content=frame.to_parquet(), headers={"content-type": kind})
        assert answer.status_code == 200, answer.text
        assert _answer(answer) == expected


def test_accept_text_csv_answers_a_csv_table_in_row_order(client, served):
    rows = served[1]
    titanic = rows["titanic"].head(5)
    expected = _json(client, "titanic", titanic)
    answer = client.post("/v1/models/titanic/predict", content=_csv(titanic), headers={**CSV, "accept": "text/csv"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["x-homl-model"] == "titanic" and answer.headers["x-homl-version"] == "1"
    table = pd.read_csv(io.StringIO(answer.text))
    labels = list(expected["probabilities"][0])
    assert list(table.columns) == ["prediction", *(f"proba_{label}" for label in labels)]
    assert table["prediction"].tolist() == expected["predictions"]
    for label in labels:
        assert table[f"proba_{label}"].tolist() == pytest.approx([p[label] for p in expected["probabilities"]],
                                                                 rel=1e-12)
    housing = rows["housing"].head(4)
    wanted = client.post("/v1/models/housing/predict", json={"instances": json.loads(housing.to_json(orient="records"))},
                         headers={"accept": "application/json;q=0.5, text/csv"})
    assert list(pd.read_csv(io.StringIO(wanted.text)).columns) == ["prediction"]
    assert pd.read_csv(io.StringIO(wanted.text))["prediction"].tolist() == pytest.approx(
        _json(client, "housing", housing)["predictions"], rel=1e-12)
    assert client.post("/v1/models/housing/predict", content=_csv(housing), headers={**CSV, "accept": "*/*"}
                       ).json()["predictions"]


def test_a_wrong_cell_gets_422_naming_its_row_and_field(client, served):
    frame = served[1]["housing"].head(3).astype({"median_income": object})
    frame.iloc[1, frame.columns.get_loc("median_income")] = "high"
    answer = client.post("/v1/models/housing/predict", content=_csv(frame), headers=CSV)
    assert answer.status_code == 422
    assert [(p["row"], p["field"]) for p in answer.json()["detail"]] == [(1, "median_income")]
    assert "number" in answer.json()["detail"][0]["message"]
    frame.iloc[1, frame.columns.get_loc("median_income")] = "inf"
    infinite = client.post("/v1/models/housing/predict", content=_csv(frame), headers=CSV).json()["detail"]
    assert [(p["row"], p["field"]) for p in infinite] == [(1, "median_income")] and "finite" in infinite[0]["message"]
    parquet = served[1]["housing"].head(3).assign(ocean_proximity=[1, 2, 3])  # typed, so checked as JSON is
    refused = client.post("/v1/models/housing/predict", content=parquet.to_parquet(), headers=PARQUET)
    assert refused.status_code == 422
    assert [(p["row"], p["field"]) for p in refused.json()["detail"]] == [(i, "ocean_proximity") for i in range(3)]
    odd = served[1]["housing"].head(2).drop(columns=["population"]).assign(colour="red")
    columns = client.post("/v1/models/housing/predict", content=_csv(odd), headers=CSV)
    assert columns.status_code == 422
    assert {(p["row"], p["field"]) for p in columns.json()["detail"]} == {(None, "colour"), (None, "population")}


@pytest.mark.parametrize(("body", "said"), [
    (b"\xff\xfe\x00\x81 not text", "not UTF-8 text"),
    (b"", "empty"),
    (b"a,b\n1,2\n3,4,5,6\n", "not a readable CSV table"),
    (b'longitude,"latitude\n1,2\n', "not a readable CSV table"),
    (b"a,a\n1,2\n", "more than once"),
])
def test_an_unreadable_csv_gets_422_saying_what_was_wrong(client, body, said):
    answer = client.post("/v1/models/housing/predict", content=body, headers=CSV)
    assert answer.status_code == 422, answer.text
    assert said in answer.json()["detail"][0]["message"]


def test_an_unreadable_parquet_body_gets_422(client, served):
    whole = served[1]["housing"].head(3).to_parquet()
    for body in (b"PAR1 garbage PAR1", b"not parquet at all", whole[: len(whole) // 2], whole[:-12] + b"\0" * 12, b""):
        answer = client.post("/v1/models/housing/predict", content=body, headers=PARQUET)
        assert answer.status_code == 422, (body[:20], answer.text)
        assert "Parquet" in answer.json()["detail"][0]["message"]


def test_uploads_over_the_size_limit_get_413(served):
    small = TestClient(create_app(ModelPool(served[0], ["housing"]), max_body_bytes=1000, poll_seconds=None))
    frame = served[1]["housing"].head(100)
    for body, headers in ((_csv(frame), CSV), (frame.to_parquet(), PARQUET)):
        answer = small.post("/v1/models/housing/predict", content=body, headers=headers)
        assert answer.status_code == 413 and "1,000" in answer.json()["detail"]
    streamed = small.post("/v1/models/housing/predict", content=iter([_csv(frame)]), headers=CSV)  # no length
    assert streamed.status_code == 413


def test_another_content_type_gets_415_listing_the_accepted_ones(client, served):
    answer = client.post("/v1/models/housing/predict", content=_csv(served[1]["housing"].head(2)),
                         headers={"content-type": "application/vnd.ms-excel"})
    assert answer.status_code == 415
    for kind in ("application/json", "text/csv", "application/vnd.apache.parquet"):
        assert kind in answer.json()["detail"]


def test_uploads_are_documented_and_counted_like_json(client, served):
    document = client.get("/openapi.json").json()
    for path in ("/v1/models/housing/predict", "/v1/models/housing/versions/{version}/predict"):
        content = document["paths"][path]["post"]["requestBody"]["content"]
        assert {"application/json", "text/csv", "application/vnd.apache.parquet"} <= set(content)
        assert content["text/csv"]["schema"] == {"type": "string", "format": "binary"}
    frame = served[1]["housing"].head(3)
    assert client.post("/v1/models/housing/predict", content=_csv(frame), headers=CSV).status_code == 200
    assert client.post("/v1/models/housing/predict", content=frame.to_parquet(), headers=PARQUET).status_code == 200
    assert client.post("/v1/models/housing/predict", content=b"x\n1\n", headers=CSV).status_code == 422
    metrics = client.get("/metrics").text
    assert 'homl_requests_total{model="housing",route="v1",status="200",version="1"} 2.0' in metrics
    assert 'homl_requests_total{model="housing",route="v1",status="422",version="1"} 1.0' in metrics
    assert 'homl_predicted_rows_total{model="housing",version="1"} 6.0' in metrics
