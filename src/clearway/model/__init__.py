"""The Consignment v1 model: wire structs, code lists, identifier checks and validation."""

from clearway.model.consignment import (
    Address,
    Arrival,
    Consignment,
    Fiscal,
    Identifier,
    Item,
    Order,
    Party,
    TransportDocument,
)
from clearway.model.findings import Finding
from clearway.model.validation import Outcome, validate_raw

__all__ = [
    "Address",
    "Arrival",
    "Consignment",
    "Finding",
    "Fiscal",
    "Identifier",
    "Item",
    "Order",
    "Outcome",
    "Party",
    "TransportDocument",
    "validate_raw",
]
