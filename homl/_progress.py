"""How long-running work reports progress and explains its decisions.

Library code talks to a ``Progress``; the CLI supplies one that draws Rich progress
bars, the Python API a quiet one. Decisions (why a column was dropped, why a family
was skipped) go through ``note`` and are kept on the result as well.
"""

from __future__ import annotations

import logging

logger = logging.getLogger("homl")


class Progress:
    """Quiet progress: phases are logged at debug level, notes at info level."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def phase(self, name: str, total: float | None = None) -> None:
        logger.debug("phase: %s", name)

    def advance(self, amount: float = 1, detail: str = "") -> None:
        pass

    def end_phase(self) -> None:
        pass

    def note(self, message: str) -> None:
        self.notes.append(message)
        logger.info(message)

    def close(self) -> None:
        pass
