"""Search-space primitives: plain data that Optuna (or anything else) can sample from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class IntRange:
    low: int
    high: int
    log: bool = False

    def suggest(self, trial: Any, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, log=self.log)

    def __contains__(self, value: Any) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class FloatRange:
    low: float
    high: float
    log: bool = False

    def suggest(self, trial: Any, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def __contains__(self, value: Any) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class Choice:
    options: tuple[Any, ...]

    def suggest(self, trial: Any, name: str) -> Any:
        return trial.suggest_categorical(name, list(self.options))

    def __contains__(self, value: Any) -> bool:
        return value in self.options


Space = dict[str, IntRange | FloatRange | Choice]


def sample(space: Space, trial: Any) -> dict[str, Any]:
    """One point of ``space``, drawn by an Optuna trial."""
    return {name: dimension.suggest(trial, name) for name, dimension in space.items()}
