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
import sqlalchemy as sa

from clearway.clearance import OPEN_CASE
from clearway.model.consignment import Address, Party
from clearway.model.rules import PARTIES
from clearway.risk.party_keys import party_key
from clearway.store import accounts
from clearway.store import tables as t
from clearway.store.cooperation import forget_alert_names

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
    engine: sa.Engine,
    secret: bytes,
    *,
    days: int,
    now: dt.datetime,
    on_progress: Callable[[int], None] | None = None,
) -> RetentionReport:
    cutoff = now - dt.timedelta(days=days)
    c, v, s = t.consignments.c, t.consignment_versions.c, t.submissions.c
    finished = sa.func.coalesce(c.released_at, c.updated_at)
    past = sa.and_(c.erased_at.is_(None), finished < cutoff)
    with engine.connect() as conn:
        ended = ["released", "returned_to_sender", "invalidated", "destroyed", "abandoned"]
        appealed = accounts.open_appeals(conn)  # an appeal to decide keeps the case open
        due = conn.execute(sa.select(c.id).where(past, c.status.in_(ended), c.id.not_in(appealed)))
        ids = [row.id for row in due]
        still_open = sa.or_(c.status.in_(sorted(OPEN_CASE)), sa.and_(c.status.in_(ended), c.id.in_(appealed)))
        kept_open = int(conn.execute(sa.select(sa.func.count()).where(past, still_open)).scalar_one())
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        with engine.begin() as conn:
            for cid, version, body in conn.execute(
                sa.select(v.consignment_id, v.version, v.body).where(v.consignment_id.in_(chunk))
            ):
                clean = _encode(pseudonymise(msgspec.json.decode(body), secret)).decode()
                conn.execute(
                    t.consignment_versions.update()
                    .where(v.consignment_id == cid, v.version == version)
                    .values(body=clean)
                )
            for sid, raw in conn.execute(sa.select(s.id, s.raw).where(s.consignment_id.in_(chunk))):
                conn.execute(t.submissions.update().where(s.id == sid).values(raw=_scrub_raw(bytes(raw), secret)))
            conn.execute(t.consignments.update().where(c.id.in_(chunk)).values(erased_at=now))
            accounts.forget_personal(conn, chunk, cutoff)
        if on_progress is not None:
            on_progress(len(chunk))
    scrubbed = 0
    with engine.begin() as conn:
        rejected = conn.execute(
            sa.select(s.id, s.raw).where(s.accepted.is_(False), s.received_at < cutoff, s.raw != ERASED_RAW)
        ).all()
        for sid, raw in rejected:
            clean = _scrub_raw(bytes(raw), secret)
            if clean != bytes(raw):
                conn.execute(t.submissions.update().where(s.id == sid).values(raw=clean))
                scrubbed += 1
    with engine.begin() as conn:
        names = forget_alert_names(conn, now)
        accounts.forget_personal(conn, [], cutoff)  # payers' names on old payments, whatever they paid
    return RetentionReport(len(ids), kept_open, scrubbed, names)
