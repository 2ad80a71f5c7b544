"""Save and load a trained model as a directory.

A model directory holds:

* ``model.skops``: the fitted estimator, serialised with :func:`skops.io.dump`
  (a zip of JSON and ``.npy`` files, never a pickle);
* ``metadata.json``: the caller's metadata plus ``format_version``, ``created``,
  ``library_versions`` and ``model_sha256`` (the SHA-256 of ``model.skops``);
* optional tables (``<name>.csv``) and extra files copied under a given name
  (a plain name, or one folder deep such as ``figures/roc.png``).

Writing is atomic: everything goes into a hidden temporary directory next to the
target, is fsync'ed, then renamed into place. Replacing a model renames the old
one aside first and deletes it only once the new one is in place, so a crash
never leaves the target without a model.

Trusted types
-------------
Loading a skops file can create any object it names, so :func:`read_model_dir`
first asks :func:`skops.io.get_untrusted_types` which types the file needs beyond
skops' own defaults (primitives, containers, numpy ufuncs and dtypes, sklearn
estimators), and loads the file only if every one of them passes
:func:`is_trusted_type`; otherwise it raises :class:`~homl.errors.ModelDirError`
naming them, without creating any object. :func:`write_model_dir` applies the same
check after dumping, so homl never writes a model it would refuse to read.

:func:`is_trusted_type` accepts a dotted name when no guard rejects it and it is

* under ``sklearn.``, ``homl.``, ``lightgbm.`` or ``xgboost.`` (estimators and
  their internal helpers such as ``sklearn.tree._tree.Tree``,
  ``lightgbm.basic.Booster``, ``xgboost.core.Booster``), except the sub-packages in
  ``_DENIED_PREFIXES`` (dataset downloaders, test helpers, the CLI, distributed
  back-ends...);
* a numpy data-holding type: ``numpy.dtype``, ``numpy.ndarray``,
  ``numpy.ma.core.MaskedArray`` or a ``numpy.dtypes.*DType`` class; no numpy
  function (``numpy.load``, ``numpy.lib.*``...);
* a scipy sparse matrix or array class (``scipy.sparse._csr.csr_matrix``...);
* one of the few inert stdlib types in ``_TRUSTED_STDLIB_TYPES``
  (``collections.OrderedDict`` is needed by LightGBM).

No ``pandas`` type is trusted: skops 0.16 cannot round-trip pandas objects (a
``Series`` dumps but fails to load; ``Index``, ``Categorical`` and ``DataFrame``
fail to dump), so homl models must not keep pandas objects as fitted attributes.
Everything else is refused, in particular ``builtins`` functions (``eval``,
``exec``, ``getattr``...), ``os``/``posix``/``nt``, ``subprocess``, ``operator``,
``functools.partial``, ``importlib``, ``pickle``, ``marshal``, ``runpy``,
``shutil`` and ``sys``. As a second guard, a name is refused if any of its
dotted or underscore-separated parts is ``eval``, ``exec``, ``system``, ``popen``
or ``import`` (the last catches ``__import__``), or if it contains ``.system`` or
``.popen``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from homl.errors import ModelDirError

if TYPE_CHECKING:
    import pandas as pd

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"
FORMAT_VERSION = 1
"""The newest model directory format this homl writes and reads."""

_TRUSTED_PREFIXES = ("sklearn.", "homl.", "lightgbm.", "xgboost.")
_DENIED_PREFIXES = (
    "sklearn.datasets.",
    "sklearn.externals.",
    "sklearn.utils._testing",
    "sklearn.utils._show_versions",
    "homl.cli.",
    "homl.registry.",
    "lightgbm.dask",
    "xgboost.dask",
    "xgboost.spark",
    "xgboost.collective",
    "xgboost.tracker",
    "xgboost.federated",
    "xgboost.testing",
)
_TRUSTED_NUMPY_TYPES = frozenset({"numpy.dtype", "numpy.ndarray", "numpy.ma.core.MaskedArray"})
_NUMPY_DTYPE_CLASS = re.compile(r"numpy\.dtypes\.\w+DType")
_SCIPY_SPARSE_CLASS = re.compile(r"scipy\.sparse\._\w+\.\w+_(matrix|array)")
_TRUSTED_STDLIB_TYPES = frozenset(
    {
        "collections.OrderedDict",
        "builtins.frozenset",
        "builtins.range",
        "builtins.slice",
        "datetime.date",
        "datetime.datetime",
        "datetime.timedelta",
    }
)
_DENIED_PARTS = frozenset({"eval", "exec", "system", "popen", "import"})
_DENIED_SUBSTRINGS = (".system", ".popen", "__import__")

_DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "homl": ("homl",),
    "sklearn": ("scikit-learn",),
    "numpy": ("numpy",),
    "scipy": ("scipy",),
    "pandas": ("pandas",),
    "skops": ("skops",),
    "joblib": ("joblib",),
    "lightgbm": ("lightgbm",),
    "xgboost": ("xgboost", "xgboost-cpu"),
}

_Existing = Literal["absent", "empty", "model"]


# ---------------------------------------------------------------- trusted types


def is_trusted_type(name: str) -> bool:
    """Whether homl lets skops create objects of the type with this dotted name."""
    if _looks_dangerous(name):
        return False
    if name.startswith(_TRUSTED_PREFIXES):
        return not name.startswith(_DENIED_PREFIXES)
    if name.startswith("numpy."):
        return name in _TRUSTED_NUMPY_TYPES or _NUMPY_DTYPE_CLASS.fullmatch(name) is not None
    if name.startswith("scipy.sparse."):
        return _SCIPY_SPARSE_CLASS.fullmatch(name) is not None
    return name in _TRUSTED_STDLIB_TYPES


def _looks_dangerous(name: str) -> bool:
    """Guard independent of the allowlist: names that smell of code execution."""
    lowered = name.lower()
    if any(bad in lowered for bad in _DENIED_SUBSTRINGS):
        return True
    parts = re.split(r"[._]", lowered)
    return any(part in _DENIED_PARTS for part in parts)


def _untrusted(types: list[str]) -> list[str]:
    return sorted(t for t in types if not is_trusted_type(t))


# ------------------------------------------------------------------- versions


def library_versions() -> dict[str, str]:
    """Versions of Python and of the installed libraries a model may depend on.

    Uses package metadata only, so nothing heavy is imported.
    """
    versions = {"python": platform.python_version()}
    for key, dists in _DISTRIBUTIONS.items():
        version = _dist_version(dists)
        if version is not None:
            versions[key] = version
    if "homl" not in versions:
        from homl._version import __version__

        versions["homl"] = __version__
    return versions


def _dist_version(dists: tuple[str, ...]) -> str | None:
    for dist in dists:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


# ------------------------------------------------------------------- checks


def is_model_dir(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a directory holding ``model.skops`` and ``metadata.json``."""
    p = Path(path)
    return p.is_dir() and (p / MODEL_FILE).is_file() and (p / METADATA_FILE).is_file()


