"""Data-quality findings (the 2022 WCO data-quality standard): warnings, never rejections."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from clearway.model.codelists import is_vague
from clearway.model.consignment import Consignment
from clearway.model.findings import Finding, pointer
from clearway.model.identifiers import is_e123

ROUND_TOTAL_STEP = Decimal(10)
"""A total that is a whole multiple of this (and at least twice it) looks estimated rather than invoiced."""

TOKEN_VALUES = frozenset({Decimal(0), Decimal(1)})
"""Unit prices of 0 or 1 are the classic placeholders for an undeclared value."""

KNOWN_TOP_LEVEL = frozenset(f.encode_name for f in msgspec.structs.fields(Consignment))


def _decimal(value: Any) -> Decimal | None:
    if not isinstance(value, str):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None  # "NaN" and "Infinity" are the contract's errors, not ours


def quality_warnings(doc: dict[str, Any]) -> list[Finding]:
    """Everything that does not block a consignment but lowers the quality of its data."""
    out: list[Finding] = []
    for name in sorted(set(doc) - KNOWN_TOP_LEVEL):
        out.append(Finding(pointer(name), "quality.unknown_field", f"`{name}` is not a Consignment v1 field; kept"))
    raw_items = doc.get("items")
    items: list[Any] = raw_items if isinstance(raw_items, list) else []
    total = Decimal(0)
    priced = True
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        description = item.get("description")
        if isinstance(description, str) and is_vague(description):
            out.append(
                Finding(
                    pointer("items", index, "description"),
                    "quality.vague_description",
                    f"{description!r} does not say what the goods are",
                )
            )
        price = _decimal(item.get("unit_price"))
        quantity = item.get("quantity")
        if price is None or not isinstance(quantity, int):
            priced = False
            continue
        total += price * quantity
        if price in TOKEN_VALUES and doc.get("category") != "documents":
            out.append(
                Finding(
                    pointer("items", index, "unit_price"),
                    "quality.token_value",
                    f"a unit price of {price} is a placeholder, not a value",
                )
            )
        if item.get("brand") and not item.get("gtin"):
            out.append(
                Finding(
                    pointer("items", index, "gtin"),
                    "quality.missing_identifier",
                    "a branded item without its GTIN",
                )
            )
    # beyond 10^18 the remainder would overflow Decimal's precision; such a total is wrong anyway
    if priced and 2 * ROUND_TOTAL_STEP <= total < 10**18 and total % ROUND_TOTAL_STEP == 0:
        out.append(Finding("/items", "quality.round_total", f"the total value {total} is suspiciously round"))
    for role in ("seller", "consignor", "consignee"):
        party = doc.get(role)
        if not isinstance(party, dict):
            continue
        phone = party.get("phone")
        if isinstance(phone, str) and not is_e123(phone):
            out.append(
                Finding(
                    pointer(role, "phone"),
                    "quality.phone_format",
                    f"{phone!r} is not in E.123 international form (+ and digits)",
                )
            )
    seller = doc.get("seller")
    if doc.get("category") == "sale_of_goods" and isinstance(seller, dict) and not seller.get("identifiers"):
        out.append(
            Finding(
                "/seller/identifiers",
                "quality.missing_identifier",
                "the seller has no identifier (VAT, EORI, TIN, USCC)",
            )
        )
    consignee = doc.get("consignee")
    if isinstance(consignee, dict) and not consignee.get("phone") and not consignee.get("email"):
        out.append(Finding("/consignee", "quality.missing_contact", "the consignee has neither phone nor e-mail"))
    if doc.get("kind") == "declaration":  # what a filing must carry and a declaration may leave out
        if doc.get("category") == "sale_of_goods" and doc.get("order") is None:
            missing = "a declared sale without its order: platform and order id cannot be cross-checked"
            out.append(Finding("/order", "quality.order_missing", missing))
        for role in ("seller", "consignor", "consignee"):
            party = doc.get(role)
            if isinstance(party, dict):
                out += [Finding(f"/{role}/{field}", "quality.named_by_identifier",
                                f"the {role} is named by its identifier alone: no {field}")
                        for field in ("name", "address") if party.get(field) is None]  # fmt: skip
    return out
