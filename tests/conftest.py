"""Fixtures shared by the suite: ``diagnose_input`` (a model fitted on generated data, wrapped as
the diagnostics' input) and ``chromium`` (a headless Chromium driven by Selenium; the test skips,
saying how to install them, where Chromium or its driver is missing: ``apt-get install chromium
chromium-driver``, which ``.ci/run`` does)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from homl.data import infer_schema
from homl.evaluate import DiagnoseInput
from homl.metrics import get_metric


def _diagnose_input(X: pd.DataFrame, y: np.ndarray, task: str, build: Callable[[dict[str, Any]], Any], *,
                    params: dict[str, Any] | None = None, space: dict[str, Any] | None = None,
                    metric: str | None = None) -> DiagnoseInput:
    """``build(params)`` fitted on the first three quarters of the rows, the rest as the test set."""
    cut = len(X) * 3 // 4
    params = dict(params or {})
    model = build(params).fit(X.iloc[:cut], y[:cut])
    return DiagnoseInput(
        model=model, X_train=X.iloc[:cut], y_train=y[:cut], X_test=X.iloc[cut:], y_test=y[cut:], task=task,
        metric=get_metric(metric, task), schema=infer_schema(X), winner="model", single="model",
        single_params=params, build_single=build, space=dict(space or {}), seed=0,
        # A fit estimate far below the real cost: the curves take all the rows they may.
        fit_seconds=1e-4, fit_rows=cut,
    )


@pytest.fixture
def diagnose_input() -> Callable[..., DiagnoseInput]:
    """``diagnose_input(X, y, task, build, params=..., space=..., metric=...)`` -> DiagnoseInput."""
    return _diagnose_input


CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,2000")


def _find_browser() -> tuple[str, str] | None:
    binary = next((path for path in CHROMIUM if Path(path).exists()), None) or shutil.which("chromium")
    driver = shutil.which("chromedriver") or next(
        (p for p in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver") if Path(p).exists()), None)
    return (binary, driver) if binary and driver else None


@pytest.fixture
def chromium() -> Iterator[Any]:
    """A headless Chromium (a Selenium driver), started on first use and closed after the test."""
    found = _find_browser()
    if found is None:
        pytest.skip("headless Chromium not available: /usr/bin/chromium or chromedriver not found; "
                    "install them with `apt-get install -y chromium chromium-driver` (.ci/run does it)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed: pip install 'selenium>=4.10' (in the dev extra)")
    binary, driver_path = found
    profile = tempfile.mkdtemp(prefix="homl-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)
