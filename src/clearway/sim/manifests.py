"""The day's transport beside its advance data: the manifests carriers and posts would file for the
simulated parcels. Posts make UPU despatches (S8) of receptacles (S9) of items (S10), express carriers air
master waybills of their house waybills, cargo rail notes (CIM) of its bills and waybills. As in life, a few
houses arrive with no filing behind them and a few filed parcels are on no manifest (they never came); and
the carrier of a platform's parcel sometimes files it too (`carrier_copies`), now and then with other
values."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import msgspec

from clearway.model.identifiers import is_country, s10_check_digit, s10_problem
from clearway.sim.generator import SimulatedDay

PER_MASTER = 400  # houses per master
PER_RECEPTACLE = 40  # items per receptacle of a despatch
NO_DATA = 0.005  # houses on a manifest that no filing names
NOT_CARRIED = 0.01  # filings on no manifest
COPIED = 0.01  # platforms' parcels that their carrier files too
COPY_DIFFERS = 0.3  # of those, the carrier's filing declares other values


def carrier_of(submitter: str, doc: dict[str, Any]) -> str:
    """Who carries a parcel: its filer when a carrier or post filed it, else the platform's carrier for
    its channel (an express line, the dispatch country's post, a rail cargo line)."""
    order = doc.get("order") if isinstance(doc.get("order"), dict) else {}
    if order.get("platform") != submitter:
        return submitter
    channel = doc.get("channel")
    if channel == "post":
        return f"post-{str(doc.get('dispatch_country', 'xx')).lower()}"
    return "swiftair-express" if channel == "express" else "rail-cargo"


def _awb(rng: random.Random) -> str:
    serial = rng.randrange(10**7)
    return f"{rng.choice(('784', '160', '880', '020'))}-{serial:07d}{serial % 7}"


def _s10(rng: random.Random, country: str) -> str:
    serial = f"{rng.randrange(10**8):08d}"
    return f"RX{serial}{s10_check_digit(serial)}{country}"


def manifests(day: SimulatedDay, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """(carrier, manifest) for the day: the carrier is the filer of the parcels (a post or an express
    carrier), or the cargo line that carries a platform's parcels."""
    rng = random.Random(f"manifests:{seed}")
    groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in day.records:
        try:
            doc = msgspec.json.decode(record.line)
            td, channel = doc["transport_document"], doc["channel"]
            key = (carrier_of(record.submitter, doc), channel, doc["dispatch_country"], doc["destination_country"])
        except (msgspec.DecodeError, KeyError, TypeError):
            continue  # a broken line carries no document to manifest
        if not isinstance(td, dict) or rng.random() < NOT_CARRIED:
            continue
        if td.get("type") == "s10" and s10_problem(str(td.get("id"))):
            continue  # the post's own systems read a broken item id off no despatch
        if not (is_country(str(key[2])) and is_country(str(key[3]))):
            continue  # nor route a parcel to a country that does not exist
        groups[key].append(td)
    out: list[tuple[str, dict[str, Any]]] = []
    number = 0
    for (carrier, channel, origin, destination), documents in sorted(groups.items()):
        for start in range(0, len(documents), PER_MASTER):
            number += 1
            chunk = documents[start : start + PER_MASTER]
            extra = max(0, round(len(chunk) * NO_DATA + rng.random() - 0.5))
            if channel == "post":
                despatch = f"{origin}AAAA{destination}AAAAAUN{day.day.year % 10}{number % 10000:04d}"
                houses = [{"transport_document": {"type": "s10", "id": td["id"]},
                           "receptacle": f"{despatch}{1 + i // PER_RECEPTACLE:03d}01{rng.randrange(1, 300):04d}"}
                          for i, td in enumerate(chunk)]  # fmt: skip
                houses += [{"transport_document": {"type": "s10", "id": _s10(rng, origin)}} for _ in range(extra)]
                master = {"type": "s8", "id": despatch}
            else:
                kind = "mawb" if channel == "express" else "cim"
                houses = [{"transport_document": {"type": td["type"], "id": td["id"]}} for td in chunk
                          if kind == "cim" or td["type"] in ("hawb", "tracking")]  # fmt: skip
                houses += [{"transport_document": {"type": "hawb", "id": f"NODATA{rng.randrange(10**9):09d}"}}
                           for _ in range(extra)]  # fmt: skip
                master = {"type": kind, "id": _awb(rng) if kind == "mawb" else f"CIM-{day.day:%Y%m%d}-{number:05d}"}
            unique = list({h["transport_document"]["id"]: h for h in houses}.values())
            if not unique:
                continue
            reference = f"{master['type'].upper()}-{day.day:%Y%m%d}-{number:05d}"
            out.append((carrier, {"reference": reference, "master": master, "houses": unique,
                                  "movement": {"departure_country": origin}}))  # fmt: skip
    return out


def carrier_copies(day: SimulatedDay, seed: int) -> dict[str, list[bytes]]:
    """Per carrier, its own filings of some of the platforms' parcels it carries (the same transport
    document under its own reference): a few declare other values, which the officer should read."""
    rng = random.Random(f"copies:{seed}")
    copies: dict[str, list[bytes]] = defaultdict(list)
    for record in day.records:
        try:
            doc = msgspec.json.decode(record.line)
            carrier = carrier_of(record.submitter, doc)
        except (msgspec.DecodeError, AttributeError, TypeError):
            continue
        if carrier == record.submitter or rng.random() >= COPIED:
            continue
        copy = dict(doc, reference=f"C-{doc['reference']}"[:64])
        if rng.random() < COPY_DIFFERS:
            copy["items"] = [dict(i, unit_price=f"{float(i['unit_price']) * 0.4:.2f}") for i in doc["items"]]
        copies[carrier].append(msgspec.json.encode(copy))
    return dict(copies)
