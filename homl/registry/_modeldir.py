"""Save and load a trained model as a directory.

A model directory holds:

* ``model.skops``: the fitted estimator, serialised with :func:`skops.io.dump`
  (a zip of JSON and ``.npy`` files, never a pickle);
* optional further artifacts: fitted objects a kind needs beside it, each in a file whose
  suffix names its format (see :mod:`homl.registry._artifacts`), e.g. ``encoder.skops``;
* ``metadata.json``: the caller's metadata plus ``format_version``, ``kind`` (what sort of
  model this is, e.g. ``"supervised"``), ``created``, ``library_versions`` and ``artifacts``:
  every artifact's name, file and SHA-256 (``model`` is ``model.skops``);
* optional tables (``<name>.csv``) and extra files copied under a given name
  (a plain name, or one folder deep such as ``figures/roc.png``).

Reading checks every artifact's SHA-256 before loading any of them, so one changed file
refuses the whole directory. Format 1 (homl 0.1.0) had no ``kind`` and one artifact, whose
checksum was ``model_sha256``: it reads as a ``"supervised"`` model with that artifact.

Writing is atomic: everything goes into a hidden temporary directory next to the
target, is fsync'ed, then renamed into place. Replacing a model renames the old
one aside first and deletes it only once the new one is in place, so a crash
never leaves the target without a model.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from homl._atomic import free_sibling, remove_tree, replace_dir
from homl.errors import ModelDirError

from ._artifacts import format_for

if TYPE_CHECKING:
    import pandas as pd

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"
MODEL_ARTIFACT = "model"
FORMAT_VERSION = 2
"""The newest model directory format this homl writes and reads."""
DEFAULT_KIND = "supervised"
"""The kind of a model whose directory does not say (format 1 knew no other)."""

_DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "homl": ("homl",),
    "sklearn": ("scikit-learn",),
    "numpy": ("numpy",),
    "scipy": ("scipy",),
    "pandas": ("pandas",),
    "skops": ("skops",),
    "joblib": ("joblib",),
    "lightgbm": ("lightgbm",),
    "catboost": ("catboost",),
    "xgboost": ("xgboost", "xgboost-cpu"),
}

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


def _check_target(final: Path, shown: Path, overwrite: bool) -> None:
    """Raise unless the target is free: absent, an empty folder, or a model and ``overwrite``."""
    if not os.path.lexists(final):
        return
    if not final.is_dir():
        raise ModelDirError(f"{shown} exists and is not a directory; choose another model path")
    if is_model_dir(final):
        if not overwrite:
            raise ModelDirError(f"{shown} holds a model already; use overwrite=True to replace it")
        return
    if any(final.iterdir()):
        raise ModelDirError(
            f"{shown} is a non-empty directory that is not a homl model directory; "
            "refusing to replace it (choose a new or empty directory)"
        )


def _check_extra_names(
    shown: Path, artifacts: Mapping[str, object], tables: Mapping[str, object], files: Mapping[str, object]
) -> None:
    """Refuse artifact and extra file names that are not plain, unique and unreserved."""
    taken, stems = {MODEL_FILE, METADATA_FILE}, {MODEL_ARTIFACT}
    for filename in artifacts:
        stem = Path(filename).stem
        if not _is_plain_name(filename) or "/" in filename or filename in taken or stem in stems:
            raise ModelDirError(
                f"cannot write model directory {shown}: artifact {filename!r} is not a plain file name "
                "with a name of its own"
            )
        try:
            format_for(filename)
        except ModelDirError as error:
            raise ModelDirError(f"cannot write model directory {shown}: {error}") from None
        taken.add(filename)
        stems.add(stem)
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
    kind: str = DEFAULT_KIND,
    artifacts: Mapping[str, object] | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
    files: Mapping[str, str | os.PathLike[str]] | None = None,
    overwrite: bool = False,
) -> Path:
    """Save ``estimator`` with its metadata, artifacts, tables and extra files as a model directory.

    The target may be absent, an empty directory, or (with ``overwrite``) a homl
    model directory; anything else raises :class:`ModelDirError` and is left as is.
    ``artifacts`` maps file names to further fitted objects (``{"encoder.skops": encoder}``),
    each written in the format its suffix names and listed under its stem (``encoder``).
    Tables (pandas DataFrames) are written as ``<name>.csv`` without their index.
    ``format_version``, ``kind``, ``created``, ``library_versions`` and ``artifacts`` are
    set by homl and override keys of the same name in ``metadata``.
    Returns ``path`` as a :class:`~pathlib.Path`.
    """
    shown = Path(path)
    final = Path(os.path.abspath(shown))
    artifacts = dict(artifacts or {})
    tables = dict(tables or {})
    files = dict(files or {})
    _check_target(final, shown, overwrite)
    _check_extra_names(shown, artifacts, tables, files)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = _make_sibling_dir(final, "tmp")
    except OSError as exc:
        raise ModelDirError(f"cannot write model directory {shown}: {exc}") from exc
    try:
        _fill_dir(tmp, shown, {MODEL_FILE: estimator, **artifacts}, {**metadata, "kind": kind}, tables, files)
        replace_dir(tmp, final)  # an empty folder or a replaced model goes aside first
    except OSError as exc:
        raise ModelDirError(f"cannot write model directory {shown}: {exc}") from exc
    finally:
        if os.path.lexists(tmp):
            remove_tree(tmp)
    _fsync_dir(final.parent)
    return shown


def _make_sibling_dir(final: Path, tag: str) -> Path:
    """Create a new hidden directory next to ``final`` (default permissions)."""
    while True:
        candidate = free_sibling(final, tag)
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate


def _fill_dir(
    tmp: Path,
    shown: Path,
    artifacts: dict[str, object],
    metadata: Mapping[str, Any],
    tables: dict[str, pd.DataFrame],
    files: dict[str, str | os.PathLike[str]],
) -> None:
    """Write artifacts, tables, extra files and metadata into ``tmp``, all fsync'ed."""
    listed = {}
    for filename, obj in artifacts.items():
        try:
            format_for(filename).dump(obj, tmp / filename)
        except ModelDirError as error:
            raise ModelDirError(f"cannot write model directory {shown}: {error}") from None
        listed[Path(filename).stem] = {"file": filename, "sha256": _sha256(tmp / filename)}
    for name, table in tables.items():
        with open(tmp / f"{name}.csv", "w", encoding="utf-8", newline="") as fh:
            table.to_csv(fh, index=False)
            _flush_sync(fh)
    for name, source in files.items():
        _copy_file(Path(source), tmp / name, shown)
    full = {**metadata, **_saving_metadata(listed)}
    with open(tmp / METADATA_FILE, "w", encoding="utf-8") as fh:
        json.dump(full, fh, indent=2, default=_json_default)
        fh.write("\n")
        _flush_sync(fh)
    _fsync_dir(tmp)


