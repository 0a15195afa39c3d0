"""A manifest: what a carrier or post says one means of transport carries, as customs sees it arrive.

An air master waybill (MAWB) with its house waybills, a road (CMR) or rail (CIM) consignment note with its
parcels, or a UPU despatch (S8) with its receptacles (S9) and items (S10). Each house names the transport
document the advance data of its parcel carries (`Consignment.transport_document`), so arrival of the
manifest finds the parcels, and a house no filing names is a parcel that arrived without data.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

import msgspec

from clearway.model.bounds import date_errors, text_errors
from clearway.model.consignment import AwareDatetime, Mass, TransportDocument
from clearway.model.findings import Finding, pointer
from clearway.model.identifiers import awb_problem, despatch_problem, receptacle_problem, s10_problem
from clearway.model.structure import structure_errors

MasterType = Literal["mawb", "cmr", "cim", "s8"]
MASTER_TYPES: tuple[MasterType, ...] = get_args(MasterType)
MAX_HOUSES = 20_000
HOUSE_DOCUMENT: dict[str, tuple[str, ...]] = {
    "mawb": ("hawb", "tracking"),
    "cmr": ("tracking", "s10", "hawb", "bol"),
    "cim": ("tracking", "s10", "hawb", "bol"),
    "s8": ("s10",),
}
"""The transport documents a master's houses may carry: house waybills under a MAWB, S10 items in a despatch."""


class Master(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    type: MasterType
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=35)]  # MAWB number, CMR/CIM note, S8 despatch id


class Movement(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Where the means of transport comes from and is expected."""

    voyage: Annotated[str, msgspec.Meta(min_length=1, max_length=35)] | None = None  # flight, train, plate
    departure_country: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")] | None = None
    loaded_at: AwareDatetime | None = None
    office: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}[A-Z0-9]{6}$")] | None = None  # office of first entry
    expected_at: AwareDatetime | None = None


class House(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    transport_document: TransportDocument
    receptacle: Annotated[str, msgspec.Meta(min_length=29, max_length=29)] | None = None  # S9, in a despatch
    pieces: Annotated[int, msgspec.Meta(ge=1, le=9999)] = 1
    gross_mass_kg: Mass | None = None


class Manifest(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]  # the filer's own, unique per filer
    master: Master
    houses: Annotated[list[House], msgspec.Meta(min_length=1, max_length=MAX_HOUSES)]
    movement: Movement | None = None


class ManifestOutcome(msgspec.Struct, frozen=True):
    reference: str | None
    manifest: Manifest | None
    errors: list[Finding]


def _rules(doc: dict[str, Any]) -> list[Finding]:
    master: dict[str, Any] = doc["master"] if isinstance(doc.get("master"), dict) else {}
    kind, ident = master.get("type"), master.get("id")
    found: list[Finding] = []
    if isinstance(ident, str):
        check = {"mawb": awb_problem, "s8": despatch_problem}.get(str(kind))
        problem = check(ident) if check is not None else None
        if problem:
            found.append(Finding(pointer("master", "id"), f"{kind}.format", problem))
    allowed = HOUSE_DOCUMENT.get(str(kind), ())
    seen: dict[str, int] = {}
    houses: list[Any] = doc["houses"] if isinstance(doc.get("houses"), list) else []
    for n, house in enumerate(houses):
        if not isinstance(house, dict) or not isinstance(house.get("transport_document"), dict):
            continue
        td = house["transport_document"]
        if allowed and td.get("type") not in allowed:
            found.append(Finding(pointer("houses", n, "transport_document", "type"), "house.document",
                                 f"a {kind} lists {' or '.join(allowed)} documents"))  # fmt: skip
        if td.get("type") == "s10" and isinstance(td.get("id"), str) and (problem := s10_problem(td["id"])):
            found.append(Finding(pointer("houses", n, "transport_document", "id"), "s10.format", problem))
        if isinstance(td.get("id"), str):
            if td["id"] in seen:
                found.append(Finding(pointer("houses", n, "transport_document", "id"), "house.duplicate",
                                     f"{td['id']} is listed twice (first at house {seen[td['id']]})"))  # fmt: skip
            seen.setdefault(td["id"], n)
        receptacle = house.get("receptacle")
        if isinstance(receptacle, str):
            if kind != "s8":
                found.append(Finding(pointer("houses", n, "receptacle"), "house.receptacle",
                                     "receptacles (S9) are listed in a UPU despatch (S8) only"))  # fmt: skip
            elif problem := receptacle_problem(receptacle, ident if isinstance(ident, str) else None):
                found.append(Finding(pointer("houses", n, "receptacle"), "s9.format", problem))
    return found


def validate_manifest(doc: Any) -> ManifestOutcome:
    """Every error of a decoded manifest at once; the manifest when there is none."""
    reference = doc.get("reference") if isinstance(doc, dict) and isinstance(doc.get("reference"), str) else None
    if not isinstance(doc, dict):
        return ManifestOutcome(None, None, [Finding("", "schema.type", "a manifest is a JSON object")])
    text = text_errors(doc)
    if any(f.code == "json.depth" for f in text):
        return ManifestOutcome(reference, None, text)
    try:
        manifest: Manifest | None = msgspec.convert(doc, Manifest)
        errors: list[Finding] = []
    except msgspec.ValidationError as exc:
        manifest = None
        errors = structure_errors(doc, Manifest) or [Finding("", "schema.invalid", str(exc))]
    errors += _rules(doc) + text + date_errors(doc, (("movement", "loaded_at"), ("movement", "expected_at")))
    return ManifestOutcome(reference, manifest if not errors else None, sorted(set(errors)))
