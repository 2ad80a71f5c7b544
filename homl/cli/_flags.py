"""The library's messages speak of parameters (``overwrite=True``); the command line's of flags."""

from __future__ import annotations

import re

#: Parameters whose name differs from their flag only by dashes, and switches given as ``name=True``.
_NAMED = ("group_by", "time_column", "time_limit", "test_size", "refit_full")
_SWITCHES = ("overwrite", "resume", "tune", "ensemble")


def as_flags(message: str) -> str:
    """``message`` with the parameters it names written as the command line's flags.

    >>> as_flags("output 'm' holds a model already; use overwrite=True to replace it")
    "output 'm' holds a model already; use --overwrite to replace it"
    """
    message = re.sub(rf"\b({'|'.join(_SWITCHES)})=True\b", r"--\1", message)
    message = re.sub(r"\b(gap|target)=(?=\S)", r"--\1 ", message)
    message = re.sub(r"\bpass target=\)", "pass --target)", message)
    return re.sub(rf"\b({'|'.join(_NAMED)})\b", lambda m: "--" + m.group(1).replace("_", "-"), message)
