"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place."""
    _write_atomic(Path(path), text, "w")


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    _write_atomic(Path(path), data, "wb")


def _write_atomic(path: Path, content: str | bytes, mode: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = {"newline": ""} if mode == "w" else {}
    handle = tempfile.NamedTemporaryFile(mode, dir=path.parent, delete=False, suffix=".tmp", **extra)
    try:
        with handle:
            handle.write(content)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
