"""examples/web: a model exported to ONNX runs in the browser with onnxruntime-web.

Two exportable models (a housing regression, a titanic classifier) are fitted and exported into a
temporary folder, served beside the example page and onnxruntime-web's files by a local HTTP
server, and their test rows go through the page in headless Chromium: the browser's predictions
must be the Python model's (regression within 1e-5 relative; the same labels and probabilities
within 1e-5). The form is filled and submitted once per model too.

Skips where onnxruntime-web is not installed (``npm ci --prefix examples/web``, which ``.ci/run``
does), where Chromium is missing (the shared ``chromium`` fixture) or the export extra is.
"""

from __future__ import annotations

import functools
import http.server
import json
import math
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import numpy as np
import pandas as pd
import pytest

import homl
from homl.data import example_path

WEB = Path(__file__).resolve().parents[2] / "examples" / "web"
DIST = WEB / "node_modules" / "onnxruntime-web" / "dist"
DIST_URL = "/node_modules/onnxruntime-web/dist/"
TOLERANCE = 1e-5
#: name -> (bundled data, target, rows to sample or None for all)
MODELS = {"housing": ("housing", "median_house_value", 2000), "titanic": ("titanic", "Survived", None)}

pytestmark = pytest.mark.skipif(
    not (WEB / "node_modules" / "onnxruntime-web").is_dir(),
    reason="onnxruntime-web is not installed in examples/web/node_modules: run `npm ci --prefix examples/web` "
           "(needs Node.js and npm; .ci/run does it)")


class _Handler(http.server.SimpleHTTPRequestHandler):
    """The example page's files, onnxruntime-web's dist folder under its node_modules path, and
    the exported models (the server's ``models`` folder) at the root beside the page."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
                      ".json": "application/json", ".onnx": "application/octet-stream"}

    def translate_path(self, path: str) -> str:
        relative = unquote(urlsplit(path).path).lstrip("/")
        if ("/" + relative).startswith(DIST_URL):
            roots = [(DIST, relative[len(DIST_URL) - 1:])]
        else:
            roots = [(Path(self.server.models), relative), (WEB, relative)]  # type: ignore[attr-defined]
        for root, rest in roots:
            candidate = (root / (rest or "index.html")).resolve()
            if candidate.is_relative_to(root.resolve()) and candidate.is_file():
                return str(candidate)
        return str(WEB / "missing")  # a 404

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(base URL, folder of exported models) of a threaded HTTP server on 127.0.0.1, stopped after."""
    models = tmp_path_factory.mktemp("web-models")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.models = models  # type: ignore[attr-defined]
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", models
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@functools.cache
def _fitted(name: str, folder: Path) -> Any:
    """The model ``name`` fitted (exportable, briefly) and exported as ``folder/name.onnx``."""
    data, target, rows = MODELS[name]
    frame = pd.read_csv(example_path(data))
    if rows is not None:
        frame = frame.sample(rows, random_state=0)
    model_dir = folder.parent / f"{folder.name}-{name}"
    homl.fit(frame, target, time_limit=8, exportable=True, output=model_dir, report=False, seed=0)
    model = homl.load(model_dir)
    homl.export_onnx(model, folder / f"{name}.onnx")
    return model


