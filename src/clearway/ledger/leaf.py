"""Ledger leaves: opaque, salted commitments to decision events.

The leaf is `clearway-ledger-v1:` followed by SHA-256(salt || canonical event). The event (kind,
consignment id, time and non-personal facts such as the lane or the amounts) and the consignment's
salt are given to the parties it concerns; with both they recompute the leaf and check its inclusion.
Without the salt nobody can test guesses against the log, and no personal data is ever in it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Literal

import msgspec

LEAF_PREFIX = b"clearway-ledger-v1:"
EventKind = Literal[
    "registered", "amended", "assessed", "duty_assessed", "awaiting_arrival", "arrived", "held", "rerouted",
    "inspected", "released", "seized", "returned_to_sender", "invalidated", "referral_answered", "referral_closed",
    "referral_timed_out", "refunded",
]  # fmt: skip
_encoder = msgspec.json.Encoder(order="sorted")


class LedgerEvent(msgspec.Struct, frozen=True):
    """A decision event as the ledger commits to it. `facts` holds no personal data."""

    kind: EventKind
    consignment: str
    at: dt.datetime
    facts: dict[str, Any]

    def canonical(self) -> bytes:
        """Sorted keys, no spaces, time in UTC with a Z: the bytes both sides hash."""
        at = self.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        doc = {"kind": self.kind, "consignment": self.consignment, "at": at, "facts": self.facts}
        return _encoder.encode(doc)


def leaf_bytes(event: LedgerEvent, salt: bytes) -> bytes:
    """The leaf entry for an event; hash it with `merkle.leaf_hash` to get the tree's leaf hash."""
    if len(salt) < 16:
        raise ValueError("a ledger salt has at least 16 bytes")
    return LEAF_PREFIX + hashlib.sha256(salt + event.canonical()).digest()
