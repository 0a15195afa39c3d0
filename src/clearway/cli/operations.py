"""Operators' commands: `backup` and `restore` of the embedded store, `config check` and `config doc`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

out = Console()
config_app = typer.Typer(help="The configuration: check the environment, print the reference.", no_args_is_help=True)


def _copying(what: str) -> tuple[Progress, object]:
    progress = Progress(TextColumn(what), BarColumn(), TextColumn("{task.completed}/{task.total} pages"))
    return progress, progress.add_task(what, total=None)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
    app.command()(backup)
    app.command()(restore)


def backup(out_file: Annotated[Path, typer.Option("--out", help="where to write the copy")]) -> None:
    """A consistent online copy of the embedded SQLite store, taken while the service runs (SQLite's backup
    API). Key files are not in it: keep ledger.key and secret.key apart, in the vault they belong to."""
    from clearway.settings import Settings
    from clearway.store import backup as store_backup

    progress, task = _copying("backing up")
    with progress:
        size = store_backup.backup(
            Settings.from_env().database_url, out_file,
            lambda left, total: progress.update(task, total=total, completed=total - left),  # type: ignore[arg-type]
        )  # fmt: skip
    out.print(f"backed up to {out_file} ({size:,} bytes)")


def restore(
    backup_file: Annotated[Path, typer.Argument(help="a file `clearway backup` wrote")],
    force: Annotated[bool, typer.Option(help="replace the database that is there (stop the service first)")] = False,
) -> None:
    """Put a backup in place of the embedded store, checked first (integrity, a clearway schema), then
    migrated to this version's schema."""
    from clearway.settings import Settings
    from clearway.store import backup as store_backup
    from clearway.store import make_engine, upgrade

    settings = Settings.from_env()
    progress, task = _copying("restoring")
    with progress:
        store_backup.restore(
            backup_file, settings.database_url, force=force,
            progress=lambda left, total: progress.update(task, total=total, completed=total - left),  # type: ignore[arg-type]
        )  # fmt: skip
    engine = make_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()
    out.print(f"restored {backup_file}; run `clearway ledger audit` to check it")


@config_app.command("check")
def config_check() -> None:
    """Validate the environment (files exist, keys readable, URLs parse, limits sane) and print the
    configuration in force, secrets hidden. Exits 2 when something is wrong."""
    from clearway.services.configuration import check

    findings = check()
    table = Table(title="configuration in force")
    for column in ("variable", "value", "problem"):
        table.add_column(column)
    for finding in findings:
        table.add_row(finding.env, finding.shown, f"[red]{finding.problem}[/]" if finding.problem else "")
    out.print(table)
    problems = [f for f in findings if f.problem]
    if problems:
        for finding in problems:  # one plain line each, whole, for a log or a ticket
            typer.echo(f"{finding.env}: {finding.problem}")
        out.print(f"[red]{len(problems)} problem(s)[/]")
        raise typer.Exit(2)
    out.print("[green]the configuration is sound[/]")


@config_app.command("doc")
def config_doc() -> None:
    """Print the settings reference (docs/configuration.md is this output)."""
    from clearway.services.configuration import reference_markdown

    typer.echo(reference_markdown(), nl=False)
