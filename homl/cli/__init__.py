"""Command-line face of homl: ``homl fit``, ``homl predict``, ``homl info``."""

from ._app import app, main

__all__ = ["app", "main"]
