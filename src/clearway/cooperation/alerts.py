"""A risk alert: what one administration found and asks another to look for.

It names the kind of infringement, the goods (HS prefixes, description keywords, brands), the route, the
value pattern and the parties. Parties travel only as keyed hashes under a key the two administrations
share (`risk/party_keys.py` form, so both sides hash the same normalised name and address); names in clear
need a recorded legal basis. Every alert expires. Sizes are bounded: an alert comes from outside.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from clearway.model.consignment import DATE_MAX, DATE_MIN
from clearway.model.vocabulary import Domain as RiskDomain
from clearway.model.vocabulary import FindingKind, Referral

Country = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")]
Word = Annotated[str, msgspec.Meta(min_length=2, max_length=40)]
Hash = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]
PartyRole = Literal["seller", "consignor", "consignee", "delivery_address"]
PARTY_ROLES: tuple[PartyRole, ...] = ("seller", "consignor", "consignee", "delivery_address")

DOMAIN_OF_KIND: dict[str, tuple[RiskDomain, Referral]] = {
    "counterfeit": ("ipr", "rfi"),
    "undervaluation": ("fiscal", "rfi"),
    "wrong_hs_code": ("fiscal", "rfi"),
    "misdeclared_origin": ("fiscal", "rfi"),
    "vague_description": ("fiscal", "rfi"),
    "split_consignment": ("fiscal", "rfi"),  # the code, and so the duty, cannot be told: the filer is asked
    "prohibited": ("prohibitions", "rfi"),
    "restricted": ("prohibitions", "rfi"),
    "dangerous_goods": ("safety", "carrier"),
    "other": ("fiscal", "rfi"),
}
"""The risk domain an alert's hit belongs to, and the referral it opens (what the domain allows, see
`data/risk/domains.yaml`): a partner's alert never raises do-not-load, and is never a mandatory stop."""


class Goods(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Any item matching: an HS prefix (when given) and a keyword or brand (when given)."""

    hs_prefixes: Annotated[list[Annotated[str, msgspec.Meta(pattern=r"^[0-9]{2,10}$")]], msgspec.Meta(max_length=20)]
    keywords: Annotated[list[Word], msgspec.Meta(max_length=20)] = []
    brands: Annotated[list[Word], msgspec.Meta(max_length=20)] = []

    @property
    def given(self) -> bool:
        return bool(self.hs_prefixes or self.keywords or self.brands)


class Route(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    dispatch_country: Country | None = None
    destination_country: Country | None = None
    origin_country: Country | None = None  # of any item


class ValuePattern(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Consignments declared at most this intrinsic value (as the undervalued ones were)."""

    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
    declared_at_most: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,12}(\.[0-9]{1,6})?$")]

    @property
    def limit(self) -> Decimal:
        return Decimal(self.declared_at_most)


class PartyHash(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    role: PartyRole
    hash: Hash


class ClearName(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    role: PartyRole
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class RiskAlert(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
    kind: FindingKind
    issued_at: dt.datetime
    expires_at: dt.datetime
    goods: Goods = Goods(hs_prefixes=[])
    route: Route = Route()
    value: ValuePattern | None = None
    parties: Annotated[list[PartyHash], msgspec.Meta(max_length=10)] = []
    names: Annotated[list[ClearName], msgspec.Meta(max_length=10)] = []  # only with a legal basis
    legal_basis: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    note: Annotated[str, msgspec.Meta(max_length=500)] | None = None  # for the partner's officer

    def problems(self) -> list[str]:
        """What makes the alert unusable, beyond its types: empty of criteria, expiring before it is
        issued, names without a legal basis."""
        found: list[str] = []
        window = (DATE_MIN.year, DATE_MAX.year)
        if not all(window[0] <= t.year <= window[1] for t in (self.issued_at, self.expires_at)):
            return [f"times fall in {window[0]} to {window[1]} (issued {self.issued_at.year}, expires "
                    f"{self.expires_at.year})"]  # fmt: skip  # compared in UTC, year 1 or 9999 would overflow
        if self.issued_at.tzinfo is None or self.expires_at.tzinfo is None:
            return ["times carry their offset (UTC: Z)"]
        if not (self.goods.given or self.parties):
            found.append("an alert names goods (HS, keywords or brands) or parties")
        if self.expires_at <= self.issued_at:
            found.append("an alert expires after it is issued")
        if self.names and not self.legal_basis:
            found.append("names in clear need the legal basis for sharing them")
        return found

    def active(self, at: dt.datetime) -> bool:
        return self.issued_at <= at < self.expires_at

    @property
    def domain(self) -> RiskDomain:
        return DOMAIN_OF_KIND[self.kind][0]

    @property
    def referral(self) -> Referral:
        return DOMAIN_OF_KIND[self.kind][1]


class AlertFeedback(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the receiver tells the issuer of one alert: how often a consignment it selected was inspected,
    and found infringing, with what kinds. No consignment, no party: only counts."""

    alert: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
    selected: Annotated[int, msgspec.Meta(ge=0)]
    inspected: Annotated[int, msgspec.Meta(ge=0)]
    found: Annotated[int, msgspec.Meta(ge=0)]
    kinds: Annotated[list[FindingKind], msgspec.Meta(max_length=8)] = []
    last_found: dt.date | None = None


def alert_code(partner: str, alert_id: str) -> str:
    """The hit code of a partner's alert, as reasons and hit rates carry it."""
    return f"ALERT:{partner}:{alert_id}"


ALERT_PREFIX = "ALERT:"
