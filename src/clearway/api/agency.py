"""Other government agencies: their own `oga` referrals only, the goods behind them, and their decision."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from clearway.api.views import ActionDone, AgencyReferral, ReferredGoods
from clearway.auth.clients import Principal
from clearway.workers.runtime import Runtime


class AgencyDecision(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    decision: Literal["cleared", "refused"]
    note: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class AgencyController(Controller):
    path = "/v1/agency"
    tags = ["agencies"]

    @get("/referrals", sync_to_thread=True, summary="The referrals made to your agency")
    def referrals(
        self,
        runtime: NamedDependency[Runtime],
        agency: NamedDependency[Principal],
        referral_state: Annotated[Literal["open", "closed"] | None, QueryParameter(name="state")] = None,
    ) -> list[AgencyReferral]:
        return msgspec.convert(runtime.clearance.agency_referrals(agency, referral_state), list[AgencyReferral])

    @get(
        "/consignments/{consignment_id:str}", sync_to_thread=True, summary="The goods of a consignment referred to you"
    )
    def goods(
        self, runtime: NamedDependency[Runtime], agency: NamedDependency[Principal], consignment_id: FromPath[str]
    ) -> ReferredGoods:
        meta = runtime.clearance.owned(agency, consignment_id)
        _, c = runtime.app.store.consignment(consignment_id)
        return ReferredGoods(consignment_id, meta["status"], c.channel, c.dispatch_country, c.destination_country,
                             c.category, list(c.items))  # fmt: skip

    @post("/referrals/{referral_id:str}/decision", status_code=200, sync_to_thread=True, summary="Decide a referral")
    def decide(
        self,
        runtime: NamedDependency[Runtime],
        agency: NamedDependency[Principal],
        referral_id: FromPath[str],
        data: JSONBody[AgencyDecision],
    ) -> ActionDone:
        return msgspec.convert(
            runtime.clearance.agency_decide(agency, referral_id, data.decision, data.note), ActionDone
        )
