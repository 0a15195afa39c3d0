"""Dry-run of edited risk profiles: how the consignments of the last N days would have been routed,
beside how they were. Nothing is stored; the running pipeline is not touched."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from clearway.bootstrap import App
from clearway.pipeline import Context, to_batch
from clearway.risk import ProfileSet
from clearway.store import consignments as stored


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
    found = stored.recently_decided(app.store, now - dt.timedelta(days=days), limit)
    result = DryRun(days, len(found))
    if not found:
        return result
    rows = [row for row, _, _ in found]
    decisions = app.rebuild(profiles)(to_batch(rows), Context(as_of=now))
    lane_after = dict(zip(decisions["key"].to_list(), decisions["lane"].to_list(), strict=True))
    reasons = dict(zip(decisions["key"].to_list(), decisions["reasons"].to_list(), strict=True))
    for row, lane, reference in found:
        after = lane_after[row.key]
        result.before[lane] += 1
        result.after[after] += 1
        result.rule_hits.update({h["code"] for h in reasons[row.key] if h["source"] == "rule"})
        if after != lane:
            result.moves[(lane, after)] += 1
            if len(result.changed) < 50:
                codes = sorted({h["code"] for h in reasons[row.key]})
                result.changed.append({"id": row.key, "reference": reference, "was": lane, "would_be": after,
                                       "reasons": codes})  # fmt: skip
    return result
