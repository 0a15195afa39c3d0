"""`clearway clients`: API clients and their revocation."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from clearway.cli.apps import clients_app
from clearway.cli.common import err


@clients_app.command("add")
def clients_add(
    name: Annotated[str, typer.Argument(help="the client's name; for submitters, the tenant its data is filed under")],
    role: Annotated[str, typer.Option(help="platform, carrier, postal, officer, agency, monitor or partner")],
    agency: Annotated[str | None, typer.Option(help="for --role agency: the agency whose referrals it sees")] = None,
    webhook_host: Annotated[
        list[str] | None, typer.Option(help="a host the client's webhooks may call (repeat)")
    ] = None,
) -> None:
    """Create an API client and print its id and secret as JSON (the secret is shown only this once)."""
    from clearway.auth.clients import add_client
    from clearway.settings import Settings
    from clearway.store import make_engine, upgrade

    engine = make_engine(Settings.from_env().database_url)
    upgrade(engine)
    made = add_client(engine, name, role, agency=agency, webhook_hosts=list(webhook_host or []))
    sys.stdout.write(json.dumps(made) + "\n")


@clients_app.command("revoke")
def clients_revoke(
    name: Annotated[str, typer.Argument(help="the client's name (any role: submitter, officer, agency)")],
) -> None:
    """Revoke a client: it gets no more tokens, and the services refuse the tokens and UI sessions it holds
    within seconds. Prints what was revoked as JSON."""
    from clearway.auth.clients import revoke_client
    from clearway.errors import NotFound
    from clearway.settings import Settings
    from clearway.store import make_engine, upgrade

    engine = make_engine(Settings.from_env().database_url)
    try:
        upgrade(engine)
        done = revoke_client(engine, name)
    except NotFound as exc:
        err.print(f"[red]{exc.message}[/]")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    sys.stdout.write(json.dumps(done) + "\n")
