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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import polars as pl

from clearway.auth.clients import Principal
from clearway.bootstrap import App
from clearway.errors import InvalidInput
from clearway.model.vocabulary import FindingKind
from clearway.services import accounts
from clearway.services.clearance import Clearance, Inspection, InspectionFinding
from clearway.store.consignments import held_for_inspection, id_of_reference
from clearway.store.repository import Store

FOUND: dict[str, FindingKind] = {  # the simulator's violation -> what the officer records
    "counterfeit": "counterfeit",
    "undervaluation": "undervaluation",
    "split_shipment": "split_consignment",  # one order in parcels each under a threshold: named as one
    "misclassification": "wrong_hs_code",
    "undeclared_battery": "dangerous_goods",
    "prohibited": "prohibited",
    "watchlisted_party": "restricted",
    "ioss_misuse": "other",
    "false_gift": "other",
    "vague_description": "vague_description",
}
OFFICER = Principal("demo-officer", "demo-officer", "officer", None, frozenset({"officer"}))
CORRECTIONS = ("corrected_value", "corrected_hs_code", "item", "same_order")
"""The label's columns an officer enters as found (labels.csv, `sim.writer.LABEL_COLUMNS`); the references of an
order's other parts are entered as their consignments' ids."""
log = logging.getLogger(__name__)


@dataclass
class Inspected:
    """What the officers did: how many parcels they opened, what they found, and what it made owed."""

    parcels: int = 0
    payables: list[dict[str, Any]] = field(default_factory=list)  # demands and refunds: kind, amount, currency
    refused: int = 0  # corrections the service refused (the finding was recorded without them)
    found: Counter[str] = field(default_factory=Counter)  # the simulator's violations found, by name
    infringing: list[tuple[str, str]] = field(default_factory=list)  # (submitter, reference) found infringing


Keep = Callable[[str, InspectionFinding | None], dict[str, Any]]
"""Records what was found on a consignment (its id): nothing (None) or one finding; returns the service's answer."""


class _Truth:
    """What an officer finds on a parcel, from the simulator's labels: the finding as recorded with the value
    or code found entered, and without them (should the service refuse the correction)."""

    def __init__(self, labels: pl.DataFrame, store: Store) -> None:
        self.corrections = [c for c in CORRECTIONS if c in labels.columns]
        rows = labels.select("submitter", "reference", "violation", *self.corrections).iter_rows()
        self.labels = {(row[0], row[1]): row[2:] for row in rows}
        self.store = store

    def _ids(self, submitter: str, references: str | None) -> list[str]:
        """The consignments the order's other parts were filed as (a part rejected at intake is none)."""
        found = [id_of_reference(self.store, submitter, r) for r in (references or "").split()]
        return [cid for cid in found if cid is not None]

    def of(
        self, submitter: str, reference: str
    ) -> tuple[str | None, InspectionFinding | None, InspectionFinding | None]:
        """The violation, the finding with its correction, and the finding alone (None for a clean parcel)."""
        violation, *values = self.labels.get((submitter, reference)) or (None,)
        kind = FOUND.get(violation) if violation else None
        if kind is None:
            return None, None, None
        finding = InspectionFinding(kind=kind, note=f"simulated: {violation}")
        found = dict(zip(self.corrections, values, strict=True))
        found["same_order"] = self._ids(submitter, found.get("same_order"))
        return violation, msgspec.structs.replace(finding, **found), finding

    def record(self, done: Inspected, cid: str, submitter: str, reference: str, keep: Keep) -> None:
        """Record what is found on one parcel through `keep`; a correction the service refuses is logged, and
        the finding is kept without it."""
        violation, corrected, finding = self.of(submitter, reference)
        try:
            made = keep(cid, corrected)
        except InvalidInput as exc:  # the finding stands without the value or code found
            log.warning("the correction of %s was refused: %s", cid, exc.message)
            done.refused += 1
            made = keep(cid, finding)
        done.payables += made["payables"]
        if violation:
            done.found[violation] += 1
            done.infringing.append((submitter, reference))


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
    truth = _Truth(labels, app.store)
    order = random.Random(seed)
    shuffled = order.sample(held, len(held))
    chosen = sorted(shuffled, key=lambda row: '"RANDOM"' not in row[3])[:capacity]  # stable: random first
    clearance = Clearance(app, now=now)
    done = Inspected(len(chosen))

    def inspect(cid: str, finding: InspectionFinding | None) -> dict[str, Any]:
        return clearance.inspect(OFFICER, cid, _inspection(finding))

    for cid, submitter, reference, _ in chosen:
        truth.record(done, cid, submitter, reference, inspect)
        if on_batch:
            on_batch(1)
    return done


def audit_released(app: App, labels: pl.DataFrame, *, capacity: int, now: Callable[[], dt.datetime]) -> Inspected:
    """Audit up to `capacity` released parcels after clearance, from the audit queue (every blue-lane release
    first, the oldest first, then the riskiest of the others), through the same audited path an auditor's
    finding takes (`services.accounts.audit_finding`), reassessed into a demand where it corrects. An audit is
    taken to find what an inspection would, as the platform's order and payment records show the goods and
    the price: an assumption that holds for value and classification, less for what is established on the
    goods themselves (a counterfeit, with the right holder), which a documentary audit finds less often."""
    truth = _Truth(labels, app.store)
    queue = accounts.audit_queue(app, OFFICER, sample=capacity, limit=capacity)
    done = Inspected(len(queue))

    def audit(cid: str, finding: InspectionFinding | None) -> dict[str, Any]:
        outcome = "infringement" if finding else "compliant"
        return accounts.audit_finding(app, OFFICER, cid, outcome, [finding] if finding else [], now())

    for row in queue:
        truth.record(done, row["id"], row["submitter"], row["reference"], audit)
    return done


def _inspection(finding: InspectionFinding | None) -> Inspection:
    return Inspection(method="physical", outcome="infringement" if finding else "compliant",
                      findings=[finding] if finding else [])  # fmt: skip
