"""Ledger routes: the latest signed checkpoint, the log's key, inclusion and consistency proofs.

Checkpoints, the key and consistency proofs are public: they reveal nothing but hashes. A consignment's
proofs carry its events and salt: only its submitter and officers get them. The submitter's bundle
carries customs-only facts (lanes, referrals, findings) as a seal it can check the leaf with but not read;
officers also get the sealed facts and the seal salt (ledger leaves v2, `clearway.ledger.leaf`).
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, MediaType, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from clearway.api.views import ConsistencyProof, LedgerProofs
from clearway.auth.clients import Principal
from clearway.bootstrap import App
from clearway.errors import Forbidden, NotFound
from clearway.workers.runtime import Runtime


class LedgerController(Controller):
    path = "/v1/ledger"
    tags = ["ledger"]

    @get(
        "/checkpoint",
        security=[],
        media_type=MediaType.TEXT,
        sync_to_thread=True,
        summary="The latest signed checkpoint (C2SP)",
    )
    def checkpoint(self, clearway: NamedDependency[App]) -> str:
        latest = clearway.ledger.latest()
        if latest is None:
            raise NotFound("no checkpoint has been signed yet")
        return latest[1]

    @get("/key", security=[], media_type=MediaType.TEXT, sync_to_thread=False, summary="The log's verifier key")
    def key(self, clearway: NamedDependency[App]) -> str:
        return clearway.ledger.key.verifier.encode() + "\n"

    @get(
        "/consistency",
        security=[],
        sync_to_thread=True,
        summary="Consistency proof between two tree sizes (RFC 9162 2.1.4)",
    )
    def consistency(
        self,
        clearway: NamedDependency[App],
        first: Annotated[int, QueryParameter(ge=0, le=2**62)],
        second: Annotated[int, QueryParameter(ge=0, le=2**62)],
    ) -> ConsistencyProof:
        return ConsistencyProof(first, second, clearway.ledger.consistency(first, second))

    @get(
        "/consignments/{consignment_id:str}/proof",
        sync_to_thread=True,
        summary="A consignment's events with inclusion proofs",
    )
    def proof(
        self,
        clearway: NamedDependency[App],
        runtime: NamedDependency[Runtime],
        caller: NamedDependency[Principal],
        consignment_id: FromPath[str],
        size: Annotated[int | None, QueryParameter(ge=0, le=2**62)] = None,
    ) -> LedgerProofs:
        if not (caller.is_submitter or "officer" in caller.scopes):
            raise Forbidden("proofs are for the consignment's submitter and for officers")
        runtime.clearance.owned(caller, consignment_id)
        return msgspec.convert(
            clearway.ledger.proofs(consignment_id, size, customs=not caller.is_submitter), LedgerProofs
        )
