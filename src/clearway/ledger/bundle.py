"""Offline checking of a proof bundle (what the API serves for a consignment) against a checkpoint."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import msgspec

from clearway.errors import InvalidInput
from clearway.ledger.checkpoint import Checkpoint
from clearway.ledger.leaf import LedgerEvent, leaf_bytes
from clearway.ledger.merkle import leaf_hash
from clearway.ledger.note import NoteVerifier
from clearway.ledger.verify import verify_inclusion


class ProofFailed(InvalidInput):
    """A proof bundle that does not prove what it claims."""


@dataclass(frozen=True)
class VerifiedEntry:
    index: int
    event: LedgerEvent


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
    verified = []
    for entry in bundle.get("entries") or []:
        try:
            event = msgspec.json.decode(str(entry["event"]).encode(), type=LedgerEvent)
            index = int(entry["index"])
        except (KeyError, ValueError, msgspec.DecodeError) as exc:
            raise ProofFailed(f"malformed entry: {exc}") from exc
        leaf = leaf_hash(leaf_bytes(event, salt))
        if leaf != _b64(entry.get("leaf_hash"), "leaf hash"):
            raise ProofFailed(f"entry {index}: the event and salt do not give its leaf hash")
        path = [_b64(h, "proof hash") for h in entry.get("proof") or []]
        if not verify_inclusion(leaf, index, checkpoint.size, path, checkpoint.root):
            raise ProofFailed(f"entry {index} ({event.kind}) is not in the log at size {checkpoint.size}")
        verified.append(VerifiedEntry(index, event))
    if not verified:
        raise ProofFailed("the bundle holds no entries")
    return verified