def _check_target(final: Path, shown: Path, overwrite: bool) -> _Existing:
    """Say what is at the target now, or raise if it must not be replaced."""
    if not os.path.lexists(final):
        return "absent"
    if not final.is_dir():
        raise ModelDirError(f"{shown} exists and is not a directory; choose another model path")
    if is_model_dir(final):
        if not overwrite:
            raise ModelDirError(f"{shown} holds a model already; use --overwrite to replace it")
        return "model"
    if any(final.iterdir()):
        raise ModelDirError(
            f"{shown} is a non-empty directory that is not a homl model directory; "
            "refusing to replace it (choose a new or empty directory)"
        )
    return "empty"


def _check_extra_names(shown: Path, tables: Mapping[str, object], files: Mapping[str, object]) -> None:
    """Refuse extra file names that are not plain, unique and unreserved."""
    taken = {MODEL_FILE, METADATA_FILE}
    names = [(f"{name}.csv", f"table {name!r}") for name in tables]
    names += [(name, f"file {name!r}") for name in files]
    for filename, what in names:
        if not _is_plain_name(filename) or filename in taken:
            raise ModelDirError(
                f"cannot write model directory {shown}: {what} would be stored as "
                f"{filename!r}, which is not a plain, unused file name"
            )
        taken.add(filename)


