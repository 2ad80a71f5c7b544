"""The REST server: predictions from registered models over HTTP, in three dialects.

- homl's own: ``POST /v1/models/{name}/predict`` (and ``/versions/{v}/predict``) with
  ``{"instances": [{column: value, ...}, ...]}``, or a CSV or Parquet table of the same rows,
  answering ``{"predictions", "probabilities" (classifiers), "outputs" (other columns of the
  model's kind), "warnings", "model", "version", "request_id"}``, or that as a CSV table for
  ``Accept: text/csv``;
- TensorFlow Serving's REST form (the book's chapter 19): ``POST /v1/models/{name}:predict`` with
  ``instances`` (rows) or ``inputs`` (columns), answering ``{"predictions": [...]}``;
- the Open Inference Protocol (KServe v2): ``POST /v2/models/{name}/infer``.

``GET /v1/models`` and ``/v1/models/{name}`` describe the models, ``/health`` and ``/ready`` say
whether the server is up and its models loaded, ``/metrics`` gives Prometheus counts and
latencies by model and version, and ``/`` is a page with a form per model to try a prediction. The OpenAPI document types every feature of every model.

Bad input never ends in a server error: a malformed body or a row that breaks the schema gets
422 naming the row and field, a body over the size limit 413, another content type 415, an
unknown model 404, and a prediction slower than the time limit 504. With API keys (their SHA-256
hashes), every model route needs the header ``X-API-Key`` (or ``Authorization: Bearer``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from collections.abc import Collection
from contextlib import asynccontextmanager
from typing import Any

import pandas as pd
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from homl.errors import HomlError

from ._logging import PredictionLogger
from ._pool import ModelPool, ServedModel
from ._schema import BadRows, check_columns, parse_instances
from ._uploads import JSON_TYPES, TABLE_TYPES, content_type, csv_answer, table_rows, wants_csv

logger = logging.getLogger("homl")

#: The largest request body accepted, in bytes.
MAX_BODY_BYTES = 10 * 2**20
#: The longest a prediction may take, in seconds.
TIMEOUT_SECONDS = 30.0
#: The response header (and ``request_id`` in homl's JSON answer, ``id`` in the Open Inference
#: Protocol's) naming each prediction request: feedback on its rows refers to it.
REQUEST_ID = "X-Request-ID"
#: Requests of at most this many rows to a model served by ONNX Runtime are predicted on the event
#: loop itself (well under a millisecond): handing them to a worker thread would cost more.
INLINE_ROWS = 100


def create_app(pool: ModelPool, *, api_key_hashes: set[str] | None = None, max_body_bytes: int = MAX_BODY_BYTES,
               timeout_seconds: float = TIMEOUT_SECONDS, poll_seconds: float | None = 5.0,
               prediction_log: PredictionLogger | None = None) -> FastAPI:
    """The FastAPI application serving ``pool``'s models; ``poll_seconds``: how often it asks the
    registry for newly promoted versions (None: never; call ``pool.refresh()`` yourself).
    With ``prediction_log``, a sample of requests' rows and predictions goes to the registry."""
    from prometheus_client import CollectorRegistry, Counter, Histogram

    metrics = CollectorRegistry()
    requests = Counter("homl_requests", "Prediction requests", ["model", "version", "route", "status"],
                       registry=metrics)
    latency = Histogram("homl_request_seconds", "Prediction latency", ["model", "version", "route"],
                        registry=metrics, buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10))
    rows = Counter("homl_predicted_rows", "Rows predicted", ["model", "version"], registry=metrics)
    if prediction_log is not None:
        from prometheus_client import Gauge

        logged = Gauge("homl_logged_rows", "Rows written to the prediction log (this process)", ["outcome"],
                       registry=metrics)
        logged.labels("written").set_function(lambda: prediction_log.logged)
        logged.labels("dropped").set_function(lambda: prediction_log.dropped)
        logged.labels("failed").set_function(lambda: prediction_log.failed)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        stop = threading.Event()
        if poll_seconds:
            def poll() -> None:
                while not stop.wait(poll_seconds):
                    try:
                        pool.refresh()
                    except Exception as error:  # a registry hiccup must not stop serving
                        logger.warning("registry refresh failed: %s", error)

            threading.Thread(target=poll, name="homl-registry-poll", daemon=True).start()
        if prediction_log is not None:
            prediction_log.start()
        yield
        stop.set()
        if prediction_log is not None:
            prediction_log.stop()

    app = FastAPI(title="homl model server", version="1", lifespan=lifespan)
    keys = {h.lower() for h in api_key_hashes} if api_key_hashes else None

    def authorised(request: Request) -> None:
        if keys is None:
            return
        given = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
        digest = hashlib.sha256(given.encode()).hexdigest()
        if not given or not any(hmac.compare_digest(digest, key) for key in keys):
            raise HTTPException(401, "a valid API key is needed: send it in the X-API-Key header")

    def served(name: str, version: int | None = None) -> ServedModel:
        try:
            found = pool.get(name, version)
        except HomlError as error:
            raise HTTPException(404, str(error)) from None
        if found is None:
            raise HTTPException(404, f"no model named {name!r} is served here (served: {', '.join(pool.names)})")
        return found

    async def body_of(request: Request, kind: str, accepted: Collection[str] = JSON_TYPES) -> bytes:
        """The body, of media type ``kind`` (see ``content_type``), refused unless ``accepted`` or too large."""
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdecimal() and int(declared) > max_body_bytes:
            raise HTTPException(413, f"the body has {int(declared):,} bytes; at most {max_body_bytes:,} are accepted")
        if kind not in accepted and kind != "":
            listed = list(accepted)
            names = f"{', '.join(listed[:-1])} or {listed[-1]}" if len(listed) > 1 else listed[0]
            raise HTTPException(415, f"content type {kind!r}: send {names}")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body_bytes:
                raise HTTPException(413, f"the body is over {max_body_bytes:,} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def answer(model: ServedModel, route: str, instances: list[dict[str, Any]]) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            if len(instances) <= INLINE_ROWS and hasattr(model.model, "predict_rows"):
                result = _predict(model, instances)
            else:
                result = await asyncio.wait_for(run_in_threadpool(_predict, model, instances), timeout_seconds)
        except asyncio.TimeoutError:
            requests.labels(model.name, model.version, route, "504").inc()
            raise HTTPException(504, f"the prediction took over {timeout_seconds:g} s") from None
        except (HomlError, ValueError) as error:  # rows the schema lets through but the model cannot take
            requests.labels(model.name, model.version, route, "422").inc()
            raise HTTPException(422, [{"row": None, "field": None, "message": f"the model cannot predict these "
                                                                             f"rows: {error}"}]) from None
        timed, counted, predicted = answered(model, route)
        timed.observe(time.perf_counter() - started)
        counted.inc()
        predicted.inc(len(instances))
        result["request_id"] = request_id = uuid.uuid4().hex
        if prediction_log is not None:
            prediction_log.offer(model.name, model.version, request_id, instances, result)
        return result

    children: dict[tuple[str, int, str], tuple[Any, Any, Any]] = {}

    def answered(model: ServedModel, route: str) -> tuple[Any, Any, Any]:
        """The latency, 200-count and row-count metrics of a model version and route, looked up once."""
        key = (model.name, model.version, route)
        found = children.get(key)
        if found is None:
            found = children[key] = (latency.labels(*key), requests.labels(*key, "200"),
                                     rows.labels(model.name, model.version))
        return found

    def rows_of(model: ServedModel, route: str, parse: Any) -> list[dict[str, Any]]:
        try:
            return parse()
        except BadRows as error:
            requests.labels(model.name, model.version, route, "422").inc()
            raise HTTPException(422, error.problems) from None

    async def json_request(request: Request, name: str, route: str) -> tuple[ServedModel, bytes, dict[str, Any]]:
        """A JSON route's model, its body and the body's object, once the key, the model and the body are checked."""
        authorised(request)
        model = served(name)
        body = await body_of(request, content_type(request)[0])
        return model, body, rows_of(model, route, lambda: _json_object(body))

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
        return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)

    @app.get("/", tags=["server"], response_class=HTMLResponse)
    def try_page() -> str:
        """A page with a form for each model, to try a prediction in a browser."""
        from ._page import page

        return page(pool.served())

    @app.get("/health", tags=["server"])
    def health() -> dict[str, str]:
        """The server is up."""
        return {"status": "ok"}

    @app.get("/ready", tags=["server"])
    def ready() -> dict[str, Any]:
        """Every model is loaded: the names and versions served."""
        return {"status": "ready", "models": {m.name: m.version for m in pool.served()}}

    @app.get("/metrics", tags=["server"])
    def prometheus() -> Response:
        """Prometheus' text format: requests by model, version, route and status; latencies; rows."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(metrics), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models", tags=["models"])
    def models(request: Request) -> dict[str, Any]:
        """The models served, each with its version."""
        authorised(request)
        return {"models": [describe(m) for m in pool.served()]}

    @app.get("/v1/models/{name}", tags=["models"])
    def model_metadata(name: str, request: Request) -> dict[str, Any]:
        """One model: its version, kind, aliases, metrics and features."""
        authorised(request)
        return describe(served(name))

    first_typed = len(app.router.routes)
    for item in pool.served():
        if "{" in item.name or "}" in item.name:  # a path parameter to the router, from a registry of older rules
            logger.warning("%s has no route /v1/models/%s/predict: braces in its name would be read as a path "
                           "parameter; it is served at /v1/models/%s:predict and /v2/models/%s/infer (register it "
                           "again under a name of letters, digits, '-', '_' and '.')", item.name, item.name,
                           item.name, item.name)
            continue
        _add_typed_routes(app, item, served, authorised, body_of, answer, rows_of)
    typed = app.router.routes[first_typed:]

    @app.post("/v1/models/{name}/predict", tags=["models"], include_in_schema=False)
    async def predict_unknown(name: str, request: Request) -> dict[str, Any]:
        authorised(request)
        served(name)  # raises 404, naming the models served
        raise HTTPException(404, f"model {name!r} has no route /v1/models/<name>/predict (braces in its name): "
                                 f"send its rows to /v1/models/{name}:predict")

    @app.post("/v1/models/{name}:predict", tags=["TensorFlow Serving"])
    async def tf_serving(name: str, request: Request) -> dict[str, Any]:
        """TensorFlow Serving's REST predict: ``instances`` (rows) or ``inputs`` (columns)."""
        model, body, loaded = await json_request(request, name, "tf")
        if "inputs" in loaded and "instances" not in loaded:
            columns = loaded["inputs"]
            if not isinstance(columns, dict):
                raise HTTPException(422, [{"row": None, "field": "inputs", "message": "expected {column: [values]}"}])
            instances = rows_of(model, "tf", lambda: check_columns(model.request, columns))
        else:
            instances = rows_of(model, "tf", lambda: parse_instances(model.request, body))
        result = await answer(model, "tf", instances)
        return JSONResponse({"predictions": result["predictions"]}, headers={REQUEST_ID: result["request_id"]})

    @app.post("/v2/models/{name}/infer", tags=["Open Inference Protocol"])
    async def open_inference(name: str, request: Request) -> dict[str, Any]:
        """The Open Inference Protocol (KServe v2): one named input a column."""
        model, _, loaded = await json_request(request, name, "v2")
        inputs = loaded.get("inputs")
        if not isinstance(inputs, list) or not all(isinstance(i, dict) and "name" in i and isinstance(i.get("data"), list)
                                                   for i in inputs):
            raise HTTPException(422, [{"row": None, "field": "inputs",
                                       "message": "expected a list of {name, shape, datatype, data}"}])
        try:
            columns = {str(i["name"]): _flat(i["data"]) for i in inputs}
        except RecursionError:
            raise HTTPException(422, [{"row": None, "field": "inputs", "message": "data nested too deep"}]) from None
        instances = rows_of(model, "v2", lambda: check_columns(model.request, columns))
        result = await answer(model, "v2", instances)
        outputs = [{"name": "predictions", "shape": [len(result["predictions"])],
                    "datatype": _datatype(result["predictions"]), "data": result["predictions"]}]
        for label in (result.get("probabilities") or [{}])[0]:
            values = [row[label] for row in result["probabilities"]]
            outputs.append({"name": f"proba_{label}", "shape": [len(values)], "datatype": "FP64", "data": values})
        return {"model_name": model.name, "model_version": str(model.version), "id": result["request_id"],
                "outputs": outputs}

    @app.get("/v2/models/{name}", tags=["Open Inference Protocol"])
    def open_inference_metadata(name: str, request: Request) -> dict[str, Any]:
        """The Open Inference Protocol's model metadata: its inputs and outputs."""
        authorised(request)
        model = served(name)
        features = [c for c in model.model.schema.features if c.name != model.model.schema.target]
        return {"name": model.name, "versions": [str(model.version)], "platform": "homl",
                "inputs": [{"name": c.name, "datatype": "FP64" if c.kind == "numeric" else "BYTES", "shape": [-1]}
                           for c in features],
                "outputs": [{"name": "predictions", "datatype": "BYTES", "shape": [-1]}]}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            document = get_openapi(title=app.title, version=app.version, routes=app.routes)
            components = document.setdefault("components", {}).setdefault("schemas", {})
            for item in pool.served():
                schema = item.request.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(schema.pop("$defs", {}))
                components[item.request.__name__] = schema
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi
    # Routes are tried in order: the models' own prediction routes, the busiest, come first.
    app.router.routes[:] = typed + [route for route in app.router.routes if route not in typed]
    return app


