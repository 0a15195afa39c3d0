"""Violation injectors: each bends an honest consignment and says how, for the label file.

An injector returns the label's detail, or None when it could not apply (the consignment stays honest
and unlabelled); where the violation misstates a fact the duty rests on, it returns a `Truth`: the detail
and that fact as an officer opening the parcel finds it. `split_shipment` builds its own parcels;
`malformed` returns the broken line.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import msgspec

from clearway.revenue.packaged import packaged_context
from clearway.sim.catalogue import Product, catalogue, description_text
from clearway.sim.world import BRANDS, EU, USD_RATES, WATCHLIST

if TYPE_CHECKING:
    from clearway.sim.generator import _Draw

VAGUE = (
    "Gift",
    "gifts",
    "Parts",
    "goods",
    "Accessories",
    "Sample",
    "spare parts",
    "items",
    "Geschenk",
    "cadeau",
)
MARKERS = ("replica", "AAA quality", "1:1", "inspired by", "mirror quality")
DISGUISES = (
    ("Hair accessories", "961700"), ("Plastic phone case", "392690"), ("Tea sample", "090210"),
    ("Toy parts", "950300"), ("Spare parts for fan", "841490"), ("Cosmetic sample", "330499"),
)  # fmt: skip
SPLIT_THRESHOLDS = {"EUR": 150.0, "GBP": 135.0, "AUD": 1000.0}
"""Thresholds that splitters aim under (EU IOSS and duty relief; UK point of sale; AU LVIG), local currency."""
SPLIT_PARTS = (2, 4)
"""The fewest and most parcels a split order becomes."""


@dataclass(frozen=True)
class Truth:
    """What an inspection finds beside the violation: the label's detail, and the misstated fact as it is."""

    detail: str
    corrected_value: str = ""  # the consignment's value (its items' prices times quantities), in its currency
    corrected_hs_code: str = ""  # the code of the goods of item `item`
    item: int | None = None
    same_order: str = ""  # the references of the other parcels of the order this one is a part of, space-separated


def _value(items: list[dict[str, Any]]) -> Decimal:
    return sum((Decimal(i["unit_price"]) * i["quantity"] for i in items), Decimal(0))


def _products(flag: str) -> list[Product]:
    return [p for p in catalogue() if p.has(flag)]


def undervaluation(draw: _Draw, doc: dict[str, Any]) -> Truth | None:
    line = max(doc["items"], key=lambda i: float(i["unit_price"]) * i["quantity"])
    true_price = line["unit_price"]
    value = _value(doc["items"])
    factor = draw.rng.uniform(0.05, 0.3)
    if not Decimal(true_price):
        return None  # documents, free samples: nothing to under-value (drawn first, so the day stays the same)
    line["unit_price"] = f"{max(0.01, float(true_price) * factor):.2f}"
    return Truth(f"{line['description']}: declared {line['unit_price']} of a true {true_price} {doc['currency']}",
                 corrected_value=str(value))  # fmt: skip


@lru_cache(maxsize=64)
def duty_rates(country: str, day: dt.date) -> dict[str, Decimal]:
    """The duty rate of each catalogue code at `country` on `day` (the packaged tariff of its rules)."""
    revenue = packaged_context()
    rules = revenue.rules.for_country(country, day)
    if not rules:
        return {}
    lines = {p.hs6: revenue.tariff.line(rules[0].jurisdiction, p.hs6, day) for p in catalogue()}
    return {code: line.rate for code, line in lines.items() if line is not None}


def misclassification(draw: _Draw, doc: dict[str, Any]) -> Truth | None:
    """An item declared under the code of other goods, a lower-duty one where the destination's tariff has one
    (the scheme's point: declaring goods under "codes of products that are subject to a lower duty", as US
    customs-fraud practice describes it: eliasllc.com, "Customs and Tariffs Fraud"; mondaq.com, "Are There
    Legitimate Ways To Achieve More Advantageous Tariff Classifications?"), else one of the same rate; never
    a dearer one."""
    item = draw.rng.randrange(len(doc["items"]))
    line = doc["items"][item]
    if "hs_code" not in line:
        return None
    others = [p for p in catalogue() if p.hs6[:2] != line["hs_code"][:2] and not p.flags]
    rates = duty_rates(doc["destination_country"], draw.day)
    if line["hs_code"] in rates:
        true_rate = rates[line["hs_code"]]
        cheaper = [p for p in others if rates.get(p.hs6, true_rate) < true_rate]
        others = cheaper or [p for p in others if rates.get(p.hs6) == true_rate] or others
    wrong = draw.rng.choice(others).hs6
    true_code, line["hs_code"] = line["hs_code"], wrong
    return Truth(f"{line['description']}: declared {wrong}, goods are {true_code}", corrected_hs_code=true_code,
                 item=item)  # fmt: skip


