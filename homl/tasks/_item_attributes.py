"""Side information for ratings: what an items table says of each item (genres, categories, numbers)
predicts how much better or worse than average it is rated, for the items the log never saw.

The columns of the items table other than the item and its name become features: numbers
standardised, categories one-hot, lists such as ``Adventure|Comedy`` one column per value. A ridge
regression learns the items' rating biases from them (each item weighed by how many ratings its
bias rests on); it is kept only when it predicts the biases of items it did not learn from
(cross-validated) better than the overall average does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from homl.data import identifiers

#: A text column with at most this many values is a category; beyond it, text is not used.
MAX_LEVELS = 50
#: A value of a list column is a feature when at least this many items have it.
MIN_ITEMS = 5
#: Share of the bias variance the attributes must explain, out of sample, to be used.
MIN_GAIN = 0.02
SEPARATORS = ("|", ";")


@dataclass
class AttributeBiases:
    """The rating bias the attributes predict for each item of the items table the log lacks."""

    labels: list[str]
    names: list[str] | None
    biases: np.ndarray
    gain: float
    features: list[str]


def attribute_biases(table: pd.DataFrame, item: str, name_column: str | None, known: pd.Index,
                     item_bias: np.ndarray, counts: np.ndarray, seed: int) -> tuple[AttributeBiases | None, str]:
    """What the attributes predict for the table's items not in ``known`` (the log's items, whose
    ``item_bias`` and rating ``counts`` they learn from), and a sentence saying what was found."""
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold, cross_val_predict

    labels = identifiers(table[item]).to_numpy()
    keep = pd.notna(labels) & ~pd.Series(labels).duplicated().to_numpy()
    table, labels = table[keep], labels[keep].astype(str)
    features, names = _features(table.drop(columns=[c for c in (item, name_column) if c is not None]))
    if features is None:
        return None, "the items table has no column (numbers, categories or lists) to describe the items by"
    codes = known.get_indexer(labels)
    seen = codes >= 0
    if seen.sum() < 20:
        return None, f"only {int(seen.sum())} items of the items table have ratings: too few to learn from"
    target, weight = item_bias[codes[seen]], np.minimum(counts[codes[seen]], 50).astype(float)
    ridge = RidgeCV(alphas=np.logspace(-2, 3, 11))
    folds = KFold(5, shuffle=True, random_state=seed)
    predicted = cross_val_predict(ridge, features[seen], target, cv=folds, params={"sample_weight": weight})
    gain = 1 - np.average((predicted - target) ** 2, weights=weight) / np.average(target ** 2, weights=weight)
    if gain < MIN_GAIN:
        return None, (f"the items' attributes ({', '.join(names[:5])}...) did not predict how items are rated "
                      f"(cross-validated gain {gain:.1%}); not used")
    ridge.fit(features[seen], target, sample_weight=weight)
    new = ~seen
    names_of = table[name_column].astype(str).to_numpy()[new].tolist() if name_column else None
    found = AttributeBiases(labels[new].tolist(), names_of, ridge.predict(features[new]) if new.any() else
                            np.empty(0), float(gain), names)
    return found, (f"the items' attributes explain {gain:.0%} of how much better or worse than average items are "
                   f"rated (cross-validated): the {int(new.sum()):,} items of the items table without ratings are "
                   "predicted from them")


def _features(table: pd.DataFrame) -> tuple[np.ndarray | None, list[str]]:
    parts: list[np.ndarray] = []
    names: list[str] = []
    for column in table.columns:
        values = table[column]
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            numbers = values.astype(float).to_numpy()
            spread = np.nanstd(numbers)
            if np.isfinite(spread) and spread > 0:
                parts.append(np.nan_to_num((numbers - np.nanmean(numbers)) / spread)[:, None])
                names.append(str(column))
            continue
        text = values.astype(object).where(values.notna(), "").astype(str)
        columns, labels = _levels(text)
        if columns is not None:
            parts.append(columns)
            names += [f"{column}={label}" for label in labels]
    if not parts:
        return None, []
    return np.column_stack(parts), names


def _levels(text: pd.Series) -> tuple[np.ndarray | None, list[Any]]:
    """One column per value of a list column (``a|b``), or per category; None for free text."""
    separator = next((s for s in SEPARATORS if text.str.contains(s, regex=False).mean() > 0.1), None)
    if separator is not None:
        dummies = text.str.get_dummies(sep=separator)
    elif text.nunique() <= MAX_LEVELS:
        dummies = pd.get_dummies(text, dtype=float)
    else:
        return None, []
    dummies = dummies.loc[:, dummies.sum() >= MIN_ITEMS]
    if dummies.shape[1] == 0:
        return None, []
    return dummies.to_numpy(dtype=float), list(dummies.columns)
