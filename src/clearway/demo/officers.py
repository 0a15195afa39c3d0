"""The demo's officers: they inspect held parcels, as far as their capacity goes, and record what they find.

What they find is what the simulator injected (its labels): an officer opening a parcel sees the goods.
Every random selection is inspected first (the unbiased sample), then other held parcels in a seeded
random order. Each inspection goes through the same audited service an officer's click does.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

import polars as pl

from clearway.auth.clients import Principal
from clearway.bootstrap import App
from clearway.model.vocabulary import FindingKind
from clearway.services.clearance import Clearance, Inspection, InspectionFinding
from clearway.store.consignments import held_for_inspection

FOUND: dict[str, FindingKind] = {  # the simulator's violation -> what the officer records
    "counterfeit": "counterfeit",
    "undervaluation": "undervaluation",
    "split_shipment": "undervaluation",  # split to stay under a threshold: the value owed is understated
    "misclassification": "wrong_hs_code",
    "undeclared_battery": "dangerous_goods",
    "prohibited": "prohibited",
    "watchlisted_party": "restricted",
    "ioss_misuse": "other",
    "false_gift": "other",
    "vague_description": "vague_description",
}
OFFICER = Principal("demo-officer", "demo-officer", "officer", None, frozenset({"officer"}))


def inspect_held(
    app: App,
    labels: pl.DataFrame,
    *,
    capacity: int,
    seed: int,
    now: Callable[[], dt.datetime],
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Inspect up to `capacity` held parcels; returns how many were inspected."""
    held = held_for_inspection(app.store)  # one row per parcel (a dossier: its lead), whatever its decisions
    found = {(s, r): v for s, r, v in labels.select("submitter", "reference", "violation").iter_rows()}
    order = random.Random(seed)
    shuffled = order.sample(held, len(held))
    chosen = sorted(shuffled, key=lambda row: '"RANDOM"' not in row[3])[:capacity]  # stable: random first
    clearance = Clearance(app, now=now)
    for cid, submitter, reference, _ in chosen:
        violation = found.get((submitter, reference))
        kind = FOUND.get(violation) if violation else None
        inspection = Inspection(
            method="physical",
            outcome="infringement" if kind else "compliant",
            findings=[InspectionFinding(kind=kind, note=f"simulated: {violation}")] if kind else [],
        )
        clearance.inspect(OFFICER, cid, inspection)
        if on_batch:
            on_batch(1)
    return len(chosen)
