"""Run the server with uvicorn: ``serve(["housing"], port=8080)``, as ``homl serve`` does."""

from __future__ import annotations

import errno
import hashlib
import ipaddress
import os
import socket
from collections.abc import Callable

from homl.errors import ConfigError
from homl.registry import Registry

from ._app import create_app
from ._logging import PredictionLogger
from ._pool import ModelPool

#: Addresses only this machine reaches, where the server may run without API keys.
LOOPBACK = ("127.0.0.1", "::1", "localhost")
#: The environment variable with the SHA-256 hashes of the accepted API keys, comma-separated.
KEYS_ENV = "HOML_API_KEY_HASHES"
#: The longest wait between two checks of the registry for newly promoted versions.
MAX_POLL_SECONDS = 86_400


def hash_key(key: str) -> str:
    """The SHA-256 of an API key, as the server keeps it (``homl serve --api-key-hash``)."""
    return hashlib.sha256(key.encode()).hexdigest()


def serve(names: list[str] | None = None, *, registry: str | None = None, host: str = "127.0.0.1", port: int = 8080,
          api_key_hashes: list[str] | None = None, insecure: bool = False, poll_seconds: float | None = 5.0,
          onnx: bool = True, log_inputs: float = 0.0, on_start: Callable[[], None] | None = None) -> None:
    """Serve the promoted version of each of ``names`` (every registered model when None) until stopped.

    The registry is checked for newly promoted versions every ``poll_seconds`` (0 or None: never).
    Each model predicts in ONNX Runtime where its checked ONNX form exists, unless ``onnx`` is False.
    With ``log_inputs`` (a share of requests, up to 1), that share of requests' rows and predictions
    goes to the registry's prediction log, for ``homl feedback`` and ``homl monitor``.
    Off the loopback address, API keys are required unless ``insecure``: their SHA-256 hashes,
    from ``api_key_hashes`` or the ``HOML_API_KEY_HASHES`` variable. ``on_start`` is called once every
    setting is checked, the models are loaded and the address is free, just before serving.
    """
    import uvicorn

    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError(f"--port {port!r}: expected a port number from 1 to 65535")
    if poll_seconds is not None and not 0 <= poll_seconds <= MAX_POLL_SECONDS:
        raise ConfigError(f"--poll {poll_seconds!r}: expected the seconds between checks of the registry, from 0 "
                          f"(never) to {MAX_POLL_SECONDS} (a day)")
    if not 0 <= log_inputs <= 1:
        raise ConfigError(f"--log-inputs {log_inputs:g}: expected the share of requests to log, from 0 to 1 "
                          "(e.g. 0.1 for one request in ten)")
    hashes = list(api_key_hashes or []) + [h for h in os.environ.get(KEYS_ENV, "").split(",") if h.strip()]
    for value in hashes:
        if len(value.strip()) != 64 or any(c not in "0123456789abcdefABCDEF" for c in value.strip()):
            raise ConfigError(f"API key hash {value[:12]!r}...: expected 64 hexadecimal characters (hash a key "
                              "with: python -c \"import homl.serve; print(homl.serve.hash_key('KEY'))\")")
    if not _loopback(host) and not hashes and not insecure:
        raise ConfigError(f"serving on {host} reaches other machines: give API key hashes (--api-key-hash) or "
                          "--insecure to serve without keys")
    opened = Registry(registry)
    if not names and not opened.names():
        raise ConfigError(f"the registry at {opened.location} has no models to serve: add one with "
                          "`homl registry add MODEL_DIR --name NAME`")
    pool = ModelPool(opened, names, onnx=onnx)
    logger = PredictionLogger(opened, log_inputs) if log_inputs > 0 else None
    app = create_app(pool, api_key_hashes={h.strip() for h in hashes} or None, poll_seconds=poll_seconds,
                     prediction_log=logger)
    _check_free(host, port)
    if on_start is not None:
        on_start()
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _check_free(host: str, port: int) -> None:
    """A clear error when ``host:port`` cannot be listened on (taken, or not this machine's address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a closing socket is no obstacle
        try:
            probe.bind((host, port))
        except OSError as error:  # a name that does not resolve included
            taken = error.errno == errno.EADDRINUSE
            hint = "another server listens there: stop it or pick another --port" if taken else "check --host and --port"
            raise ConfigError(f"cannot listen on {host}:{port}: {error.strerror or error} ({hint})") from None


def _loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
