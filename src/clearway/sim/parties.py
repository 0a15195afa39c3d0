"""Sellers, private senders and buyers for the simulator, with identifiers that pass their checks."""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from stdnum.au import abn
from stdnum.cn import uscc
from stdnum.gb import vat as gb_vat

from clearway.sim.catalogue import Product
from clearway.sim.world import IOSS_STATE_CODES, ORIGINS, PLATFORMS, SELLER_TRADES, SELLER_WORDS, Destination

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@dataclass(frozen=True)
class Seller:
    name: str
    country: str
    city: str
    dispatch_country: str
    currency: str
    platform: str
    specialty: frozenset[str]
    identifiers: tuple[tuple[str, str], ...]
    activity: float
    phone: str

    def goods_origin(self, rng: random.Random) -> str:
        if self.country in ("HK", "US", "GB") and rng.random() < 0.6:
            return "CN"
        return self.country

    def party(self, rng: random.Random) -> dict[str, Any]:
        doc: dict[str, Any] = {"name": self.name, "address": {"city": self.city, "country": self.country}}
        if self.identifiers:
            doc["identifiers"] = [{"scheme": s, "value": v} for s, v in self.identifiers]
        if rng.random() < 0.5:
            doc["phone"] = self.phone
        return doc

    def private_sender(self, rng: random.Random) -> dict[str, Any]:
        given = rng.choice(("Wei", "Li", "Mei", "John", "Sarah", "Ahmet", "Min-jun", "Priya", "Thanh"))
        family = rng.choice(("Zhang", "Wang", "Chen", "Smith", "Yilmaz", "Kim", "Sharma", "Nguyen"))
        return {"name": f"{given} {family}", "address": {"city": self.city, "country": self.country}}


def make_sellers(rng: random.Random, count: int, products: tuple[Product, ...]) -> list[Seller]:
    """`count` sellers: most in CN, each with a small range of products and a heavy-tailed activity."""
    ordinary = [p.key for p in products if not (p.has("p") or p.has("x")) and p.key != "documents"]
    excise = [p.key for p in products if p.has("x")]
    weights = [o.weight for o in ORIGINS]
    sellers = []
    for index in range(count):
        origin = rng.choices(ORIGINS, weights)[0]
        city = rng.choice(origin.cities)
        name = f"{city} {rng.choice(SELLER_WORDS)} {rng.choice(SELLER_TRADES)} {origin.legal_form}"
        if rng.random() < 0.3:
            name = (
                f"{rng.choice(SELLER_WORDS)} {rng.choice(SELLER_WORDS)} {rng.choice(SELLER_TRADES)} {origin.legal_form}"
            )
        specialty = set(rng.sample(ordinary, rng.randint(3, 8)))
        if rng.random() < 0.01:
            specialty |= set(rng.sample(excise, 2))
        dispatch = "HK" if origin.country == "CN" and rng.random() < 0.1 else origin.country
        platform = rng.choices([p for p, _ in PLATFORMS], [w for _, w in PLATFORMS])[0]
        sellers.append(
            Seller(
                name=name,
                country=origin.country,
                city=city,
                dispatch_country=dispatch,
                currency=origin.currency,
                platform=platform,
                specialty=frozenset(specialty),
                identifiers=_seller_ids(rng, origin.country, index),
                activity=rng.lognormvariate(0, 1.3),  # a few big sellers, a long tail
                phone=f"{origin.phone_prefix} {rng.randrange(10**8, 10**9)}",
            )
        )
    return sellers


def _seller_ids(rng: random.Random, country: str, index: int) -> tuple[tuple[str, str], ...]:
    if rng.random() < 0.3:
        return ()
    if country == "CN":
        body = "9144" + "".join(rng.choice(_USCC_ALPHABET) for _ in range(13))
        return (("uscc", body + uscc.calc_check_digit(body)),)
    if country == "GB":
        return (("vat", valid_number(gb_vat.is_valid, "GB", 9, index)),)
    return (("tin", f"{country}{rng.randrange(10**9):09d}"),)


def valid_number(check: Any, prefix: str, digits: int, start: int) -> str:
    """The first number from `start` (spread out) that passes `check`, with its prefix."""
    n = (start * 7919) % 10**digits
    while True:
        candidate = f"{prefix}{n:0{digits}d}"
        if check(candidate) or check(candidate[len(prefix) :]):
            return candidate if check(candidate) else candidate[len(prefix) :]
        n = (n + 1) % 10**digits


@lru_cache(maxsize=32)
def platform_ids(platform: str) -> dict[str, str]:
    """A platform's IOSS, UK VAT and Australian LVIG (ABN) registrations, stable for its name."""
    seed = zlib.crc32(platform.encode())
    state = sorted(IOSS_STATE_CODES.values())[seed % len(IOSS_STATE_CODES)]
    return {
        "ioss": f"IM{state}{seed % 10**7:07d}",
        "uk_vat": valid_number(gb_vat.is_valid, "GB", 9, seed % 10**6),
        "au_lvig": valid_number(abn.is_valid, "", 11, seed % 10**6 + 51_000_000_000 // 7919),
    }


def consignee(rng: random.Random, dest: Destination) -> dict[str, Any]:
    city, postcode = rng.choice(dest.cities)
    street = f"{rng.choice(dest.streets)} {rng.randint(1, 180)}"
    if dest.country in ("US", "CA", "AU", "GB", "IE", "FR"):
        street = f"{rng.randint(1, 180)} {rng.choice(dest.streets)}"
    given, family = rng.choice(dest.first_names), rng.choice(dest.last_names)
    doc: dict[str, Any] = {
        "name": f"{given} {family}",
        "address": {"street": street, "city": city, "postcode": postcode, "country": dest.country},
    }
    roll = rng.random()
    if roll < 0.85:
        doc["phone"] = f"{dest.phone_prefix} {rng.randrange(10**8, 10**9)}"
    elif roll < 0.9:
        doc["phone"] = f"0{rng.randrange(10**8, 10**9)}"  # national form: a data-quality warning
    if rng.random() < 0.6:
        doc["email"] = f"{given}.{family}{rng.randrange(100)}@example.com".lower().replace(" ", "").replace("'", "")
    return doc
