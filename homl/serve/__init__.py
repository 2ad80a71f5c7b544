"""Serving registered models: the REST server (``homl serve``)."""

from __future__ import annotations

from ._app import MAX_BODY_BYTES, REQUEST_ID, TIMEOUT_SECONDS, create_app, describe
from ._logging import PredictionLogger
from ._pool import ModelPool, ServedModel
from ._run import LOOPBACK, hash_key, serve
from ._schema import MAX_INSTANCES, BadRows, request_model

__all__ = [
    "LOOPBACK",
    "MAX_BODY_BYTES",
    "MAX_INSTANCES",
    "REQUEST_ID",
    "TIMEOUT_SECONDS",
    "BadRows",
    "ModelPool",
    "PredictionLogger",
    "ServedModel",
    "create_app",
    "describe",
    "hash_key",
    "request_model",
    "serve",
]
