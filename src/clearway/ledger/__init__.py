"""The trust ledger: an RFC 9162 Merkle log of decision events with signed checkpoints (pure, no I/O)."""

from clearway.ledger.checkpoint import Checkpoint, checkpoint_due
from clearway.ledger.leaf import LEAF_PREFIX, LedgerEvent, leaf_bytes
from clearway.ledger.merkle import MerkleTree, leaf_hash, node_hash
from clearway.ledger.note import NoteKey, NoteVerifier, sign_note, verify_note
from clearway.ledger.verify import verify_consistency, verify_inclusion

__all__ = [
    "LEAF_PREFIX",
    "Checkpoint",
    "LedgerEvent",
    "MerkleTree",
    "NoteKey",
    "NoteVerifier",
    "checkpoint_due",
    "leaf_bytes",
    "leaf_hash",
    "node_hash",
    "sign_note",
    "verify_consistency",
    "verify_inclusion",
    "verify_note",
]