def vague_description(draw: _Draw, doc: dict[str, Any]) -> str | None:
    line = draw.rng.choice(doc["items"])
    before, line["description"] = line["description"], draw.rng.choice(VAGUE)
    return f"{before!r} declared as {line['description']!r}"


def counterfeit(draw: _Draw, doc: dict[str, Any]) -> str | None:
    rng = draw.rng
    key = rng.choice(sorted(BRANDS))
    product = next(p for p in catalogue() if p.key == key)
    brand, floor_usd = rng.choice(BRANDS[key])
    unit_usd = floor_usd * rng.uniform(0.03, 0.15)
    text = description_text(rng.choice(product.descriptions))
    if rng.random() < 0.5:
        text = f"{brand} {text}"
    if rng.random() < 0.3:
        text = f"{text} {rng.choice(MARKERS)}"
    line: dict[str, Any] = {
        "description": text,
        "hs_code": product.hs6,
        "quantity": rng.choice((1, 1, 2)),
        "unit_price": f"{max(0.5, unit_usd * USD_RATES[doc['currency']]):.2f}",
        "origin_country": "CN",
    }
    if rng.random() < 0.7:
        line["brand"] = brand
    doc["items"][0] = line
    return f"{brand} {product.key} at {line['unit_price']} {doc['currency']} (genuine from about USD {floor_usd})"


def undeclared_battery(draw: _Draw, doc: dict[str, Any]) -> str | None:
    rng = draw.rng
    product = rng.choice(_products("a"))
    doc["channel"] = "post"
    doc.pop("master_reference", None)
    from clearway.sim.generator import s10_id  # the generator imports this module

    doc["transport_document"] = {"type": "s10", "id": s10_id(rng, doc["dispatch_country"])}
    line: dict[str, Any] = {
        "description": description_text(rng.choice(product.descriptions)),
        "hs_code": product.hs6,
        "quantity": rng.choice((1, 2, 4)),
        "unit_price": f"{product.price_usd * USD_RATES[doc['currency']]:.2f}",
        "origin_country": "CN",
    }
    disguised = rng.random() < 0.5
    if disguised:
        line["description"], line["hs_code"] = rng.choice(DISGUISES)
    doc["items"][0] = line
    return f"{product.key} alone by post" + (f", declared as {line['description']!r}" if disguised else "")


def prohibited(draw: _Draw, doc: dict[str, Any]) -> str | None:
    rng = draw.rng
    product = rng.choice(_products("p"))
    line: dict[str, Any] = {
        "description": description_text(rng.choice(product.descriptions)),
        "hs_code": product.hs6,
        "quantity": 1,
        "unit_price": f"{product.price_usd * USD_RATES[doc['currency']]:.2f}",
        "origin_country": doc["items"][0].get("origin_country", "CN"),
    }
    disguised = rng.random() < 0.4
    if disguised:
        line["description"], line["hs_code"] = rng.choice(DISGUISES)
    doc["items"].append(line)
    return f"{product.key}" + (f" declared as {line['description']!r}" if disguised else "")


def watchlisted_party(draw: _Draw, doc: dict[str, Any]) -> str | None:
    rng = draw.rng
    entry = rng.choice(WATCHLIST)
    names = [entry[1]] + [a for a in entry[2].split(";") if a]
    name = rng.choice(names)
    if rng.random() < 0.3:
        name = name.upper()
    is_person = bool(entry[4])
    role = "consignee" if is_person and rng.random() < 0.5 else "seller"
    doc[role]["name"] = name
    if role == "seller":
        doc["seller"]["address"]["country"] = entry[3] if entry[3] != "KP" else "CN"
    return f"{role} is {entry[0]} ({entry[1]}) as {name!r}"


def false_gift(draw: _Draw, doc: dict[str, Any]) -> str | None:
    if "order" not in doc:
        return None
    doc["category"] = "gift"
    doc.pop("fiscal", None)
    return f"platform order {doc['order']['order_id']} from a business seller declared as a gift"


