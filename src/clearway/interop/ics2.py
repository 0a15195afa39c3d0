"""ICS2 terms beside clearway's own, for carriers that work in the EU's Import Control System 2.

Registration (IE3R01), not complete (IE3N02: a house-level filing whose master level, the carrier's master
reference or manifest, has not come yet, as in ICS2's multiple filing), assessment complete (IE3N03), the
three pre-loading referrals (do not load IE3Q01, request for information IE3Q02, request for high-risk cargo
and mail screening IE3Q03) and the error notification (IE3N99), from a consignment's status and open
referrals or a submission's errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

REFERRALS = {"dnl": "IE3Q01", "rfi": "IE3Q02", "screening": "IE3Q03"}
MEANING = {
    "IE3R01": "registration: the filing was accepted",
    "IE3N02": "not complete: the master level (the carrier's master reference or manifest) has not been filed yet",
    "IE3N03": "assessment complete: no pre-loading referral is open",
    "IE3Q01": "do not load",
    "IE3Q02": "request for information",
    "IE3Q03": "request for high-risk cargo and mail screening",
    "IE3N99": "error: the filing was not accepted",
}
UNASSESSED = frozenset({"received", "registered", "invalidated"})


def _message(code: str, **facts: Any) -> dict[str, Any]:
    return {"message": code, "meaning": MEANING[code], **facts}


def for_consignment(
    registration_id: str, status: str, referrals: Iterable[Mapping[str, Any]], *, master_level: bool = True
) -> list[dict[str, Any]]:
    """The ICS2 messages a carrier would hold for this consignment now: registration, not complete while the
    master level is missing, then each open pre-loading referral, or assessment complete when none is open."""
    messages = [_message("IE3R01", mrn=registration_id)]
    incomplete = not master_level and status not in ("invalidated", "released")
    if incomplete:
        messages.append(_message("IE3N02"))
    open_codes = [REFERRALS[r["kind"]] for r in referrals if r["state"] == "open" and r["kind"] in REFERRALS]
    messages += [_message(code) for code in open_codes]
    if not open_codes and not incomplete and status not in UNASSESSED:
        messages.append(_message("IE3N03"))
    return messages


def for_rejection(errors: Iterable[Mapping[str, str]]) -> list[dict[str, Any]]:
    """A rejected filing: one IE3N99 carrying every error (pointer and code)."""
    return [_message("IE3N99", errors=[{"pointer": e.get("path", ""), "code": e["code"]} for e in errors])]
