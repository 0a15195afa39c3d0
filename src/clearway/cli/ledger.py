"""`clearway ledger`: the trust ledger's key, checkpoints, audit, offline proofs and the witness."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from clearway.cli.apps import ledger_app
from clearway.cli.common import err, out, utcnow


def _verifier(text: str) -> object:
    from clearway.ledger import NoteVerifier

    path = Path(text)
    return NoteVerifier.parse(path.read_text(encoding="utf-8") if path.exists() else text)


@ledger_app.command("key")
def ledger_key() -> None:
    """Print the log's verifier key (give it to the parties that check proofs)."""
    from clearway.bootstrap import bootstrap
    from clearway.settings import Settings

    out.print(bootstrap(Settings.from_env()).ledger.key.verifier.encode(), highlight=False)


@ledger_app.command("checkpoint")
def ledger_checkpoint() -> None:
    """Sign a checkpoint of everything logged so far (if anything is new) and print the latest."""
    from clearway.bootstrap import bootstrap
    from clearway.settings import Settings

    ledger = bootstrap(Settings.from_env()).ledger
    ledger.checkpoint_if_due(utcnow(), force=True)
    latest = ledger.latest()
    if latest is None:
        err.print("the log is empty: nothing to sign")
        raise typer.Exit(1)
    sys.stdout.write(latest[1])


@ledger_app.command("audit")
def ledger_audit() -> None:
    """Recompute every stored leaf, seal and signed root, and cross-check decisions, events, lanes, statuses,
    inspections, refunds and the audit log against them; exit 3 when anything was tampered with."""
    from clearway.bootstrap import bootstrap
    from clearway.settings import Settings

    application = bootstrap(Settings.from_env())
    try:
        problems = application.ledger.audit()
    finally:
        application.store.engine.dispose()
    for problem in problems:
        err.print(f"[red bold]LEDGER TAMPERED:[/] {problem}")
    if problems:
        raise typer.Exit(3)
    out.print("the stored log matches every signed checkpoint")


@ledger_app.command("verify")
def ledger_verify(
    proof: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="proof bundle JSON from the API")],
    key: Annotated[str, typer.Option(help="the log's verifier key, or a file holding it")],
    checkpoint: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="a signed checkpoint you trust")
    ] = None,
) -> None:
    """Check a consignment's proof bundle offline: signature, leaves from events and salt, inclusion."""
    from clearway.ledger import NoteVerifier
    from clearway.ledger.bundle import check_bundle

    bundle = json.loads(proof.read_text(encoding="utf-8"))
    signed = checkpoint.read_text(encoding="utf-8") if checkpoint else bundle.get("checkpoint")
    if not signed:
        raise typer.BadParameter("the bundle carries no checkpoint: pass --checkpoint", param_hint="--checkpoint")
    verifier = _verifier(key)
    assert isinstance(verifier, NoteVerifier)
    for entry in check_bundle(bundle, signed, verifier):
        event = entry.event
        if event is None:
            out.print(f"ok  leaf {entry.index}: withheld (its inclusion is proven)", highlight=False)
            continue
        sealed = "" if event.sealed is None or entry.facts != event.facts else " (customs facts sealed)"
        facts = json.dumps(entry.facts)
        out.print(
            f"ok  leaf {entry.index}: {event.kind} {event.consignment} at {event.at.isoformat()} {facts}{sealed}",
            highlight=False,
        )


@ledger_app.command("watch")
def ledger_watch(
    url: Annotated[str, typer.Option(help="the clearway API, e.g. https://customs.example")],
    key: Annotated[str, typer.Option(help="the log's verifier key, or a file holding it")],
    state: Annotated[Path, typer.Option(help="file that keeps the last good checkpoint")],
    interval: Annotated[float, typer.Option(help="seconds between checks")] = 60.0,
    once: Annotated[bool, typer.Option(help="check once and exit")] = False,
) -> None:
    """Witness the log: each new checkpoint must extend the last one; exit 3 loudly when it does not."""
    import base64

    import httpx

    from clearway.ledger import NoteVerifier
    from clearway.services.witness import LedgerCompromised, observe

    verifier = _verifier(key)
    assert isinstance(verifier, NoteVerifier)
    with httpx.Client(base_url=url.rstrip("/"), timeout=30) as client:

        def checkpoint() -> str:
            response = client.get("/v1/ledger/checkpoint")
            response.raise_for_status()
            return response.text

        def consistency(first: int, second: int) -> list[bytes]:
            response = client.get("/v1/ledger/consistency", params={"first": first, "second": second})
            response.raise_for_status()
            return [base64.b64decode(h) for h in response.json()["proof"]]

        while True:
            try:
                seen = observe(checkpoint, consistency, verifier, state)
            except LedgerCompromised as exc:
                err.print(f"[red bold]LEDGER COMPROMISED:[/] {exc.message}")
                raise typer.Exit(3) from exc
            out.print(f"ok  {verifier.name}: size {seen.previous} -> {seen.current}", highlight=False)
            if once:
                return
            time.sleep(interval)
