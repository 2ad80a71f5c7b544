"""Numbers written as text the way people write them: '$1,234.50', '12,345', '45.2%', '-' for none."""

from __future__ import annotations

import pandas as pd

#: Cells that stand for "no value" in columns of numbers.
PLACEHOLDERS = frozenset({"-", "--", "\u2013", "\u2014", "."})
_SYMBOL = r"[$\u20ac\u00a3\u00a5\u20b9]"  # $ € £ ¥ ₹
_DECORATION = rf"^([+-]?){_SYMBOL}\s*|\s*{_SYMBOL}$|\s*%$"
_GROUPED = r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?"


def numbers_from_text(values: pd.Series) -> pd.Series:
    """The values as floats, NaN where one is not a number: surrounding spaces, a currency symbol,
    commas between thousands and a trailing percent sign are dropped (45.2% reads 45.2), and the
    placeholders '-', '--', '.' read as missing."""
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    text = text.str.replace(_DECORATION, r"\1", regex=True)
    grouped = text.str.fullmatch(_GROUPED)
    text = text.where(~grouped, text.str.replace(",", "", regex=False))
    return pd.to_numeric(text.where(~text.isin(PLACEHOLDERS) & (text != "")), errors="coerce")


def is_placeholder(values: pd.Series) -> pd.Series:
    """Whether each value is one of the ``PLACEHOLDERS`` that stand for no number."""
    return values.astype(object).map(lambda v: isinstance(v, str) and v.strip() in PLACEHOLDERS).astype(bool)
