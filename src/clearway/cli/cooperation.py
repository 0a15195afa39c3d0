"""`clearway partners`, `clearway alerts`, `clearway aeo` and `clearway exports issue`: cooperation with
partner administrations from the command line (every exchange is audited under the `--actor` given)."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.table import Table

from clearway.cli.apps import aeo_app, alerts_app, exports_app, partners_app
from clearway.cli.common import out, parse_day, utcnow

if TYPE_CHECKING:
    from clearway.bootstrap import App

Actor = Annotated[str, typer.Option(help="who acts, for the audit log")]
DEFAULT_ACTOR = os.environ.get("USER", "operator")
NEWLINE = b"\n"


def _app() -> App:
    from clearway.bootstrap import bootstrap
    from clearway.settings import Settings

    return bootstrap(Settings.from_env())


def _actor(name: str) -> Any:
    from clearway.services.cooperation import Actor as Who

    return Who(name, "operator")


def _json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str) + "\n")


@partners_app.command("key")
def partners_key() -> None:
    """Print the verifier key partners check this office's bundles with (the ledger's signing key)."""
    from clearway.services.cooperation import our_verifier

    sys.stdout.write(our_verifier(_app()) + "\n")


@partners_app.command("add")
def partners_add(
    name: Annotated[str, typer.Argument(help="how this office names the partner administration")],
    verifier: Annotated[str, typer.Option(help="the partner's verifier key (`clearway partners key` there)")],
    agreement: Annotated[str, typer.Option(help="the legal basis of the exchange, cited in every bundle")],
    shared_key: Annotated[
        str | None, typer.Option(help="base64 key parties are hashed under, if the partner made it; else one is made")
    ] = None,
    url: Annotated[str | None, typer.Option(help="the partner's clearway base URL, to pull its alerts")] = None,
    client_id: Annotated[str | None, typer.Option(help="the client id the partner gave this office")] = None,
    client_secret: Annotated[str | None, typer.Option(help="and its secret")] = None,
    feedback: Annotated[bool, typer.Option(help="tell the partner when its alerts lead to findings")] = True,
    country: Annotated[
        str | None, typer.Option(help="its country (EU for the Union): the issuer of the operator lists it sends")
    ] = None,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """Register a partner (or update it). Prints JSON; a shared key made here is printed this once, to hand
    over to the partner by a secure channel."""
    from clearway.services.cooperation import register_partner

    _json(register_partner(_app(), name, verifier, agreement, _actor(actor), utcnow(), shared_key=shared_key,
                           url=url, client_id=client_id, client_secret=client_secret, feedback=feedback,
                           country=country))  # fmt: skip


@partners_app.command("list")
def partners_list() -> None:
    """The registered partners, their agreements and what this office exchanged with them."""
    from clearway.store import cooperation as repo

    application = _app()
    with application.store.engine.connect() as conn:
        known = repo.partners(conn)
        issued = {p.name: len(repo.alerts(conn, "out", partner_name=p.name)) for p in known}
        received = {p.name: len(repo.alerts(conn, "in", partner_name=p.name)) for p in known}
    table = Table("partner", "agreement", "url", "feedback", "alerts issued", "alerts received")
    for p in known:
        table.add_row(p.name, p.agreement, p.url or "", "yes" if p.feedback else "no", str(issued[p.name]),
                      str(received[p.name]))  # fmt: skip
    out.print(table)


@alerts_app.command("issue")
def alerts_issue(
    partner: Annotated[list[str], typer.Option(help="a partner to send it to (repeat)")],
    consignment: Annotated[
        str | None, typer.Option(help="the consignment it comes from (a seizure, a finding)")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="what was found; default: the consignment's finding")] = None,
    days: Annotated[int, typer.Option(help="days until it expires")] = 90,
    hs: Annotated[list[str] | None, typer.Option(help="an HS prefix (repeat); default: the consignment's")] = None,
    keyword: Annotated[list[str] | None, typer.Option(help="a description keyword (repeat)")] = None,
    brand: Annotated[list[str] | None, typer.Option(help="a brand (repeat); default: the consignment's")] = None,
    dispatch: Annotated[str | None, typer.Option(help="dispatch country; default: the consignment's")] = None,
    destination: Annotated[str | None, typer.Option(help="destination country")] = None,
    value_at_most: Annotated[str | None, typer.Option(help="declared value at most (with --currency)")] = None,
    currency: Annotated[str | None, typer.Option(help="the currency of --value-at-most")] = None,
    party: Annotated[
        list[str] | None, typer.Option(help="seller, consignor, consignee or delivery_address, as keyed hashes")
    ] = None,
    names_basis: Annotated[
        str | None, typer.Option(help="the legal basis for sharing the parties' names in clear too")
    ] = None,
    note: Annotated[str | None, typer.Option(help="a word for the partner's officer")] = None,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """Issue a risk alert to partners, from a consignment and what you add. Prints what was issued."""
    from clearway.services.cooperation import AlertRequest, issue_alert

    request = AlertRequest(
        partners=partner, kind=kind, consignment_id=consignment, days=days, hs_prefixes=hs or (),  # type: ignore[arg-type]
        keywords=keyword or (), brands=brand or (), dispatch_country=dispatch, destination_country=destination,
        value_at_most=value_at_most, currency=currency, parties=party or (), names_basis=names_basis, note=note,  # type: ignore[arg-type]
    )  # fmt: skip
    _json(issue_alert(_app(), request, _actor(actor), utcnow()))


@alerts_app.command("export")
def alerts_export(
    partner: Annotated[str, typer.Option(help="the partner the bundle is for")],
    output: Annotated[Path, typer.Option("--out", help="the bundle file to write")],
    feedback: Annotated[bool, typer.Option(help="the feedback on the partner's alerts instead of ours")] = False,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """Write the signed bundle of alerts in force for a partner (or of feedback on its alerts)."""
    from clearway.services.cooperation import bundle_for

    kind: Literal["alerts", "feedback"] = "feedback" if feedback else "alerts"
    output.write_text(bundle_for(_app(), partner, kind, _actor(actor), utcnow()), encoding="utf-8")
    out.print(f"{kind} bundle for {partner} written to {output}")


@alerts_app.command("load")
def alerts_load(
    bundle: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a partner's signed bundle")],
    partner: Annotated[str, typer.Option(help="the partner that sent it (its key checks the signature)")],
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """Check a partner's bundle (signature, expiry) and keep its alerts, or its feedback on ours."""
    from clearway.services.cooperation import load_bundle

    _json(load_bundle(_app(), bundle.read_bytes(), partner, _actor(actor), utcnow()))


