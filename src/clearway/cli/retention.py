"""`clearway retention`: erasure of personal data past its retention."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from clearway.cli.apps import retention_app
from clearway.cli.common import out, progress_bar


@retention_app.command("run")
def retention_run(
    days: Annotated[int | None, typer.Option(help="override CLEARWAY_RETENTION_DAYS")] = None,
) -> None:
    """Erase (pseudonymise) the personal data of consignments released longer ago than the retention period,
    except where a case is open; decisions, events and the ledger stay intact."""
    from clearway.bootstrap import bootstrap
    from clearway.services.retention import erase_expired
    from clearway.settings import Settings

    application = bootstrap(Settings.from_env())
    keep = days or application.settings.retention_days
    with progress_bar() as progress:
        task = progress.add_task("erasing", total=None)
        report = erase_expired(
            application.store.engine, application.secret, days=keep, now=dt.datetime.now(dt.UTC),
            on_progress=lambda n: progress.advance(task, n),
        )  # fmt: skip
    out.print(
        f"retention {keep} days: {report.erased} consignments erased, {report.kept_open} kept (case open), "
        f"{report.scrubbed_rejections} rejected submissions scrubbed, names dropped from {report.alert_names} "
        "expired risk alerts",
        highlight=False,
    )
