"""The preparation section that every report of a task without a target ends with."""

from __future__ import annotations

from typing import Any

from ._html import Report


def preparation_section(report: Report, metadata: dict[str, Any], purpose: str) -> None:
    """What was done to the columns before ``purpose``, and the notes of what was dropped or imputed."""
    section = report.section("Preparation")
    section.text("Identifier columns are dropped, missing values imputed, heavy-tailed columns logged, categories "
                 f"one-hot encoded and every feature standardised {purpose}.")
    section.bullets(list(metadata.get("notes", [])))