def ioss_misuse(draw: _Draw, doc: dict[str, Any]) -> str | None:
    rng = draw.rng
    if doc["destination_country"] not in EU or "order" not in doc:
        return None
    if rng.random() < 0.5:
        bogus = rng.choice(("IM999", "IM27", "EU276", "IM276")) + f"{rng.randrange(10**6):06d}"
        doc["fiscal"] = {"scheme": "ioss", "id": bogus}
        return f"invalid IOSS number {bogus}"
    from clearway.sim.parties import platform_ids

    doc["fiscal"] = {"scheme": "ioss", "id": platform_ids(doc["order"]["platform"])["ioss"]}
    line = doc["items"][0]
    target_eur = rng.uniform(180, 600)
    line["unit_price"] = f"{target_eur / USD_RATES['EUR'] * USD_RATES[doc['currency']] / line['quantity']:.2f}"
    return f"IOSS used on a consignment of about EUR {target_eur:.0f}"


def split_shipment(draw: _Draw, max_parts: int) -> list[tuple[dict[str, Any], Truth]]:
    """2 to 4 parcels from one seller to one buyer on one day, each under the threshold, together above it. An
    officer opening one finds the order (its number on each invoice) and so the other parts."""
    from clearway.sim.generator import _Draw as Draw  # the generator imports this module
    from clearway.sim.generator import build, transport_document
    from clearway.sim.world import DESTINATIONS

    rng = draw.rng
    dest = draw.destination
    if dest.currency not in SPLIT_THRESHOLDS:
        dest = rng.choice([d for d in DESTINATIONS if d.currency in SPLIT_THRESHOLDS])
    threshold = SPLIT_THRESHOLDS[dest.currency]
    parts = max(1, min(max_parts, rng.randint(*SPLIT_PARTS)))
    base = build(
        Draw(
            rng,
            draw.day,
            draw.number,
            draw.seller,
            dest,
            draw.channel,
            draw.submitter,
            dest.currency,
            draw.products[:1],
        )
    )
    group = base["reference"]
    out = []
    references = [f"{group}-{index + 1}" for index in range(parts)]
    for index, reference in enumerate(references):
        doc = copy.deepcopy(base)
        doc["reference"] = reference
        doc["transport_document"] = transport_document(rng, doc["channel"], doc["dispatch_country"])
        line = doc["items"][0] = dict(doc["items"][0])
        line["quantity"] = 1
        line["unit_price"] = f"{threshold * rng.uniform(0.6, 0.95):.2f}"
        detail = f"part {index + 1} of {parts} of {group}, threshold {threshold:.0f} {dest.currency}"
        out.append((doc, Truth(detail, same_order=" ".join(r for r in references if r != reference))))
    return out


def malformed(draw: _Draw, doc: dict[str, Any]) -> tuple[bytes, str]:
    """A record its submitter's system broke: the line to send and what is wrong with it."""
    rng = draw.rng
    kind = rng.choice(("truncated", "missing_field", "check_digit", "number_money", "bad_country", "bad_hs"))
    encode = msgspec.json.encode
    if kind == "truncated":
        line = encode(doc)
        return line[: rng.randint(10, len(line) - 10)], "truncated JSON"
    if kind == "missing_field":
        field = rng.choice(("consignee", "items", "currency", "gross_mass_kg", "transport_document"))
        doc.pop(field, None)
        return encode(doc), f"missing {field}"
    if kind == "check_digit" and doc["transport_document"]["type"] == "s10":
        tid = doc["transport_document"]["id"]
        wrong = (int(tid[10]) + rng.randint(1, 9)) % 10
        doc["transport_document"]["id"] = f"{tid[:10]}{wrong}{tid[11:]}"
        return encode(doc), "wrong S10 check digit"
    if kind == "number_money":
        doc["items"][0]["unit_price"] = float(doc["items"][0]["unit_price"])
        return encode(doc), "unit price as a JSON number"
    if kind == "bad_country":
        doc["destination_country"] = rng.choice(("UK", "XX", "EU"))
        return encode(doc), f"destination country {doc['destination_country']}"
    doc["items"][0]["hs_code"] = rng.choice(("999999", "000000", "12345"))
    return encode(doc), f"HS code {doc['items'][0]['hs_code']}"
