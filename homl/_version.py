"""The version of homl, in one place (the package, the model directories and the CLI read it)."""

__version__ = "0.1.0"
