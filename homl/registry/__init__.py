"""Saving trained models as directories and loading them back safely."""

from __future__ import annotations

from homl.registry._artifacts import FORMATS, ArtifactFormat, format_for, is_trusted_type, register_format
from homl.registry._logs import FeedbackCount, LoggedPrediction, PredictionLog
from homl.registry._modeldir import (
    DEFAULT_KIND,
    FORMAT_VERSION,
    METADATA_FILE,
    MODEL_ARTIFACT,
    MODEL_FILE,
    is_model_dir,
    library_versions,
    read_artifact,
    read_metadata,
    read_model_dir,
    write_model_dir,
)
from homl.registry._versions import PRODUCTION, REGISTRY_ENV, ModelVersion, Registry, default_url, directory_sha256

__all__ = [
    "FeedbackCount",
    "LoggedPrediction",
    "PredictionLog",
    "PRODUCTION",
    "REGISTRY_ENV",
    "ModelVersion",
    "Registry",
    "default_url",
    "directory_sha256",
    "DEFAULT_KIND",
    "FORMATS",
    "FORMAT_VERSION",
    "METADATA_FILE",
    "MODEL_ARTIFACT",
    "MODEL_FILE",
    "ArtifactFormat",
    "format_for",
    "is_model_dir",
    "is_trusted_type",
    "library_versions",
    "read_artifact",
    "read_metadata",
    "read_model_dir",
    "register_format",
    "write_model_dir",
]
