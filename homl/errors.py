"""Errors homl raises for bad input: each names the file, column, row or field at fault."""

from __future__ import annotations


class HomlError(Exception):
    """Base class: a problem with the user's input or settings, not a bug in homl.

    The CLI turns every ``HomlError`` into a one-line message and exit code 2.
    """


class DataError(HomlError):
    """A data source cannot be read as a table (missing file, not a table, bad rows...)."""


class SchemaError(HomlError):
    """The table's columns do not match what is expected (missing column, wrong types...)."""


class TargetError(HomlError):
    """The target column is missing, empty or cannot be learned (e.g. a single class)."""


class ModelDirError(HomlError):
    """A model directory cannot be written or read (exists already, tampered, incomplete...)."""


class ConfigError(HomlError):
    """An option has a value homl cannot use (unknown metric, bad budget...)."""


class RegistryError(HomlError):
    """The model registry cannot be opened, or has no such model, version or alias, or refuses a write."""
