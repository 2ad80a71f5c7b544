"""A PostgreSQL server for the registry's tests, started on a loopback port and stopped after;
and ``schema_at``, a SQLite registry database left at an older schema revision.

It needs Debian's ``postgresql`` package (``initdb`` and ``pg_ctl``) and the ``psycopg`` driver;
without them the PostgreSQL tests skip, saying which is missing. Run as root, the server runs as
the package's ``postgres`` user, as PostgreSQL requires.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or [shutil.which("initdb") or ""]
    if not found[-1]:
        pytest.skip("PostgreSQL is not installed here (Debian: apt-get install postgresql)")
    pytest.importorskip("psycopg", reason="the PostgreSQL driver is missing: pip install 'psycopg[binary]'")
    binaries = Path(found[-1]).parent
    folder = Path(tempfile.mkdtemp(prefix="homl-postgres-"))
    runner: list[str] = []
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("PostgreSQL refuses to run as root and there is no postgres user to run it as")
        folder.chmod(0o755)
        os.chown(folder, account.pw_uid, account.pw_gid)
        runner = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()
    subprocess.run([*runner, str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"],
                   check=True, capture_output=True)
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run([*runner, str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"),
                    "-w", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*runner, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh database on the test server."""
    import psycopg

    name = f"registry_{uuid.uuid4().hex[:12]}"
    address = postgres_server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{address}/postgres", autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return f"{postgres_server}/{name}"


@pytest.fixture
def schema_at():
    """``with schema_at(url, "0001") as connection:`` migrates the database at ``url`` to that revision
    only, and gives its open transaction to fill in (committed at the block's end)."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    import homl.registry

    @contextmanager
    def at(url: str, revision: str):
        config = Config()
        config.set_main_option("script_location", str(Path(homl.registry.__file__).parent / "migrations"))
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                yield connection
        finally:
            engine.dispose()

    return at