def _is_plain_name(filename: str) -> bool:
    """A plain file name, or ``folder/name`` of plain names (e.g. ``figures/roc.png``)."""
    parts = filename.split("/")
    return len(parts) <= 2 and all(
        bool(part) and not part.startswith(".") and "\\" not in part and "\0" not in part for part in parts
    )


# -------------------------------------------------------------------- writing


def write_model_dir(
    path: str | os.PathLike[str],
    estimator: object,
    metadata: Mapping[str, Any],
    *,
    tables: Mapping[str, pd.DataFrame] | None = None,
    files: Mapping[str, str | os.PathLike[str]] | None = None,
    overwrite: bool = False,
) -> Path:
    """Save ``estimator`` with its metadata, tables and extra files as a model directory.

    The target may be absent, an empty directory, or (with ``overwrite``) a homl
    model directory; anything else raises :class:`ModelDirError` and is left as is.
    Tables (pandas DataFrames) are written as ``<name>.csv`` without their index.
    ``format_version``, ``created``, ``library_versions`` and ``model_sha256`` are
    set by homl and override keys of the same name in ``metadata``.
    Returns ``path`` as a :class:`~pathlib.Path`.
    """
    shown = Path(path)
    final = Path(os.path.abspath(shown))
    tables = dict(tables or {})
    files = dict(files or {})
    existing = _check_target(final, shown, overwrite)
    _check_extra_names(shown, tables, files)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = _make_sibling_dir(final, "tmp")
    except OSError as exc:
        raise ModelDirError(f"cannot write model directory {shown}: {exc}") from exc
    try:
        _fill_dir(tmp, shown, estimator, metadata, tables, files)
        _move_into_place(tmp, final, existing)
    except OSError as exc:
        raise ModelDirError(f"cannot write model directory {shown}: {exc}") from exc
    finally:
        if os.path.lexists(tmp):
            _remove_tree(tmp)
    _fsync_dir(final.parent)
    return shown


def _make_sibling_dir(final: Path, kind: str) -> Path:
    """Create a new hidden directory next to ``final`` (default permissions)."""
    while True:
        candidate = _sibling_name(final, kind)
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate


def _sibling_name(final: Path, kind: str) -> Path:
    """A free hidden name next to ``final``, e.g. ``.model.tmp-1a2b3c4d``."""
    while True:
        candidate = final.with_name(f".{final.name}.{kind}-{secrets.token_hex(4)}")
        if not os.path.lexists(candidate):
            return candidate


def _fill_dir(
    tmp: Path,
    shown: Path,
    estimator: object,
    metadata: Mapping[str, Any],
    tables: dict[str, pd.DataFrame],
    files: dict[str, str | os.PathLike[str]],
) -> None:
    """Write model, tables, extra files and metadata into ``tmp``, all fsync'ed."""
    model_path = tmp / MODEL_FILE
    _dump_model(estimator, model_path, shown)
    for name, table in tables.items():
        with open(tmp / f"{name}.csv", "w", encoding="utf-8", newline="") as fh:
            table.to_csv(fh, index=False)
            _flush_sync(fh)
    for name, source in files.items():
        _copy_file(Path(source), tmp / name, shown)
    full = {**metadata, **_saving_metadata(model_path)}
    with open(tmp / METADATA_FILE, "w", encoding="utf-8") as fh:
        json.dump(full, fh, indent=2, default=_json_default)
        fh.write("\n")
        _flush_sync(fh)
    _fsync_dir(tmp)


def _dump_model(estimator: object, model_path: Path, shown: Path) -> None:
    """Serialise with skops, refusing models homl would not load back."""
    import skops.io

    with open(model_path, "wb") as fh:
        skops.io.dump(estimator, fh)
        _flush_sync(fh)
    bad = _untrusted(skops.io.get_untrusted_types(file=model_path))
    if bad:
        raise ModelDirError(
            f"cannot write model directory {shown}: the model contains types homl "
            f"does not trust and would refuse to load: {', '.join(bad)}"
        )


def _copy_file(source: Path, dest: Path, shown: Path) -> None:
    if not source.is_file():
        raise ModelDirError(
            f"cannot write model directory {shown}: extra file {source} does not exist or is not a file"
        )
    dest.parent.mkdir(exist_ok=True)
    with open(source, "rb") as src, open(dest, "wb") as dst:
        shutil.copyfileobj(src, dst)
        _flush_sync(dst)


