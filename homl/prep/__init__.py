"""Preparation layer: turn typed table columns into features a model can learn from."""

from ._builder import TablePreprocessor, days_repeat, find_lat_lon, heavy_tailed
from ._transformers import ClipToRange, DateParts, DateValues, GeoFeatures, LogTransform, RatioFeatures, TextStatistics

__all__ = [
    "ClipToRange",
    "DateParts",
    "DateValues",
    "GeoFeatures",
    "LogTransform",
    "RatioFeatures",
    "TablePreprocessor",
    "TextStatistics",
    "days_repeat",
    "find_lat_lon",
    "heavy_tailed",
]
