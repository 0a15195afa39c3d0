"""Partner administrations: what this office shares with the partner a client belongs to, and nothing of
any other partner's. The client's name is the partner's registered name (`clearway partners add`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Controller, MediaType, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from clearway.auth.clients import Principal
from clearway.bootstrap import App
from clearway.errors import InvalidInput
from clearway.model.consignment import DATE_MAX, DATE_MIN
from clearway.services.cooperation import Actor, bundle_for, export_operators
from clearway.services.exports import issue_exports


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _actor(partner: Principal) -> Actor:
    return Actor(partner.name, partner.role)


class PartnerController(Controller):
    path = "/v1"
    tags = ["partners"]

    @get("/alerts", media_type=MediaType.TEXT, sync_to_thread=True,
         summary="The risk alerts in force that this office issued to you, as a signed bundle")  # fmt: skip
    def alerts(self, clearway: NamedDependency[App], partner: NamedDependency[Principal]) -> str:
        return bundle_for(clearway, partner.name, "alerts", _actor(partner), _now())

    @get("/alerts/feedback", media_type=MediaType.TEXT, sync_to_thread=True,
         summary="What your alerts led to here (counts only), as a signed bundle")  # fmt: skip
    def feedback(self, clearway: NamedDependency[App], partner: NamedDependency[Principal]) -> str:
        return bundle_for(clearway, partner.name, "feedback", _actor(partner), _now())

    @get("/aeo", media_type="text/csv", sync_to_thread=True,
         summary="This office's authorised operators, every status row (exchange CSV)")  # fmt: skip
    def operators(self, clearway: NamedDependency[App], partner: NamedDependency[Principal]) -> str:
        return export_operators(clearway, partner.name, _actor(partner), _now())

    @get("/exports", media_type="text/csv", sync_to_thread=True,
         summary="What left this office's territory in a period, per transport document and goods line")  # fmt: skip
    def exports(
        self,
        clearway: NamedDependency[App],
        partner: NamedDependency[Principal],
        since: Annotated[dt.date, QueryParameter()],
        until: Annotated[dt.date, QueryParameter()],
    ) -> bytes:
        if until < since or (until - since).days > 31 or not DATE_MIN <= since <= until <= DATE_MAX:
            raise InvalidInput(f"a period of 1 to 32 days between {DATE_MIN} and {DATE_MAX}, until on or after since")
        period = (dt.datetime.combine(since, dt.time(), dt.UTC),
                  dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC))  # fmt: skip
        files = issue_exports(clearway, partner.name, period, clearway.settings.territory, "csv", _actor(partner),
                              _now())  # fmt: skip
        return files["exports.csv"]
