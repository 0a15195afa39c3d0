"""One simulated day of advance electronic data, with violations injected at configurable rates.

Deterministic for (size, seed, day, rates): every draw comes from one `random.Random(seed)`. The
labels (which consignment carries which violation) are returned beside the AED, never inside it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import msgspec

from clearway.model.identifiers import s10_check_digit
from clearway.sim import violations
from clearway.sim.catalogue import Product, catalogue, description_text
from clearway.sim.parties import Seller, consignee, make_sellers, platform_ids
from clearway.sim.world import CARRIERS, CHANNELS, DESTINATIONS, EU, POSTS, USD_RATES, Destination

_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class Rates:
    """Share of consignments carrying each violation (split shipments: share of parcels that are parts).

    Modelling choices, set below what is published so that a capacity of 5% has a chance against them:
    - value fraud (undervaluation, splitting, false gifts, IOSS misuse, misclassification) 7.1% in all, where
      the European Commission estimated that 65% of parcels entering the EU were deliberately undervalued or
      split (customs reform proposal, 17 May 2023, as Reuters reported it) and Finnish Customs, checking
      about 2,000 consignments declared under EUR 22, found the true value higher in 17-29% of them
      (Tulli, as Vasabladet reported it);
    - counterfeits, dangerous goods, prohibited goods and listed parties at a few per thousand to 1.5%: an
      assumption; the EU's published product checks (1.2 non-compliant found per million small parcels in
      2024, the Commission's report of 28 August 2025) measure what was found, not what was there.
    With value fraud at 7.1% and 5% of parcels stopped, recall of each value-fraud type reaches 0.5 only if
    half of every one is stopped: 3.55% of parcels, 71% of the capacity, at perfect precision."""

    undervaluation: float = 0.03
    misclassification: float = 0.015
    vague_description: float = 0.02
    split_shipment: float = 0.01
    counterfeit: float = 0.015
    undeclared_battery: float = 0.005
    prohibited: float = 0.004
    watchlisted_party: float = 0.003
    false_gift: float = 0.01
    ioss_misuse: float = 0.006
    malformed: float = 0.005

    def items(self) -> list[tuple[str, float]]:
        return [(f.name, getattr(self, f.name)) for f in fields(self)]


@dataclass(frozen=True)
class Record:
    """One consignment as its submitter sends it: the NDJSON line (broken on purpose when malformed)."""

    submitter: str
    reference: str
    line: bytes


@dataclass(frozen=True)
class Label:
    """What the simulator injected into one consignment, and what an officer opening it would find."""

    submitter: str
    reference: str
    violation: str
    detail: str
    corrected_value: str = ""  # the consignment's true value, in its currency, where the value was misstated
    corrected_hs_code: str = ""  # the true code of item `item`, where the goods were misclassified
    item: int | None = None
    same_order: str = ""  # a split order's part: the references of its other parts, space-separated


@dataclass
class SimulatedDay:
    day: dt.date
    seed: int
    records: list[Record] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)


@dataclass
class _Draw:
    """Everything one consignment is built from, before violations bend it."""

    rng: random.Random
    day: dt.date
    number: int
    seller: Seller
    destination: Destination
    channel: str
    submitter: str
    currency: str
    products: list[Product]


def simulate(size: int, seed: int, day: dt.date, rates: Rates | None = None) -> SimulatedDay:
    """`size` consignments of one day (split shipments count each parcel)."""
    rates = rates or Rates()
    rng = random.Random(seed)
    products = catalogue()
    sellers = make_sellers(rng, max(300, size // 20), products)
    seller_weights = list(itertools.accumulate(s.activity for s in sellers))
    dest_weights = list(itertools.accumulate(d.weight for d in DESTINATIONS))
    ranges = {s.name: [p for p in products if p.key in s.specialty] for s in sellers}
    out = SimulatedDay(day, seed)
    plan = [(name, rate) for name, rate in rates.items() if rate > 0]
    number = 0
    while number < size:
        seller = rng.choices(sellers, cum_weights=seller_weights)[0]
        destination = rng.choices(DESTINATIONS, cum_weights=dest_weights)[0]
        draw = _draw(rng, day, number, seller, destination, ranges[seller.name])
        violation = _pick(rng, plan)
        if violation == "split_shipment":
            parts = violations.split_shipment(draw, min(4, size - number))
            for doc, detail in parts:
                _emit(out, draw.submitter, doc, "split_shipment", detail)
            number += len(parts)
            continue
        doc = build(draw)
        inject(out, draw, doc, violation, lambda v, d, doc=doc, who=draw.submitter: _emit(out, who, doc, v, d))
        number += 1
    return out


def inject(
    out: SimulatedDay, draw: _Draw, doc: dict[str, Any], violation: str | None,
    emit: Callable[[str | None, str | violations.Truth], None],
) -> None:  # fmt: skip
    """Bend `doc` with `violation` and `emit(violation or None, what is found)` it; a malformed record is kept
    as the broken line its submitter's system sent."""
    if violation == "malformed":
        line, detail = violations.malformed(draw, doc)
        out.records.append(Record(draw.submitter, doc["reference"], line))
        out.labels.append(Label(draw.submitter, doc["reference"], "malformed", detail))
        return
    found = getattr(violations, violation)(draw, doc) if violation else None
    emit(violation if found is not None else None, found or "")


