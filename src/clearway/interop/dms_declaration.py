"""WCO Data Model 3.6 (DMS) import declarations in and out of Consignment v1 (mapping: docs/wco-dms.md).

`read_declaration` parses, unwraps a transport envelope, checks that the document is an original import
declaration, validates it against the DMS schema and maps it into a Consignment v1 document; every data
element the mapping does not use is kept beside it (`extras`, by path), never dropped. A document that is
not one it can map is refused with the reason. `write_declaration` writes a Consignment v1 document as a
DMS import declaration that validates against the same schema.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lxml import etree

from clearway.intake.submitted import Submitted
from clearway.interop.dms_schemas import DEC, MD, DmsSchemas, SchemaError
from clearway.model.findings import Finding
from clearway.model.validation import Outcome, validate_raw

Doc = dict[str, Any]
S10 = re.compile(r"^[A-Z]{2}\d{9}[A-Z]{2}$")
CHANNEL_BY_MODE = {"5": "post", "4": "express"}  # DE 7/4 mode of transport at the border; the rest is cargo
MODE_BY_CHANNEL = {"post": "5", "express": "4", "cargo": "1"}
DOCUMENT_BY_TYPE = {"740": "hawb", "705": "bol", "714": "bol", "750": "s10", "DCR": "tracking"}
TYPE_BY_DOCUMENT = {"hawb": "740", "bol": "705", "s10": "750", "tracking": "DCR"}
CATEGORY_BY_NATURE = {"1": "sale_of_goods", "2": "returned_goods", "3": "gift"}  # DE 8/5, first digit
NATURE_BY_CATEGORY = {"sale_of_goods": "1", "returned_goods": "2", "gift": "3"}  # the rest: 9 (other)
OTHER_TYPES = {  # what the DMS profile's other message types are, for a reason a submitter understands
    "COR": "an amendment request (send the whole declaration again, amended)",
    "INV": "an invalidation request (withdraw the consignment instead)",
    "GPR": "a goods presentation notice",
}
FISCAL_STATEMENT = "FISCALREF"
"""DE 2/2 additional information, a user code (an..17): a fiscal reference DE 3/40 has no role for (UK VAT,
VOEC, ABN/ARN ...), as `scheme id`, on the first goods item. The IOSS number travels as DE 3/40, role FR5."""
COMMUNICATION = {"TE": "phone", "EM": "email"}  # DE 3/.. communication type codes
DECLARATION_TYPE = "IMD"  # import, pre-lodged standard declaration: advance data comes before arrival


@dataclass
class Converted:
    """A DMS document read: the Consignment v1 document, or why there is none."""

    consignment: Doc | None = None
    extras: list[dict[str, str]] = field(default_factory=list)  # data elements v1 has no field for
    refused: str | None = None  # why the document is not mapped at all
    schema_errors: list[SchemaError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the mapping did that a reader should know
    type_code: str | None = None  # DE 1/1 as declared (IMx, or COx for a special fiscal territory)


def _q(name: str) -> str:
    return f"{{{DEC}}}{name}"


class _Reader:
    """Reads mapped elements and remembers each, so that the rest can be kept as extras."""

    def __init__(self, declaration: etree._Element) -> None:
        self.root = declaration
        self.used: set[etree._Element] = set()

    def find(self, node: etree._Element | None, path: str) -> etree._Element | None:
        if node is None:
            return None
        return node.find("/".join(_q(p) for p in path.split("/")))

    def all(self, node: etree._Element | None, path: str) -> list[etree._Element]:
        return [] if node is None else node.findall("/".join(_q(p) for p in path.split("/")))

    def text(self, node: etree._Element | None, path: str) -> str | None:
        found = self.find(node, path)
        if found is None or not (found.text or "").strip():
            return None
        self.used.add(found)
        return found.text.strip() if found.text else None

    def take(self, element: etree._Element) -> str | None:
        self.used.add(element)
        return (element.text or "").strip() or None


def _party(r: _Reader, node: etree._Element | None) -> Doc | None:
    if node is None:
        return None
    address = r.find(node, "Address")
    party: Doc = {"name": r.text(node, "Name")}
    if address is not None:
        party["address"] = {
            "street": r.text(address, "Line"), "city": r.text(address, "CityName"),
            "postcode": r.text(address, "PostcodeID"), "country": r.text(address, "CountryCode"),
        }  # fmt: skip
    identifier = r.text(node, "ID")
    if identifier:
        party["identifiers"] = [{"scheme": "eori", "value": identifier}]
    kind = r.text(node, "Communication/TypeCode")
    if kind in COMMUNICATION:
        party[COMMUNICATION[kind]] = r.text(node, "Communication/ID")
    elif kind is not None:
        r.used.discard(r.find(node, "Communication/TypeCode"))  # type: ignore[arg-type]
    return party


def _commodity_code(r: _Reader, commodity: etree._Element | None) -> str | None:
    """DE 6/14 (TSP, the 8-digit commodity code) and DE 6/15 (TRC, the TARIC code): 10 digits together."""
    codes: dict[str, etree._Element] = {}
    for classification in r.all(commodity, "Classification"):
        kind = r.text(classification, "IdentificationTypeCode")
        if kind in ("TSP", "TRC"):
            codes[kind] = classification
        else:
            r.used.discard(r.find(classification, "IdentificationTypeCode"))  # type: ignore[arg-type]
    if "TSP" not in codes:
        return None
    main = r.text(codes["TSP"], "ID") or ""
    return main + (r.text(codes["TRC"], "ID") or "") if "TRC" in codes else main


def _item(r: _Reader, goods: etree._Element, notes: list[str]) -> tuple[Doc, str | None, Decimal]:
    commodity = r.find(goods, "Commodity")
    charge = r.find(commodity, "InvoiceLine/ItemChargeAmount")
    price = r.take(charge) if charge is not None else None
    origin = None
    for candidate in r.all(goods, "Origin"):
        kind = r.find(candidate, "TypeCode")
        if kind is None or kind.text == "1":  # non-preferential origin (DE 5/15)
            origin = r.text(candidate, "CountryCode")
            if kind is not None:
                r.used.add(kind)
            break
    gross = r.text(commodity, "GoodsMeasure/GrossMassMeasure")
    quantity = _count(r, commodity, price)
    item: Doc = {
        "description": r.text(commodity, "Description"),
        "hs_code": _commodity_code(r, commodity),
        "quantity": quantity,  # a count of articles (DE 6/2 in NAR), else one unit at the line's price (DE 4/14)
        "unit_price": _money(Decimal(price) / quantity) if price is not None and quantity > 1 else price,
        "origin_country": origin,
        "net_mass_kg": r.text(commodity, "GoodsMeasure/NetNetWeightMeasure"),
    }
    r.text(goods, "SequenceNumeric")
    return item, charge.get("currencyID") if charge is not None else None, Decimal(gross or 0)


def _count(r: _Reader, commodity: etree._Element | None, price: str | None) -> int:
    """The number of articles a line declares (DE 6/2 supplementary units in NAR, number of articles), where
    the line's price divides by it to the cent; else 1."""
    quantity = r.find(commodity, "GoodsMeasure/TariffQuantity")
    if quantity is None or quantity.get("unitCode") != "NAR" or price is None:
        return 1
    with contextlib.suppress(ArithmeticError, ValueError):
        count, line = Decimal((quantity.text or "").strip()), Decimal(price)
        if (
            count == count.to_integral_value()
            and count >= 1
            and (line / count).quantize(Decimal("0.01")) * count == line
        ):
            r.used.add(quantity)
            return int(count)
    return 1


