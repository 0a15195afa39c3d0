"""Consignment v1 as msgspec Structs: the field names and rules of docs/consignment-v1.md.

Constraints that msgspec can express (lengths, patterns, enums) are declared here; the rest
(decimal strings, conditional fields, identifier check digits) lives in `validation` and is also
described in the JSON Schema through `extra_json_schema`, so this file stays the one definition.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from clearway.model.vocabulary import Channel

Kind = Literal["filing", "declaration"]
PaymentMethod = Literal[
    "card", "bank_transfer", "e_wallet", "cash_on_delivery", "buy_now_pay_later", "voucher", "other"
]
SupportingDocumentType = Literal["licence", "certificate", "invoice", "other"]
ConveyanceMode = Literal["air", "sea", "road", "rail"]
Category = Literal["sale_of_goods", "gift", "documents", "commercial_sample", "returned_goods", "other"]
TransportDocumentType = Literal["s10", "hawb", "tracking", "bol"]
FiscalScheme = Literal[
    "ioss", "uk_vat", "au_lvig", "sg_ovr", "ch_mail_order", "br_remessa_conforme", "no_voec", "ca_gst", "other"
]
IdentifierScheme = Literal["eori", "vat", "ioss", "tin", "gtin", "uscc", "abn", "other"]

CountryCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code")]
CurrencyCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code")]

DECIMAL_PATTERN = r"^[0-9]{1,15}(\.[0-9]{1,6})?$"
"""A decimal string as the contract wants it: no sign, no exponent, at most 6 decimals."""

# The contract's bounds (clearway v1 additions): every stage, Polars' Decimal(38, 6) columns and both
# databases' NUMERIC(18, 4) hold any value within them, even converted into the currency of any rule.
MONEY_MAX = Decimal("9999999999.999999")
"""A money field (unit price, shipping, insurance) is below 10^10 in its currency (ten integer digits)."""
VALUE_MAX = Decimal("10000000000")
"""The consignment's whole value (items, shipping and insurance) is at most 10^10 in its currency."""
MASS_MAX = Decimal("9999999.999999")
"""A mass in kilograms is below 10^7 (seven integer digits)."""
QUANTITY_MAX = 1_000_000
"""Units on one goods line."""
DATE_MIN = dt.date(2000, 1, 1)
DATE_MAX = dt.date(2099, 12, 31)
"""Dates and date-times of the contract fall within these days (UTC for date-times)."""
MONEY_PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,6})?$"
MASS_PATTERN = r"^[0-9]{1,7}(\.[0-9]{1,6})?$"


Money = Annotated[
    Decimal,
    msgspec.Meta(
        description=f"decimal string >= 0, at most {MONEY_MAX}",
        extra_json_schema={"type": "string", "pattern": MONEY_PATTERN, "minimum_value": "0",
                           "maximum_value": str(MONEY_MAX)},
        extra={"decimal_min": Decimal(0), "decimal_exclusive": False, "decimal_max": MONEY_MAX},
    ),
]  # fmt: skip
Mass = Annotated[
    Decimal,
    msgspec.Meta(
        description=f"decimal string > 0 (kg), at most {MASS_MAX}",
        extra_json_schema={"type": "string", "pattern": MASS_PATTERN, "exclusive_minimum_value": "0",
                           "maximum_value": str(MASS_MAX)},
        extra={"decimal_min": Decimal(0), "decimal_exclusive": True, "decimal_max": MASS_MAX},
    ),
]  # fmt: skip
ContractDate = Annotated[dt.date, msgspec.Meta(description=f"ISO 8601 date from {DATE_MIN} to {DATE_MAX}")]
AwareDatetime = Annotated[
    dt.datetime,
    msgspec.Meta(tz=True, description=f"ISO 8601 date-time with offset, from {DATE_MIN} to {DATE_MAX}"),
]


class TransportDocument(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """The transport document that identifies the parcel: S10 item id, house AWB, tracking or B/L."""

    type: TransportDocumentType
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=35)]


class Order(msgspec.Struct, frozen=True):
    """The sale on the platform; mandatory for `sale_of_goods`."""

    platform: Annotated[str, msgspec.Meta(min_length=1, max_length=140)]
    order_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    order_date: ContractDate
    payment_date: ContractDate | None = None
    url: str | None = None
    payment_method: PaymentMethod | None = None  # v1.1: how the buyer paid (cash on delivery: nothing paid yet)


class Address(msgspec.Struct, frozen=True):
    city: Annotated[str, msgspec.Meta(min_length=1, max_length=140)]
    country: CountryCode
    street: Annotated[str, msgspec.Meta(max_length=280)] | None = None
    postcode: Annotated[str, msgspec.Meta(max_length=17)] | None = None
    region: Annotated[str, msgspec.Meta(max_length=140)] | None = None


