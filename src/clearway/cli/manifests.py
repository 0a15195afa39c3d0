"""`clearway manifest`: file a carrier's or post's manifests from a file, arrive them, and see what arrived
without data and what did not arrive."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from clearway.cli.apps import manifest_app
from clearway.cli.common import out, utcnow


def _principal(name: str, role: str):  # type: ignore[no-untyped-def]
    from clearway.auth.clients import Principal

    return Principal(f"cli:{name}", name, role, None, frozenset())


@manifest_app.command("load")
def manifest_load(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="manifests: .json (one or a list) or .ndjson")
    ],
    submitter: Annotated[str, typer.Option(help="the carrier or post that files them")],
    role: Annotated[str, typer.Option(help="carrier or postal")] = "carrier",
) -> None:
    """File (or amend) manifests; prints the answer per manifest as JSON."""
    from clearway.bootstrap import bootstrap
    from clearway.services.manifests import file_manifests
    from clearway.settings import Settings

    kind = "application/x-ndjson" if file.suffix.lower() in (".ndjson", ".jsonl") else "application/json"
    answer = file_manifests(bootstrap(Settings.from_env()), _principal(submitter, role), file.read_bytes(), kind,
                            utcnow())  # fmt: skip
    sys.stdout.write(json.dumps(answer) + "\n")
    if answer["rejected"]:
        raise typer.Exit(1)


@manifest_app.command("arrive")
def manifest_arrive(
    manifest_id: Annotated[str, typer.Argument(help="the manifest's id (as filing it answered)")],
    house: Annotated[list[str] | None, typer.Option(help="a house that arrived (repeat); default: all")] = None,
    office: Annotated[str | None, typer.Option(help="the office of arrival (e.g. DE004851)")] = None,
    officer: Annotated[str, typer.Option(help="the officer recording it, for the audit log")] = "officer",
) -> None:
    """Record a manifest's arrival (or some of its houses') as an officer; prints what it released, what
    stays, and the houses that arrived without data."""
    from clearway.bootstrap import bootstrap
    from clearway.services.manifests import arrive
    from clearway.settings import Settings

    answer = arrive(bootstrap(Settings.from_env()), _principal(officer, "officer"), manifest_id, house or None,
                    utcnow(), office=office)  # fmt: skip
    sys.stdout.write(json.dumps(answer, default=str) + "\n")


@manifest_app.command("reconcile")
def manifest_reconcile(
    hours: Annotated[float | None, typer.Option(help="hours after the declared arrival (default the setting)")] = None,
) -> None:
    """Houses that arrived without data, and filings not arrived some hours after their declared arrival."""
    from clearway.bootstrap import bootstrap
    from clearway.services.manifests import reconciliation
    from clearway.settings import Settings

    application = bootstrap(Settings.from_env())
    grace = dt.timedelta(hours=hours if hours is not None else application.settings.arrival_grace_hours)
    found = reconciliation(application, utcnow(), grace)
    table = Table("arrived without data", "manifest", "carrier", "arrived at", title="Houses with no filing")
    for h in found["arrived_without_data"]:
        table.add_row(h["transport_document_id"], f"{h['master_type']} {h['master_id']}", h["submitter"],
                      f"{h['arrived_at']:%Y-%m-%d %H:%M}")  # fmt: skip
    out.print(table)
    title = f"Filings not arrived {grace.total_seconds() / 3600:g} h after their declared arrival"
    late = Table("consignment", "transport document", "filed by", "declared arrival", "status", title=title)
    for c in found["not_arrived"]:
        declared = f"{c['expected_arrival']:%Y-%m-%d %H:%M}"
        late.add_row(c["id"], c["transport_document_id"], c["submitter"], declared, c["status"])
    out.print(late)
