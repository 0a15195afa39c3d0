"""Rebuilding Consignment structs from batch rows, for stages whose logic works per consignment."""

from __future__ import annotations

from typing import Any

from clearway.model.consignment import Address, Consignment, Fiscal, Item, Order, Party, TransportDocument


def consignment_from_row(row: dict[str, Any]) -> Consignment:
    """The consignment as far as the batch carries it (party details beyond names and countries are not)."""
    order = None
    if row["platform"] is not None:
        order = Order(platform=row["platform"], order_id=row["order_id"] or "", order_date=row["received_at"].date())
    fiscal = Fiscal(scheme=row["fiscal_scheme"], id=row["fiscal_id"]) if row["fiscal_scheme"] else None
    consignee = Party(
        name=row["consignee_name"],
        address=Address(
            city=row["consignee_city"] or "",
            country=row["consignee_country"],
            street=row["consignee_street"],
            postcode=row["consignee_postcode"],
            region=row["consignee_region"],
        ),
    )
    return Consignment(
        reference=row["reference"],
        channel=row["channel"],
        transport_document=TransportDocument(type=row["transport_document_type"], id=row["transport_document_id"]),
        category=row["category"],
        seller=Party(name=row["seller_name"], address=Address(city="", country=row["seller_country"])),
        consignee=consignee,
        dispatch_country=row["dispatch_country"],
        destination_country=row["destination_country"],
        currency=row["currency"],
        gross_mass_kg=row["gross_mass_kg"],
        items=[Item(**item) for item in row["items"]],
        order=order,
        fiscal=fiscal,
        shipping_cost=row["shipping_cost"],
        insurance=row["insurance"],
    )