def _count_of_packages(r: _Reader, declaration: etree._Element) -> int | None:
    """DE 6/18 total packages, where v1.1 can hold it (1 to 99,999); else it stays in the extras."""
    element = r.find(declaration, "TotalPackageQuantity")
    text = (element.text or "").strip() if element is not None else ""
    if element is None or not text.isdigit() or not 1 <= int(text) <= 99999:
        return None
    r.used.add(element)
    return int(text)


def _money(amount: Decimal) -> str:
    """An amount with at least two decimals, as v1 states prices."""
    return str(amount.quantize(Decimal("0.01")) if amount.as_tuple().exponent > -2 else amount)  # type: ignore[operator]


def _transport(r: _Reader, shipment: etree._Element | None) -> tuple[Doc | None, str | None]:
    """The transport document (DE 12/1 previous documents) and the master reference (MCR)."""
    document, master = None, None
    for previous in r.all(shipment, "PreviousDocument"):
        kind_element = r.find(previous, "TypeCode")
        kind = kind_element.text if kind_element is not None else None
        if kind == "MCR" and master is None:
            master = r.text(previous, "ID")
        elif kind in DOCUMENT_BY_TYPE and document is None:
            identifier = r.text(previous, "ID") or ""
            mapped = DOCUMENT_BY_TYPE[kind]
            document = {"type": mapped if mapped != "s10" or S10.match(identifier) else "tracking", "id": identifier}
        else:
            continue
        r.used.update(x for x in (kind_element, r.find(previous, "CategoryCode")) if x is not None)
    if document is None:
        ucr = r.text(shipment, "UCR/TraderAssignedReferenceID")
        document = {"type": "tracking", "id": ucr} if ucr else None
    return document, master


