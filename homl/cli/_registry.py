"""``homl registry``: add model directories as numbered versions, list and show them, promote one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ._render import out

registry_app = typer.Typer(help="The model registry: versions of each model, and which one is in production.",
                           no_args_is_help=True)

RegistryUrl = Annotated[str | None, typer.Option("--registry", envvar="HOML_REGISTRY", show_envvar=True,
                                                 help="Registry database URL (default: a SQLite file in ~/.homl).")]


def _open(url: str | None):
    from homl.registry import Registry

    return Registry(url)


@registry_app.command("add")
def add(
    model: Annotated[Path, typer.Argument(help="Model directory written by homl (fit, segment, anomalies...).")],
    name: Annotated[str, typer.Option("--name", "-n", help="The model's name in the registry.")],
    description: Annotated[str | None, typer.Option(help="A line on what changed in this version.")] = None,
    registry: RegistryUrl = None,
) -> None:
    """Copy MODEL into the registry as the next version of NAME."""
    added = _open(registry).add(model, name, description=description)
    out.print(f"{added.name} version {added.version} added ({added.kind}, sha256 {added.sha256[:12]})", markup=False)


@registry_app.command("list")
def list_models(registry: RegistryUrl = None) -> None:
    """The registered models, their newest version and the one in production."""
    opened = _open(registry)
    table = Table(title=f"Models in {opened.location}")
    for column in ("model", "versions", "newest", "production", "kind", "test score"):
        table.add_column(column)
    for name in opened.names():
        versions = opened.versions(name)
        promoted = next((v.version for v in versions if "production" in v.aliases), None)
        newest = versions[-1]
        table.add_row(name, str(len(versions)), str(newest.version), str(promoted or "-"), newest.kind,
                      _score(newest.metrics))
    out.print(table)


@registry_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="A registered model's name.")],
    registry: RegistryUrl = None,
) -> None:
    """Every version of NAME: when, by whom, its score, its aliases."""
    table = Table(title=name)
    for column in ("version", "aliases", "created", "by", "kind", "test score", "data sha256", "description"):
        table.add_column(column)
    for version in _open(registry).versions(name):
        table.add_row(str(version.version), ", ".join(version.aliases) or "-",
                      version.created_at.strftime("%Y-%m-%d %H:%M:%S UTC"), version.created_by, version.kind,
                      _score(version.metrics), (version.data_sha256 or "-")[:12], version.description or "")
    out.print(table)


@registry_app.command("promote")
def promote(
    name: Annotated[str, typer.Argument(help="A registered model's name.")],
    version: Annotated[str, typer.Argument(help="The version to promote (a number, or an alias).")],
    alias: Annotated[str, typer.Option(help="The alias to move (production by default; staging, or your own).")] = "production",
    registry: RegistryUrl = None,
) -> None:
    """Point NAME's production alias (or --alias) at VERSION; promoting an older one rolls back."""
    promoted = _open(registry).promote(name, version, alias=alias)
    out.print(f"{name}: {alias} is now version {promoted.version}", markup=False)


def _score(metrics: dict) -> str:
    score = metrics.get("test_score")
    return f"{score['metric']} {score['value']:.5g}" if isinstance(score, dict) else "-"