def describe(model: ServedModel) -> dict[str, Any]:
    """What ``GET /v1/models/{name}`` says of a served version."""
    schema = model.model.schema
    return {
        "name": model.name, "version": model.version, "kind": model.record.kind, "aliases": list(model.record.aliases),
        "created_at": model.record.created_at.isoformat(), "metrics": model.record.metrics, "target": schema.target,
        "features": [{"name": c.name, "kind": c.kind, **({"categories": c.categories} if c.categories else {})}
                     for c in schema.features if c.name != schema.target],
        "served_by": model.engine,
    }


def _add_typed_routes(app: FastAPI, item: ServedModel, served: Any, authorised: Any, body_of: Any, answer: Any,
                      rows_of: Any) -> None:
    """``/v1/models/<name>/predict`` (and by version) for one model, its body typed in the OpenAPI document."""
    name = item.name
    table = {"schema": {"type": "string", "format": "binary"}}
    documented = {
        "description": "The rows as JSON `instances`, or as a CSV table (a header row naming the features, "
                       "empty cells for unknown values) or a Parquet file, one row per instance. `Accept: text/csv` "
                       "answers a CSV table: `prediction`, then `proba_<class>` for classifiers.",
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{item.request.__name__}"}},
            "text/csv": table, "application/vnd.apache.parquet": table}},
        "responses": {"200": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
    }
    accepted = (*JSON_TYPES, *TABLE_TYPES)

    async def predict(request: Request, version: int | None = None) -> dict[str, Any] | Response:
        authorised(request)
        model = served(name, version)
        kind, charset = content_type(request)
        body = await body_of(request, kind, accepted)
        if kind in TABLE_TYPES:
            instances = rows_of(model, "v1", lambda: table_rows(model.request, TABLE_TYPES[kind], body, charset))
        else:
            instances = rows_of(model, "v1", lambda: parse_instances(model.request, body))
        result = await answer(model, "v1", instances)
        if wants_csv(request):
            answered = csv_answer(result)
            answered.headers[REQUEST_ID] = result["request_id"]
            return answered
        # Plain data already: encoded at once, without FastAPI's walk through every value.
        return Response(json.dumps(result, allow_nan=False).encode(), media_type="application/json",
                        headers={REQUEST_ID: result["request_id"]})

    async def predict_latest(request: Request) -> dict[str, Any] | Response:
        return await predict(request)

    async def predict_version(version: int, request: Request) -> dict[str, Any] | Response:
        return await predict(request, version)

    async def plain_version(request: Request) -> dict[str, Any] | Response:
        raw = request.path_params["version"]
        if not raw.isdecimal():
            raise HTTPException(422, [{"row": None, "field": "version", "message": f"{raw!r}: expected a version "
                                                                                   "number"}])
        return await predict(request, int(raw))

    # Served by plain Starlette routes, which skip FastAPI's per-request parameter solving (the body
    # is checked by the model's own request model); the FastAPI routes below them document the
    # same paths in the OpenAPI document and answer what the plain ones leave (other methods).
    app.router.routes += [
        Route(f"/v1/models/{name}/predict", predict_latest, methods=["POST"], include_in_schema=False),
        Route(f"/v1/models/{name}/versions/{{version}}/predict", plain_version, methods=["POST"],
              include_in_schema=False)]
    app.post(f"/v1/models/{name}/predict", tags=["models"], openapi_extra=documented, response_model=None,
             summary=f"Predict with {name}", name=f"predict_{name}")(predict_latest)
    app.post(f"/v1/models/{name}/versions/{{version}}/predict", tags=["models"], openapi_extra=documented,
             response_model=None, summary=f"Predict with a version of {name}",
             name=f"predict_{name}_version")(predict_version)