def _map(declaration: etree._Element, responsible: str | None) -> tuple[Doc, list[dict[str, str]], list[str]]:
    r = _Reader(declaration)
    notes: list[str] = []
    shipment = r.find(declaration, "GoodsShipment")
    mode = r.text(declaration, "BorderTransportMeans/ModeCode") or r.text(
        shipment, "Consignment/ArrivalTransportMeans/ModeCode"
    )
    nature = r.text(shipment, "TransactionNatureCode") or ""
    items, currencies, gross = [], [], Decimal(0)
    for goods in r.all(shipment, "GovernmentAgencyGoodsItem"):
        item, currency, mass = _item(r, goods, notes)
        items.append(item)
        currencies.append(currency)
        gross += mass
    invoice = r.find(declaration, "InvoiceAmount")
    currency = invoice.get("currencyID") if invoice is not None else next((c for c in currencies if c), None)
    seller_node = r.find(shipment, "Seller")
    exporter = _party(r, r.find(declaration, "Exporter"))
    seller = _party(r, seller_node) if seller_node is not None else exporter
    consignee_node = next(
        (n for n in (r.find(shipment, p) for p in ("Importer", "Buyer", "Consignee")) if n is not None), None
    )
    document, master = _transport(r, shipment)
    packages = _count_of_packages(r, declaration)
    fiscal = None
    items_level = [p for g in r.all(shipment, "GovernmentAgencyGoodsItem") for p in r.all(g, "DomesticDutyTaxParty")]
    for party in [*r.all(shipment, "DomesticDutyTaxParty"), *items_level]:
        role_el, id_el = r.find(party, "RoleCode"), r.find(party, "ID")
        role = (role_el.text or "").strip() if role_el is not None else ""
        number = (id_el.text or "").strip() if id_el is not None else ""
        if role == "FR5" and number and fiscal is None and role_el is not None and id_el is not None:
            r.take(role_el)  # DE 3/40, FR5: the IOSS number the VAT was paid under
            r.take(id_el)
            fiscal = {"scheme": "ioss", "id": number}
        elif role and number:
            notes.append(f"additional fiscal reference {role} {number}: no field in Consignment v1, kept in extras")
    for goods in r.all(shipment, "GovernmentAgencyGoodsItem"):
        for statement in r.all(goods, "AdditionalInformation"):
            code, text = r.find(statement, "StatementCode"), r.find(statement, "StatementDescription")
            scheme, _, number = ((text.text or "").strip() if text is not None else "").partition(" ")
            if code is not None and code.text == FISCAL_STATEMENT and scheme and number and fiscal is None:
                r.used.update((code, text))  # type: ignore[arg-type]
                fiscal = {"scheme": scheme, "id": number}
    doc: Doc = {
        "kind": "declaration",  # a customs declaration, not a platform's filing: its gaps are warnings
        "reference": r.text(declaration, "FunctionalReferenceID"),
        "channel": CHANNEL_BY_MODE.get(mode or "", "cargo"),
        "transport_document": document,
        "master_reference": master,
        "category": CATEGORY_BY_NATURE.get(nature[:1], "other"),
        "seller": seller,
        "consignor": exporter if seller_node is not None and exporter != seller else None,
        "consignee": _party(r, consignee_node),
        "dispatch_country": r.text(shipment, "ExportCountry/ID"),
        "destination_country": r.text(shipment, "Destination/CountryCode") or responsible,
        "currency": currency,
        "shipping_cost": r.text(shipment, "CustomsValuation/FreightChargeAmount"),
        "gross_mass_kg": _plain(gross) if gross else None,
        "items": items,
        "fiscal": fiscal,
        "packages": {"count": packages} if packages else None,
    }
    r.text(declaration, "GoodsItemQuantity")
    r.text(declaration, "TypeCode")
    r.text(declaration, "FunctionCode")
    return _clean(doc), _extras(declaration, r.used), notes