def _saving_metadata(model_path: Path) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "library_versions": library_versions(),
        "model_sha256": _sha256(model_path),
    }


def _json_default(obj: Any) -> Any:
    """JSON fallback: numpy scalars and arrays become numbers and lists, others str."""
    if hasattr(obj, "tolist") and callable(obj.tolist):
        return obj.tolist()
    return str(obj)


def _move_into_place(tmp: Path, final: Path, existing: _Existing) -> None:
    """Rename the finished ``tmp`` to ``final``; a replaced model goes aside first."""
    if existing == "absent":
        os.rename(tmp, final)
    elif existing == "empty":
        final.rmdir()
        os.rename(tmp, final)
    else:
        aside = _sibling_name(final, "old")
        os.rename(final, aside)
        try:
            os.rename(tmp, final)
        except BaseException:
            os.rename(aside, final)
            raise
        _remove_tree(aside)


def _remove_tree(path: Path) -> None:
    """Best-effort removal of a directory tree (or of a link to one)."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def _flush_sync(fh: Any) -> None:
    fh.flush()
    os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    """Persist a directory's entries (POSIX only; a no-op where unsupported)."""
    if os.name == "nt":
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# -------------------------------------------------------------------- reading


def read_model_dir(path: str | os.PathLike[str]) -> tuple[object, dict[str, Any]]:
    """Load ``(estimator, metadata)`` from a model directory, after checking it.

    Raises :class:`ModelDirError` if the directory is missing or incomplete, its
    metadata is invalid or from a newer format, ``model.skops`` changed since it
    was saved, or it needs a type homl does not trust (then nothing is loaded).
    """
    shown = Path(path)
    _check_readable(shown)
    metadata = _read_metadata(shown)
    model_path = shown / MODEL_FILE
    if _sha256(model_path) != metadata["model_sha256"]:
        raise ModelDirError(
            f"{shown}: {MODEL_FILE} was modified after saving (its SHA-256 does not "
            f"match the one in {METADATA_FILE}); refusing to load it"
        )
    return _load_model(model_path, shown), metadata


def _check_readable(shown: Path) -> None:
    if not os.path.lexists(shown):
        raise ModelDirError(f"no such model directory: {shown}")
    if not shown.is_dir():
        raise ModelDirError(f"{shown} is not a directory, so not a homl model directory")
    missing = [name for name in (MODEL_FILE, METADATA_FILE) if not (shown / name).is_file()]
    if missing:
        raise ModelDirError(f"{shown} is not a homl model directory (missing {' and '.join(missing)})")


def _read_metadata(shown: Path) -> dict[str, Any]:
    """Parse metadata.json and check its format version and checksum field."""
    meta_path = shown / METADATA_FILE
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelDirError(f"{METADATA_FILE} in {shown} is not valid JSON: {exc}") from exc
    if not isinstance(metadata, dict):
        raise ModelDirError(f"{METADATA_FILE} in {shown} is not a JSON object")
    version = metadata.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelDirError(f"{METADATA_FILE} in {shown} has no valid format_version (got {version!r})")
    if version > FORMAT_VERSION:
        raise ModelDirError(
            f"{shown} was saved in model format {version}, newer than this homl reads "
            f"(up to {FORMAT_VERSION}); upgrade homl to load it"
        )
    if not isinstance(metadata.get("model_sha256"), str):
        raise ModelDirError(f"{METADATA_FILE} in {shown} has no model_sha256 checksum")
    return metadata


def _load_model(model_path: Path, shown: Path) -> object:
    """Load model.skops if every type it needs is on homl's allowlist."""
    import skops.io

    try:
        types = skops.io.get_untrusted_types(file=model_path)
    except Exception as exc:
        raise ModelDirError(f"{MODEL_FILE} in {shown} is not a valid skops file: {exc}") from exc
    bad = _untrusted(types)
    if bad:
        raise ModelDirError(
            f"{MODEL_FILE} in {shown} contains types homl does not trust: {', '.join(bad)}; refusing to load it"
        )
    try:
        return skops.io.load(model_path, trusted=types)
    except Exception as exc:
        raise ModelDirError(f"cannot load {MODEL_FILE} in {shown}: {exc}") from exc
