"""Keyed hashes of parties: risk history that outlives the personal data it was computed from.

A party's key is an HMAC-SHA256, under the administration's secret, of its normalised name and its
address (country, postcode, city, street). Detectors and history use keys, so erasing names and
addresses after the retention period loses nothing the risk engine needs, and a key reveals nothing
to whoever lacks the secret.
"""

from __future__ import annotations

import hashlib
import hmac

from clearway.model.consignment import Consignment, Party
from clearway.risk.screening import normalise_name


def _address(party: Party) -> tuple[str, ...]:
    a = party.address
    return a.country, normalise_name(a.postcode or ""), normalise_name(a.city), normalise_name(a.street or "")


def _keyed(secret: bytes, parts: tuple[str, ...]) -> str:
    return hmac.new(secret, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def party_key(secret: bytes, party: Party) -> str:
    return _keyed(secret, (normalise_name(party.name), *_address(party)))


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