def _copy_file(source: Path, dest: Path, shown: Path) -> None:
    if not source.is_file():
        raise ModelDirError(
            f"cannot write model directory {shown}: extra file {source} does not exist or is not a file"
        )
    dest.parent.mkdir(exist_ok=True)
    with open(source, "rb") as src, open(dest, "wb") as dst:
        shutil.copyfileobj(src, dst)
        _flush_sync(dst)


def _saving_metadata(artifacts: dict[str, dict[str, str]]) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "library_versions": library_versions(),
        "artifacts": artifacts,
    }


def _json_default(obj: Any) -> Any:
    """JSON fallback: numpy scalars and arrays become numbers and lists, others str."""
    if hasattr(obj, "tolist") and callable(obj.tolist):
        return obj.tolist()
    return str(obj)


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


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The checked ``metadata.json`` of a model directory, in the newest format's terms.

    A format-1 directory gets ``kind`` ``"supervised"`` and its one artifact listed. Raises
    :class:`ModelDirError` if the directory is missing or incomplete, or its metadata is
    invalid or from a newer format. Nothing but the JSON file is read.
    """
    shown = Path(path)
    _check_readable(shown)
    return _read_metadata(shown)


def read_model_dir(path: str | os.PathLike[str], *, kind: str | None = None) -> tuple[object, dict[str, Any]]:
    """Load ``(estimator, metadata)`` from a model directory, after checking it.

    Raises :class:`ModelDirError` as :func:`read_metadata` does, if the directory holds
    another ``kind`` of model than the one asked for, and if any artifact changed since it
    was saved (its SHA-256 differs) or ``model.skops`` needs a type homl does not trust
    (then nothing is loaded). Further artifacts load with :func:`read_artifact`.
    """
    shown = Path(path)
    metadata = read_metadata(shown)
    if kind is not None and metadata["kind"] != kind:
        raise ModelDirError(f"{shown} holds a model of kind {metadata['kind']!r}, not {kind!r}; load it with homl.load")
    files = {name: _verified_file(shown, metadata, name) for name in metadata["artifacts"]}
    model = files[MODEL_ARTIFACT]
    return format_for(model.name).load(model), metadata


def read_artifact(path: str | os.PathLike[str], metadata: Mapping[str, Any], name: str) -> object:
    """The artifact ``name`` listed in ``metadata``, checked against its SHA-256 and loaded by its format."""
    file = _verified_file(Path(path), metadata, name)
    return format_for(file.name).load(file)


def _verified_file(shown: Path, metadata: Mapping[str, Any], name: str) -> Path:
    """The artifact's file, refused if absent or changed since saving."""
    entry = metadata["artifacts"].get(name)
    if entry is None:
        listed = ", ".join(sorted(metadata["artifacts"]))
        raise ModelDirError(f"{shown} has no artifact named {name!r} (it has: {listed})")
    file = shown / entry["file"]
    if not file.is_file():
        raise ModelDirError(f"{shown}: artifact {name!r} ({entry['file']}) is missing")
    if _sha256(file) != entry["sha256"]:
        raise ModelDirError(
            f"{shown}: {entry['file']} was modified after saving (its SHA-256 does not "
            f"match the one in {METADATA_FILE}); refusing to load it"
        )
    return file


