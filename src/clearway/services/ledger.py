"""The ledger service: the in-memory Merkle tree over the stored leaves, checkpoints and proofs."""

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
from clearway.ledger import Checkpoint, MerkleTree, NoteKey, checkpoint_due, leaf_bytes, leaf_hash
from clearway.ledger.leaf import LedgerEvent
from clearway.services.keyfile import read_or_create
from clearway.store import ledger_log
from clearway.store import tables as t


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

    def proofs(self, consignment_id: str, size: int | None = None) -> dict[str, Any]:
        """A consignment's events, its salt and inclusion proofs at `size` (default: the latest checkpoint)."""
        latest = self.latest()
        c = t.ledger_leaves.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(c.leaf_index, c.event, c.leaf_hash)
                .where(c.consignment_id == consignment_id)
                .order_by(c.leaf_index)
            ).all()
            salt = ledger_log.salts(conn, [consignment_id]).get(consignment_id)
        if not rows or salt is None:
            raise NotFound(f"no ledger entries for consignment {consignment_id}", reference=consignment_id)
        self.refresh()
        if size is None:
            size = latest[0] if latest else 0
        elif not 0 <= size <= self.tree.size:
            raise NotFound(f"the log has {self.tree.size} leaves, not {size}")
        entries = []
        for index, event, digest in rows:
            entry: dict[str, Any] = {"index": int(index), "event": event, "leaf_hash": b64(bytes(digest))}
            entry["proof"] = [b64(h) for h in self.tree.inclusion_proof(int(index), size)] if index < size else None
            entries.append(entry)
        checkpoint = latest[1] if latest and latest[0] == size else None
        return {"tree_size": size, "checkpoint": checkpoint, "salt": b64(salt), "entries": entries}

    def consistency(self, first: int, second: int) -> list[str]:
        self.refresh()
        if not 0 <= first <= second <= self.tree.size:
            raise NotFound(f"no consistency proof from {first} to {second} (the log has {self.tree.size} leaves)")
        return [b64(h) for h in self.tree.consistency_proof(first, second)]

    def audit(self) -> list[str]:
        """Recompute every leaf from its stored event and salt, and every signed root from the leaves."""
        problems: list[str] = []
        tree = MerkleTree()
        c = t.ledger_leaves.c
        with self.engine.connect() as conn:
            salt_of = {
                cid: bytes(s)
                for cid, s in conn.execute(sa.select(t.ledger_salts.c.consignment_id, t.ledger_salts.c.salt))
            }
            for expected, (index, cid, event, digest) in enumerate(
                conn.execute(sa.select(c.leaf_index, c.consignment_id, c.event, c.leaf_hash).order_by(c.leaf_index))
            ):
                if index != expected:
                    problems.append(f"leaf {expected} is missing")
                    break
                recomputed = leaf_hash(leaf_bytes(_parse_event(event), salt_of.get(cid, b"\x00" * 16)))
                if recomputed != bytes(digest):
                    problems.append(f"leaf {index} does not match its event")
                tree.append(bytes(digest))
            checkpoints = conn.execute(sa.select(t.ledger_checkpoints.c.size, t.ledger_checkpoints.c.root)).all()
        for size, root in checkpoints:
            if size > tree.size:
                problems.append(f"checkpoint {size} is beyond the {tree.size} stored leaves")
            elif tree.root(size) != bytes(root):
                problems.append(f"the stored leaves no longer give the root signed at size {size}")
        return problems


def _parse_event(canonical: str) -> LedgerEvent:
    return msgspec.json.decode(canonical.encode(), type=LedgerEvent)
