"""Keyed hashes of parties: risk history that outlives the personal data it was computed from.

A party's key is an HMAC-SHA256, under the administration's secret, of its normalised name and its
address (country, postcode, city, street). Detectors and history use keys, so erasing names and
addresses after the retention period loses nothing the risk engine needs, and a key reveals nothing
to whoever lacks the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from functools import lru_cache

from anyascii import anyascii

from clearway.model.consignment import Consignment, Party
from clearway.risk.names import CJK, PUNCT, fold_homoglyphs

LEGAL_FORMS = frozenset(
    {
        "ltd",
        "limited",
        "co",
        "company",
        "corp",
        "corporation",
        "inc",
        "incorporated",
        "llc",
        "plc",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "oy",
        "ab",
        "as",
        "pvt",
        "pte",
        "tic",
        "sti",
        "ve",
        "kg",
        "ohg",
        "jsc",
        "pjsc",
        "ojsc",
        "cjsc",
        "ooo",
        "zao",
        "oao",
        "llp",
        "lp",
        "trading",
        "group",
        "holding",
        "holdings",
        "the",
        "youxian",
        "gongsi",
        "you",
        "xian",
        "gong",
        "si",
    }
)
"""Legal-form and filler words left out of a party's key. This form, and so every stored key, must not
change: risk history (repeat offenders) is matched on keys made years apart. Screening compares names in
its own, richer way (`risk/names.py`)."""


@lru_cache(maxsize=200_000)
def normalise_name(text: str) -> str:
    """The comparable form of a name: `Shenzhen Rеdline Electronics Co., Ltd.` -> `shenzhen redline electronics`."""
    text = fold_homoglyphs(unicodedata.normalize("NFKC", text))
    text = CJK.sub(lambda m: f" {anyascii(m.group(0))} ", text)
    text = anyascii(text).casefold()
    tokens = PUNCT.sub(" ", text.replace("&", " and ")).split()
    kept = [t for t in tokens if t not in LEGAL_FORMS]
    return " ".join(kept or tokens)


def _address(party: Party) -> tuple[str, ...]:
    a = party.address
    if a is None:  # a party a declaration names by its identifier alone
        return ("",)
    return a.country, normalise_name(a.postcode or ""), normalise_name(a.city), normalise_name(a.street or "")


def _identity(party: Party) -> str:
    """The normalised name, or for a party named by its identifier alone, that identifier."""
    if party.name is not None or not party.identifiers:
        return normalise_name(party.name or "")
    first = party.identifiers[0]
    return f"{first.scheme}:{first.value.strip().upper()}"


def _keyed(secret: bytes, parts: tuple[str, ...]) -> str:
    return hmac.new(secret, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def party_key(secret: bytes, party: Party) -> str:
    return _keyed(secret, (_identity(party), *_address(party)))


def address_key(secret: bytes, party: Party) -> str:
    """The address alone: a drop address keeps its history whatever name the parcels carry."""
    return _keyed(secret, ("address", *_address(party)))


def consignment_party_keys(secret: bytes, consignment: Consignment) -> dict[str, str]:
    """Keys of the seller, the consignor (when given), the consignee and the delivery address."""
    keys = {
        "seller": party_key(secret, consignment.seller),
        "consignee": party_key(secret, consignment.consignee),
        "delivery_address": address_key(secret, consignment.consignee),
    }
    if consignment.consignor is not None:
        keys["consignor"] = party_key(secret, consignment.consignor)
    return keys
