"""A registry of model versions: metadata in a database, model directories in a content-addressed store.

``Registry(url)`` opens (and creates, or migrates with Alembic) the database at a SQLAlchemy
URL: a SQLite file by default (``$HOME/.homl/registry.db``, or ``HOML_REGISTRY``), PostgreSQL by
``postgresql://...``. ``add`` checks a model directory, copies it into the store under the
SHA-256 of its content, and records it as the model's next version (1, 2, ...) with who added it
and when, its kind, metrics, training-data hash and schema. Names and aliases are ASCII letters,
digits, ``-``, ``_`` and ``.`` (they end up in URLs and headers). Aliases name versions: ``promote``
moves ``production`` (a rollback promotes an older version), and any other alias can be set.
A sample of served predictions and the outcomes fed back for them are kept beside the versions
(see :mod:`homl.registry._logs`).

Writes are safe under concurrency and interruption:

- the version number is chosen inside the transaction that records it, under a write lock
  (SQLite's ``BEGIN IMMEDIATE``, a row lock on PostgreSQL), and a unique constraint backs it: two
  writers never get one number;
- the directory is copied beside its place in the store and renamed into it before the version
  is recorded, so a writer killed at any moment leaves either no version, or a whole one (at
  worst a copy nobody refers to, which the next add of the same content reuses).

Reading a version checks its files against their SHA-256 again: a store changed behind the
registry's back is refused.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from homl.errors import ModelDirError, RegistryError

from . import _tables as t
from ._logs import PredictionLogs
from ._modeldir import _verified_file, read_metadata

#: The alias ``promote`` moves: the version a server answers with.
PRODUCTION = "production"
#: The environment variable naming the registry's database URL.
REGISTRY_ENV = "HOML_REGISTRY"
_MIGRATIONS = Path(__file__).with_name("migrations")
_WRITE_TRIES = 5


def default_url() -> str:
    """``HOML_REGISTRY``, else a SQLite file in ``$HOME/.homl``."""
    return os.environ.get(REGISTRY_ENV) or f"sqlite:///{Path.home() / '.homl' / 'registry.db'}"


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model, and where its directory lies in the store."""

    name: str
    version: int
    sha256: str
    kind: str
    created_at: datetime
    created_by: str
    source: str
    path: Path
    metrics: dict[str, Any] = field(default_factory=dict)
    data_sha256: str | None = None
    schema: Any = None
    description: str | None = None
    aliases: tuple[str, ...] = ()