def _json_rows(frame: pd.DataFrame, schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows in the schema's example layout: numbers (None for NaN) and strings (None for missing)."""
    rows = []
    for _, row in frame.iterrows():
        record: dict[str, Any] = {}
        for entry in schema["inputs"]:
            value = row.get(entry["name"])
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                record[entry["name"]] = None
            elif entry["type"] == "double":
                record[entry["name"]] = float(value)
            else:
                record[entry["name"]] = str(value)
        rows.append(record)
    return rows


def _logs(browser: Any) -> str:
    try:
        return "\n".join(entry["message"] for entry in browser.get_log("browser"))
    except Exception:  # noqa: BLE001 - the logs only help explain a failure
        return "(no browser log)"


def _open(browser: Any, url: str) -> None:
    """Load the page and wait until the model is loaded; fail with the page's status and console."""
    browser.get(url)
    deadline = time.monotonic() + 60
    state = None
    while time.monotonic() < deadline:
        state = browser.execute_script("return document.body && document.body.dataset.ready || null")
        if state:
            break
        time.sleep(0.1)
    if state != "1":
        status = browser.execute_script("var s = document.getElementById('status'); return s && s.textContent")
        pytest.fail(f"the page did not load the model ({state or 'timed out'}): {status}\nconsole:\n{_logs(browser)}")


def _check(browser: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    browser.set_script_timeout(60)
    result = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.homlCheck(arguments[0]).then(done, (e) => done({error: String(e && e.stack || e)}));", rows)
    if "error" in result:
        pytest.fail(f"homlCheck failed in the browser: {result['error']}\nconsole:\n{_logs(browser)}")
    return result


def _fill_form(browser: Any, row: dict[str, Any], schema: dict[str, Any]) -> str:
    """Type ``row`` into the form, submit it and return the prediction the page shows (its data-value)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    for entry in schema["inputs"]:
        field = browser.find_element(By.ID, f"field-{entry['name']}")
        value = row[entry["name"]]
        if field.tag_name == "select":
            Select(field).select_by_value("" if value is None else str(value))
        else:
            field.clear()
            if value is not None:
                field.send_keys(repr(value) if isinstance(value, float) else value)
    browser.execute_script("document.getElementById('result').replaceChildren()")
    browser.find_element(By.ID, "predict").click()
    shown = WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.ID, "prediction"))
    return shown[0].get_attribute("data-value")


def _formable(row: dict[str, Any], schema: dict[str, Any]) -> bool:
    """Whether each of the row's categories is one the form's selects offer."""
    return all(row[e["name"]] is None or row[e["name"]] in e["categories"] for e in schema["inputs"] if "categories" in e)


@pytest.mark.parametrize("name", list(MODELS))
def test_browser_predictions_match_python(chromium: Any, site: tuple[str, Path], name: str) -> None:
    pytest.importorskip("skl2onnx", reason="the ONNX export needs homl[export] (skl2onnx, onnxruntime)")
    base, models = site
    model = _fitted(name, models)
    schema = json.loads((models / f"{name}.schema.json").read_text())
    test_rows = model.input_example()
    assert test_rows is not None and len(test_rows) > 0
    rows = _json_rows(test_rows, schema)

    _open(chromium, f"{base}index.html?model={name}&check=1")
    # ?check=1: the schema's example rows against the Python predictions stored with them.
    assert chromium.execute_script("return document.body.dataset.check") == "ok", \
        chromium.execute_script("return document.getElementById('status').textContent")

    result = _check(chromium, rows)
    if model.task == "regression":
        expected = np.asarray(model.predict(test_rows), dtype=float)
        got = np.asarray(result["predictions"], dtype=float)
        assert got.shape == expected.shape
        relative = np.abs(got - expected) / np.maximum(np.abs(expected), 1.0)
        assert relative.max() <= TOLERANCE, f"worst row {int(relative.argmax())}: {got[relative.argmax()]} vs " \
                                            f"{expected[relative.argmax()]}"
    else:
        frame = model.predict_frame(test_rows)
        expected_proba = frame[[f"proba_{c}" for c in model.classes]].to_numpy(dtype=float)
        got_proba = np.asarray(result["probabilities"], dtype=float)
        assert got_proba.shape == expected_proba.shape
        assert np.abs(got_proba - expected_proba).max() <= TOLERANCE
        expected_labels = frame[model.target].to_numpy()
        if schema["outputs"][0]["type"] == "string":
            assert [str(v) for v in result["labels"]] == [str(v) for v in expected_labels]
        else:
            assert np.array_equal(np.asarray(result["labels"], dtype=float), expected_labels.astype(float))

    # The form: the last test row whose categories the selects offer, typed in and submitted.
    index = next(i for i in reversed(range(len(rows))) if _formable(rows[i], schema))
    shown = _fill_form(chromium, rows[index], schema)
    one = test_rows.iloc[[index]]
    if model.task == "regression":
        want = float(model.predict(one)[0])
        assert math.isclose(float(shown), want, rel_tol=TOLERANCE, abs_tol=TOLERANCE), (shown, want)
    else:
        want = model.predict_frame(one)[model.target].iloc[0]
        if schema["outputs"][0]["type"] == "string":
            assert shown == str(want)
        else:
            assert float(shown) == float(want), (shown, want)
        from selenium.webdriver.common.by import By

        shown_proba = [float(tr.get_attribute("data-value"))
                       for tr in chromium.find_elements(By.CSS_SELECTOR, "#probabilities tbody tr")]
        want_proba = model.predict_frame(one)[[f"proba_{c}" for c in model.classes]].to_numpy(dtype=float)[0]
        assert np.allclose(shown_proba, want_proba, rtol=0, atol=TOLERANCE)
