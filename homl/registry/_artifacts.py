"""The files a model directory stores its fitted objects in, each format with its own safe loader.

An artifact is one fitted object in one file: ``model.skops`` for every model, and beside it
whatever else a kind needs (a second skops file, and later a ``.keras`` network or an ONNX
graph). The file's suffix picks its :class:`ArtifactFormat`; each format writes the object and
reads it back without running code it does not trust. Formats are registered by suffix in
``FORMATS``: a new one is a ``dump`` and a ``load`` function and one :func:`register_format` call.

Trusted types (the skops format)
--------------------------------
Loading a skops file can create any object it names, so the loader first asks
:func:`skops.io.get_untrusted_types` which types the file needs beyond skops' own defaults
(primitives, containers, numpy ufuncs and dtypes, sklearn estimators), and loads the file only
if every one of them passes :func:`is_trusted_type`; otherwise it raises
:class:`~homl.errors.ModelDirError` naming them, without creating any object. Writing applies
the same check after dumping, so homl never writes a model it would refuse to read.

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

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from homl.errors import ModelDirError


@dataclass(frozen=True)
class ArtifactFormat:
    """How files with one suffix are written and safely read back.

    ``dump(obj, path)`` writes ``obj`` to ``path`` (flushed to disk) and raises
    :class:`ModelDirError` for an object the format would refuse to load; ``load(path)``
    returns the object, or raises :class:`ModelDirError` without running untrusted code.
    """

    suffix: str
    dump: Callable[[object, Path], None]
    load: Callable[[Path], object]


FORMATS: dict[str, ArtifactFormat] = {}
"""The artifact formats homl reads and writes, by file suffix (``".skops"``)."""


def register_format(fmt: ArtifactFormat) -> None:
    """Make files ending in ``fmt.suffix`` storable in model directories."""
    if not re.fullmatch(r"\.[a-z0-9]+", fmt.suffix):
        raise ValueError(f"an artifact suffix is a dot and lowercase letters or digits, got {fmt.suffix!r}")
    FORMATS[fmt.suffix] = fmt


def format_for(filename: str) -> ArtifactFormat:
    """The format of an artifact file, from its suffix; a :class:`ModelDirError` if none reads it."""
    suffix = Path(filename).suffix.lower()
    if suffix not in FORMATS:
        raise ModelDirError(
            f"artifact {filename!r} has no registered format (known suffixes: {', '.join(sorted(FORMATS))})"
        )
    return FORMATS[suffix]


# ---------------------------------------------------------------- trusted types

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
#: PyOD's detectors that homl offers (plain fitted parameters; PyOD's other models are not trusted).
_TRUSTED_PYOD_TYPES = frozenset({"pyod.models.ecod.ECOD", "pyod.models.copod.COPOD", "pyod.models.hbos.HBOS"})
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
    return name in _TRUSTED_STDLIB_TYPES or name in _TRUSTED_PYOD_TYPES


def _looks_dangerous(name: str) -> bool:
    """Guard independent of the allowlist: names that smell of code execution."""
    lowered = name.lower()
    if any(bad in lowered for bad in _DENIED_SUBSTRINGS):
        return True
    parts = re.split(r"[._]", lowered)
    return any(part in _DENIED_PARTS for part in parts)


def _untrusted(types: list[str]) -> list[str]:
    return sorted(t for t in types if not is_trusted_type(t))


# ------------------------------------------------------------------- skops


def _dump_skops(obj: object, path: Path) -> None:
    """Serialise with skops, refusing objects homl would not load back."""
    import skops.io

    with open(path, "wb") as fh:
        skops.io.dump(obj, fh)
        fh.flush()
        os.fsync(fh.fileno())
    bad = _untrusted(skops.io.get_untrusted_types(file=path))
    if bad:
        raise ModelDirError(
            f"{path.name} would hold types homl does not trust and would refuse to load: {', '.join(bad)}"
        )


def _load_skops(path: Path) -> object:
    """Load a skops file if every type it needs is on homl's allowlist."""
    import skops.io

    try:
        types = skops.io.get_untrusted_types(file=path)
    except Exception as exc:
        raise ModelDirError(f"{path.name} in {path.parent} is not a valid skops file: {exc}") from exc
    bad = _untrusted(types)
    if bad:
        raise ModelDirError(
            f"{path.name} in {path.parent} contains types homl does not trust: {', '.join(bad)}; refusing to load it"
        )
    try:
        return skops.io.load(path, trusted=types)
    except Exception as exc:
        raise ModelDirError(f"cannot load {path.name} in {path.parent}: {exc}") from exc


SKOPS = ArtifactFormat(".skops", _dump_skops, _load_skops)
register_format(SKOPS)
