"""The launch, end to end through the real command line, on housing and on titanic: fit, register
two versions, list, show, promote and roll back, serve on 127.0.0.1 (JSON and CSV), predict a
file in batches, export to ONNX. Every step is a ``python -m homl`` process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi", reason="serving needs the serve extra: pip install 'homl[serve]'")
pytest.importorskip("skl2onnx", reason="export needs the export extra: pip install 'homl[export]'")

import httpx  # noqa: E402
import onnxruntime  # noqa: E402

import homl  # noqa: E402
from homl.data import example_path, example_target, read_table  # noqa: E402
from homl.models import onnx_feeds  # noqa: E402
from homl.registry import Registry  # noqa: E402


def homl_cli(*args: object, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m homl ARGS`` in ``cwd``."""
    return subprocess.run([sys.executable, "-m", "homl", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "COLUMNS": "200"})


def _ok(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 0, f"exit {run.returncode}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    return run.stdout


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow  # about a minute a table: .ci/run runs it after the default suite
@pytest.mark.parametrize("name", ["housing", "titanic"])
def test_every_launch_command_on_the_bundled_table(name, tmp_path):
    target = example_target(name)
    table = read_table(example_path(name))
    table = table.sample(min(1500, len(table)), random_state=0)
    table.to_csv(tmp_path / "train.csv", index=False)
    new_rows = read_table(example_path(name)).drop(columns=[target]).head(700)
    new_rows.to_parquet(tmp_path / "new.parquet")
    registry = f"sqlite:///{tmp_path / 'registry.db'}"
    for version, seed in ((1, 1), (2, 2)):  # a retrain: version 2
        _ok(homl_cli("fit", "train.csv", "--target", target, "--time-limit", 12, "--cv", 3, "--seed", seed,
                     "--exportable", "-o", f"model{version}", cwd=tmp_path, timeout=300))
        assert f"version {version}" in _ok(homl_cli("registry", "add", f"model{version}", "--name", name,
                                                   "--registry", registry, cwd=tmp_path))
    assert name in _ok(homl_cli("registry", "list", "--registry", registry, cwd=tmp_path))
    _ok(homl_cli("registry", "promote", name, 2, "--registry", registry, cwd=tmp_path))
    _ok(homl_cli("registry", "promote", name, 1, "--registry", registry, cwd=tmp_path))  # the rollback
    shown = _ok(homl_cli("registry", "show", name, "--registry", registry, cwd=tmp_path))
    assert "production" in shown and Registry(registry).get(name).version == 1

    first = homl.load(tmp_path / "model1")
    rows = new_rows.head(20)
    expected = first.predict(rows)
    port = _port()
    server = subprocess.Popen([sys.executable, "-m", "homl", "serve", name, "--port", str(port), "--registry",
                               registry], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "COLUMNS": "200"})
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{base}/ready")
        described = httpx.get(f"{base}/v1/models/{name}").json()
        assert described["version"] == 1 and described["served_by"].startswith("ONNX Runtime")
        body = {"instances": json.loads(rows.to_json(orient="records"))}
        answer = httpx.post(f"{base}/v1/models/{name}/predict", json=body, timeout=30).json()
        assert answer["version"] == 1
        uploaded = httpx.post(f"{base}/v1/models/{name}/predict", content=rows.to_csv(index=False).encode(),
                              headers={"content-type": "text/csv"}, timeout=30).json()
        assert uploaded["predictions"] == answer["predictions"]
        if first.task == "regression":
            np.testing.assert_allclose(answer["predictions"], expected, rtol=1e-5)
        else:
            assert answer["predictions"] == list(expected)
    finally:
        server.terminate()
        server.wait(timeout=30)

    _ok(homl_cli("predict-batch", name, "new.parquet", "-o", "predictions.parquet", "--chunk-rows", 300,
                 "--registry", registry, cwd=tmp_path))
    batch = pd.read_parquet(tmp_path / "predictions.parquet")
    assert len(batch) == len(new_rows)
    np.testing.assert_array_equal(batch.iloc[:, 0].to_numpy()[:20], first.predict_frame(rows).iloc[:, 0].to_numpy())

    out = _ok(homl_cli("export", name, "--format", "onnx", "-o", f"{name}.onnx", "--registry", registry,
                       cwd=tmp_path))
    assert f"{name}.schema.json" in out
    schema = json.loads((tmp_path / f"{name}.schema.json").read_text())
    session = onnxruntime.InferenceSession(str(tmp_path / f"{name}.onnx"), providers=["CPUExecutionProvider"])
    X, _ = first.check(rows)
    outputs = session.run(None, onnx_feeds(X, {i["name"]: i["kind"] for i in schema["inputs"]}))
    if first.task == "regression":
        np.testing.assert_allclose(outputs[0], expected, rtol=1e-5)
    else:
        assert list(outputs[0]) == list(expected)
    assert "served by: ONNX Runtime" in _ok(homl_cli("info", "model1", cwd=tmp_path))


def _wait(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {seconds:g} s")