@alerts_app.command("pull")
def alerts_pull(
    partner: Annotated[str, typer.Option(help="the partner whose clearway to pull from")],
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """Fetch a partner's alerts and its feedback on ours from its clearway, and load both."""
    from clearway.services.cooperation import pull

    _json(pull(_app(), partner, _actor(actor), utcnow()))


@alerts_app.command("list")
def alerts_list(
    direction: Annotated[str, typer.Option(help="in (received) or out (issued)")] = "in",
    active: Annotated[bool, typer.Option(help="only those in force now")] = False,
) -> None:
    """Alerts received or issued: partner, id, kind, expiry, and (issued) what the partner reported."""
    from clearway.store import cooperation as repo

    if direction not in ("in", "out"):
        raise typer.BadParameter("in or out", param_hint="--direction")
    with _app().store.engine.connect() as conn:
        held = repo.alerts(conn, direction, active_at=utcnow() if active else None)
    table = Table("partner", "alert", "kind", "issued", "expires", "found (reported)" if direction == "out" else "")
    for partner_name, alert, book in held:
        table.add_row(partner_name, alert.id, alert.kind, f"{alert.issued_at:%Y-%m-%d}", f"{alert.expires_at:%Y-%m-%d}",
                      "" if book["found"] is None else f"{book['found']} of {book['inspected']} inspected")  # fmt: skip
    out.print(table)


@aeo_app.command("load")
def aeo_load(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="an operator list (exchange CSV)")],
    partner: Annotated[str | None, typer.Option(help="the partner that sent it; without it, your own list")] = None,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """Load authorised operators with their status by date: a partner's (mutual recognition) or your own."""
    from clearway.services.cooperation import load_operators

    _json(load_operators(_app(), file.read_bytes(), partner or "own", _actor(actor), utcnow()))


@aeo_app.command("export")
def aeo_export(
    partner: Annotated[str, typer.Option(help="the partner the list is for (audited)")],
    output: Annotated[Path, typer.Option("--out", help="the CSV to write")],
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """Write this office's authorised operators, every status row, in the exchange CSV."""
    from clearway.services.cooperation import export_operators

    output.write_text(export_operators(_app(), partner, _actor(actor), utcnow()), encoding="utf-8")
    out.print(f"operator list for {partner} written to {output}")


@exports_app.command("issue")
def exports_issue(
    partner: Annotated[str, typer.Option(help="the partner the records are for (audited)")],
    since: Annotated[str, typer.Option(help="first day received (YYYY-MM-DD)")],
    until: Annotated[str, typer.Option(help="last day received (YYYY-MM-DD)")],
    output: Annotated[Path, typer.Option("--out", help="a CSV file, or with --format dms a folder")],
    fmt: Annotated[str, typer.Option("--format", help="csv, or dms (one export declaration per parcel)")] = "csv",
    territory: Annotated[list[str] | None, typer.Option(help="dispatch countries (default CLEARWAY_TERRITORY)")] = None,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """This office's export side for a partner: what left its territory, per transport document and goods line."""
    from clearway.services.exports import issue_exports

    if fmt not in ("csv", "dms"):
        raise typer.BadParameter("csv or dms", param_hint="--format")
    first, last = parse_day(since, "--since"), parse_day(until, "--until")
    from clearway.model.consignment import DATE_MAX, DATE_MIN

    if not DATE_MIN <= first <= last <= DATE_MAX:
        raise typer.BadParameter(f"a period between {DATE_MIN} and {DATE_MAX}, --until on or after --since")
    application = _app()
    period = (dt.datetime.combine(first, dt.time(), dt.UTC), dt.datetime.combine(last + dt.timedelta(days=1),
                                                                                   dt.time(), dt.UTC))  # fmt: skip
    files = issue_exports(application, partner, period, territory or application.settings.territory, fmt,
                          _actor(actor), utcnow())  # type: ignore[arg-type]  # fmt: skip
    if fmt == "csv":
        output.write_bytes(files["exports.csv"])
        written = f"{files['exports.csv'].count(NEWLINE) - 1} goods lines"
    else:
        output.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (output / name).write_bytes(data)
        written = f"{len(files)} export declarations"
    out.print(f"{written} for {partner} written to {output}")
