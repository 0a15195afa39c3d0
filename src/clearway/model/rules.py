"""The contract's rules beyond structure: code lists, check digits and conditional fields.

They read the raw decoded document defensively, so that they report alongside structural errors
(a missing `channel` and a wrong S10 check digit come back together).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from clearway.model.findings import Finding, pointer
from clearway.model.identifiers import (
    ca_business_number_problem,
    despatch_problem,
    flight_problem,
    gtin_problem,
    ioss_problem,
    is_country,
    is_currency,
    is_hs_subheading,
    receptacle_problem,
    s10_problem,
    un_number_problem,
    vat_problem,
)

PARTIES = ("seller", "consignor", "consignee", "declarant", "representative")
OPERATORS = ("declarant", "representative")
VAT_LIKE = frozenset({"vat", "eori"})


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(doc: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    items = doc.get("items")
    if not isinstance(items, list):
        return []
    return [(i, item) for i, item in enumerate(items) if isinstance(item, dict)]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _country(value: Any, *path: str | int) -> Iterator[Finding]:
    code = _str(value)
    if code is not None and len(code) == 2 and code.isupper() and not is_country(code):
        yield Finding(pointer(*path), "country.unknown", f"{code} is not an ISO 3166-1 alpha-2 country code")


def contract_errors(doc: dict[str, Any]) -> list[Finding]:
    """Every rule of the contract that is not a matter of shape."""
    out: list[Finding] = []
    out.extend(_country(doc.get("dispatch_country"), "dispatch_country"))
    out.extend(_country(doc.get("destination_country"), "destination_country"))
    currency = _str(doc.get("currency"))
    if currency is not None and len(currency) == 3 and currency.isupper() and not is_currency(currency):
        out.append(Finding("/currency", "currency.unknown", f"{currency} is not an ISO 4217 currency code"))
    out.extend(_transport_document(_obj(doc.get("transport_document"))))
    out.extend(_fiscal(_obj(doc.get("fiscal"))))
    declaration = doc.get("kind") == "declaration"
    for role in PARTIES:
        party = doc.get(role)
        if isinstance(party, dict):  # a declarant or representative is an operator: its EORI names it
            out.extend(_named(party, role, declaration or role in OPERATORS))
        out.extend(_party(_obj(party), role))
    out.extend(_route(doc))
    sale = doc.get("category") == "sale_of_goods"
    if sale and doc.get("order") is None and not declaration:  # a declaration's gap is a quality warning
        out.append(Finding("/order", "order.required", "`order` is required when category is sale_of_goods"))
    for index, item in _items(doc):
        out.extend(_item(item, index, sale))
    return out


def _route(doc: dict[str, Any]) -> Iterator[Finding]:
    """v1.1: routing, places, office of first entry, conveyance and the UPU despatch and receptacle."""
    routing = doc.get("routing_countries")
    for index, code in enumerate(routing if isinstance(routing, list) else []):
        yield from _country(code, "routing_countries", index)
    for role in ("place_of_acceptance", "place_of_delivery"):
        place = _obj(doc.get(role))
        yield from _country(place.get("country"), role, "country")
        code = _str(place.get("unlocode"))
        if code is not None and _str(place.get("country")) and code[:2] != place["country"]:
            yield Finding(pointer(role, "unlocode"), "unlocode.country",
                          f"UN/LOCODE {code} is in {code[:2]}, not in {place['country']}")  # fmt: skip
    office = _str(doc.get("office_of_first_entry"))
    if office is not None and len(office) == 8:
        yield from (Finding("/office_of_first_entry", "office.country", f"{f.message} (the office's first two letters)")
                    for f in _country(office[:2], "office_of_first_entry"))  # fmt: skip
    conveyance = _obj(doc.get("conveyance"))
    reference = _str(conveyance.get("reference"))
    if conveyance.get("mode") == "air" and reference is not None and (problem := flight_problem(reference)):
        yield Finding("/conveyance/reference", "flight.format", problem)
    upu = _obj(doc.get("upu"))
    despatch, receptacle = _str(upu.get("despatch")), _str(upu.get("receptacle"))
    if despatch is not None and len(despatch) == 20 and (problem := despatch_problem(despatch)):
        yield Finding("/upu/despatch", "s8.format", problem)
    if receptacle is not None and len(receptacle) == 29 and (problem := receptacle_problem(receptacle, despatch)):
        yield Finding("/upu/receptacle", "s9.format", problem)


def _transport_document(td: dict[str, Any]) -> Iterator[Finding]:
    item_id = _str(td.get("id"))
    if td.get("type") == "s10" and item_id is not None:
        problem = s10_problem(item_id)
        if problem is not None:
            code = "s10.check_digit" if "check digit" in problem else "s10.format"
            yield Finding("/transport_document/id", code, problem)


def _fiscal(fiscal: dict[str, Any]) -> Iterator[Finding]:
    number = _str(fiscal.get("id"))
    if fiscal.get("scheme") == "ioss" and number is not None:
        problem = ioss_problem(number)
        if problem is not None:
            yield Finding("/fiscal/id", "ioss.invalid", problem)
    if fiscal.get("scheme") == "ca_gst" and number is not None:
        problem = ca_business_number_problem(number)
        if problem is not None:
            yield Finding("/fiscal/id", "ca_gst.invalid", problem)


def by_identifier_only(party: dict[str, Any]) -> bool:
    """A party a customs declaration names by its identifier (an importer by EORI), without name or address."""
    identifiers = party.get("identifiers")
    return isinstance(identifiers, list) and any(_str(_obj(i).get("value")) for i in identifiers)


def _named(party: dict[str, Any], role: str, declaration: bool) -> Iterator[Finding]:
    """A filing names each party and its address; a declaration may name one by its identifier alone."""
    if declaration and by_identifier_only(party):
        return
    for field in ("name", "address"):
        if party.get(field) is None:
            yield Finding(pointer(role, field), "schema.required", f"`{field}` is required")


def _party(party: dict[str, Any], role: str) -> Iterator[Finding]:
    address = _obj(party.get("address"))
    yield from _country(address.get("country"), role, "address", "country")
    identifiers = party.get("identifiers")
    if not isinstance(identifiers, list):
        return
    country = _str(address.get("country"))
    for index, ident in enumerate(identifiers):
        ident = _obj(ident)
        value, scheme = _str(ident.get("value")), ident.get("scheme")
        if value is None:
            continue
        if scheme == "vat":
            problem = vat_problem(value, country)
            if problem is not None:
                yield Finding(pointer(role, "identifiers", index, "value"), "vat.invalid", problem)
        elif scheme == "ioss":
            problem = ioss_problem(value)
            if problem is not None:
                yield Finding(pointer(role, "identifiers", index, "value"), "ioss.invalid", problem)
        elif scheme == "gtin":
            problem = gtin_problem(value)
            if problem is not None:
                yield Finding(pointer(role, "identifiers", index, "value"), "gtin.invalid", problem)


def _item(item: dict[str, Any], index: int, sale: bool) -> Iterator[Finding]:
    hs_code = _str(item.get("hs_code"))
    if hs_code is None and sale:
        yield Finding(pointer("items", index, "hs_code"), "hs.required", "an HS code is required for sale_of_goods")
    elif hs_code is not None and hs_code.isdigit() and len(hs_code) in (6, 8, 10) and not is_hs_subheading(hs_code):
        yield Finding(
            pointer("items", index, "hs_code"),
            "hs.unknown",
            f"{hs_code[:6]} is not an HS 2022 subheading",
        )
    origin = item.get("origin_country")
    if origin is None and sale:
        yield Finding(
            pointer("items", index, "origin_country"),
            "origin.required",
            "the country of origin is required for sale_of_goods",
        )
    yield from _country(origin, "items", index, "origin_country")
    gtin = _str(item.get("gtin"))
    if gtin is not None and gtin.isdigit():
        problem = gtin_problem(gtin)
        if problem is not None:
            yield Finding(pointer("items", index, "gtin"), "gtin.invalid", problem)
    un_number = _str(item.get("un_number"))
    if un_number is not None and len(un_number) == 6 and un_number[2:].isdigit():
        problem = un_number_problem(un_number)
        if problem is not None:
            yield Finding(pointer("items", index, "un_number"), "un.unknown", problem)
