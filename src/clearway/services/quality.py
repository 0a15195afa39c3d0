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

from clearway.store import submissions as stored
from clearway.store.engine import Engine

VAGUE = "quality.vague_description"


def quality(
    engine: Engine,
    *,
    submitter: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """One entry per submitter (only `submitter` when given), over submissions received in [since, until)."""
    per: dict[str, dict[str, Any]] = {}

    def entry(name: str) -> dict[str, Any]:
        return per.setdefault(
            name, {"submitter": name, "submitted": 0, "rejected": 0, "errors": Counter(), "warnings": Counter(),
                   "vague_descriptions": 0, "leads": []},
        )  # fmt: skip

    for name, accepted, errors, warnings in stored.findings(engine, submitter, since, until):
        e = entry(name)
        e["submitted"] += 1
        e["rejected"] += 0 if accepted else 1
        e["errors"].update(errors)
        e["warnings"].update(warnings)
        e["vague_descriptions"] += warnings.count(VAGUE)
    for name, received, expected in stored.lead_times(engine, submitter, since, until):
        entry(name)["leads"].append((expected - received).total_seconds() / 3600)
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
