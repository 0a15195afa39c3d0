"""The demo's officers: they inspect held parcels, as far as their capacity goes, and record what they find.

What they find is what the simulator injected (its labels): an officer opening a parcel sees the goods,
and where the value or the code was misstated records the value or code found, so the service reassesses
the parcel and demands what was short. Every random selection is inspected first (the unbiased sample),
then other held parcels in a seeded random order. Each inspection goes through the same audited service an
officer's click does.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import polars as pl

from clearway.auth.clients import Principal
from clearway.bootstrap import App
from clearway.errors import InvalidInput
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
CORRECTIONS = ("corrected_value", "corrected_hs_code", "item")
"""The label's columns an officer enters as found (labels.csv, `sim.writer.LABEL_COLUMNS`)."""
log = logging.getLogger(__name__)


@dataclass
class Inspected:
    """What the officers did: how many parcels they opened, and what their findings made owed."""

    parcels: int = 0
    payables: list[dict[str, Any]] = field(default_factory=list)  # demands and refunds: kind, amount, currency
    refused: int = 0  # corrections the service refused (the finding was recorded without them)


def inspect_held(
    app: App,
    labels: pl.DataFrame,
    *,
    capacity: int,
    seed: int,
    now: Callable[[], dt.datetime],
    on_batch: Callable[[int], None] | None = None,
) -> Inspected:
    """Inspect up to `capacity` held parcels."""
    held = held_for_inspection(app.store)  # one row per parcel (a dossier: its lead), whatever its decisions
    corrections = [c for c in CORRECTIONS if c in labels.columns]
    found = {(row[0], row[1]): row[2:] for row in labels.select("submitter", "reference", "violation",
                                                                 *corrections).iter_rows()}  # fmt: skip
    order = random.Random(seed)
    shuffled = order.sample(held, len(held))
    chosen = sorted(shuffled, key=lambda row: '"RANDOM"' not in row[3])[:capacity]  # stable: random first
    clearance = Clearance(app, now=now)
    done = Inspected(len(chosen))
    for cid, submitter, reference, _ in chosen:
        violation, *values = found.get((submitter, reference)) or (None,)
        kind = FOUND.get(violation) if violation else None
        finding = InspectionFinding(kind=kind, note=f"simulated: {violation}") if kind else None
        corrected = finding and msgspec.structs.replace(finding, **dict(zip(corrections, values, strict=True)))
        try:
            made = clearance.inspect(OFFICER, cid, _inspection(corrected))
        except InvalidInput as exc:  # the finding stands; the value or code found is for a later audit
            log.warning("the correction of %s was refused: %s", cid, exc.message)
            done.refused += 1
            made = clearance.inspect(OFFICER, cid, _inspection(finding))
        done.payables += made["payables"]
        if on_batch:
            on_batch(1)
    return done


def _inspection(finding: InspectionFinding | None) -> Inspection:
    return Inspection(method="physical", outcome="infringement" if finding else "compliant",
                      findings=[finding] if finding else [])  # fmt: skip
