"""Atomic writes: a reader sees the old file or folder or the new one, never half of one."""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import stat
import tempfile
from pathlib import Path


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place."""
    _write_atomic(Path(path), text, "w")


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    _write_atomic(Path(path), data, "wb")


def _write_atomic(path: Path, content: str | bytes, mode: str) -> None:
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder; expected the name of a file to write", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = {"newline": ""} if mode == "w" else {}
    handle = tempfile.NamedTemporaryFile(mode, dir=path.parent, delete=False, suffix=".tmp", **extra)
    try:
        with handle:
            handle.write(content)
        # The temporary file is private (0600): give the file the mode a plain write would.
        os.chmod(handle.name, stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o666 & ~_umask())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process's file mode creation mask (read by setting it, then setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def replace_dir(built: Path, final: Path) -> None:
    """Rename the finished folder ``built`` to ``final``. What was at ``final`` goes aside first
    (and back, if the rename fails) and is removed once ``built`` is in place."""
    if not os.path.lexists(final):
        os.rename(built, final)
        return
    aside = free_sibling(Path(final), "old")
    os.rename(final, aside)
    try:
        os.rename(built, final)
    except BaseException:
        os.rename(aside, final)
        raise
    remove_tree(aside)


def remove_tree(path: Path) -> None:
    """Best-effort removal of a directory tree (or of a file, or a link to one)."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def free_sibling(final: Path, tag: str) -> Path:
    """A free hidden name next to ``final``, e.g. ``.model.old-1a2b3c4d``."""
    while True:
        candidate = final.with_name(f".{final.name}.{tag}-{secrets.token_hex(4)}")
        if not os.path.lexists(candidate):
            return candidate
