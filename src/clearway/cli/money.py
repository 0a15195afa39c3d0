"""`clearway payments`, `payables`, `accounts`, `appeals` and `tax`: the money after the decision from the
command line. Every step is audited under the `--actor` given (an officer's name)."""

from __future__ import annotations

import os
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
import typer
from rich.table import Table

from clearway.cli.apps import accounts_app, app, appeals_app, payments_app, tax_app
from clearway.cli.common import out, parse_day, utcnow

if TYPE_CHECKING:
    from clearway.auth.clients import Principal
    from clearway.bootstrap import App

Actor = Annotated[str, typer.Option(help="the officer who acts, for the audit log")]
DEFAULT_ACTOR = os.environ.get("USER", "operator")


def _app() -> App:
    from clearway.bootstrap import bootstrap
    from clearway.settings import Settings

    return bootstrap(Settings.from_env())


def _officer(name: str) -> Principal:
    from clearway.auth.clients import Principal

    return Principal(f"cli:{name}", name, "officer", None, frozenset({"officer"}))


def _amount(text: str, option: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise typer.BadParameter(f"{text!r} is not an amount", param_hint=option) from exc
    if not value.is_finite() or value < 0:
        raise typer.BadParameter(f"{text!r} is not an amount", param_hint=option)
    return value


def _json(value: Any) -> None:
    sys.stdout.buffer.write(msgspec.json.format(msgspec.json.encode(value)) + b"\n")


@payments_app.command("record")
def payments_record(
    reference: Annotated[str, typer.Option(help="the payable's id, or the parcel's reference or tracking number")],
    amount: Annotated[str, typer.Option(help="the amount paid, e.g. 22.57")],
    currency: Annotated[str, typer.Option(help="ISO 4217, e.g. EUR")],
    paid_on: Annotated[str, typer.Option(help="the day it was paid, YYYY-MM-DD")],
    payer: Annotated[str | None, typer.Option(help="who paid")] = None,
    bank_reference: Annotated[str | None, typer.Option(help="the bank's id of it: recorded once however often")] = None,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """Record one payment and match it to what it pays."""
    from clearway.accounts.payments import Payment
    from clearway.services import accounts

    payment = Payment(reference, _amount(amount, "--amount"), currency.upper(), parse_day(paid_on, "--paid-on"),
                      payer, "cli", bank_reference)  # fmt: skip
    _json(accounts.record_payment(_app(), _officer(actor), payment, utcnow()))


@payments_app.command("import")
def payments_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a CSV statement or a camt.053 XML file")],
    fmt: Annotated[
        Literal["csv", "camt053"] | None, typer.Option("--format", help="default: camt053 for .xml, else csv")
    ] = None,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """Import a payment file: each payment matched; bad rows, duplicates and unmatched payments reported."""
    from clearway.services import accounts

    kind = fmt or ("camt053" if file.suffix.lower() == ".xml" else "csv")
    done = accounts.import_payments(_app(), _officer(actor), file.read_bytes(), kind, utcnow())
    out.print(f"{done['recorded']} payments recorded, {done['duplicates']} seen before, "
              f"{len(done['unmatched'])} not matched to anything owed", highlight=False)  # fmt: skip
    for problem in done["problems"]:
        out.print(f"[red]{problem['where']}[/]: {problem['message']}", highlight=False)
    for payment in done["unmatched"]:
        out.print(f"[yellow]unmatched[/]: {payment['reference']} {payment['unmatched']} {payment['currency']}",
                  highlight=False)  # fmt: skip
    raise typer.Exit(1 if done["problems"] else 0)


@app.command("payables")
def payables_command(
    consignment: Annotated[str | None, typer.Option(help="of one consignment (its registration id)")] = None,
    payer: Annotated[str | None, typer.Option(help="of one payer")] = None,
    state: Annotated[str | None, typer.Option(help="open, part_paid, paid, overpaid, refund_due, ...")] = None,
) -> None:
    """What is owed, newest first."""
    from clearway.services import accounts

    found = accounts.payables_for(_app(), _officer("cli"), consignment_id=consignment, payer=payer, state=state)
    table = Table(title=f"{len(found)} payables")
    columns = ("reference", "kind", "payer", "amount", "paid", "currency", "due_on", "state")
    for name in columns:
        table.add_column(name)
    for row in found:
        table.add_row(*(str(row[name]) for name in columns))
    out.print(table)


@accounts_app.command("set")
def accounts_set(
    holder: Annotated[str, typer.Argument(help="the carrier, post or intermediary, as it pays")],
    currency: Annotated[str, typer.Option(help="the account's currency, e.g. EUR")],
    deferred: Annotated[bool, typer.Option(help="pays monthly, by the 16th of the month after")] = False,
    guarantee: Annotated[str | None, typer.Option(help="the guarantee's ceiling; none: no guarantee")] = None,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """Open or change a deferred account and guarantee."""
    from clearway.services import accounts

    ceiling = _amount(guarantee, "--guarantee") if guarantee is not None else None
    _json(accounts.set_account(_app(), _officer(actor), holder, deferred=deferred, guarantee=ceiling,
                               currency=currency.upper(), now=utcnow()))  # fmt: skip


@accounts_app.command("statement")
def accounts_statement(
    holder: Annotated[str, typer.Argument(help="the account's holder")],
    month: Annotated[str, typer.Option(help="YYYY-MM")],
    special_arrangements: Annotated[
        bool, typer.Option(help="the EU special arrangements' import VAT declaration instead")
    ] = False,
) -> None:
    """A holder's monthly statement (or its special arrangements' declaration), as JSON."""
    from clearway.services import accounts

    application = _app()
    if special_arrangements:
        _json(accounts.special_arrangements(application, holder, month))
    else:
        _json(accounts.statement(application, holder, month))


@appeals_app.command("list")
def appeals_list(state: Annotated[str | None, typer.Option(help="lodged, under_review, ...")] = None) -> None:
    """Appeals, oldest first."""
    from clearway.services import accounts

    _json(accounts.appeals(_app(), _officer("cli"), state))


@appeals_app.command("decide")
def appeals_decide(
    appeal_id: Annotated[str, typer.Argument()],
    action: Annotated[Literal["review", "upheld", "annulled", "partly_annulled"], typer.Argument()],
    kept: Annotated[str | None, typer.Option(help="partly annulled: what stands of the demand")] = None,
    note: Annotated[str, typer.Option(help="the reasons, for the record")] = "",
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """Take an appeal under review, or decide it."""
    from clearway.services import accounts

    amount = _amount(kept, "--kept") if kept is not None else None
    _json(accounts.move_appeal(_app(), _officer(actor), appeal_id, action, utcnow(), kept_amount=amount, note=note))


@tax_app.command("export")
def tax_export_command(
    month: Annotated[str, typer.Option(help="YYYY-MM")],
    out_dir: Annotated[Path, typer.Option("--out", help="the folder the tables are written to")] = Path("tax"),
    fmt: Annotated[Literal["csv", "parquet"], typer.Option("--format")] = "csv",
) -> None:
    """The month's imports for the tax agency: per IOSS number and member state, per seller, per platform."""
    from clearway.services import accounts
    from clearway.services.measurement import export

    tables = accounts.tax_export(_app(), month)
    for path in export(tables, out_dir / month, fmt):
        out.print(f"wrote {path}", highlight=False)
    ioss = tables["ioss"]
    out.print(f"{ioss.height} IOSS number and member state lines, {tables['sellers'].height} seller lines, "
              f"{tables['platforms'].height} platform lines", highlight=False)  # fmt: skip


@tax_app.command("referrals")
def tax_referrals_command(period: Annotated[str | None, typer.Option(help="YYYY-MM")] = None) -> None:
    """The intelligence referrals kept for the tax agency (a return that differs from what customs saw)."""
    from clearway.services import accounts

    _json(accounts.tax_referrals(_app(), _officer("cli"), period))