class Identifier(msgspec.Struct, frozen=True):
    scheme: IdentifierScheme
    value: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Party(msgspec.Struct, frozen=True):
    """A seller, consignor or consignee. A filing names each party with its address; a customs declaration
    may name one by its identifier alone (an importer by EORI), which the contract's rules check."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=140)] | None = None
    address: Address | None = None
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    identifiers: list[Identifier] | None = None


class Fiscal(msgspec.Struct, frozen=True):
    """VAT collected at the sale: the scheme and its registration number (for example an IOSS number)."""

    scheme: FiscalScheme
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Arrival(msgspec.Struct, frozen=True):
    expected_at: AwareDatetime | None = None
    office: Annotated[str, msgspec.Meta(max_length=17)] | None = None


class Item(msgspec.Struct, frozen=True):
    """One goods line."""

    description: Annotated[str, msgspec.Meta(min_length=3, max_length=512)]
    quantity: Annotated[int, msgspec.Meta(ge=1, le=QUANTITY_MAX)]
    unit_price: Money
    hs_code: Annotated[str, msgspec.Meta(pattern=r"^([0-9]{6}|[0-9]{8}|[0-9]{10})$")] | None = None
    origin_country: CountryCode | None = None
    net_mass_kg: Mass | None = None
    brand: Annotated[str, msgspec.Meta(max_length=140)] | None = None
    gtin: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{8}([0-9]{4,6})?$")] | None = None
    product_url: Annotated[str, msgspec.Meta(max_length=2048)] | None = None
    un_number: (
        Annotated[str, msgspec.Meta(pattern=r"^UN[0-9]{4}$",
                                    description="v1.1: UN number of dangerous goods (UN Model Regulations), UN3480")]
        | None
    ) = None  # fmt: skip


class Packages(msgspec.Struct, frozen=True):
    """v1.1: number and kind of packages (kind: UN/ECE Recommendation 21 code, BX box, PK package, CT carton)."""

    count: Annotated[int, msgspec.Meta(ge=1, le=99999)]
    kind: Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Z]{2}$")] | None = None


class Place(msgspec.Struct, frozen=True):
    """v1.1: a place of acceptance or delivery: its country, with its UN/LOCODE or its city."""

    country: CountryCode
    unlocode: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}[A-Z2-9]{3}$")] | None = None
    city: Annotated[str, msgspec.Meta(min_length=1, max_length=140)] | None = None


class Conveyance(msgspec.Struct, frozen=True):
    """v1.1: the carrier's flight or voyage that brings the consignment in (air: IATA flight number, LH400)."""

    mode: ConveyanceMode
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=35)]
    date: ContractDate | None = None


class Representative(Party, frozen=True):
    """v1.1: the customs representative and the kind of representation (Regulation (EU) No 952/2013 art. 18)."""

    status: Literal["direct", "indirect"] = "direct"


class UpuMail(msgspec.Struct, frozen=True):
    """v1.1: the UPU despatch (S8, 20 characters) and receptacle (S9, 29 characters) the item travels in."""

    despatch: Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{20}$")]
    receptacle: Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{29}$")] | None = None


class SupportingDocument(msgspec.Struct, frozen=True):
    """v1.1: a licence, certificate or invoice the goods travel with (CN23 boxes 13, 14 and 15)."""

    type: SupportingDocumentType
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    issuer_country: CountryCode | None = None


class GoodsLocation(msgspec.Struct, frozen=True):
    """v1.1: where the goods can be examined (EU DE 16 15: type A designated, B authorised, C approved,
    D other; qualifier T postcode, U UN/LOCODE, V customs office, W GNSS, X EORI, Y authorisation, Z free)."""

    type: Literal["A", "B", "C", "D"]
    qualifier: Literal["T", "U", "V", "W", "X", "Y", "Z"]
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=70)]


class Consignment(msgspec.Struct, frozen=True):
    """One parcel to one buyer (house level): the advance electronic data of Consignment v1."""

    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    channel: Channel
    transport_document: TransportDocument
    category: Category
    seller: Party
    consignee: Party
    dispatch_country: CountryCode
    destination_country: CountryCode
    currency: CurrencyCode
    gross_mass_kg: Mass
    items: Annotated[list[Item], msgspec.Meta(min_length=1, max_length=999)]
    master_reference: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    order: Order | None = None
    consignor: Party | None = None
    fiscal: Fiscal | None = None
    shipping_cost: Money | None = None
    insurance: Money | None = None
    declared_at: AwareDatetime | None = None
    arrival: Arrival | None = None
    original_reference: (
        Annotated[
            str,
            msgspec.Meta(
                min_length=1,
                max_length=64,
                description=(
                    "clearway extension: for returned goods, the submitter's reference of the original consignment"
                ),
            ),
        ]
        | None
    ) = None

    packages: Packages | None = None
    place_of_acceptance: Place | None = None
    place_of_delivery: Place | None = None
    routing_countries: Annotated[list[CountryCode], msgspec.Meta(max_length=99)] | None = None
    conveyance: Conveyance | None = None
    office_of_first_entry: (
        Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}[A-Z0-9]{6}$",
                                    description="v1.1: customs office of first entry, EU Customs Office List code")]
        | None
    ) = None  # fmt: skip
    declarant: Party | None = None
    representative: Representative | None = None
    upu: UpuMail | None = None
    supporting_documents: Annotated[list[SupportingDocument], msgspec.Meta(max_length=99)] | None = None
    location_of_goods: GoodsLocation | None = None
    kind: Annotated[
        Kind,
        msgspec.Meta(description=(
            "clearway extension: `filing` (advance data from a platform, carrier or post; the default) or"
            " `declaration` (a customs declaration, as a representative lodges it: a sale needs no order data and"
            " a party may be named by its identifier alone; each gap is a data-quality warning)"
        )),
    ] = "filing"  # fmt: skip

    @property
    def intrinsic_value(self) -> Decimal:
        """Sum of quantity x unit price over the items, in `currency`."""
        return sum((item.unit_price * item.quantity for item in self.items), Decimal(0))

    @property
    def effective_consignor(self) -> Party:
        """The consignor, which defaults to the seller."""
        return self.consignor if self.consignor is not None else self.seller
