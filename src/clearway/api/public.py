"""The public: a duty and tax estimator, and status by tracking number with no personal data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from clearway.api.security import RateLimiter, address_of
from clearway.api.views import PublicStatus, public_status
from clearway.errors import ConfigurationError, InvalidInput, NotFound
from clearway.model.consignment import DATE_MAX, DATE_MIN, Consignment
from clearway.model.identifiers import is_currency
from clearway.model.vocabulary import Channel
from clearway.revenue import assess
from clearway.revenue.assessment import Assessment
from clearway.store.consignments import filings_of_tracking
from clearway.workers.runtime import Runtime

Money = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,12}(\.[0-9]{1,4})?$")]
Country = Annotated[str, msgspec.Meta(pattern="^[A-Z]{2}$")]


class EstimateItem(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    hs_code: Annotated[str, msgspec.Meta(pattern=r"^([0-9]{6}|[0-9]{8}|[0-9]{10})$")]
    unit_price: Money
    quantity: Annotated[int, msgspec.Meta(ge=1, le=100000)] = 1
    origin_country: Country | None = None
    description: Annotated[str, msgspec.Meta(min_length=3, max_length=512)] = "goods to estimate"


class EstimateRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a buyer knows before ordering: where from, where to, the goods and what was paid."""

    dispatch_country: Country
    destination_country: Country
    currency: Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")]
    items: Annotated[list[EstimateItem], msgspec.Meta(min_length=1, max_length=99)]
    shipping_cost: Money | None = None
    insurance: Money | None = None
    channel: Channel = "post"
    category: Literal["sale_of_goods", "gift", "commercial_sample", "other"] = "sale_of_goods"
    vat_collected_at_sale: (
        Literal["ioss", "uk_vat", "au_lvig", "sg_ovr", "ch_mail_order", "br_remessa_conforme"] | None
    ) = None
    on: dt.date | None = None


def _as_consignment(request: EstimateRequest) -> Consignment:
    """The estimate as a consignment: anonymous parties, the goods and amounts as given."""
    doc: dict[str, Any] = {
        "reference": "estimate", "channel": request.channel, "transport_document": {"type": "tracking", "id": "-"},
        "category": request.category, "dispatch_country": request.dispatch_country,
        "destination_country": request.destination_country, "currency": request.currency, "gross_mass_kg": "1",
        "seller": {"name": "estimate", "address": {"city": "-", "country": request.dispatch_country}},
        "consignee": {"name": "estimate", "address": {"city": "-", "country": request.destination_country}},
        "items": [msgspec.to_builtins(i) for i in request.items],
        "shipping_cost": request.shipping_cost, "insurance": request.insurance,
    }  # fmt: skip
    if request.vat_collected_at_sale:
        doc["fiscal"] = {"scheme": request.vat_collected_at_sale, "id": "estimate"}
    try:
        return msgspec.convert({k: v for k, v in doc.items() if v is not None}, Consignment)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"the estimate cannot be made: {exc}") from exc


def _owner(rows: Sequence[Any]) -> dict[str, Any]:
    """The filing whose status the public sees when several tenants filed one tracking number: one the carrier
    or post that carries the parcel filed, else the first filed; a withdrawn filing only when every filing is.
    Another tenant's filing of the same number (registered, then invalidated or held) changes nothing."""
    return dict(min(rows, key=lambda r: (r["status"] == "invalidated", not r["carries"], r["received_at"])))


class PublicController(Controller):
    path = "/v1/public"
    tags = ["public"]

    @post(
        "/estimate",
        security=[],
        status_code=200,
        sync_to_thread=True,
        summary="Estimate the duties and taxes of a purchase",
    )
    def estimate(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        limiter: NamedDependency[RateLimiter],
        data: JSONBody[EstimateRequest],
    ) -> Assessment:
        """The assessment the purchase would get (its `reference` is `estimate`)."""
        limiter.take(f"ip:{address_of(request)}")
        on = data.on or dt.datetime.now(dt.UTC).date()
        if not DATE_MIN <= on <= DATE_MAX:
            raise InvalidInput(f"estimates are made for days from {DATE_MIN} to {DATE_MAX}")
        if not is_currency(data.currency):
            raise InvalidInput(f"{data.currency} is not an ISO 4217 currency code")
        try:
            result = assess(_as_consignment(data), on, runtime.app.revenue)
        except ConfigurationError as exc:  # no rule or no exchange rate for what was asked: the asker's to change
            raise InvalidInput(f"no estimate can be made: {exc.message}") from exc
        return result

    @get(
        "/status/{tracking:str}",
        security=[],
        sync_to_thread=True,
        summary="Where a parcel stands, by its tracking number",
    )
    def status(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        limiter: NamedDependency[RateLimiter],
        tracking: FromPath[str],
    ) -> PublicStatus:
        limiter.take(f"ip:{address_of(request)}")
        if len(tracking) > 35:
            raise NotFound(f"no parcel with tracking number {tracking[:35]}...")
        rows = filings_of_tracking(runtime.app.store, tracking.strip())
        if not rows:
            raise NotFound(f"no parcel with tracking number {tracking}")
        return public_status(tracking.strip().upper(), _owner(rows))
