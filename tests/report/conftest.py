"""``browser_check``: open an HTML report in headless Chromium and say what went wrong (the
browser is the suite's ``chromium`` fixture, which skips where Chromium is missing)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

_IMAGES = """return Array.from(document.images).map(
  i => [i.getAttribute('data-name') || i.alt || i.src.slice(0, 40), i.complete && i.naturalWidth > 0]);"""


@pytest.fixture
def browser_check(chromium) -> Callable[[Path, Path], dict[str, Any]]:
    """``browser_check(html, screenshot)`` -> console errors, image counts and the screenshot path."""

    def check(html_path: Path, screenshot: Path) -> dict[str, Any]:
        chromium.get(Path(html_path).resolve().as_uri())
        chromium.execute_script("return document.readyState")
        images = chromium.execute_script(_IMAGES)
        errors = [entry["message"] for entry in chromium.get_log("browser") if entry.get("level") == "SEVERE"]
        Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
        chromium.save_screenshot(str(screenshot))
        return {"console_errors": errors, "images": len(images),
                "broken_images": [name for name, ok in images if not ok], "screenshot": Path(screenshot)}

    return check
