"""Saving trained models as directories and loading them back safely."""

from __future__ import annotations

from homl.registry._modeldir import (
    FORMAT_VERSION,
    METADATA_FILE,
    MODEL_FILE,
    is_model_dir,
    is_trusted_type,
    library_versions,
    read_model_dir,
    write_model_dir,
)

__all__ = [
    "FORMAT_VERSION",
    "METADATA_FILE",
    "MODEL_FILE",
    "is_model_dir",
    "is_trusted_type",
    "library_versions",
    "read_model_dir",
    "write_model_dir",
]
