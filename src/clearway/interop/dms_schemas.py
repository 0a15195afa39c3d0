"""The WCO Data Model 3.6 (DMS) schemas, loaded once from a folder, and validation that names every error.

The folder is the DMS profile's `schemas/` (declaration/ and notification/); clearway does not ship the
schemas, the administration points `CLEARWAY_DMS_SCHEMAS` (or `--schemas`) at its copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lxml import etree

from clearway.errors import InvalidInput

MD = "urn:wco:datamodel:WCO:DocumentMetaData-DMS:2"
DEC = "urn:wco:datamodel:WCO:DEC-DMS:2"
RES = "urn:wco:datamodel:WCO:RES-DMS:2"


@dataclass(frozen=True)
class SchemaError:
    path: str  # the element's path in the document
    line: int
    message: str


def _wrapper(folder: Path, imports: dict[str, str]) -> etree.XMLSchema:
    """One schema that imports the metadata envelope and the payload namespace from `folder`."""
    lines = "".join(
        f'<xs:import namespace="{ns}" schemaLocation="{(folder / name).resolve().as_uri()}"/>'
        for ns, name in imports.items()
    )
    text = (
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:clearway:dms-wrapper" '
        f'elementFormDefault="qualified">{lines}</xs:schema>'
    )
    return etree.XMLSchema(etree.fromstring(text.encode(), base_url=(folder.resolve().as_uri() + "/")))


@dataclass(frozen=True)
class DmsSchemas:
    declaration: etree.XMLSchema
    response: etree.XMLSchema

    @staticmethod
    def load(folder: Path) -> DmsSchemas:
        return _load(folder.resolve())

    @staticmethod
    def errors(schema: etree.XMLSchema, document: etree._ElementTree) -> list[SchemaError]:
        if schema.validate(document):
            return []
        return [SchemaError(e.path or "/", e.line, e.message) for e in schema.error_log]  # type: ignore[union-attr]


@cache
def _load(folder: Path) -> DmsSchemas:
    declaration, notification = folder / "declaration", folder / "notification"
    for needed in (declaration / "WCO_DEC_2_DMS.xsd", notification / "WCO_RES_2_DMS.xsd"):
        if not needed.is_file():
            raise InvalidInput(f"no DMS schema at {needed}: point CLEARWAY_DMS_SCHEMAS at the DMS schemas folder")
    return DmsSchemas(
        declaration=_wrapper(declaration, {MD: "DocumentMetaData_2_DMS.xsd", DEC: "WCO_DEC_2_DMS.xsd"}),
        response=_wrapper(notification, {MD: "DocumentMetaData_2_DMS.xsd", RES: "WCO_RES_2_DMS.xsd"}),
    )
