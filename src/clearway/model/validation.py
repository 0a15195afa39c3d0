"""Validation of one decoded consignment: every error and every data-quality warning at once."""

from __future__ import annotations

from typing import Any

import msgspec

from clearway.model.bounds import bound_errors, storable
from clearway.model.consignment import Consignment
from clearway.model.findings import Finding
from clearway.model.quality import quality_warnings
from clearway.model.rules import contract_errors
from clearway.model.structure import decimal_errors, structure_errors


class Outcome(msgspec.Struct, frozen=True):
    """The result of validating one submitted consignment; `consignment` is None when rejected."""

    reference: str | None
    consignment: Consignment | None
    errors: list[Finding]
    warnings: list[Finding]

    @property
    def accepted(self) -> bool:
        return self.consignment is not None


def reference_of(doc: Any) -> str | None:
    """The submitter's reference, if the document carries a usable one."""
    if isinstance(doc, dict):
        ref = doc.get("reference")
        if isinstance(ref, str) and 0 < len(ref) <= 64 and storable(ref):
            return ref
    return None


def validate_raw(doc: Any) -> Outcome:
    """Validate a decoded JSON value as a Consignment v1."""
    reference = reference_of(doc)
    if not isinstance(doc, dict):
        kind = type(doc).__name__
        return Outcome(reference, None, [Finding("", "schema.type", f"expected an object, got {kind}")], [])
    bounds = bound_errors(doc)
    if any(f.code == "json.depth" for f in bounds):  # nothing deeper is read
        return Outcome(reference, None, bounds, [])
    consignment: Consignment | None
    try:
        consignment = msgspec.convert(doc, Consignment)
    except msgspec.ValidationError as exc:
        consignment = None
        errors = structure_errors(doc, Consignment) or [Finding("", "schema.invalid", str(exc))]
    else:
        errors = decimal_errors(doc, Consignment)
    errors.extend(contract_errors(doc))
    errors.extend(bounds)
    warnings = quality_warnings(doc)
    if errors:
        return Outcome(reference, None, sorted(set(errors)), warnings)
    return Outcome(reference, consignment, [], warnings)


def rejection(reference: str | None, path: str, code: str, message: str) -> Outcome:
    """An outcome for input that could not even be decoded (a broken line or row)."""
    return Outcome(reference, None, [Finding(path, code, message)], [])
