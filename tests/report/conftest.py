"""``browser_check``: open an HTML report in headless Chromium and say what went wrong.

The fixture skips the test, with how to install them, where Chromium or its driver is
missing (``apt-get install chromium chromium-driver``; ``.ci/run`` does it).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,2000")
_IMAGES = """return Array.from(document.images).map(
  i => [i.getAttribute('data-name') || i.alt || i.src.slice(0, 40), i.complete && i.naturalWidth > 0]);"""


def _find_browser() -> tuple[str, str] | None:
    binary = next((path for path in CHROMIUM if Path(path).exists()), None) or shutil.which("chromium")
    driver = shutil.which("chromedriver") or next(
        (p for p in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver") if Path(p).exists()), None)
    return (binary, driver) if binary and driver else None


@pytest.fixture
def browser_check() -> Iterator[Callable[[Path, Path], dict[str, Any]]]:
    """``browser_check(html, screenshot)`` -> console errors, image counts and the screenshot path."""
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
    drivers: list[Any] = []

    def check(html_path: Path, screenshot: Path) -> dict[str, Any]:
        if not drivers:
            drivers.append(webdriver.Chrome(options=options, service=Service(driver_path)))
        browser = drivers[0]
        browser.get(Path(html_path).resolve().as_uri())
        browser.execute_script("return document.readyState")
        images = browser.execute_script(_IMAGES)
        errors = [entry["message"] for entry in browser.get_log("browser") if entry.get("level") == "SEVERE"]
        Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(screenshot))
        return {"console_errors": errors, "images": len(images),
                "broken_images": [name for name, ok in images if not ok], "screenshot": Path(screenshot)}

    try:
        yield check
    finally:
        for browser in drivers:
            browser.quit()
        shutil.rmtree(profile, ignore_errors=True)
