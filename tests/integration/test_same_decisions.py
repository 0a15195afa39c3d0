"""The write path may be rebuilt (#18); the decisions may not change. A simulated day is ingested and every
consignment's decision (lane, referrals, reason codes, score, status, duty and tax) is compared with the
record committed in `tests/golden/`: any difference is a change of behaviour, shown lane by lane.

When a change of behaviour is intended, say so in the commit and rewrite the record:
`CLEARWAY_UPDATE_GOLDEN=1 pytest tests/integration/test_same_decisions.py`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

from clearway.bootstrap import bootstrap
from clearway.intake import read_bytes
from clearway.services.ingest import ingest
from clearway.settings import Settings
from clearway.sim import simulate
from clearway.store import tables as t
from tests.integration.conftest import without_random_selection

GOLDEN = Path(__file__).parents[1] / "golden" / "decisions-seed-7.json"
DAY = dt.date(2026, 11, 20)


def _decisions(tmp_path: Path) -> list[dict[str, object]]:
    settings = Settings.from_env({"CLEARWAY_HOME": str(tmp_path)})
    app = without_random_selection(
        bootstrap(dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path / 'same.db'}"))
    )
    day = simulate(1500, 7, DAY)
    noon = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    for submitter in sorted({r.submitter for r in day.records}):
        lines = b"\n".join(r.line for r in day.records if r.submitter == submitter)
        ingest(app, submitter, read_bytes(lines, "ndjson"), now=lambda: noon)
    c, d = t.consignments.c, t.decisions.c
    query = sa.select(c.submitter, c.reference, c.status, d.lane, d.referrals, d.reasons, d.score, d.assessment).join(
        t.decisions, d.consignment_id == c.id
    )
    with app.store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    app.store.engine.dispose()
    found = []
    for row in rows:
        assessment = json.loads(row["assessment"]) if row["assessment"] else None
        found.append({
            "submitter": row["submitter"], "reference": row["reference"], "status": row["status"], "lane": row["lane"],
            "referrals": sorted(json.loads(row["referrals"])),
            "reasons": sorted(f"{r['source']}:{r['code']}" for r in json.loads(row["reasons"])),
            "score": round(float(row["score"] or 0), 4),
            "totals": assessment["totals"] if assessment else None,
            "collection_model": assessment["collection_model"] if assessment else None,
        })  # fmt: skip
    return sorted(found, key=lambda x: (str(x["submitter"]), str(x["reference"])))


def _record(decisions: list[dict[str, object]]) -> dict[str, object]:
    canonical = "\n".join(json.dumps(x, sort_keys=True) for x in decisions)
    return {
        "consignments": len(decisions),
        "lanes": dict(sorted(Counter(str(x["lane"]) for x in decisions).items())),
        "statuses": dict(sorted(Counter(str(x["status"]) for x in decisions).items())),
        "digest": hashlib.sha256(canonical.encode()).hexdigest(),
    }


def test_a_simulated_day_is_decided_as_before(tmp_path: Path) -> None:
    got = _record(_decisions(tmp_path))
    if os.environ.get("CLEARWAY_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=2) + "\n", encoding="utf-8")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert got["lanes"] == expected["lanes"] and got["statuses"] == expected["statuses"]
    assert got == expected, "same lanes and statuses, yet some decision differs (reasons, score or amounts)"
