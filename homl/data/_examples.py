"""Example tables bundled with homl, so every command can be tried without data of one's own.

- ``housing``: California housing, 1990 census (the book's chapter 2), 20,640 rows;
  target ``median_house_value``. From the StatLib set as modified by A. Géron (ageron/data).
- ``titanic``: Titanic passengers (the book's chapter 3 exercise), 891 rows; target
  ``Survived``. From ageron/data.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from homl.errors import ConfigError

EXAMPLES: dict[str, tuple[str, str]] = {
    "housing": ("housing.csv.gz", "median_house_value"),
    "titanic": ("titanic.csv.gz", "Survived"),
}


def example_path(name: str) -> Path:
    """Path of a bundled example table."""
    if name not in EXAMPLES:
        raise ConfigError(f"no example named '{name}'; examples: {', '.join(EXAMPLES)}")
    return Path(str(resources.files("homl.data") / "examples" / EXAMPLES[name][0]))


def example_target(name: str) -> str:
    """The target column of a bundled example table."""
    example_path(name)
    return EXAMPLES[name][1]
