"""Model layer: the zoo of model families, their search spaces, and pipeline assembly."""

from ._build import PREP_PREFIX, build_pipeline, threads_for, tunable_space
from ._space import Choice, FloatRange, IntRange, Space, sample
from ._wrappers import EarlyStopping, LabelEncoded, RowCap
from ._zoo import SPECS, ModelSpec, candidates_for, get_spec, missing_families, prep_space

__all__ = [
    "PREP_PREFIX",
    "SPECS",
    "Choice",
    "EarlyStopping",
    "FloatRange",
    "IntRange",
    "LabelEncoded",
    "ModelSpec",
    "RowCap",
    "Space",
    "build_pipeline",
    "candidates_for",
    "get_spec",
    "missing_families",
    "prep_space",
    "sample",
    "threads_for",
    "tunable_space",
]
