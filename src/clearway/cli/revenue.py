"""Revenue commands: an estimate of duty and tax, refunds of returns, reconciliation with a platform's VAT return."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.table import Table

from clearway.cli.apps import app
from clearway.cli.common import err, out, parse_day, utcnow


@app.command()
def estimate(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a Consignment v1 JSON file")],
    on: Annotated[str, typer.Option(help="the day of importation, YYYY-MM-DD")],
    as_json: Annotated[bool, typer.Option("--json", help="print the whole assessment as JSON")] = False,
) -> None:
    """Estimate the duties and taxes of a consignment on a day, under the dated rules."""
    from clearway.intake import read_path
    from clearway.revenue import assess
    from clearway.revenue.packaged import load_revenue
    from clearway.settings import Settings

    day = parse_day(on, "--on")
    items = list(read_path(file, "json"))
    if len(items) != 1 or items[0].outcome.consignment is None:
        for item in items:
            for error in item.outcome.errors:
                err.print(f"{error.path or '/'}: {error.code}: {error.message}")
        raise typer.Exit(1)
    settings = Settings.from_env()
    assessment = assess(items[0].outcome.consignment, day, load_revenue(settings.tariff, settings.customs_rates))
    if as_json:
        sys.stdout.buffer.write(msgspec.json.format(msgspec.json.encode(assessment)) + b"\n")
        return
    t, currency = assessment.totals, assessment.currency
    out.print(
        f"{assessment.reference}: {assessment.collection_model}; duty {t.duty}, tax {t.vat}, other {t.other}, "
        f"total {t.total} {currency} (rules: {', '.join(assessment.rules)})",
        highlight=False,
    )


@app.command("refund")
def refund_command(
    consignment_id: Annotated[str, typer.Argument(help="the registration id of the assessed consignment")],
    on: Annotated[str, typer.Option(help="the day the goods were returned, YYYY-MM-DD")],
    item: Annotated[
        list[str] | None, typer.Option(help="INDEX:QUANTITY returned (repeat); default: all not yet refunded")
    ] = None,
    reason: Annotated[str, typer.Option(help="why, for the record")] = "returned to the seller",
) -> None:
    """Refund the duty and tax of returned goods (or credit them to the vendor's scheme), once, in the window."""
    from clearway.bootstrap import bootstrap
    from clearway.services.returns import refund
    from clearway.settings import Settings

    day = parse_day(on, "--on")
    try:
        returned = {int(i): int(q) for i, q in (entry.split(":", 1) for entry in item)} if item else None
    except ValueError as exc:
        raise typer.BadParameter("items are INDEX:QUANTITY, e.g. 0:1", param_hint="--item") from exc
    result = refund(bootstrap(Settings.from_env()), consignment_id, returned, on=day, at=utcnow(), reason=reason)
    sys.stdout.buffer.write(msgspec.json.format(msgspec.json.encode(result)) + b"\n")


@app.command("reconcile")
def reconcile_command(
    vat_return: Annotated[
        Path, typer.Option("--return", exists=True, dir_okay=False, help="the platform's periodic VAT return CSV")
    ],
    csv_out: Annotated[Path | None, typer.Option("--out", help="write the findings as CSV")] = None,
) -> None:
    """Compare a platform's VAT return with what was assessed under its scheme ids; exit 1 on any finding."""
    import csv as csv_module

    from clearway.bootstrap import bootstrap
    from clearway.services.accounts import refer_to_tax
    from clearway.services.reconciliation import parse_return, reconcile_return
    from clearway.settings import Settings

    declared = parse_return(vat_return.read_text(encoding="utf-8"), str(vat_return))
    application = bootstrap(Settings.from_env())
    rows = reconcile_return(application.store.engine, declared)
    referred = refer_to_tax(application, rows, utcnow())
    table = Table(title=f"Reconciliation of {vat_return.name}")
    fields = [
        "scheme_id",
        "period",
        "destination_country",
        "status",
        "consignments",
        "expected_tax",
        "declared_tax",
        "tax_difference",
    ]
    for name in fields:
        table.add_column(name)
    for row in rows:
        table.add_row(*(str(getattr(row, name)) for name in fields))
    out.print(table)
    if csv_out is not None:
        from clearway.revenue.reconcile import Reconciliation

        names = [f.name for f in msgspec.structs.fields(Reconciliation)]
        with csv_out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv_module.writer(handle)
            writer.writerow(names)
            writer.writerows([["" if getattr(row, n) is None else str(getattr(row, n)) for n in names] for row in rows])
    statuses = Counter(row.status for row in rows)
    out.print(
        ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items())) or "nothing to reconcile", highlight=False
    )
    if referred:
        out.print(f"{referred} findings kept as referrals for the tax agency (`clearway tax referrals`)")
    raise typer.Exit(1 if any(row.status != "ok" for row in rows) else 0)