def _check_readable(shown: Path) -> None:
    if not os.path.lexists(shown):
        raise ModelDirError(f"no such model directory: {shown}")
    if not shown.is_dir():
        raise ModelDirError(f"{shown} is not a directory, so not a homl model directory")
    missing = [name for name in (MODEL_FILE, METADATA_FILE) if not (shown / name).is_file()]
    if missing:
        raise ModelDirError(f"{shown} is not a homl model directory (missing {' and '.join(missing)})")


def _read_metadata(shown: Path) -> dict[str, Any]:
    """Parse metadata.json and check its format version, kind and artifact list."""
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
    if version == 1:
        if not isinstance(metadata.get("model_sha256"), str):
            raise ModelDirError(f"{METADATA_FILE} in {shown} has no model_sha256 checksum")
        sha = metadata.pop("model_sha256")
        metadata["artifacts"] = {MODEL_ARTIFACT: {"file": MODEL_FILE, "sha256": sha}}
        metadata.setdefault("kind", DEFAULT_KIND)
    if not isinstance(metadata.get("kind"), str) or not metadata["kind"]:
        raise ModelDirError(f"{METADATA_FILE} in {shown} does not say which kind of model it holds (no 'kind')")
    if metadata["kind"] == DEFAULT_KIND and "task" in metadata:
        from homl.data import TASKS

        if not isinstance(metadata["task"], str) or metadata["task"] not in TASKS:
            raise ModelDirError(f"{METADATA_FILE} in {shown}: 'task' is {json.dumps(metadata['task'])[:40]}; "
                                f"expected one of {', '.join(map(repr, TASKS))}")
    _check_artifact_list(metadata.get("artifacts"), shown)
    return metadata


def _check_artifact_list(artifacts: Any, shown: Path) -> None:
    """Every entry a plain top-level file of a known format with a checksum; ``model`` is model.skops."""
    where = f"{METADATA_FILE} in {shown}"
    if not isinstance(artifacts, dict) or not isinstance(artifacts.get(MODEL_ARTIFACT), dict):
        raise ModelDirError(f"{where} has no valid list of artifacts with their checksums")
    if artifacts[MODEL_ARTIFACT].get("file") != MODEL_FILE:
        raise ModelDirError(f"{where}: the artifact 'model' must be {MODEL_FILE}")
    for name, entry in artifacts.items():
        file = entry.get("file") if isinstance(entry, dict) else None
        if not isinstance(file, str) or not _is_plain_name(file) or "/" in file or file == METADATA_FILE:
            raise ModelDirError(f"{where}: artifact {name!r} has no plain file name (got {file!r})")
        if not isinstance(entry.get("sha256"), str):
            raise ModelDirError(f"{where}: artifact {name!r} has no sha256 checksum")
        try:
            format_for(file)
        except ModelDirError as error:
            raise ModelDirError(f"{where}: {error}") from None
