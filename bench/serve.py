"""Requests per second and latency of ``homl serve`` on loopback, beside an empty FastAPI endpoint.

A LightGBM model of the bundled housing table is registered and served by uvicorn in child
processes: one predicting in ONNX Runtime (the fast path), one through the Python pipeline
(``--no-onnx``); another child serves an endpoint that does nothing (the floor: what FastAPI and
uvicorn cost on this machine). Each is loaded for ``--seconds`` at concurrency 1, 8 and 32 with
one-row and 100-row requests, by ``wrk`` (a load generator in C, one thread; Debian's ``wrk``
package) where it is installed, else by async HTTP clients in this process. The in-process
prediction of the same rows is timed too, for each engine.

    .venv/bin/python bench/serve.py [--seconds 30] [--engines onnx,python,onnx-logged] [--out bench/results/serve.md]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _markdown import markdown_table

EMPTY_SERVER = textwrap.dedent("""
    import sys
    import uvicorn
    from fastapi import FastAPI, Request

    app = FastAPI()

    @app.post("/empty")
    async def empty(request: Request) -> dict:
        await request.body()
        return {"predictions": [0.0]}

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
""")


#: How each engine is served: ``onnx-logged`` also writes every request's rows and predictions
#: to the registry's prediction log (``--log-inputs 1``), ``onnx-logged-10%`` one request in ten.
ENGINES = {"onnx": ["--onnx"], "python": ["--no-onnx"], "onnx-logged": ["--onnx", "--log-inputs", "1"],
           "onnx-logged-10%": ["--onnx", "--log-inputs", "0.1"]}


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(url: str) -> None:
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


WRK_SCRIPT = """
local file = io.open(os.getenv("HOML_BENCH_BODY"), "rb")
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
"""


def _load(url: str, body: bytes, concurrency: int, seconds: float) -> dict[str, float]:
    """Requests/s, p50 and p99 latency (ms) and errors of ``seconds`` of load at ``concurrency``."""
    if shutil.which("wrk"):
        return _wrk(url, body, concurrency, seconds)
    return asyncio.run(_python_load(url, body, concurrency, seconds))


def _wrk(url: str, body: bytes, concurrency: int, seconds: float) -> dict[str, float]:
    import re

    with tempfile.TemporaryDirectory() as folder:
        script, payload = Path(folder) / "post.lua", Path(folder) / "body.json"
        script.write_text(WRK_SCRIPT, encoding="utf-8")
        payload.write_bytes(body)
        run = subprocess.run(["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "--latency", "-s", str(script), url],
                             capture_output=True, text=True, env={**os.environ, "HOML_BENCH_BODY": str(payload)},
                             check=True)
    out = run.stdout

    def latency(percent: str) -> float:
        value, unit = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"requests/s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50 ms": latency("50"),
            "p99 ms": latency("99"),
            "errors": (int(errors.group(1)) if errors else 0) + (sum(map(int, sockets.groups())) if sockets else 0)}


async def _python_load(url: str, body: bytes, concurrency: int, seconds: float) -> dict[str, float]:
    import httpx

    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                started = time.perf_counter()
                answer = await client.post(url, content=body, headers={"content-type": "application/json"})
                latencies.append(time.perf_counter() - started)
                errors += answer.status_code != 200

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    ms = np.array(latencies) * 1000
    return {"requests/s": len(latencies) / elapsed, "p50 ms": float(np.percentile(ms, 50)),
            "p99 ms": float(np.percentile(ms, 99)), "errors": errors}


def _predictors(model):
    """Each engine's in-process prediction of checked rows, as the server makes it."""
    from homl.tasks.export import served_form

    fast, engine = served_form(model)
    if not engine.startswith("ONNX"):
        raise SystemExit(f"the bench model has no ONNX form: {engine}")
    onnx = lambda records: fast.predict_rows(records, issues=[])  # noqa: E731
    return {"onnx": onnx, "onnx-logged": onnx, "onnx-logged-10%": onnx,
            "python": lambda records: model.predict_frame(pd.DataFrame(records), issues=[])}


def _time(predict, records, repeats: int = 200) -> float:
    predict(records)
    started = time.perf_counter()
    for _ in range(repeats):
        predict(records)
    return (time.perf_counter() - started) / repeats * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--engines", default="onnx,python", help=f"comma-separated: {', '.join(ENGINES)}")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "serve.md")
    args = parser.parse_args()
    import homl
    from homl.data import example_path, read_table
    from homl.registry import Registry

    table = read_table(example_path("housing"))
    features = table.drop(columns="median_house_value")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        fitted = homl.fit(table, "median_house_value", time_limit=30, models=["lightgbm"], tune=False,
                          ensemble=False, bagging=False, report=False)
        fitted.save(folder / "model")
        url = f"sqlite:///{folder / 'registry.db'}"
        Registry(url).add(folder / "model", "housing")
        engines = [e.strip() for e in args.engines.split(",") if e.strip()]
        ports = {engine: _port() for engine in engines}
        empty_port = _port()
        env = {**os.environ, "COLUMNS": "200"}
        servers = [subprocess.Popen([sys.executable, "-c", EMPTY_SERVER, str(empty_port)], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)]
        for engine, port in ports.items():
            servers.append(subprocess.Popen(
                [sys.executable, "-m", "homl", "serve", "housing", "--port", str(port), "--registry", url,
                 *ENGINES[engine]], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        try:
            _wait(f"http://127.0.0.1:{empty_port}/docs")
            for port in ports.values():
                _wait(f"http://127.0.0.1:{port}/ready")
            predictors = _predictors(homl.load(folder / "model"))
            for size in (1, 100):
                records = json.loads(features.head(size).to_json(orient="records"))
                body = json.dumps({"instances": records}).encode()
                for concurrency in (1, 8, 32):
                    floor = _load(f"http://127.0.0.1:{empty_port}/empty", body, concurrency, args.seconds)
                    for engine, port in ports.items():
                        served = _load(f"http://127.0.0.1:{port}/v1/models/housing/predict", body, concurrency,
                                       args.seconds)
                        rows.append({"engine": engine, "rows a request": size, "concurrency": concurrency,
                                     "homl requests/s": served["requests/s"], "floor requests/s": floor["requests/s"],
                                     "share of floor": served["requests/s"] / floor["requests/s"],
                                     "homl p50 ms": served["p50 ms"], "homl p99 ms": served["p99 ms"],
                                     "floor p99 ms": floor["p99 ms"],
                                     "in-process predict ms": _time(predictors[engine], records),
                                     "errors": served["errors"] + floor["errors"]})
                        print(rows[-1], flush=True)
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)
    text = (f"# Serving: homl serve beside an empty FastAPI endpoint\n\n`.venv/bin/python bench/serve.py --seconds "
            f"{args.seconds:g}`: LightGBM on housing, uvicorn with one worker, loopback, predicting in ONNX Runtime "
            f"(`onnx`) or through the Python pipeline (`python`, `homl serve --no-onnx`); the load comes from "
            f"{'wrk (one thread)' if shutil.which('wrk') else 'async clients in the bench process'}, on the same "
            f"{os.cpu_count()} cores.\n\n"
            f"{markdown_table(pd.DataFrame(rows))}\n")
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
