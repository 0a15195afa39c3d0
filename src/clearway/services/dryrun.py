"""Dry-run of edited risk profiles: how the consignments of the last N days would have been routed,
beside how they were. Nothing is stored; the running pipeline is not touched."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import msgspec
import sqlalchemy as sa

from clearway.bootstrap import App
from clearway.model.consignment import Consignment
from clearway.pipeline import BatchRow, Context, to_batch
from clearway.risk import ProfileSet
from clearway.store import tables as t
from clearway.store.repository import as_utc


@dataclass
class DryRun:
    days: int
    consignments: int
    before: Counter[str] = field(default_factory=Counter)  # lanes as decided
    after: Counter[str] = field(default_factory=Counter)  # lanes under the edited profiles
    moves: Counter[tuple[str, str]] = field(default_factory=Counter)  # (was, would be) where they differ
    rule_hits: Counter[str] = field(default_factory=Counter)  # profile id -> consignments it would hit
    changed: list[dict[str, Any]] = field(default_factory=list)  # a sample of the consignments that move


def dry_run(app: App, profiles: ProfileSet, *, days: int, now: dt.datetime, limit: int = 20_000) -> DryRun:
    c, v = t.consignments.c, t.consignment_versions.c
    query = (
        sa.select(c.id, c.submitter, c.received_at, c.lane, c.reference, v.body)
        .join(t.consignment_versions, (v.consignment_id == c.id) & (v.version == c.version))
        .where(c.received_at >= now - dt.timedelta(days=days), c.lane.is_not(None))
        .order_by(c.received_at.desc())
        .limit(limit)
    )
    with app.store.engine.connect() as conn:
        found = conn.execute(query).all()
    result = DryRun(days, len(found))
    if not found:
        return result
    keys = app.store.party_keys_of([row.id for row in found])
    rows = [
        BatchRow(
            r.id, r.submitter, as_utc(r.received_at), msgspec.json.decode(r.body, type=Consignment), keys.get(r.id)
        )
        for r in found
    ]
    decisions = app.rebuild(profiles)(to_batch(rows), Context(as_of=now))
    lane_after = dict(zip(decisions["key"].to_list(), decisions["lane"].to_list(), strict=True))
    reasons = dict(zip(decisions["key"].to_list(), decisions["reasons"].to_list(), strict=True))
    for r in found:
        after = lane_after[r.id]
        result.before[r.lane] += 1
        result.after[after] += 1
        result.rule_hits.update({h["code"] for h in reasons[r.id] if h["source"] == "rule"})
        if after != r.lane:
            result.moves[(r.lane, after)] += 1
            if len(result.changed) < 50:
                codes = sorted({h["code"] for h in reasons[r.id]})
                result.changed.append({"id": r.id, "reference": r.reference, "was": r.lane, "would_be": after,
                                       "reasons": codes})  # fmt: skip
    return result
