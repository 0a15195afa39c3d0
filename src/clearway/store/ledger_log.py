"""The ledger's storage: appending leaves in the caller's transaction, reading them back, checkpoints."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from clearway.ledger import LedgerEvent, leaf_bytes, leaf_hash
from clearway.ledger.leaf import sealed_event
from clearway.store import tables as t
from clearway.store.bulk import insert_columns

SALT_BYTES = 32


Salts = dict[str, tuple[bytes, bytes]]
"""consignment id -> (salt given to its parties, seal salt given to customs and auditors only)."""


def new_salts(conn: sa.Connection, consignment_ids: Sequence[str]) -> Salts:
    """Fresh salts for each new consignment, stored; returned so the same transaction need not read them back."""
    made = {c: (os.urandom(SALT_BYTES), os.urandom(SALT_BYTES)) for c in consignment_ids}
    columns: dict[str, list[Any]] = {"consignment_id": list(made), "salt": [salt for salt, _ in made.values()],
               "seal_salt": [seal for _, seal in made.values()]}  # fmt: skip
    insert_columns(conn, t.ledger_salts, columns)
    return made


_SALTS = sa.select(t.ledger_salts.c.consignment_id, t.ledger_salts.c.salt, t.ledger_salts.c.seal_salt).where(
    t.ledger_salts.c.consignment_id.in_(sa.bindparam("ids", expanding=True))
)
"""Built once: every write that appends leaves reads its consignments' salts."""


def salts(conn: sa.Connection, consignment_ids: Sequence[str], *, create: bool = True) -> Salts:
    """Both salts of each consignment; one stored before leaves were sealed (v1) gets its seal salt now
    (with `create`, in the caller's transaction), else an empty one."""
    unique = sorted(set(consignment_ids))
    found: Salts = {}
    unsealed: list[str] = []
    c = t.ledger_salts.c
    for start in range(0, len(unique), 500):
        for cid, salt, seal in conn.execute(_SALTS, {"ids": unique[start : start + 500]}):
            if seal is None:
                unsealed.append(cid)
                seal = os.urandom(SALT_BYTES) if create else b""
            found[cid] = (bytes(salt), bytes(seal))
    for cid in unsealed if create else ():
        conn.execute(
            t.ledger_salts.update()
            .where(c.consignment_id == cid, c.seal_salt.is_(None))
            .values(seal_salt=found[cid][1])
        )
    return found


APPENDERS = 0x636C_6561_7277_6179  # "clearway"
"""The advisory lock key ledger appenders take turns under on PostgreSQL. Not `LOCK TABLE ... EXCLUSIVE`:
that mode conflicts with the lock autovacuum and autoanalyze hold on the table, so every writer waited for
them until PostgreSQL cancelled them after `deadlock_timeout` (a one-second stall of every request, seen in
`python -m bench fairness`); an advisory lock conflicts only with other appenders."""


def append(conn: sa.Connection, events: Sequence[tuple[str, LedgerEvent]], known: Salts | None = None) -> None:
    """Append (event id, event) leaves after the last one, in the caller's transaction; `known` salts are
    used as given, the others read. Each event comes with all its facts and is sealed here (leaf v2).

    On PostgreSQL a transaction-level advisory lock (APPENDERS) makes concurrent appenders take turns, so
    indexes stay dense. It is held until the caller commits, so it is taken last: the leaves are sealed and
    hashed before (a leaf does not hold its index), and under it only the next index is read and the rows
    inserted. A writer at a low CPU priority (the assessor's process) then holds it for two statements, not
    for the Python work of its batch (issue 17). SQLite has one writer at a time anyway.
    """
    if not events:
        return
    salt_of = dict(known or {})
    missing = [event.consignment for _, event in events if event.consignment not in salt_of]
    if missing:
        salt_of.update(salts(conn, missing))
    texts, sealed, hashes = [], [], []
    for _, event in events:
        salt, seal_salt = salt_of[event.consignment]
        leaf, customs = sealed_event(event.kind, event.consignment, event.at, event.facts, seal_salt)
        text = leaf.canonical()  # once: the stored event and its hash are the same bytes
        texts.append(text.decode())
        sealed.append(customs.decode())
        hashes.append(leaf_hash(leaf_bytes(leaf, salt, text)))
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(APPENDERS)))
    next_index = (
        int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(t.ledger_leaves.c.leaf_index), -1))).scalar_one()) + 1
    )
    columns: dict[str, list[Any]] = {
        "event_id": [event_id for event_id, _ in events],
        "consignment_id": [event.consignment for _, event in events],
        "event": texts,
        "sealed": sealed,
        "leaf_hash": hashes,
        "leaf_index": list(range(next_index, next_index + len(events))),
    }
    insert_columns(conn, t.ledger_leaves, columns)


def leaf_hashes(conn: sa.Connection, start: int) -> list[bytes]:
    c = t.ledger_leaves.c
    query = sa.select(c.leaf_index, c.leaf_hash).where(c.leaf_index >= start).order_by(c.leaf_index)
    hashes = []
    for expected, (index, digest) in enumerate(conn.execute(query), start=start):
        if index != expected:
            raise RuntimeError(f"ledger leaf {expected} is missing (found {index})")
        hashes.append(bytes(digest))
    return hashes


def record_checkpoint(conn: sa.Connection, size: int, root: bytes, note: str, at: dt.datetime) -> None:
    conn.execute(t.ledger_checkpoints.insert().values(size=size, root=root, note=note, signed_at=at))
