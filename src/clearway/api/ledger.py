"""Ledger routes: the latest signed checkpoint, the log's key, inclusion and consistency proofs.

Checkpoints, the key and consistency proofs are public: they reveal nothing but hashes. A consignment's
proofs carry its events and salt; its registration id is known only to its submitter and customs.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, MediaType, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from clearway.bootstrap import App
from clearway.errors import NotFound


class LedgerController(Controller):
    path = "/v1/ledger"
    tags = ["ledger"]

    @get("/checkpoint", media_type=MediaType.TEXT, sync_to_thread=True, summary="The latest signed checkpoint (C2SP)")
    def checkpoint(self, clearway: NamedDependency[App]) -> str:
        latest = clearway.ledger.latest()
        if latest is None:
            raise NotFound("no checkpoint has been signed yet")
        return latest[1]

    @get("/key", media_type=MediaType.TEXT, sync_to_thread=False, summary="The log's verifier key")
    def key(self, clearway: NamedDependency[App]) -> str:
        return clearway.ledger.key.verifier.encode() + "\n"

    @get("/consistency", sync_to_thread=True, summary="Consistency proof between two tree sizes (RFC 9162 2.1.4)")
    def consistency(
        self,
        clearway: NamedDependency[App],
        first: Annotated[int, QueryParameter(ge=0)],
        second: Annotated[int, QueryParameter(ge=0)],
    ) -> dict[str, Any]:
        return {"first": first, "second": second, "proof": clearway.ledger.consistency(first, second)}

    @get(
        "/consignments/{consignment_id:str}/proof",
        sync_to_thread=True,
        summary="A consignment's events with inclusion proofs",
    )
    def proof(
        self,
        clearway: NamedDependency[App],
        consignment_id: FromPath[str],
        size: Annotated[int | None, QueryParameter(ge=0)] = None,
    ) -> dict[str, Any]:
        return clearway.ledger.proofs(consignment_id, size)
