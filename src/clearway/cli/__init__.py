"""The `clearway` command line (Typer): thin commands that parse, call a service and render, a module per
command group (`apps.py` holds the Typer apps they register on)."""

from __future__ import annotations

from clearway.cli import (  # noqa: F401 - each registers its commands
    clients,
    cooperation,
    database,
    demo,
    history,
    intake,
    ledger,
    manifests,
    model,
    money,
    retention,
    revenue,
    running,
)
from clearway.cli.apps import app
from clearway.cli.common import err
from clearway.cli.intake import schema_json
from clearway.cli.operations import register as register_operations
from clearway.errors import ClearwayError

register_operations(app)  # backup, restore, config
__all__ = ["app", "main", "schema_json"]


def main() -> None:
    try:
        app()
    except ClearwayError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise SystemExit(2) from exc