def _clean(value: Any) -> Any:
    """Drop the fields the declaration had nothing for (v1 then names what is missing)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _extras(declaration: etree._Element, used: set[etree._Element]) -> list[dict[str, str]]:
    """Every data element (leaf with a value) and attribute not mapped, by its path."""
    tree = declaration.getroottree()
    kept = []
    for element in declaration.iter():
        if not isinstance(element.tag, str):
            continue  # comments
        path = re.sub(r"\{[^}]*\}", "", tree.getelementpath(element))
        value = (element.text or "").strip()
        if len(element) == 0 and value and element not in used:
            kept.append({"path": path, "value": value})
        kept += [{"path": f"{path}/@{name}", "value": v} for name, v in element.attrib.items()
                 if "}" not in name and not (element in used and name in ("currencyID", "unitCode"))]  # fmt: skip
    return kept


def _root_declaration(document: etree._ElementTree, result: Converted) -> etree._Element | None:
    """The MetaData/Declaration of the document, unwrapping one transport envelope; None with a reason."""
    root = document.getroot()
    name = etree.QName(root)
    if name.localname.endswith("MetaData") and any(
        isinstance(c.tag, str) and etree.QName(c).localname == "Response" for c in root
    ):
        result.refused = "a notification (WCO Response), not a declaration"
        return None
    if name.localname != "MetaData" or name.namespace != MD:
        inner = root.findall(f".//{{{MD}}}MetaData")
        if len(inner) != 1 or name.namespace == MD:
            result.refused = (
                f"not a DMS declaration: the root element is {name.localname} "
                f"({name.namespace or 'no namespace'}) and it carries no DMS MetaData to unwrap"
            )
            return None
        result.notes.append(f"unwrapped from a {name.localname} envelope")
        root = inner[0]
    declaration = root.find(f"{{{DEC}}}Declaration")
    if declaration is None:
        payload = next((etree.QName(c).localname for c in root if isinstance(c.tag, str)
                        and etree.QName(c).namespace != MD), "nothing")  # fmt: skip
        result.refused = f"not a declaration: the metadata carries {payload}"
        return None
    return declaration


def read_declaration(data: bytes, schemas: DmsSchemas, declared: str = "IM") -> Converted:
    """An import declaration (`declared` "IM"), or with "EX" an export declaration from a partner."""
    result = Converted()
    try:
        document = etree.ElementTree(etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False)))
    except etree.XMLSyntaxError as exc:
        result.refused = f"not well-formed XML: line {exc.lineno}: {exc.msg}"
        return result
    declaration = _root_declaration(document, result)
    if declaration is None:
        return result
    kind = (declaration.findtext(_q("TypeCode")) or "").strip()
    function = (declaration.findtext(_q("FunctionCode")) or "").strip()
    accepted = (declared, "CO") if declared == "IM" else (declared,)  # CO: to or from a special fiscal territory
    if not kind.startswith(accepted) or kind in OTHER_TYPES:  # COR is an amendment request, not a CO
        what = {"IM": "an import", "EX": "an export"}.get(declared, declared)
        instead = f"; it is {OTHER_TYPES[kind]}" if kind in OTHER_TYPES else ""
        result.refused = f"not {what} declaration: type code {kind or '(none)'} (DE 1/1 must be {declared}){instead}"
        return result
    if function != "9":
        result.refused = f"not an original declaration: function code {function or '(none)'} (9 is an original)"
        return result
    metadata = declaration.getparent()
    assert metadata is not None
    result.schema_errors = DmsSchemas.errors(schemas.declaration, etree.ElementTree(metadata))
    if result.schema_errors:
        result.refused = f"the DMS schema refuses it ({len(result.schema_errors)} errors)"
        return result
    responsible = metadata.findtext(f"{{{MD}}}ResponsibleCountryCode")
    result.consignment, result.extras, notes = _map(declaration, responsible)
    result.notes += notes
    result.type_code = kind
    if kind.startswith("CO"):
        result.notes.append(f"declaration type {kind} (DE 1/1): goods moving to or from a special fiscal territory, "
                            "assessed as an import; the type is kept here")  # fmt: skip
    return result


# --- out ---


def _el(parent: etree._Element, name: str, text: object | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, _q(name), attributes)
    if text is not None:
        element.text = str(text)
    return element


def _write_party(parent: etree._Element, name: str, party: Doc) -> None:
    node = _el(parent, name)
    if party.get("name"):
        _el(node, "Name", party["name"][:70])
    identifier = next((i["value"] for i in party.get("identifiers", []) if i["scheme"] == "eori"), None)
    if identifier:
        _el(node, "ID", identifier)
    a = party.get("address")
    if a:
        address = _el(node, "Address")
        _el(address, "CityName", a["city"][:35])
        _el(address, "CountryCode", a["country"])
        if a.get("street"):
            _el(address, "Line", a["street"][:70])
        if a.get("postcode"):
            _el(address, "PostcodeID", a["postcode"][:9])
    kind = next((k for k, field_ in COMMUNICATION.items() if party.get(field_)), None)
    if kind is not None:  # one communication a party: the phone, else the e-mail
        communication = _el(node, "Communication")
        _el(communication, "ID", party[COMMUNICATION[kind]][:50])
        _el(communication, "TypeCode", kind)


def write_declaration(consignment: Doc, type_code: str = DECLARATION_TYPE) -> bytes:
    """A Consignment v1 document as a DMS import declaration (or, with `type_code` EXA, an export declaration
    for a partner); a field the document lacks is left out (the DMS schema makes none of them mandatory), so
    a declaration read from DMS comes back with what it mapped. Fields given as None count as absent."""
    c = _clean(consignment)
    items: list[Doc] = c.get("items", [])
    currency = c.get("currency")
    money = {"currencyID": currency} if currency else {}
    metadata = etree.Element(f"{{{MD}}}MetaData", nsmap={"md": MD, None: DEC})
    etree.SubElement(metadata, f"{{{MD}}}WCODataModelVersionCode").text = "3.6"
    etree.SubElement(metadata, f"{{{MD}}}WCOTypeName").text = "DEC"
    d = _el(metadata, "Declaration")
    _el(d, "FunctionCode", "9")
    if c.get("reference"):
        _el(d, "FunctionalReferenceID", c["reference"][:35])
    _el(d, "TypeCode", type_code)
    _el(d, "GoodsItemQuantity", len(items))
    if currency and items and all(i.get("unit_price") for i in items):
        total = sum((Decimal(i["unit_price"]) * i.get("quantity", 1) for i in items), Decimal(0))
        _el(d, "InvoiceAmount", total, **money)
    if c.get("packages"):
        _el(d, "TotalPackageQuantity", c["packages"]["count"])  # DE 6/18
    _el(_el(d, "BorderTransportMeans"), "ModeCode", MODE_BY_CHANNEL.get(c.get("channel", ""), "1"))
    exporter = c.get("consignor") or c.get("seller")
    if exporter:
        _write_party(d, "Exporter", exporter)
    g = _el(d, "GoodsShipment")
    _el(g, "TransactionNatureCode", NATURE_BY_CATEGORY.get(c.get("category", ""), "9"))
    if c.get("shipping_cost") is not None:
        _el(_el(g, "CustomsValuation"), "FreightChargeAmount", c["shipping_cost"], **money)
    if c.get("destination_country"):
        _el(_el(g, "Destination"), "CountryCode", c["destination_country"])
    fiscal = c.get("fiscal") or {}
    if fiscal.get("scheme") == "ioss":  # DE 3/40 additional fiscal reference, role FR5: the IOSS number
        party = _el(g, "DomesticDutyTaxParty")
        _el(party, "ID", fiscal["id"])
        _el(party, "RoleCode", "FR5")
    if c.get("dispatch_country"):
        _el(_el(g, "ExportCountry"), "ID", c["dispatch_country"])
    for n, (item, mass) in enumerate(zip(items, _shares(c.get("gross_mass_kg"), len(items)), strict=True), start=1):
        other_scheme = fiscal if n == 1 and fiscal.get("scheme") not in (None, "ioss") else None
        _write_item(g, n, item, mass, money, other_scheme)
    if c.get("consignee"):
        _write_party(g, "Importer", c["consignee"])
    documents = []
    if c.get("transport_document"):
        documents.append((TYPE_BY_DOCUMENT[c["transport_document"]["type"]], c["transport_document"]["id"]))
    if c.get("master_reference"):
        documents.append(("MCR", c["master_reference"]))
    for kind, identifier in documents:
        previous = _el(g, "PreviousDocument")
        _el(previous, "CategoryCode", "Z")
        _el(previous, "ID", identifier)
        _el(previous, "TypeCode", kind)
    if c.get("seller") and c["seller"] != exporter:
        _write_party(g, "Seller", c["seller"])
    return bytes(etree.tostring(metadata, xml_declaration=True, encoding="UTF-8", pretty_print=True))


LOST_CATEGORIES = {"documents", "commercial_sample"}
CARRIED = {"packages", "reference", "channel", "transport_document", "master_reference", "category", "seller",
           "consignor", "consignee", "dispatch_country", "destination_country", "currency", "shipping_cost",
           "gross_mass_kg", "items"}  # fmt: skip
"""What `write_declaration` carries of a Consignment v1 document, with `fiscal` (IOSS as DE 3/40 FR5, any other
scheme as DE 2/2 FISCALREF)."""
ITEM_CARRIED = {"description", "quantity", "unit_price", "hs_code", "origin_country", "net_mass_kg"}


def not_carried(consignment: Doc) -> list[str]:
    """What a DMS declaration written from `consignment` leaves out, one note each (never dropped without
    a word): the fields it has no element for, a category DE 8/5 cannot tell, a party's identifiers other than
    its EORI and a second means of contact."""
    c = _clean(consignment)
    notes = [f"{name}: no element in the DMS declaration written"
             for name in sorted(set(c) - CARRIED - {"fiscal", "kind"})]  # fmt: skip
    if c.get("kind", "filing") != "declaration":
        notes.append("kind: a DMS declaration is read back as a declaration, not a filing")
    if (c.get("packages") or {}).get("kind"):
        notes.append("packages/kind: DE 6/18 counts the packages; their kind is not written")
    if len(c.get("reference") or "") > 35:
        notes.append("reference: DE 2/5 holds 35 characters; the rest is cut")
    for role in ("seller", "consignor", "consignee"):
        party = c.get(role) or {}
        address = party.get("address") or {}
        notes += [f"{role}/{path}: the DMS element holds {limit} characters; the rest is cut"
                  for path, value, limit in (("name", party.get("name"), 70), ("address/city", address.get("city"), 35),
                                             ("address/street", address.get("street"), 70),
                                             ("address/postcode", address.get("postcode"), 9))
                  if value and len(value) > limit]  # fmt: skip
        if address.get("region"):
            notes.append(f"{role}/address/region: no element in the DMS address written")
    if c.get("category") in LOST_CATEGORIES:
        notes.append(f"category: {c['category']} has no DE 8/5 nature of transaction; it comes back as other")
    for role in ("seller", "consignor", "consignee"):
        party = c.get(role) or {}
        notes += [f"{role}/identifiers: {i.get('scheme')} {i.get('value')}: a party's DMS ID is its EORI"
                  for i in party.get("identifiers", []) if i.get("scheme") != "eori"]  # fmt: skip
        if party.get("phone") and party.get("email"):
            notes.append(f"{role}/email: a DMS party has one communication, the phone is kept")
    for n, item in enumerate(c.get("items", [])):
        notes += [f"items/{n}/{name}: no element in the DMS declaration written"
                  for name in sorted(set(item) - ITEM_CARRIED)]  # fmt: skip
        if len(item.get("description") or "") > 512:
            notes.append(f"items/{n}/description: DE 6/8 holds 512 characters; the rest is cut")
    return notes


def _plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros, as the DMS decimal types want it."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _shares(total: str | None, count: int) -> list[Decimal | None]:
    """The consignment's gross mass spread over its items (DE 6/5 is per item), to the gram; the last item
    takes the remainder, so the items add up to the total again."""
    if not total or not count:
        return [None] * count
    each = (Decimal(total) / count).quantize(Decimal("0.001"))
    return [each] * (count - 1) + [Decimal(total) - each * (count - 1)]


def _write_item(
    g: etree._Element, n: int, item: Doc, share: Decimal | None, money: dict[str, str], fiscal: Doc | None
) -> None:
    goods = _el(g, "GovernmentAgencyGoodsItem")
    _el(goods, "SequenceNumeric", n)
    if fiscal is not None:  # DE 2/2 with a user code: a fiscal reference DE 3/40 has no role for
        statement = _el(goods, "AdditionalInformation")
        _el(statement, "StatementCode", FISCAL_STATEMENT)
        _el(statement, "StatementDescription", f"{fiscal['scheme']} {fiscal['id']}"[:512])
    commodity = _el(goods, "Commodity")
    if item.get("description"):
        _el(commodity, "Description", item["description"][:512])
    if item.get("hs_code"):
        code = item["hs_code"]  # as declared: 6 digits stay 6 (an administration may ask 8, the schema does not)
        for value, kind in ((code[:8], "TSP"), (code[8:], "TRC")):
            if value:
                classification = _el(commodity, "Classification")
                _el(classification, "ID", value)
                _el(classification, "IdentificationTypeCode", kind)
    count = item.get("quantity", 1)
    if share is not None or item.get("net_mass_kg") or count > 1:
        measure = _el(commodity, "GoodsMeasure")
        if share is not None:
            _el(measure, "GrossMassMeasure", _plain(share), unitCode="KGM")
        if item.get("net_mass_kg"):
            _el(measure, "NetNetWeightMeasure", item["net_mass_kg"], unitCode="KGM")
        if count > 1:  # DE 6/2 in number of articles: the reader divides the line's price by it
            _el(measure, "TariffQuantity", count, unitCode="NAR")
    if item.get("unit_price") is not None:
        line = Decimal(item["unit_price"]) * item.get("quantity", 1)
        _el(_el(commodity, "InvoiceLine"), "ItemChargeAmount", line, **money)
    if item.get("origin_country"):
        origin = _el(goods, "Origin")
        _el(origin, "CountryCode", item["origin_country"])
        _el(origin, "TypeCode", "1")


def submitted(data: bytes, schemas: DmsSchemas) -> Submitted:
    """A DMS declaration as one intake record: the XML kept as sent, the v1 validation of what it maps to,
    or its refusal (every schema error with line and path)."""
    result = read_declaration(data, schemas)
    if result.consignment is not None:
        return Submitted("wco-dms", 1, data, validate_raw(result.consignment))
    reference = None
    with contextlib.suppress(etree.XMLSyntaxError):  # not well-formed: no reference, and the refusal says where
        found = etree.fromstring(data).find(f".//{_q('FunctionalReferenceID')}")
        reference = (found.text or "").strip() or None if found is not None else None
    errors = [Finding(e.path, "dms.schema", f"line {e.line}: {e.message}") for e in result.schema_errors]
    outcome = Outcome(reference, None, errors or [Finding("", "dms.refused", result.refused or "")], [])
    return Submitted("wco-dms", 1, data, outcome)