def _emit(
    out: SimulatedDay, submitter: str, doc: dict[str, Any], violation: str | None, found: str | violations.Truth
) -> None:
    out.records.append(Record(submitter, doc["reference"], _encode(doc)))
    if violation:
        truth = found if isinstance(found, violations.Truth) else violations.Truth(found)
        out.labels.append(Label(submitter, doc["reference"], violation, truth.detail, truth.corrected_value,
                                truth.corrected_hs_code, truth.item, truth.same_order))  # fmt: skip


def _pick(rng: random.Random, plan: list[tuple[str, float]]) -> str | None:
    u = rng.random()
    for name, rate in plan:
        if u < rate:
            return name
        u -= rate
    return None


def _draw(
    rng: random.Random, day: dt.date, number: int, seller: Seller, dest: Destination, specialty: list[Product]
) -> _Draw:
    count = rng.choices((1, 2, 3, 4, 5), (60, 25, 9, 4, 2))[0]
    chosen = [rng.choice(specialty) for _ in range(count)]
    channel = rng.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]
    if any(p.has("a") for p in chosen) and channel == "post":
        channel = "express"  # honest shippers send loose lithium batteries as dangerous goods by express
    if rng.random() < 0.3 and seller.platform != "webshop":
        submitter = seller.platform
    elif channel == "post":
        submitter = POSTS[seller.dispatch_country]
    else:
        submitter = rng.choice(CARRIERS[channel])
    roll = rng.random()
    currency = dest.currency if roll < 0.7 else "USD" if roll < 0.9 else seller.currency
    return _Draw(rng, day, number, seller, dest, channel, submitter, currency, chosen)


def price(rng: random.Random, usd: float, spread: float, currency: str) -> str:
    """A list price in `currency` as a decimal string: log-normal around the USD median."""
    value = usd * math.exp(rng.gauss(0, spread)) * USD_RATES[currency]
    if currency in ("KRW", "VND"):
        return str(max(1, round(value, -2 if currency == "VND" else 0)))
    cents = round(value, 2)
    if rng.random() < 0.35 and cents >= 1:
        cents = math.floor(cents) + 0.99
    return f"{max(cents, 0.01):.2f}"


def to_usd(amount: str, currency: str) -> float:
    return float(amount) / USD_RATES[currency]


def s10_id(rng: random.Random, country: str) -> str:
    serial = f"{rng.randrange(10**8):08d}"
    return f"{rng.choice(('LP', 'LX', 'UA', 'RB', 'CP', 'LV'))}{serial}{s10_check_digit(serial)}{country}"


def transport_document(rng: random.Random, channel: str, country: str) -> dict[str, str]:
    if channel == "post":
        return {"type": "s10", "id": s10_id(rng, country)}
    if channel == "express":
        return {"type": "hawb", "id": f"{rng.randrange(10**9, 10**10)}"}
    return {"type": rng.choice(("hawb", "bol")), "id": f"CW{rng.randrange(10**10):010d}"}


def item(rng: random.Random, product: Product, currency: str, origin: str) -> dict[str, Any]:
    text = description_text(rng.choice(product.descriptions))
    doc: dict[str, Any] = {
        "description": text,
        "hs_code": product.hs6,
        "quantity": rng.choices((1, 2, 3, 4, 5), (75, 15, 5, 3, 2))[0],
        "unit_price": price(rng, product.price_usd, product.spread, currency),
        "origin_country": origin,
    }
    if rng.random() < 0.7:
        doc["net_mass_kg"] = f"{max(0.01, product.mass_kg * math.exp(rng.gauss(0, 0.2))):.3f}"
    return doc


TRANSIT = {"express": dt.timedelta(hours=12), "cargo": dt.timedelta(hours=48), "post": dt.timedelta(hours=72)}
"""From filing to the declared arrival, by channel: the advance data comes before the parcel does."""


