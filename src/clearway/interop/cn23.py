"""UPU CN22/CN23 postal customs declarations, box by box, in and out of Consignment v1 (docs/cn23.md).

A CN23 is a JSON object whose keys name the form's boxes, or CSV with one row per content line (box 1 to 6)
and the declaration's other boxes repeated on each row; rows with the same UPU S10 item id are one item.
The form carries no order data: `order_platform`, `order_id`, `order_date` (and `reference`) may be added
beside the boxes, since Consignment v1 asks a sale of goods for them. The fiscal reference the VAT was
collected under (an IOSS number and the like) travels in the importer's reference box, as the UPU asks for
the IOSS number, with its scheme beside the boxes (`fiscal_scheme`), so the VAT is not charged twice.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

Doc = dict[str, Any]
IOSS = re.compile(r"^IM[0-9]{10}$")  # an importer's reference of this form is an IOSS number
CATEGORIES = ("sale_of_goods", "gift", "documents", "commercial_sample", "returned_goods", "other")  # box 10
PARTY = ("name", "business", "street", "postcode", "city", "country")
CONTENT = {  # box -> key of one content line
    "1": "description", "2": "quantity", "3": "net_weight_kg", "4": "value", "5": "hs_tariff_number",
    "6": "origin_country",
}  # fmt: skip
FLAT = {  # CSV column -> form key, for the boxes of the whole item (and the order data beside them)
    "item_id": "item_id", "form": "form", "reference": "reference", "importer_reference": "importer_reference",
    "box7_total_gross_weight_kg": "total_gross_weight_kg", "box8_total_value": "total_value",
    "currency": "currency", "box9_postal_charges": "postal_charges", "box10_category": "category",
    "box11_explanation": "explanation", "box15_invoice": "invoice", "order_platform": "order_platform",
    "order_id": "order_id", "order_date": "order_date", "order_payment_date": "order_payment_date",
    "fiscal_scheme": "fiscal_scheme",
}  # fmt: skip
PARTIES = {"sender": (*PARTY, "phone", "email"), "addressee": (*PARTY, "phone", "email")}
S10_ISSUER = re.compile(r"^[A-Z]{2}\d{9}([A-Z]{2})$")  # an S10 item id ends with the code of the post that took it in
HEADER = [
    *list(FLAT)[:3],
    *(f"{role}_{k}" for role, fields in PARTIES.items() for k in fields),
    *list(FLAT)[3:],
    *(f"box{b}_{k}" for b, k in CONTENT.items()),
]


def to_consignment(form: Doc, destination: str | None = None) -> Doc:
    """A CN22/CN23 as a Consignment v1 document (to be validated like any filing)."""
    sender, addressee = form.get("sender") or {}, form.get("addressee") or {}
    doc: Doc = {
        "reference": form.get("reference") or form.get("item_id"),
        "channel": "post",
        "transport_document": {"type": "s10", "id": form.get("item_id")},
        "category": form.get("category"),
        "seller": _party(sender) | _contact(sender),
        "consignee": _party(addressee) | _contact(addressee),
        "dispatch_country": _posted_in(form.get("item_id")) or sender.get("country"),
        "destination_country": destination or addressee.get("country"),
        "currency": form.get("currency"),
        "gross_mass_kg": form.get("total_gross_weight_kg"),
        "shipping_cost": form.get("postal_charges"),
        "items": [_item(line) for line in form.get("contents", [])],
    }
    if form.get("order_id"):
        doc["order"] = {"platform": form.get("order_platform"), "order_id": form["order_id"],
                        "order_date": form.get("order_date"),
                        "payment_date": form.get("order_payment_date")}  # fmt: skip
    reference = form.get("importer_reference")
    scheme = form.get("fiscal_scheme") or ("ioss" if isinstance(reference, str) and IOSS.match(reference) else None)
    if reference and scheme:
        doc["fiscal"] = {"scheme": scheme, "id": reference}
    elif reference:
        doc["consignee"]["identifiers"] = [{"scheme": "other", "value": reference}]
    return _clean(doc)


def _posted_in(item_id: object) -> str | None:
    """The country whose post took the item in, from its S10 id (UPU S10: the last two letters)."""
    found = S10_ISSUER.match(item_id) if isinstance(item_id, str) else None
    return found.group(1) if found else None


def _party(p: Doc) -> Doc:
    name = p.get("name") or p.get("business")
    return {"name": name, "address": {k: p.get(k) for k in ("street", "postcode", "city", "country")}}


def _contact(p: Doc) -> Doc:
    return {k: p[k] for k in ("phone", "email") if p.get(k)}


def _item(line: Doc) -> Doc:
    """Box 4 is the value of the line: v1 wants the unit price, so the value is divided by the quantity."""
    quantity = int(line.get("quantity") or 1)
    value = Decimal(str(line["value"])) if line.get("value") not in (None, "") else None
    return {
        "description": line.get("description"),
        "quantity": quantity,
        "unit_price": str((value / quantity).quantize(Decimal("0.01"))) if value is not None else None,
        "hs_code": line.get("hs_tariff_number"),
        "origin_country": line.get("origin_country"),
        "net_mass_kg": str(line["net_weight_kg"]) if line.get("net_weight_kg") not in (None, "") else None,
    }


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v not in (None, "", {}, [])}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def from_consignment(c: Doc) -> Doc:
    """A Consignment v1 document (valid under the contract) as a CN23 (a CN22 where the total is within its
    300 SDR limit is the poster's choice; the boxes are the same)."""
    seller, consignee = c.get("consignor") or c["seller"], c["consignee"]
    lines = [
        {
            "description": i["description"], "quantity": i["quantity"],
            "net_weight_kg": i.get("net_mass_kg"), "value": str(Decimal(i["unit_price"]) * i["quantity"]),
            "hs_tariff_number": i.get("hs_code"), "origin_country": i.get("origin_country"),
        }
        for i in c["items"]
    ]  # fmt: skip
    form: Doc = {
        "form": "CN23", "item_id": c["transport_document"]["id"], "reference": c["reference"],
        "sender": {"name": seller["name"], **seller["address"], **_contact(seller)},
        "addressee": {"name": consignee["name"], **consignee["address"], **_contact(consignee)},
        "contents": lines, "total_gross_weight_kg": c["gross_mass_kg"],
        "total_value": str(sum((Decimal(line["value"]) for line in lines), Decimal(0))),
        "currency": c["currency"], "postal_charges": c.get("shipping_cost"), "category": c["category"],
    }  # fmt: skip
    if c.get("order"):
        form |= {"order_platform": c["order"].get("platform"), "order_id": c["order"]["order_id"],
                 "order_date": c["order"].get("order_date"),
                 "order_payment_date": c["order"].get("payment_date")}  # fmt: skip
    if c.get("fiscal"):
        form |= {"importer_reference": c["fiscal"]["id"], "fiscal_scheme": c["fiscal"]["scheme"]}
    return _clean(form)


CARRIED = {"reference", "channel", "transport_document", "category", "seller", "consignee", "dispatch_country",
           "destination_country", "currency", "gross_mass_kg", "shipping_cost", "items", "order", "fiscal"}  # fmt: skip
"""What `from_consignment` carries of a Consignment v1 document (the sender is the consignor, if any)."""
ITEM_CARRIED = {"description", "quantity", "unit_price", "hs_code", "origin_country", "net_mass_kg"}


def not_carried(c: Doc) -> list[str]:
    """What a CN23 written from `c` leaves out, one note each (never dropped without a word)."""
    doc = _clean(c)
    notes = [f"{name}: no box on the CN23" for name in sorted(set(doc) - CARRIED - {"consignor"})]
    # a CN23 read is the post's filing: `kind` (a declaration) is among the fields above
    if doc.get("consignor"):
        notes.append("seller: the sender box names the consignor; the seller is not on the form")
    for role in ("seller", "consignee"):
        if (doc.get(role) or {}).get("identifiers"):
            notes.append(f"{role}/identifiers: no box on the CN23")
        if ((doc.get(role) or {}).get("address") or {}).get("region"):
            notes.append(f"{role}/address/region: no box on the CN23")
    if doc.get("channel") not in (None, "post"):
        notes.append(f"channel: a CN23 goes with a postal item; {doc['channel']} comes back as post")
    document = doc.get("transport_document") or {}
    if document and document.get("type") != "s10":
        notes.append(f"transport_document: the CN23 names the S10 item; {document.get('type')} comes back as s10")
    posted_in = _posted_in(document.get("id"))
    if doc.get("dispatch_country") and doc["dispatch_country"] != (posted_in or (doc.get("seller") or {}).get(
            "address", {}).get("country")):  # fmt: skip
        notes.append("dispatch_country: the CN23 tells it from the S10 id, or else the sender's country")
    for n, item in enumerate(doc.get("items", [])):
        notes += [f"items/{n}/{name}: no box on the CN23" for name in sorted(set(item) - ITEM_CARRIED)]
    return notes


def read_csv(text: str) -> Iterator[Doc]:
    """CN23 forms from CSV rows (one per content line), in the order their item ids first appear."""
    forms: dict[str, Doc] = {}
    for row in csv.DictReader(io.StringIO(text)):
        key = row.get("item_id") or ""
        if key not in forms:
            forms[key] = {name: row.get(column) for column, name in FLAT.items()} | {
                role: {k: row.get(f"{role}_{k}") for k in fields} for role, fields in PARTIES.items()
            } | {"item_id": key, "form": row.get("form") or "CN23", "contents": []}  # fmt: skip
        forms[key]["contents"].append({k: row.get(f"box{b}_{k}") for b, k in CONTENT.items()})
    yield from (_clean(f) for f in forms.values())


def write_csv(forms: Iterable[Doc]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, HEADER, lineterminator="\n")
    writer.writeheader()
    for form in forms:
        head = {column: form.get(name) for column, name in FLAT.items()} | {
            f"{role}_{k}": (form.get(role) or {}).get(k) for role, fields in PARTIES.items() for k in fields
        } | {"form": form.get("form", "CN23")}  # fmt: skip
        for line in form.get("contents", []):
            writer.writerow(head | {f"box{b}_{k}": line.get(k) for b, k in CONTENT.items()})
    return out.getvalue()
