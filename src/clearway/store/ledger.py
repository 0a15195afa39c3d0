"""The ledger over the store: the in-memory Merkle tree over the stored leaves, checkpoints and proofs."""

from __future__ import annotations

import base64
import datetime as dt
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import sqlalchemy as sa

from clearway.errors import NotFound
from clearway.ledger import Checkpoint, MerkleTree, NoteKey, checkpoint_due, crosscheck, leaf_bytes, leaf_hash
from clearway.ledger.leaf import LedgerEvent, all_facts, reveals_customs_facts, seal_holds
from clearway.store import ledger_log
from clearway.store import tables as t
from clearway.store.keyfile import read_or_create
from clearway.store.repository import as_utc


def load_or_create_key(path: Path, origin: str) -> NoteKey:
    """The log's signer key from `path`; a new one (mode 0600) when the file does not exist yet."""
    return NoteKey.parse(read_or_create(path, lambda: NoteKey(origin, os.urandom(32)).encode() + "\n"))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass(frozen=True)
class Policy:
    every: int
    seconds: float


class Ledger:
    def __init__(self, engine: sa.Engine, key: NoteKey, policy: Policy) -> None:
        self.engine = engine
        self.key = key
        self.policy = policy
        self.tree = MerkleTree()
        self._lock = threading.Lock()

    def refresh(self) -> int:
        """Bring the in-memory tree up to the stored leaves; returns the size."""
        with self._lock, self.engine.connect() as conn:
            self.tree.extend(ledger_log.leaf_hashes(conn, self.tree.size))
            return self.tree.size

    def latest(self) -> tuple[int, str] | None:
        c = t.ledger_checkpoints.c
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(c.size, c.note).order_by(c.size.desc()).limit(1)).first()
        return (int(row[0]), row[1]) if row else None

    def _last_signed(self) -> tuple[int, dt.datetime | None]:
        c = t.ledger_checkpoints.c
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(c.size, c.signed_at).order_by(c.size.desc()).limit(1)).first()
        if row is None:
            return 0, None
        at = row[1] if row[1].tzinfo else row[1].replace(tzinfo=dt.UTC)
        return int(row[0]), at

    def checkpoint_if_due(self, now: dt.datetime, *, force: bool = False) -> str | None:
        """Sign and store a checkpoint when the policy says so (or `force` and there is anything new)."""
        size = self.refresh()
        last_size, last_at = self._last_signed()
        due = size > last_size if force else checkpoint_due(
            size, last_size, last_at, now, every=self.policy.every, seconds=self.policy.seconds
        )  # fmt: skip
        if not due:
            return None
        root = self.tree.root(size)
        note = Checkpoint(self.key.name, size, root).sign(self.key)
        with self.engine.begin() as conn:
            ledger_log.record_checkpoint(conn, size, root, note, now)
        return note

    def proofs(self, consignment_id: str, size: int | None = None, *, customs: bool = False) -> dict[str, Any]:
        """A consignment's events, its salt and inclusion proofs at `size` (default: the latest checkpoint).

        A party (`customs` False) gets each event as its leaf commits to it: v2 events carry their customs-only
        facts as a seal only; a v1 event that holds such facts is withheld (its leaf hash and proof still
        show it is in the log). Customs also gets the sealed facts and the seal salt that checks them."""
        latest = self.latest()
        c = t.ledger_leaves.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(c.leaf_index, c.event, c.sealed, c.leaf_hash)
                .where(c.consignment_id == consignment_id)
                .order_by(c.leaf_index)
            ).all()
            salts = ledger_log.salts(conn, [consignment_id], create=False).get(consignment_id)
        if not rows or salts is None:
            raise NotFound(f"no ledger entries for consignment {consignment_id}", reference=consignment_id)
        self.refresh()
        if size is None:
            size = latest[0] if latest else 0
        elif not 0 <= size <= self.tree.size:
            raise NotFound(f"the log has {self.tree.size} leaves, not {size}")
        entries = []
        for index, event, sealed, digest in rows:
            entry: dict[str, Any] = {"index": int(index), "event": event, "leaf_hash": b64(bytes(digest))}
            if customs and sealed is not None:
                entry["sealed_facts"] = sealed
            elif not customs and reveals_customs_facts(_parse_event(event)):
                entry["event"] = None
                entry["withheld"] = "a v1 event with facts customs keeps to itself: its inclusion is proven"
            entry["proof"] = [b64(h) for h in self.tree.inclusion_proof(int(index), size)] if index < size else None
            entries.append(entry)
        checkpoint = latest[1] if latest and latest[0] == size else None
        bundle = {"tree_size": size, "checkpoint": checkpoint, "salt": b64(salts[0]), "entries": entries}
        if customs and salts[1]:
            bundle["seal_salt"] = b64(salts[1])
        return bundle

    def consistency(self, first: int, second: int) -> list[str]:
        self.refresh()
        if not 0 <= first <= second <= self.tree.size:
            raise NotFound(f"no consistency proof from {first} to {second} (the log has {self.tree.size} leaves)")
        return [b64(h) for h in self.tree.consistency_proof(first, second)]

    def audit(self) -> list[str]:
        """Recompute every leaf from its stored event and salt (and every v2 seal from its sealed facts and
        seal salt), every signed root from the leaves, and cross-check the operational record against them:
        events, decisions, consignments' lanes and statuses, inspections, refunds and the audit log."""
        problems: list[str] = []
        tree = MerkleTree()
        index = crosscheck.LedgerIndex()
        c = t.ledger_leaves.c
        with self.engine.connect() as conn:
            s = t.ledger_salts.c
            salt_of = {
                cid: (bytes(salt), bytes(seal) if seal is not None else b"")
                for cid, salt, seal in conn.execute(sa.select(s.consignment_id, s.salt, s.seal_salt))
            }
            query = sa.select(c.leaf_index, c.event_id, c.consignment_id, c.event, c.sealed, c.leaf_hash)
            for expected, (position, event_id, cid, text, sealed, digest) in enumerate(
                conn.execute(query.order_by(c.leaf_index))
            ):
                if position != expected:
                    problems.append(f"leaf {expected} is missing")
                    break
                event = _parse_event(text)
                salt, seal_salt = salt_of.get(cid, (b"\x00" * 16, b""))
                if leaf_hash(leaf_bytes(event, salt)) != bytes(digest):
                    problems.append(f"leaf {position} does not match its event")
                customs = msgspec.json.decode(sealed) if sealed is not None and event.sealed is not None else None
                if event.sealed is not None and (customs is None or not seal_holds(event, customs, seal_salt)):
                    problems.append(f"leaf {position}: its sealed facts do not give its seal")
                index.add(crosscheck.Leaf(position, event_id, event, all_facts(event, customs)))
                tree.append(bytes(digest))
            checkpoints = conn.execute(sa.select(t.ledger_checkpoints.c.size, t.ledger_checkpoints.c.root)).all()
            problems += _cross_check(conn, index)
        for size, root in checkpoints:
            if size > tree.size:
                problems.append(f"checkpoint {size} is beyond the {tree.size} stored leaves")
            elif tree.root(size) != bytes(root):
                problems.append(f"the stored leaves no longer give the root signed at size {size}")
        return problems


def _rows(conn: sa.Connection, table: sa.Table, json_columns: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Every row of a table, times in UTC and JSON columns decoded."""
    out = []
    for row in conn.execute(sa.select(table)).mappings():
        item = {k: (as_utc(v) if isinstance(v, dt.datetime) else v) for k, v in row.items()}
        for name in json_columns:
            item[name] = msgspec.json.decode(item[name]) if item[name] else None
        out.append(item)
    return out


def _cross_check(conn: sa.Connection, index: crosscheck.LedgerIndex) -> list[str]:
    return [
        *crosscheck.check_events(index, _rows(conn, t.events, ("data",))),
        *crosscheck.check_decisions(index, _rows(conn, t.decisions, ("referrals",))),
        *crosscheck.check_consignments(index, _rows(conn, t.consignments)),
        *crosscheck.check_inspections(index, _rows(conn, t.inspections, ("findings",))),
        *crosscheck.check_refunds(index, _rows(conn, t.refunds)),
        *crosscheck.check_audit(index, _rows(conn, t.audit_log, ("after",))),
    ]


def _parse_event(canonical: str) -> LedgerEvent:
    return msgspec.json.decode(canonical.encode(), type=LedgerEvent)