def build(draw: _Draw) -> dict[str, Any]:
    """The consignment as an honest submitter would send it."""
    rng, seller, dest = draw.rng, draw.seller, draw.destination
    reference = f"{draw.submitter.upper()[:6]}-{draw.day:%Y%m%d}-{draw.number:07d}"
    origin = seller.goods_origin(rng)
    items = [item(rng, p, draw.currency, origin) for p in draw.products]
    net = sum(float(i.get("net_mass_kg", p.mass_kg)) * i["quantity"] for i, p in zip(items, draw.products, strict=True))
    order_date = draw.day - dt.timedelta(days=rng.randint(1, 12))
    doc: dict[str, Any] = {
        "reference": reference,
        "channel": draw.channel,
        "transport_document": transport_document(rng, draw.channel, seller.dispatch_country),
        "category": "sale_of_goods",
        "order": {
            "platform": seller.platform,
            "order_id": f"{seller.platform[:3].upper()}-{rng.randrange(10**9):09d}",
            "order_date": order_date.isoformat(),
            "payment_date": order_date.isoformat(),
        },
        "seller": seller.party(rng),
        "consignee": consignee(rng, dest),
        "dispatch_country": seller.dispatch_country,
        "destination_country": dest.country,
        "currency": draw.currency,
        "gross_mass_kg": f"{net * 1.12 + 0.05:.3f}",
        "items": items,
        "declared_at": (draw_start(draw.day) + dt.timedelta(seconds=rng.randrange(86400))).isoformat(),
    }
    declared = dt.datetime.fromisoformat(doc["declared_at"])
    doc["arrival"] = {"expected_at": (declared + TRANSIT[draw.channel]).isoformat()}  # pre-arrival filing
    if draw.channel != "post":
        doc["master_reference"] = (
            f"{rng.choice(('784', '160', '880', '999'))}-{rng.randrange(10**7):07d}{rng.randrange(7)}"
        )
    if rng.random() < 0.5:
        doc["shipping_cost"] = price(rng, 4, 0.5, draw.currency)
    _fiscal(rng, draw, doc)
    kind = rng.random()
    if kind < 0.02:
        _as_documents(doc)
    elif kind < 0.04:
        _as_private_gift(rng, draw, doc)
    return doc


def draw_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def value_usd(doc: dict[str, Any]) -> float:
    return sum(to_usd(i["unit_price"], doc["currency"]) * i["quantity"] for i in doc["items"])


def _fiscal(rng: random.Random, draw: _Draw, doc: dict[str, Any]) -> None:
    platform = draw.seller.platform
    if platform == "webshop":
        return
    eur = value_usd(doc) * USD_RATES["EUR"]
    ids = platform_ids(platform)
    if draw.destination.country in EU and eur <= 150 and rng.random() < 0.9:
        doc["fiscal"] = {"scheme": "ioss", "id": ids["ioss"]}
    elif draw.destination.country == "GB" and value_usd(doc) * USD_RATES["GBP"] <= 135:
        doc["fiscal"] = {"scheme": "uk_vat", "id": ids["uk_vat"]}
    elif draw.destination.country == "AU" and value_usd(doc) * USD_RATES["AUD"] <= 1000:
        doc["fiscal"] = {"scheme": "au_lvig", "id": ids["au_lvig"]}


def _as_documents(doc: dict[str, Any]) -> None:
    doc["category"] = "documents"
    doc.pop("order", None)
    doc.pop("fiscal", None)
    doc["items"] = [{"description": "Business documents", "quantity": 1, "unit_price": "0"}]
    doc["gross_mass_kg"] = "0.200"


def _as_private_gift(rng: random.Random, draw: _Draw, doc: dict[str, Any]) -> None:
    """A genuine gift between private persons: no order, no business seller, one of each item, each declared at
    what such goods are worth. A gift has no sale, so its customs value is that of the goods (Regulation (EU)
    No 952/2013 art. 74), and the relief covers it only up to its limit (Regulation (EC) No 1186/2009 art. 25:
    EUR 45): an electric scooter declared as a gift at USD 9 is undervalued, which an officer opening it would
    find. (Declared at about USD 15 whatever the goods, such gifts were labelled honest: on pilot seed 7000043,
    day 2, 13 of the 17 parcels stopped on the undervaluation detector alone that found nothing.)"""
    doc["category"] = "gift"
    doc.pop("order", None)
    doc.pop("fiscal", None)
    doc["seller"] = draw.seller.private_sender(rng)
    for entry, product in zip(doc["items"], draw.products, strict=True):
        entry["unit_price"] = price(rng, product.price_usd, product.spread, draw.currency)  # as many draws as before
        entry["quantity"] = 1
