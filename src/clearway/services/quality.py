"""Data-quality feedback per submitter (WCO 2022 data-quality standard): what was rejected and why,
what was warned about, how many descriptions were vague, and how early the data came.

Timeliness is measured against the expected arrival the submitter declared (`arrival.expected_at`): the
share of consignments received before it, and the median lead time in hours.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from typing import Any

import msgspec
import sqlalchemy as sa

from clearway.store import tables as t
from clearway.store.repository import as_utc

VAGUE = "quality.vague_description"


def quality(
    engine: sa.Engine,
    *,
    submitter: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """One entry per submitter (only `submitter` when given), over submissions received in [since, until)."""
    s, c = t.submissions.c, t.consignments.c
    query = sa.select(s.submitter, s.accepted, s.errors, s.warnings)
    timing = sa.select(c.submitter, c.received_at, c.expected_arrival).where(c.expected_arrival.is_not(None))
    if submitter is not None:
        query, timing = query.where(s.submitter == submitter), timing.where(c.submitter == submitter)
    if since is not None:
        query, timing = query.where(s.received_at >= since), timing.where(c.received_at >= since)
    if until is not None:
        query, timing = query.where(s.received_at < until), timing.where(c.received_at < until)
    per: dict[str, dict[str, Any]] = {}

    def entry(name: str) -> dict[str, Any]:
        return per.setdefault(
            name, {"submitter": name, "submitted": 0, "rejected": 0, "errors": Counter(), "warnings": Counter(),
                   "vague_descriptions": 0, "leads": []},
        )  # fmt: skip

    with engine.connect() as conn:
        for name, accepted, errors, warnings in conn.execute(query):
            e = entry(name)
            e["submitted"] += 1
            e["rejected"] += 0 if accepted else 1
            e["errors"].update(f["code"] for f in msgspec.json.decode(errors))
            codes = [f["code"] for f in msgspec.json.decode(warnings)]
            e["warnings"].update(codes)
            e["vague_descriptions"] += codes.count(VAGUE)
        for name, received, expected in conn.execute(timing):
            entry(name)["leads"].append((as_utc(expected) - as_utc(received)).total_seconds() / 3600)
    out = []
    for e in sorted(per.values(), key=lambda x: x["submitter"]):
        leads = e.pop("leads")
        n = e["submitted"]
        out.append(
            e | {
                "rejection_rate": round(e["rejected"] / n, 4) if n else 0.0,
                "errors": dict(e["errors"].most_common()), "warnings": dict(e["warnings"].most_common()),
                "error_rates": {code: round(k / n, 4) for code, k in e["errors"].most_common()},
                "timeliness": {
                    "with_expected_arrival": len(leads),
                    "received_before_arrival": round(sum(1 for h in leads if h > 0) / len(leads), 4) if leads else None,
                    "median_lead_hours": round(statistics.median(leads), 2) if leads else None,
                },
            }
        )  # fmt: skip
    return out
