"""Requests per second and latency of ``homl serve`` on loopback, beside an empty FastAPI endpoint.

A LightGBM model of the bundled housing table is registered and served by uvicorn in a child
process; a second child serves an endpoint that does nothing (the floor: what FastAPI and uvicorn
cost on this machine). Each is loaded for ``--seconds`` at concurrency 1, 8 and 32 with one-row
and 100-row requests, by async HTTP clients in this process. The in-process ``predict`` of the
same rows is timed too.

    .venv/bin/python bench/serve.py [--seconds 30] [--out bench/results/serve.md]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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


async def _load(url: str, body: bytes, concurrency: int, seconds: float) -> dict[str, float]:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
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
        model_port, empty_port = _port(), _port()
        env = {**os.environ, "COLUMNS": "200"}
        servers = [
            subprocess.Popen([sys.executable, "-m", "homl", "serve", "housing", "--port", str(model_port),
                              "--registry", url], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            subprocess.Popen([sys.executable, "-c", EMPTY_SERVER, str(empty_port)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL),
        ]
        try:
            _wait(f"http://127.0.0.1:{model_port}/ready")
            _wait(f"http://127.0.0.1:{empty_port}/docs")
            loaded = homl.load(folder / "model")
            for size in (1, 100):
                records = json.loads(features.head(size).to_json(orient="records"))
                body = json.dumps({"instances": records}).encode()
                started, repeats = time.perf_counter(), 200
                for _ in range(repeats):
                    loaded.predict(pd.DataFrame(records))
                in_process = (time.perf_counter() - started) / repeats * 1000
                for concurrency in (1, 8, 32):
                    floor = asyncio.run(_load(f"http://127.0.0.1:{empty_port}/empty", body, concurrency, args.seconds))
                    served = asyncio.run(_load(f"http://127.0.0.1:{model_port}/v1/models/housing/predict", body,
                                               concurrency, args.seconds))
                    rows.append({"rows a request": size, "concurrency": concurrency,
                                 "homl requests/s": served["requests/s"], "floor requests/s": floor["requests/s"],
                                 "share of floor": served["requests/s"] / floor["requests/s"],
                                 "homl p50 ms": served["p50 ms"], "homl p99 ms": served["p99 ms"],
                                 "floor p99 ms": floor["p99 ms"], "in-process predict ms": in_process,
                                 "errors": served["errors"] + floor["errors"]})
                    print(rows[-1], flush=True)
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)
    text = (f"# Serving: homl serve beside an empty FastAPI endpoint\n\n`.venv/bin/python bench/serve.py --seconds "
            f"{args.seconds:g}`: LightGBM on housing, uvicorn with one worker, loopback; the load comes from async "
            f"clients in the bench's own process, on the same {os.cpu_count()} cores.\n\n"
            f"{markdown_table(pd.DataFrame(rows))}\n")
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
