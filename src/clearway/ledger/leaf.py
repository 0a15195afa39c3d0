"""Ledger leaves: opaque, salted commitments to decision events, in two versions.

v1 (`clearway-ledger-v1:` + SHA-256(salt || canonical event)) commits to every fact in the clear: whoever
holds the consignment's salt, the submitter included, reads them all from a proof.

v2 (`clearway-ledger-v2:` + SHA-256(salt || canonical event)) splits the facts. Those a submitter may read
(PUBLIC_FACTS: versions, status, amounts, the revenue rules) stay in the event; the facts customs keeps to
itself (lane, referrals, release mode, inspection method, outcome and findings, agencies' decisions) are
replaced by `sealed`, the hex SHA-256(seal salt || canonical customs facts). The seal salt is a second
per-consignment secret given only to officers, agencies and auditors: with it they check the sealed facts
against the leaf; without it the submitter still recomputes and proves the leaf, and cannot test guesses
of a lane against the seal. Personal data is in neither part.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from typing import Any

import msgspec

from clearway.model.vocabulary import EventKind

LEAF_PREFIX = b"clearway-ledger-v1:"
LEAF_PREFIX_V2 = b"clearway-ledger-v2:"
PUBLIC_FACTS = frozenset(
    {"version", "content_hash", "submitter", "reference", "status", "currency", "collection_model", "rules", "duty",
     "vat", "other", "total", "kind", "lines", "office", "attempt", "missing", "declaration"}
)  # fmt: skip
"""Facts the consignment's submitter may read (it sees them through the API too); every other fact is sealed."""
_encoder = msgspec.json.Encoder(order="sorted")


class LedgerEvent(msgspec.Struct, frozen=True):
    """A decision event as the ledger commits to it. `facts` holds no personal data; `sealed` (v2 only) is
    the salted hash of the customs-only facts, which are kept beside the event and not in it."""

    kind: EventKind
    consignment: str
    at: dt.datetime
    facts: dict[str, Any]
    sealed: str | None = None

    @property
    def version(self) -> int:
        return 1 if self.sealed is None else 2

    def canonical(self) -> bytes:
        """Sorted keys, no spaces, time in UTC with a Z: the bytes both sides hash."""
        at = utc_text(self.at)
        doc: dict[str, Any] = {"kind": self.kind, "consignment": self.consignment, "at": at, "facts": self.facts}
        if self.sealed is not None:
            doc["sealed"] = self.sealed
        return _encoder.encode(doc)


@functools.lru_cache(maxsize=256)
def utc_text(at: dt.datetime) -> str:
    """An instant as the ledger writes it (UTC, microseconds, a Z); the events of a batch share a few instants,
    so each is formatted once."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_facts(facts: dict[str, Any]) -> bytes:
    return _encoder.encode(facts)


def seal(customs_facts: dict[str, Any], seal_salt: bytes) -> str:
    """The commitment to customs-only facts that a v2 event carries."""
    return _seal(canonical_facts(customs_facts), seal_salt)


def _seal(canonical: bytes, seal_salt: bytes) -> str:
    if len(seal_salt) < 16:
        raise ValueError("a seal salt has at least 16 bytes")
    return hashlib.sha256(seal_salt + canonical).hexdigest()


def split_facts(facts: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what the submitter may read, what customs keeps to itself)."""
    public = {k: v for k, v in facts.items() if k in PUBLIC_FACTS}
    return public, {k: v for k, v in facts.items() if k not in PUBLIC_FACTS}


def sealed_event(
    kind: EventKind, consignment: str, at: dt.datetime, facts: dict[str, Any], seal_salt: bytes
) -> tuple[LedgerEvent, bytes]:
    """A v2 event over all of an event's facts, and the customs-only facts it seals, as the canonical bytes
    the seal is over (made once: they are also what is kept beside the leaf)."""
    public, customs = split_facts(facts)
    text = canonical_facts(customs)
    return LedgerEvent(kind, consignment, at, public, _seal(text, seal_salt)), text


def seal_holds(event: LedgerEvent, customs_facts: dict[str, Any], seal_salt: bytes) -> bool:
    """Whether the customs-only facts and seal salt give the event's seal (always False for v1 events)."""
    return event.sealed is not None and seal(customs_facts, seal_salt) == event.sealed


def all_facts(event: LedgerEvent, customs_facts: dict[str, Any] | None) -> dict[str, Any]:
    """Every fact of an event: its own, and for v2 the sealed ones when they are known."""
    return {**event.facts, **(customs_facts or {})}


def leaf_bytes(event: LedgerEvent, salt: bytes, canonical: bytes | None = None) -> bytes:
    """The leaf entry for an event; hash it with `merkle.leaf_hash` to get the tree's leaf hash. `canonical`
    is the event's canonical bytes where the caller made them already (they are made once per event)."""
    if len(salt) < 16:
        raise ValueError("a ledger salt has at least 16 bytes")
    prefix = LEAF_PREFIX if event.sealed is None else LEAF_PREFIX_V2
    return prefix + hashlib.sha256(salt + (event.canonical() if canonical is None else canonical)).digest()


def reveals_customs_facts(event: LedgerEvent) -> bool:
    """A v1 event whose facts go beyond what its submitter may read: its content is withheld from parties."""
    return event.sealed is None and any(k not in PUBLIC_FACTS for k in event.facts)
