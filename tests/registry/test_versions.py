"""The registry of model versions: numbering, aliases and rollback, the content-addressed store,
migrations from an older schema, concurrent writers, a writer killed half-way, the CLI."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from typer.testing import CliRunner

from homl.cli import app
from homl.errors import RegistryError
from homl.registry import PRODUCTION, Registry, write_model_dir


def _model_dir(folder: Path, slope: float = 2.0) -> Path:
    X = np.arange(20.0).reshape(-1, 1)
    model = LinearRegression().fit(X, slope * X.ravel())
    metadata = {"metric": "rmse", "test_score": {"metric": "rmse", "value": slope, "low": 0.0, "high": 1.0,
                                                  "n_rows": 4, "confidence": 0.95},
                "data_sha256": "ab" * 32, "schema": {"target": "y", "columns": [{"name": "x", "kind": "numeric"}]}}
    return write_model_dir(folder, model, metadata)


@pytest.fixture(params=["sqlite", "postgresql"])
def registry(request, tmp_path) -> Registry:
    """A new registry in SQLite, and in a real PostgreSQL server (see conftest.py)."""
    if request.param == "sqlite":
        return Registry(f"sqlite:///{tmp_path / 'registry.db'}")
    return Registry(request.getfixturevalue("postgres_url"), store=tmp_path / "store")


def test_versions_are_numbered_and_promotion_moves_production_back_and_forth(registry, tmp_path):
    first = registry.add(_model_dir(tmp_path / "v1", 2.0), "housing")
    second = registry.add(_model_dir(tmp_path / "v2", 3.0), "housing", description="more rows")
    assert (first.version, second.version) == (1, 2) and second.description == "more rows"
    assert second.kind == "supervised" and second.metrics["test_score"]["value"] == 3.0
    assert second.data_sha256 == "ab" * 32 and second.schema["target"] == "y" and second.created_by
    assert registry.get("housing").version == 2  # nothing promoted yet: the newest
    assert registry.promote("housing", 2).aliases == (PRODUCTION,)
    registry.promote("housing", 1)  # a rollback
    assert registry.get("housing").version == 1 and registry.get("housing", "production").version == 1
    assert registry.versions("housing")[1].aliases == ()
    registry.promote("housing", 2, alias="staging")
    assert registry.get("housing", "staging").version == 2 and registry.names() == ["housing"]


def test_the_store_holds_each_content_once_and_refuses_files_changed_behind_its_back(registry, tmp_path):
    source = _model_dir(tmp_path / "v1")
    first, again = registry.add(source, "a"), registry.add(source, "b")
    assert first.path == again.path and first.path.parent.parent == registry.store
    assert registry.path("a") == first.path
    (first.path / "metadata.json").write_text("{}", encoding="utf-8")
    with pytest.raises(RegistryError, match="changed since they were registered"):
        registry.path("a")


def test_bad_names_versions_and_directories_are_named(registry, tmp_path):
    registry.add(_model_dir(tmp_path / "v1"), "housing")
    with pytest.raises(RegistryError, match=r"no model named 'titanic' .*\(it has: housing\)"):
        registry.get("titanic")
    with pytest.raises(RegistryError, match=r"no version 7 \(versions: 1\)"):
        registry.get("housing", 7)
    with pytest.raises(RegistryError, match="no version 'staging'"):
        registry.promote("housing", "staging")
    with pytest.raises(RegistryError, match="is a number"):
        registry.promote("housing", 1, alias="2")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RegistryError, match="cannot register"):
        registry.add(tmp_path / "empty", "housing")
    with pytest.raises(RegistryError, match="model name 'a/b': expected 1 to 100 characters among ASCII letters"):
        registry.add(_model_dir(tmp_path / "v2"), "a/b")
    with pytest.raises(RegistryError, match="not a database URL"):
        Registry("not a url at all")
    assert [v.version for v in registry.versions("housing")] == [1]


@pytest.mark.parametrize("name", ["m{version}", "m{x}", "a@b", "..", ".", ".hidden", "-n", "nl\nname", "tab\t",
                                  "模型€", "née", "a b", "a/b", "a\\b", "50%", "a:predict", "", " ", "x" * 101])
def test_names_outside_letters_digits_dash_underscore_and_dot_are_refused(tmp_path, name):
    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}")
    source = _model_dir(tmp_path / "v1")
    with pytest.raises(RegistryError, match=r"model name .*: expected 1 to 100 characters among ASCII letters, "
                                            r"digits, '-', '_' and '\.', starting with a letter, digit or '_'"):
        registry.add(source, name)
    registry.add(source, "housing")
    with pytest.raises(RegistryError, match="alias .*: expected 1 to 100 characters"):
        registry.promote("housing", 1, alias=name or "@")
    assert registry.names() == ["housing"] and registry.get("housing").aliases == ()


def test_names_of_letters_digits_dash_underscore_and_dot_are_kept(tmp_path):
    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}")
    source = _model_dir(tmp_path / "v1")
    names = ["housing", "Housing2", "my-model", "my_model", "v1.2", "_private", "7", "x" * 100]
    for name in names:
        registry.add(source, name)
        assert registry.promote(name, 1, alias="stable-2.0").aliases == ("stable-2.0",)
    assert registry.names() == sorted(names)


def test_a_model_named_under_older_rules_still_gets_new_versions(tmp_path, monkeypatch):
    from homl.registry import _versions

    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}")
    source = _model_dir(tmp_path / "v1")
    with monkeypatch.context() as patch:  # as a registry made before names were restricted holds them
        patch.setattr(_versions, "_check_name", lambda name, what="model name": None)
        registry.add(source, "prix €")
    assert registry.add(_model_dir(tmp_path / "v2", slope=3.0), "prix €").version == 2  # as homl retrain adds one
    with pytest.raises(RegistryError, match="model name 'prix £'"):
        registry.add(source, "prix £")


@pytest.mark.parametrize("url, said", [
    ("sqlite://", "is an in-memory SQLite database"), ("sqlite:///", "is an in-memory SQLite database"),
    ("sqlite:///:memory:", "is an in-memory SQLite database"),
    ("foo://someone:secret@bar/db", r"cannot open the registry at foo://someone:\*\*\*@bar/db: no database driver"),
])
def test_registry_urls_that_cannot_keep_versions_are_refused_naming_them(url, said):
    with pytest.raises(RegistryError, match=said) as raised:
        Registry(url)
    assert "secret" not in str(raised.value) and "expected" in str(raised.value)


def test_a_missing_database_driver_is_named_with_the_url(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_mysql(name, *args, **kwargs):
        if name.split(".")[0] == "MySQLdb":
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mysql)
    with pytest.raises(RegistryError, match=r"registry at mysql://u:\*\*\*@127.0.0.1:1/db: no database driver for "
                                            r"it here \(No module named 'MySQLdb'\)"):
        Registry("mysql://u:secret@127.0.0.1:1/db")


def test_a_file_that_is_not_a_registry_database_is_refused_naming_it(tmp_path):
    (tmp_path / "notes.db").write_text("not a database\n" * 100, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'notes.db'}"
    with pytest.raises(RegistryError, match=f"cannot open the registry at {url}: file is not a database; expected a "
                                            "homl registry database"):
        Registry(url)


def test_a_registry_made_with_the_first_schema_opens_and_is_migrated(tmp_path, schema_at):
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'old.db'}"
    with schema_at(url, "0001") as connection:
        connection.execute(text("INSERT INTO models (id, name, created_at) VALUES (1, 'old', '2026-01-02 03:04:05')"))
        connection.execute(text(
            "INSERT INTO versions (id, model_id, version, sha256, kind, created_at, created_by, source, metrics) "
            "VALUES (1, 1, 1, :sha, 'supervised', '2026-01-02 03:04:05', 'someone', '/old', '{}')"), {"sha": "0" * 64})
        connection.execute(text("INSERT INTO aliases (model_id, alias, version_id) VALUES (1, 'production', 1)"))
    opened = Registry(url, store=tmp_path / "store")
    [old] = opened.versions("old")
    assert old.aliases == ("production",) and old.created_by == "someone" and old.description is None
    added = opened.add(_model_dir(tmp_path / "v2"), "old", description="after the migration")
    assert added.version == 2 and opened.promote("old", 2).aliases == ("production",)


def _add_many(url: str, store: str, folder: str, count: int) -> list[int]:
    registry = Registry(url, store=store)
    return [registry.add(folder, "shared").version for _ in range(count)]


def test_concurrent_writers_never_share_a_version_number(registry, tmp_path):
    source = str(_model_dir(tmp_path / "v1"))
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        numbers = pool.starmap(_add_many, [(registry.url, str(registry.store), source, 3)] * 4)
    assert sorted(n for each in numbers for n in each) == list(range(1, 13))
    assert [v.version for v in registry.versions("shared")] == list(range(1, 13))


@pytest.mark.parametrize("killed_in", ["copy", "record"])
def test_an_add_killed_half_way_leaves_no_version(registry, tmp_path, killed_in):
    source = _model_dir(tmp_path / "v1")
    script = textwrap.dedent(f"""
        import os, shutil, signal
        from homl.registry import Registry

        def die(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)

        if {killed_in!r} == "copy":  # killed after the first file of the copy
            copytree = shutil.copytree
            def copy_then_die(source, destination, **kwargs):
                shutil.copy2(source, destination, **kwargs)
                die()
            shutil.copytree = lambda source, destination: copytree(source, destination, copy_function=copy_then_die)
        else:
            Registry._insert_version = lambda self, connection, name, row: die()
        Registry({registry.url!r}, store={str(registry.store)!r}).add({str(source)!r}, "housing")
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == -signal.SIGKILL, run.stderr
    with pytest.raises(RegistryError):
        registry.versions("housing")  # no version, and not even the model's name
    stored = [p for p in registry.store.rglob("*") if p.is_dir() and len(p.name) == 64]
    assert all(len(list(p.iterdir())) == len(list(source.iterdir())) for p in stored)  # no half-copied version
    assert registry.add(source, "housing").version == 1


def test_the_registry_commands(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner, first, second = CliRunner(), _model_dir(tmp_path / "v1", 2.0), _model_dir(tmp_path / "v2", 3.0)
    for folder in (first, second):
        added = runner.invoke(app, ["registry", "add", str(folder), "--name", "housing", "--registry", url])
        assert added.exit_code == 0, added.output
    assert "housing version 2 added" in added.output
    promoted = runner.invoke(app, ["registry", "promote", "housing", "1", "--registry", url])
    assert promoted.exit_code == 0 and "production is now version 1" in promoted.output
    listed = runner.invoke(app, ["registry", "list"], env={"HOML_REGISTRY": url, "COLUMNS": "200"})
    assert listed.exit_code == 0 and "housing" in listed.output and "rmse 3" in listed.output
    shown = runner.invoke(app, ["registry", "show", "housing", "--registry", url], env={"COLUMNS": "200"})
    assert shown.exit_code == 0 and "production" in shown.output and "rmse 2" in shown.output
    missing = subprocess.run([sys.executable, "-m", "homl", "registry", "show", "titanic", "--registry", url],
                             capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    assert missing.returncode == 2 and "no model named 'titanic'" in missing.stdout + missing.stderr
