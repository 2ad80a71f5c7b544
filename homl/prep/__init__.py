"""Preparation layer: turn typed table columns into features a model can learn from."""

from ._builder import TablePreprocessor, find_lat_lon, heavy_tailed
from ._transformers import ClipToRange, DateParts, GeoFeatures, LogTransform, RatioFeatures

__all__ = [
    "ClipToRange",
    "DateParts",
    "GeoFeatures",
    "LogTransform",
    "RatioFeatures",
    "TablePreprocessor",
    "find_lat_lon",
    "heavy_tailed",
]
