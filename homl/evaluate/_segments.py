"""What distinguishes each segment, in the table's own units, and the figures' data, as plain data.

A segment's profile names the attributes that differ most from the whole population: a
numeric column by its segment median against the population's ("income 1.6x the median"),
a category or a yes/no column by how over-represented its most typical level is
("Gender = Female: 70 % against 56 % overall", "Student = yes: 100 % against 10 % overall").
Columns are ranked by how far the segment's mean lies from the population's, in population
standard deviations, or for categories by the gap in share; differences below
``MIN_DIFFERENCE`` go unsaid.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from homl._json import to_json
from homl.data import Schema
from homl.models import NOISE_SEGMENT as NOISE

#: Attributes named in each segment's description.
PROFILE_ATTRIBUTES = 3
#: Smallest difference worth naming, in standard deviations (a category's gap in share counts twice).
MIN_DIFFERENCE = 0.1
#: Smallest median, in standard deviations, of a column whose segments are told as ratios of medians.
MIN_RATIO_MEDIAN = 0.1
#: Rows drawn on the segment map and in the silhouette diagram.
MAP_ROWS = 3000


def segment_profiles(frame: pd.DataFrame, labels: np.ndarray, schema: Schema) -> list[dict[str, Any]]:
    """One dict a segment (noise last): its number, size, share, description and top attributes."""
    numeric = [c for c in schema.names("numeric") if c in frame]
    categorical = [c for c in schema.names("categorical") if c in frame]
    yes_no = [c for c in schema.names("boolean") if c in frame]
    values = frame[numeric].apply(pd.to_numeric, errors="coerce").astype(float) if numeric else pd.DataFrame()
    means, stds, medians, lowest = values.mean(), values.std(ddof=0), values.median(), values.min()
    profiles = []
    segments = sorted(set(labels.tolist()), key=lambda s: (s == NOISE, s))
    for segment in segments:
        rows = labels == segment
        differences = []
        for column in numeric:
            spread = stds[column]
            if not np.isfinite(spread) or spread == 0:
                continue
            inside = values.loc[rows, column]
            distance = (inside.mean() - means[column]) / spread
            if np.isfinite(distance):
                ratio = lowest[column] > 0 and medians[column] >= MIN_RATIO_MEDIAN * spread
                differences.append((abs(distance), column, _numeric_phrase(column, inside.median(), medians[column],
                                                                          distance, ratio)))
        for column in categorical + yes_no:
            found = _typical_level(_as_yes_no(frame[column]) if column in yes_no else frame[column], rows)
            if found is not None:
                gap, phrase = found
                differences.append((gap * 2, column, phrase))  # a 50-point gap weighs as one standard deviation
        differences.sort(key=lambda d: -d[0])
        top = [d for d in differences[:PROFILE_ATTRIBUTES] if d[0] >= MIN_DIFFERENCE]
        name = "noise (no segment)" if segment == NOISE else f"segment {segment}"
        share = rows.mean()
        traits = ", ".join(phrase for _, _, phrase in top) or "like the population"
        profiles.append({
            "segment": int(segment), "rows": int(rows.sum()), "share": float(share),
            "description": f"{name}: {share:.0%} of rows ({int(rows.sum()):,}); {traits}",
            "attributes": [column for _, column, _ in top],
        })
    return profiles


def _numeric_phrase(column: str, inside: float, overall: float, distance: float, ratio: bool) -> str:
    """A segment's difference in a number column: a ratio of medians when ``ratio`` (the column's values
    all positive, its median well away from 0), else the shift of the mean in standard deviations."""
    # a ratio of medians that reads 1.0x says nothing: the shift in the mean is told instead
    if ratio and overall > 0 and inside >= 0 and np.isfinite(inside) and f"{inside / overall:.1f}" != "1.0":
        return f"{column} {inside / overall:.1f}x the median"
    direction = "above" if distance > 0 else "below"
    return f"{column} {abs(distance):.1f} sd {direction} the mean"


def _as_yes_no(values: pd.Series) -> pd.Series:
    """A yes/no column, read as 1/0 or True/False, spelled "yes" and "no"."""
    numbers = pd.to_numeric(values.astype("object").replace({True: 1, False: 0}), errors="coerce")
    return numbers.map({1: "yes", 0: "no"}).rename(values.name)


def _typical_level(values: pd.Series, rows: np.ndarray) -> tuple[float, str] | None:
    """The level most over-represented in the rows: (gap in share, phrase), or None."""
    text = values.astype("string").fillna("(missing)")
    overall = text.value_counts(normalize=True)
    inside = text[rows].value_counts(normalize=True)
    if inside.empty:
        return None
    gaps = (inside - overall.reindex(inside.index)).sort_values(ascending=False)
    level = gaps.index[0]
    if gaps.iloc[0] <= 0:
        return None
    return float(gaps.iloc[0]), f"{values.name} = {level}: {inside[level]:.0%} against {overall[level]:.0%} overall"


def segment_diagnostics(prepared: np.ndarray, labels: np.ndarray, segmenter: Any, profiles: list[dict[str, Any]],
                        seed: int = 0) -> dict[str, Any]:
    """What the segmentation report draws: the tries, a 2-D map and a silhouette diagram of a
    row sample, and the profiles. Plain data, saved as the model's diagnostics."""
    from sklearn.decomposition import PCA
    from sklearn.metrics import silhouette_samples

    rng = np.random.default_rng(seed)
    rows = np.arange(len(prepared)) if len(prepared) <= MAP_ROWS else rng.choice(len(prepared), MAP_ROWS,
                                                                                 replace=False)
    sample, sample_labels = prepared[rows], labels[rows]
    components = min(2, sample.shape[1])
    projection = PCA(components, random_state=seed).fit(prepared)
    coords = projection.transform(sample)
    if components == 1:
        coords = np.hstack([coords, np.zeros((len(coords), 1))])
    kept = sample_labels != NOISE
    silhouettes = None
    if 2 <= len(np.unique(sample_labels[kept])) < kept.sum():
        silhouettes = silhouette_samples(sample[kept], sample_labels[kept]).tolist()
    return to_json({
        "candidates": segmenter.candidates_,
        "choice": segmenter.choice_,
        "method": segmenter.method_,
        "n_clusters": int(segmenter.n_clusters_),
        "map": {"x": coords[:, 0].tolist(), "y": coords[:, 1].tolist(), "segment": sample_labels.tolist(),
                "explained": projection.explained_variance_ratio_.tolist()},
        "silhouette": None if silhouettes is None else {"segment": sample_labels[kept].tolist(),
                                                         "value": silhouettes},
        "profiles": profiles,
    })
