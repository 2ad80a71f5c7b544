"""Atomic writes: the file appears whole, with the mode a plain write gives it, never over a folder."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from homl import write_text_atomic


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_gets_the_mode_a_plain_write_gives(tmp_path: Path) -> None:
    plain, atomic = tmp_path / "plain.csv", tmp_path / "atomic.csv"
    plain.write_text("a\n")
    write_text_atomic(atomic, "a\n")
    assert atomic.read_text() == "a\n" and _mode(atomic) == _mode(plain)


def test_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("old\n")
    os.chmod(path, 0o640)
    write_text_atomic(path, "new\n")
    assert path.read_text() == "new\n" and _mode(path) == 0o640


def test_a_folder_is_never_replaced_by_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "kept.txt").write_text("x")
    with pytest.raises(IsADirectoryError, match="is a folder; expected the name of a file"):
        write_text_atomic(folder, "a\n")
    assert (folder / "kept.txt").read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["out"]
