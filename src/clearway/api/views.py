"""What each audience sees of a consignment. Submitters: status, open referrals and amounts due, never
lanes, scores, reasons or rules. Officers: everything. The public: status and nothing personal."""

from __future__ import annotations

from typing import Any

import msgspec

from clearway.auth.clients import Principal
from clearway.interop import ics2
from clearway.model.consignment import Consignment
from clearway.services.clearance import submitter_facts


def submitter_view(
    meta: dict[str, Any], consignment: Consignment, decision: dict[str, Any] | None, referrals: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "registration_id": meta["id"],
        "reference": meta["reference"],
        "status": meta["status"],
        "version": meta["version"],
        "received_at": meta["received_at"],
        "updated_at": meta["updated_at"],
        "released_at": meta.get("released_at"),
        "transport_document": {"type": consignment.transport_document.type, "id": consignment.transport_document.id},
        "referrals": [
            {"kind": r["kind"], "state": r["state"], "opened_at": r["opened_at"], "answered_at": r["answered_at"]}
            for r in referrals
        ],
        "assessment": decision["assessment"] if decision else None,
        "ics2": ics2.for_consignment(meta["id"], meta["status"], referrals),  # the same, in ICS2 message terms
        "consignment": msgspec.to_builtins(consignment),
    }


def submitter_events(reader: Principal, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for e in events:
        data = msgspec.json.decode(e["data"])
        out.append(
            {
                "type": e["type"],
                "at": e["at"],
                "actor": "you" if e["actor"] == reader.tenant else "customs",
                **submitter_facts(data),
            }
        )
    return out


def officer_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"type": e["type"], "at": e["at"], "actor": e["actor"], "data": msgspec.json.decode(e["data"])} for e in events
    ]


def public_status(meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": meta["status"],
        "channel": meta["channel"],
        "destination_country": meta["destination_country"],
        "updated_at": meta["updated_at"],
    }
