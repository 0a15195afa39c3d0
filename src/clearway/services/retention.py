"""Retention of personal data: names, addresses, phone numbers and e-mails of buyers and sellers are
erased a configured number of days after release (or return, or invalidation), unless a case is open.

What is erased is replaced in every stored version and raw submission: a party's name becomes a
pseudonym made from its keyed hash (the same party keeps the same pseudonym, and `party_keys` keep
risk history working), street, postcode, e-mail and phone go, city becomes `erased`; countries,
business identifiers, goods and amounts stay. Rejected submissions are scrubbed the same way once they
are older than the period. Decisions, events and the ledger hold no personal data and are not touched.
Risk alerts that carried names in clear (under a recorded legal basis) lose them once they expire. An
appeal still to decide keeps its case open; the grounds of appeals on an erased consignment go, and so do
the payer names (a private person, as a bank statement names them) of payments older than the period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from clearway.clearance import OPEN_CASE
from clearway.model.consignment import Address, Party
from clearway.model.rules import PARTIES
from clearway.risk.party_keys import party_key
from clearway.store.engine import Engine
from clearway.store.retention import erase, forget_expired_names, past_the_period, scrub_rejected

PERSONAL_ADDRESS = ("street", "postcode", "region")
_encode = msgspec.json.Encoder(order="deterministic").encode
ERASED_RAW = b'{"erased":"personal data removed after the retention period"}'


@dataclass(frozen=True)
class RetentionReport:
    erased: int  # consignments whose personal data went
    kept_open: int  # past the period but kept: a case is open on them
    scrubbed_rejections: int  # rejected submissions scrubbed
    alert_names: int = 0  # expired risk alerts whose names in clear were dropped


def pseudonymise(doc: Any, secret: bytes) -> Any:
    """A consignment document without personal data; anything that is not one is returned as it is."""
    if not isinstance(doc, dict):
        return doc
    out = dict(doc)
    for role in PARTIES:
        party = doc.get(role)
        if not isinstance(party, dict):
            continue
        address = party.get("address") if isinstance(party.get("address"), dict) else {}
        try:
            key = party_key(secret, msgspec.convert(party, Party))
        except msgspec.ValidationError:
            key = party_key(secret, Party(str(party.get("name", "")), Address("-", "ZZ")))
        kept = {k: v for k, v in address.items() if k not in PERSONAL_ADDRESS} | {"city": "erased"}
        out[role] = (
            {"name": f"erased-{key[:16]}"}
            | ({"address": kept} if address else {})
            | ({"identifiers": party["identifiers"]} if role != "consignee" and party.get("identifiers") else {})
        )
    return out


def _scrub_raw(raw: bytes, secret: bytes) -> bytes:
    """A raw submission without personal data: the JSON document pseudonymised, or a marker if it is not JSON."""
    try:
        doc = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return ERASED_RAW
    return _encode(pseudonymise(doc, secret)) if isinstance(doc, dict) else ERASED_RAW


def erase_expired(
    engine: Engine,
    secret: bytes,
    *,
    days: int,
    now: dt.datetime,
    on_progress: Callable[[int], None] | None = None,
) -> RetentionReport:
    cutoff = now - dt.timedelta(days=days)
    ended = ["released", "returned_to_sender", "invalidated", "destroyed", "abandoned"]
    ids, kept_open = past_the_period(engine, cutoff, ended, OPEN_CASE)

    def body(text: bytes) -> str:
        return _encode(pseudonymise(msgspec.json.decode(text), secret)).decode()

    def raw(kept: bytes) -> bytes:
        return _scrub_raw(kept, secret)

    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        erase(engine, chunk, body=body, raw=raw, now=now, cutoff=cutoff)
        if on_progress is not None:
            on_progress(len(chunk))
    scrubbed = scrub_rejected(engine, cutoff, raw, ERASED_RAW)
    names = forget_expired_names(engine, now, cutoff)
    return RetentionReport(len(ids), kept_open, scrubbed, names)
