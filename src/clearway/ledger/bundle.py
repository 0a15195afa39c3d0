"""Offline checking of a proof bundle (what the API serves for a consignment) against a checkpoint.

A party's bundle proves each event it may read (leaf recomputed from the event and the salt, then its
inclusion); a withheld v1 entry proves inclusion of its leaf only. Customs' bundle also carries the
sealed facts of v2 events and the seal salt, and each seal is checked against them.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import msgspec

from clearway.errors import InvalidInput
from clearway.ledger.checkpoint import Checkpoint
from clearway.ledger.leaf import LedgerEvent, all_facts, leaf_bytes, seal_holds
from clearway.ledger.merkle import leaf_hash
from clearway.ledger.note import NoteVerifier
from clearway.ledger.verify import verify_inclusion


class ProofFailed(InvalidInput):
    """A proof bundle that does not prove what it claims."""


@dataclass(frozen=True)
class VerifiedEntry:
    """A proven entry: its event (None when withheld from this audience) and the facts proven with it."""

    index: int
    event: LedgerEvent | None
    facts: dict[str, Any] | None = None


def _b64(value: Any, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, TypeError, ValueError) as exc:
        raise ProofFailed(f"{what} is not base64") from exc


def check_bundle(bundle: dict[str, Any], signed_checkpoint: str, verifier: NoteVerifier) -> list[VerifiedEntry]:
    """Every entry's leaf recomputed from its event and the salt, and proven in the signed checkpoint."""
    checkpoint = Checkpoint.from_signed(signed_checkpoint, verifier)
    if bundle.get("tree_size") != checkpoint.size:
        raise ProofFailed(
            f"the proofs are for size {bundle.get('tree_size')}, the checkpoint is size {checkpoint.size}"
        )
    salt = _b64(bundle.get("salt"), "salt")
    seal_salt = _b64(bundle["seal_salt"], "seal salt") if bundle.get("seal_salt") else None
    verified = []
    for entry in bundle.get("entries") or []:
        try:
            index = int(entry["index"])
            event = (
                None
                if entry.get("event") is None
                else msgspec.json.decode(str(entry["event"]).encode(), type=LedgerEvent)
            )
            customs = msgspec.json.decode(str(entry["sealed_facts"]).encode()) if entry.get("sealed_facts") else None
        except (KeyError, ValueError, TypeError, msgspec.DecodeError) as exc:
            raise ProofFailed(f"malformed entry: {exc}") from exc
        claimed = _b64(entry.get("leaf_hash"), "leaf hash")
        if event is not None and leaf_hash(leaf_bytes(event, salt)) != claimed:
            raise ProofFailed(f"entry {index}: the event and salt do not give its leaf hash")
        if customs is not None and (event is None or seal_salt is None or not seal_holds(event, customs, seal_salt)):
            raise ProofFailed(f"entry {index}: the sealed facts and seal salt do not give the event's seal")
        path = [_b64(h, "proof hash") for h in entry.get("proof") or []]
        if not verify_inclusion(claimed, index, checkpoint.size, path, checkpoint.root):
            kind = event.kind if event is not None else "withheld"
            raise ProofFailed(f"entry {index} ({kind}) is not in the log at size {checkpoint.size}")
        facts = all_facts(event, customs) if event is not None else None
        verified.append(VerifiedEntry(index, event, facts))
    if not verified:
        raise ProofFailed("the bundle holds no entries")
    return verified