def _predict(model: ServedModel, instances: list[dict[str, Any]]) -> dict[str, Any]:
    """The model's answer for the checked rows: predictions, probabilities, other outputs, warnings."""
    issues: list[str] = []
    predict_rows = getattr(model.model, "predict_rows", None)
    if predict_rows is not None:  # ONNX Runtime, straight from the checked rows
        columns = predict_rows(instances, issues=issues)
    else:
        frame = model.model.predict_frame(pd.DataFrame(instances), issues=issues)
        table = json.loads(frame.to_json(orient="split", index=False, date_format="iso"))
        columns = {name: [row[j] for row in table["data"]] for j, name in enumerate(table["columns"])}
    first = next(iter(columns))
    result: dict[str, Any] = {"model": model.name, "version": model.version, "predictions": columns.pop(first)}
    probabilities = [c for c in columns if c.startswith("proba_")]
    if probabilities:
        result["probabilities"] = [{c.removeprefix("proba_"): columns[c][i] for c in probabilities}
                                   for i in range(len(result["predictions"]))]
    others = {c: v for c, v in columns.items() if c not in probabilities}
    if others:
        result["outputs"] = others
    result["warnings"] = issues
    return result


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        loaded = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        raise BadRows([{"row": None, "field": None, "message": f"the body is not valid JSON ({error})"}]) from None
    if not isinstance(loaded, dict):
        raise BadRows([{"row": None, "field": None, "message": "the body must be a JSON object"}])
    return loaded


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _flat(values: list[Any]) -> list[Any]:
    """KServe's data, which may come nested by its shape, as one list."""
    flat: list[Any] = []
    for value in values:
        flat.extend(_flat(value) if isinstance(value, list) else [value])
    return flat


def _datatype(values: list[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "BOOL"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "FP64"
    return "BYTES"
