"""clearway's answers as WCO Data Model 3.6 (DMS) notifications, in the shape and codes of the DMS samples.

accepted (01), rejected (03, with every error), control (05, held for a check), routed (08, the lane),
cleared (09, released), invalidated (10) and tax calculation (13, the assessment per item and tax type).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

from lxml import etree

from clearway.interop.dms_schemas import MD, RES

Kind = Literal["accepted", "rejected", "control", "routed", "cleared", "invalidated", "tax"]
FUNCTION: dict[Kind, str] = {
    "accepted": "01", "rejected": "03", "control": "05", "routed": "08", "cleared": "09", "invalidated": "10",
    "tax": "13",
}  # fmt: skip
RES_DS = "urn:wco:datamodel:WCO:Response_DS:DMS:2"  # where DateTimeString lives
ROUTE = {"green": "1", "blue": "1", "yellow": "2", "red": "3"}  # lane -> route: release, documents, inspection
TAX_TYPE = {"duty": "A00", "tax": "B00"}  # the DMS samples' tax type codes: customs duty, import VAT


def _el(parent: etree._Element, name: str, text: object | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{RES}}}{name}", attributes)
    if text is not None:
        element.text = str(text)
    return element


def _when(parent: etree._Element, name: str, at: dt.datetime) -> None:
    stamp = etree.SubElement(_el(parent, name), f"{{{RES_DS}}}DateTimeString", {"formatCode": "304"})
    stamp.text = at.astimezone(dt.UTC).strftime("%Y%m%d%H%M%SZ")


def notification(
    kind: Kind,
    *,
    notification_id: str,
    reference: str,
    registration_id: str | None,
    version: int | None,
    issued_at: dt.datetime,
    errors: Sequence[Mapping[str, str]] = (),
    lane: str | None = None,
    assessment: Mapping[str, Any] | None = None,
) -> bytes:
    """One DMS notification about the consignment filed as `reference` and registered as `registration_id`."""
    metadata = etree.Element(f"{{{MD}}}MetaData", nsmap={"md": MD, None: RES, "ds": RES_DS})
    etree.SubElement(metadata, f"{{{MD}}}WCODataModelVersionCode").text = "3.6"
    etree.SubElement(metadata, f"{{{MD}}}WCOTypeName").text = "RES"
    response = _el(metadata, "Response")
    _el(response, "FunctionCode", FUNCTION[kind])
    _el(response, "FunctionalReferenceID", notification_id[:35])
    _when(response, "IssueDateTime", issued_at)
    if kind == "routed" and lane is not None:
        info = _el(response, "AdditionalInformation")
        _el(info, "StatementCode", ROUTE[lane])
        _el(info, "StatementTypeCode", "AFB")
    for error in errors:  # DMS validation codes (8) and tag ids (4) are too short for ours: all in the text
        described = f"{error.get('path') or '/'}: {error['code']}: {error.get('message', '')}"
        _el(_el(response, "Error"), "Description", described[:512])
    declaration = _el(response, "Declaration")
    if kind == "accepted":
        _when(declaration, "AcceptanceDateTime", issued_at)
    _el(declaration, "FunctionalReferenceID", reference[:35])
    if registration_id:
        _el(declaration, "ID", registration_id[:70])
    if kind == "rejected":
        _when(declaration, "RejectionDateTime", issued_at)
    if version is not None:
        _el(declaration, "VersionID", version)
    if kind == "tax" and assessment is not None:
        _tax(declaration, assessment)
    return bytes(etree.tostring(metadata, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _amount(value: str) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


def _tax(declaration: etree._Element, assessment: Mapping[str, Any]) -> None:
    """The assessment per item: duty and import tax, base, rate and amount, in the destination's currency."""
    currency = {"currencyID": assessment["currency"]}
    goods = _el(declaration, "GoodsShipment")
    for line in assessment["lines"]:
        item = _el(goods, "GovernmentAgencyGoodsItem")
        _el(item, "SequenceNumeric", line["item"] + 1)
        commodity = _el(item, "Commodity")
        duty = Decimal(line["duty"])
        tax_base = line.get("tax_base")  # absent from assessments stored before it was recorded
        bases = {
            "duty": Decimal(line["customs_value"]),
            "tax": Decimal(tax_base) if tax_base is not None else Decimal(line["customs_value"]) + duty,
        }
        rates = {"duty": line.get("duty_rate"), "tax": line.get("tax_rate")}
        for name, code in TAX_TYPE.items():
            fee = _el(commodity, "DutyTaxFee")
            _el(fee, "AdValoremTaxBaseAmount", _amount(str(bases[name])), **currency)
            if rates[name] is not None:
                _el(fee, "TaxRateNumeric", (Decimal(rates[name]) * 100).quantize(Decimal("0.01")))
            _el(fee, "TypeCode", code)
            payment = _el(fee, "Payment")
            amount = _amount(line["duty" if name == "duty" else "tax"])
            _el(payment, "TaxAssessedAmount", amount, **currency)
            _el(payment, "PaymentAmount", amount, **currency)


FROM_EVENT: dict[str, Kind] = {  # lifecycle events a submitter is told of, as DMS notifications
    "registered": "accepted",
    "duty_assessed": "tax",
    "held": "control",
    "released": "cleared",
    "invalidated": "invalidated",
}


def for_events(
    registration_id: str,
    reference: str,
    events: Sequence[Mapping[str, Any]],
    assessment: Mapping[str, Any] | None,
) -> list[dict[str, Any]]:
    """The DMS notifications of a consignment's lifecycle, oldest first: `{event, at, xml}` each. Routing
    (the lane) is customs' own and is not among them."""
    out = []
    for event in events:
        kind = FROM_EVENT.get(event["type"])
        if kind is None or (kind == "tax" and assessment is None):
            continue
        xml = notification(
            kind, notification_id=event["id"], reference=reference, registration_id=registration_id,
            version=None, issued_at=event["at"], assessment=assessment if kind == "tax" else None,
        )  # fmt: skip
        out.append({"event": event["type"], "notification": kind, "at": event["at"], "xml": xml.decode()})
    return out