class Registry(PredictionLogs):
    """Model versions recorded in the database at ``url``, their directories under ``store``.

    ``store`` defaults to the folder ``store`` beside a SQLite file, else ``$HOME/.homl/store``
    (``HOML_REGISTRY_STORE`` overrides both).
    """

    def __init__(self, url: str | None = None, *, store: str | os.PathLike[str] | None = None):
        from sqlalchemy import create_engine, event
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        self.url = url or default_url()
        try:
            parsed = make_url(self.url)
        except Exception as error:
            raise RegistryError(f"registry URL {self.url!r} is not a database URL ({error}); expected e.g. "
                                "sqlite:///path/registry.db or postgresql://user@host/db") from None
        self._sqlite = parsed.get_backend_name() == "sqlite"
        if self._sqlite and _in_memory(parsed):
            raise RegistryError(f"registry URL {self.url!r} is an in-memory SQLite database, which forgets every "
                                "version when it closes; expected a file, e.g. sqlite:///path/registry.db")
        if self._sqlite and parsed.database:
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        default_store = (Path(parsed.database).expanduser().parent / "store" if self._sqlite and parsed.database
                         else Path.home() / ".homl" / "store")
        self.store = Path(store or os.environ.get("HOML_REGISTRY_STORE") or default_store)
        options = {"connect_args": {"timeout": 60}} if self._sqlite else {}
        try:
            self.engine = create_engine(self.url, **options)
        except (NoSuchModuleError, ImportError) as error:  # an unknown dialect, or its driver not installed
            raise RegistryError(f"cannot open the registry at {self.location}: no database driver for it here "
                                f"({error}); expected sqlite:///path/registry.db, or postgresql://user@host/db "
                                "with its driver installed (pip install 'psycopg[binary]')") from None
        except ArgumentError as error:
            raise RegistryError(f"cannot open the registry at {self.location}: {error}") from None
        if self._sqlite:  # writers take the lock at once, so that reading max(version) and writing it are one step
            @event.listens_for(self.engine, "connect")
            def _autocommit_driver(connection: Any, _: Any) -> None:
                connection.isolation_level = None
                connection.execute("PRAGMA journal_mode=WAL")

            @event.listens_for(self.engine, "begin")
            def _lock_at_begin(connection: Any) -> None:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
        self._migrate()

    # -------------------------------------------------------------- schema

    def _migrate(self) -> None:
        """Bring the database to the newest schema (creating it if empty), with Alembic."""
        from alembic import command
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory
        from sqlalchemy.exc import DBAPIError, OperationalError

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        head = ScriptDirectory.from_config(config).get_current_head()
        try:
            with self.engine.connect() as connection:
                if MigrationContext.configure(connection).get_current_revision() == head:
                    return
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except OperationalError as error:
            raise RegistryError(f"cannot open the registry at {self.location}: {error.orig}") from None
        except DBAPIError as error:  # e.g. a file that is not SQLite
            raise RegistryError(f"cannot open the registry at {self.location}: {error.orig}; expected a homl "
                                "registry database (a SQLite file it made, or a PostgreSQL database)") from None

    @property
    def location(self) -> str:
        """The database's URL, its password hidden."""
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)

    # -------------------------------------------------------------- writing

    def add(self, model_dir: str | os.PathLike[str], name: str, *, description: str | None = None) -> ModelVersion:
        """Record the model directory ``model_dir`` as the next version of ``name`` (created if new)."""
        if name not in self.names():  # a model named under older rules may still get versions
            _check_name(name)
        source = Path(model_dir)
        try:
            metadata = read_metadata(source)
            for artifact in metadata["artifacts"]:
                _verified_file(source, metadata, artifact)
        except ModelDirError as error:
            raise RegistryError(f"cannot register {source}: {error}") from None
        digest = directory_sha256(source)
        self._store_copy(source, digest)
        row = {
            "sha256": digest, "kind": metadata.get("kind", "supervised"), "created_by": _user(),
            "source": str(source.resolve()), "metrics": json.dumps(_metrics(metadata)),
            "data_sha256": metadata.get("data_sha256"), "schema": json.dumps(metadata.get("schema")),
            "description": description,
        }
        number = self._write(lambda connection: self._insert_version(connection, name, row))
        return self.get(name, number)

    def _insert_version(self, connection: Any, name: str, row: dict[str, Any]) -> int:
        from sqlalchemy import func, insert, select

        model_id = self._model_id(connection, name, create=True, lock=True)
        last = connection.execute(select(func.max(t.versions.c.version))
                                  .where(t.versions.c.model_id == model_id)).scalar()
        number = (last or 0) + 1
        connection.execute(insert(t.versions).values(model_id=model_id, version=number, created_at=_now(), **row))
        return number

    def promote(self, name: str, version: int | str, *, alias: str = PRODUCTION) -> ModelVersion:
        """Point ``alias`` (default ``production``) of ``name`` at ``version`` (a number or another alias)."""
        _check_name(alias, "alias")
        if str(alias).isdecimal():
            raise RegistryError(f"alias {alias!r} is a number, which would read as a version; choose a name")
        target = self.get(name, version)

        def move(connection: Any) -> None:
            from sqlalchemy import delete, insert, select

            model_id = self._model_id(connection, name, lock=True)
            version_id = connection.execute(select(t.versions.c.id).where(
                t.versions.c.model_id == model_id, t.versions.c.version == target.version)).scalar_one()
            connection.execute(delete(t.aliases).where(t.aliases.c.model_id == model_id, t.aliases.c.alias == alias))
            connection.execute(insert(t.aliases).values(model_id=model_id, alias=alias, version_id=version_id,
                                                        set_at=_now(), set_by=_user()))

        self._write(move)
        return self.get(name, target.version)

    def _write(self, work: Any) -> Any:
        """Run ``work(connection)`` in one write transaction, again if a concurrent writer won a race."""
        from sqlalchemy.exc import IntegrityError, OperationalError

        for attempt in range(_WRITE_TRIES):
            try:
                with self.engine.begin() as connection:
                    return work(connection)
            except (IntegrityError, OperationalError) as error:
                if attempt == _WRITE_TRIES - 1:
                    raise RegistryError(f"cannot write to the registry at {self.location}: {error.orig}") from None
                time.sleep(0.05 * (attempt + 1) + secrets.randbelow(50) / 1000)
        raise AssertionError("unreachable")

    def _model_id(self, connection: Any, name: str, *, create: bool = False, lock: bool = False) -> int:
        from sqlalchemy import insert, select

        query = select(t.models.c.id).where(t.models.c.name == name)
        if lock and not self._sqlite:
            query = query.with_for_update()
        found = connection.execute(query).scalar()
        if found is not None:
            return int(found)
        if not create:
            raise RegistryError(f"no model named {name!r} in the registry at {self.location}"
                                f"{self._known_names(connection)}")
        connection.execute(insert(t.models).values(name=name, created_at=_now()))
        return int(connection.execute(query).scalar_one())

    def _known_names(self, connection: Any) -> str:
        from sqlalchemy import select

        names = list(connection.execute(select(t.models.c.name).order_by(t.models.c.name)).scalars())
        return f" (it has: {', '.join(names[:10])})" if names else " (it is empty)"

    def _store_copy(self, source: Path, digest: str) -> Path:
        """The store's copy of ``source`` (named by ``digest``), copied now unless already there."""
        final = self._stored(digest)
        if final.is_dir():
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        partial = final.parent / f".incoming-{secrets.token_hex(6)}"
        try:
            shutil.copytree(source, partial)
            if directory_sha256(partial) != digest:
                raise RegistryError(f"{source} changed while it was being copied into the registry; add it again")
            try:
                os.replace(partial, final)
            except OSError:
                if not final.is_dir():  # another writer may have put the same content there first
                    raise
        finally:
            if partial.exists():
                shutil.rmtree(partial, ignore_errors=True)
        return final

    def _stored(self, digest: str) -> Path:
        return self.store / digest[:2] / digest

    # -------------------------------------------------------------- reading

    def names(self) -> list[str]:
        """The registered models' names, sorted."""
        from sqlalchemy import select

        with self.engine.connect() as connection:
            return list(connection.execute(select(t.models.c.name).order_by(t.models.c.name)).scalars())

    def versions(self, name: str) -> list[ModelVersion]:
        """Every version of ``name``, oldest first."""
        with self.engine.connect() as connection:
            model_id = self._model_id(connection, name)
            return list(self._rows(connection, name, model_id))

    def get(self, name: str, ref: int | str | None = None) -> ModelVersion:
        """Version ``ref`` of ``name``: a number, an alias, or None for ``production`` (else the newest)."""
        chosen = self.versions(name)
        if not chosen:
            raise RegistryError(f"model {name!r} has no versions")
        if ref is None:
            promoted = [v for v in chosen if PRODUCTION in v.aliases]
            return promoted[0] if promoted else chosen[-1]
        if isinstance(ref, int) or str(ref).isdecimal():
            found = [v for v in chosen if v.version == int(ref)]
        else:
            found = [v for v in chosen if ref in v.aliases]
        if not found:
            known = ", ".join(str(v.version) for v in chosen)
            aliases = sorted({a for v in chosen for a in v.aliases})
            raise RegistryError(f"model {name!r} has no version {ref!r} (versions: {known}"
                                f"{'; aliases: ' + ', '.join(aliases) if aliases else ''})")
        return found[0]

    def path(self, name: str, ref: int | str | None = None) -> Path:
        """The stored model directory of a version, its content checked against its SHA-256 first."""
        chosen = self.get(name, ref)
        if not chosen.path.is_dir():
            raise RegistryError(f"{name} version {chosen.version}: its directory is missing from the store "
                                f"({chosen.path})")
        if directory_sha256(chosen.path) != chosen.sha256:
            raise RegistryError(f"{name} version {chosen.version}: the stored files changed since they were "
                                f"registered ({chosen.path}); refusing to load them")
        return chosen.path

    def _rows(self, connection: Any, name: str, model_id: int) -> Iterator[ModelVersion]:
        from sqlalchemy import select

        aliases: dict[int, list[str]] = {}
        for alias, version_id in connection.execute(select(t.aliases.c.alias, t.aliases.c.version_id)
                                                    .where(t.aliases.c.model_id == model_id)):
            aliases.setdefault(version_id, []).append(alias)
        query = select(t.versions).where(t.versions.c.model_id == model_id).order_by(t.versions.c.version)
        for row in connection.execute(query).mappings():
            yield ModelVersion(
                name=name, version=row["version"], sha256=row["sha256"], kind=row["kind"],
                created_at=_aware(row["created_at"]), created_by=row["created_by"], source=row["source"],
                path=self._stored(row["sha256"]), metrics=json.loads(row["metrics"]),
                data_sha256=row["data_sha256"], schema=json.loads(row["schema"]) if row["schema"] else None,
                description=row["description"], aliases=tuple(sorted(aliases.get(row["id"], []))),
            )

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()


def directory_sha256(folder: Path) -> str:
    """The SHA-256 of a directory's content: each file's path (relative) and bytes, in path order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def _metrics(metadata: dict[str, Any]) -> dict[str, Any]:
    """What a version is measured by: the test score, and the metric's name."""
    kept = {key: metadata[key] for key in ("metric", "test_score", "baseline_test_score", "winner")
            if metadata.get(key) is not None}
    return json.loads(json.dumps(kept, default=str))


#: What a model name or alias may be: it goes into URL paths, HTTP headers, file names and
#: ``name@version`` references, so ASCII letters, digits and ``- _ .``, not starting with ``.`` or ``-``.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


def _check_name(name: str, what: str = "model name") -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise RegistryError(f"{what} {name!r}: expected 1 to 100 characters among ASCII letters, digits, '-', '_' "
                            "and '.', starting with a letter, digit or '_' (e.g. housing-v2)")


def _in_memory(url: Any) -> bool:
    """Whether a SQLite URL names an in-memory database rather than a file."""
    database = url.database or ""
    return database in ("", ":memory:") or database.startswith("file::memory:") or url.query.get("mode") == "memory"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime) -> datetime:
    """A time read back from the database, in UTC (SQLite returns it without its zone)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
