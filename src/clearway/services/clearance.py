"""Clearance actions after assessment: officers, other agencies and submitters, each as its role allows.

Every action is one transaction: read the consignment (locked on PostgreSQL), check the move with the
lifecycle state machine, write the change, its event, its ledger leaf and, for officers and agencies,
an audit record with who, what, when, before and after. A submitter only ever reaches its own
consignments (anything else is `NotFound`, exactly as if it did not exist).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from clearway.auth.clients import Principal
from clearway.bootstrap import App
from clearway.clearance import Action, next_status
from clearway.clearance.lifecycle import after_arrival
from clearway.errors import Forbidden, IllegalTransition, InvalidInput, NotFound
from clearway.model.bounds import storable
from clearway.model.consignment import Consignment
from clearway.model.vocabulary import ANSWERABLE, LANES, FindingKind
from clearway.services import accounts
from clearway.services.returns import is_return, refund_in, returned_lines
from clearway.store import cases, dossiers
from clearway.store.accounts import DEBT, INVALIDATED, NOT_IMPORTED, add_inspection, supersede
from clearway.store.engine import Connection
from clearway.store.events import Audit, EventBatch
from clearway.store.manifests import manifests_of
from clearway.store.repository import IdSequence, as_utc

_encode = msgspec.json.Encoder(order="deterministic").encode
_decode = msgspec.json.decode

Method = Literal["physical", "non_intrusive"]
ConsignmentId = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{32}$", description="a consignment's id")]

InspectionOutcome = Literal["compliant", "infringement"]


class InspectionFinding(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What an inspection found; these become the targeting model's labels."""

    kind: FindingKind
    note: str | None = None
    corrected_value: str | None = None  # undervaluation: the value found, a decimal string
    corrected_hs_code: str | None = None  # wrong_hs_code: the right code
    quantity_seized: int | None = None
    corrected_origin: str | None = None  # misdeclared_origin: the country the goods come from
    item: int | None = None  # the item a corrected HS code or origin is for (the only one, if none is said)
    same_order: Annotated[list[ConsignmentId], msgspec.Meta(max_length=accounts.MAX_ORDER_PARTS - 1)] = []
    """split_consignment: the ids of the order's other parcels; the parts are reassessed as one consignment"""


class Inspection(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    method: Method
    outcome: InspectionOutcome
    findings: list[InspectionFinding] = []
    scan_reference: str | None = None  # non-intrusive inspection: the scan image's reference


class SubmitterFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What a submitter may see of an event's facts, each only where the event has it: never lanes, notes,
    findings or rules."""

    status: str | UnsetType = UNSET
    version: int | UnsetType = UNSET
    referral: str | UnsetType = UNSET  # the referral an answer or a closing is about
    referrals: list[str] | UnsetType = UNSET  # the kinds opened
    decision: str | UnsetType = UNSET  # an agency's decision
    collection_model: str | UnsetType = UNSET
    currency: str | UnsetType = UNSET
    duty: str | UnsetType = UNSET  # amounts as decimal strings
    vat: str | UnsetType = UNSET
    other: str | UnsetType = UNSET
    total: str | UnsetType = UNSET
    missing: list[Any] | UnsetType = UNSET  # what a full declaration needs
    declaration: str | UnsetType = UNSET
    payable: str | UnsetType = UNSET
    amount: str | UnsetType = UNSET
    due_on: str | UnsetType = UNSET
    appeal: str | UnsetType = UNSET
    review_by: str | UnsetType = UNSET
    annulled: str | UnsetType = UNSET


SUBMITTER_FACTS = SubmitterFacts.__struct_fields__


def submitter_facts(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in SUBMITTER_FACTS if k in data}


PRIVATE_FACTS = frozenset({"note"})  # free text may name people: kept in events and audit, never in the ledger
CARRIER_ROLES = frozenset({"carrier", "postal"})
"""Submitters that carry parcels, and so may report their arrival."""
NO_EXIT = frozenset({"invalidated", "held", "inspected", "seized", "destroyed", "abandoned"})
"""Statuses of a declared return whose exit is not recorded: withdrawn, under a control, or gone otherwise."""
OFFICER_MOVES: dict[str, tuple[Action, str]] = {  # the officer's word -> the lifecycle's action, the event
    "release": ("release", "released"), "seize": ("seize", "seized"),
    "return": ("return_to_sender", "returned_to_sender"), "abandon": ("abandon", "abandoned"),
    "destroy": ("destroy", "destroyed"),
}  # fmt: skip


class CaseEvent(msgspec.Struct, frozen=True):
    """One step of a consignment's lifecycle: what happened, when, by whom, with its facts."""

    type: str
    at: dt.datetime
    actor: str
    data: dict[str, Any]


class DecisionRecord(msgspec.Struct, frozen=True):
    """A consignment's last decision as officers read it: lane, score, referrals opened, every reason, and the
    duty and tax assessment (line by line, with the rules applied)."""

    lane: str | None
    score: float | None
    referrals: list[str]
    reasons: list[dict[str, Any]]  # each hit: code, source, message and what the source adds
    decided_at: dt.datetime
    version: int
    assessment: dict[str, Any] | None


class ReferralRecord(msgspec.Struct, frozen=True):
    """A referral: to whom (an agency for `oga`), its state, and the answer that closed it."""

    id: str
    consignment_id: str
    kind: str
    agency: str | None
    state: str
    opened_at: dt.datetime
    answered_at: dt.datetime | None
    answer: dict[str, Any] | None
    closed_by: str | None


class InspectionRecord(msgspec.Struct, frozen=True):
    """An inspection's result: who, when, how, what it found."""

    id: str
    officer: str
    at: dt.datetime
    method: str
    scan_reference: str | None
    outcome: str
    findings: list[dict[str, Any]]


class CaseFile(msgspec.Struct, frozen=True):
    """Everything clearway holds on one consignment, read in one place. Officers see it whole (the API's
    case file and the officers' page); what a submitter sees is built from it (`api/views.py`)."""

    consignment_id: str
    meta: dict[str, Any]  # the consignment's row: submitter, status, lane, version, times
    consignment: Consignment  # as filed, its current version
    decision: DecisionRecord | None
    referrals: list[ReferralRecord]
    inspections: list[InspectionRecord]
    events: list[CaseEvent]
    assessment_failure: dict[str, Any] | None
    manifests: list[dict[str, Any]] = []  # the manifests that list its transport document: its journey
    dossier: list[dict[str, Any]] = []  # the other filings of the parcel that joined this one's dossier


class Clearance:
    def __init__(self, app: App, *, now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self.app = app
        self.engine = app.store.engine
        self.now = now
        self.listeners: list[Callable[[str, str, dict[str, Any]], None]] = []  # (consignment, event, facts)

    # --- reading ---

    def owned(self, principal: Principal, consignment_id: str) -> dict[str, Any]:
        """The consignment row, when the caller may see it; NotFound otherwise."""
        row = cases.consignment_row(self.engine, consignment_id)
        if row is None or (principal.is_submitter and row["submitter"] != principal.tenant):
            raise NotFound(f"no consignment {consignment_id}", reference=consignment_id)
        if principal.role == "agency" and not self._referred_to(principal, consignment_id):
            raise NotFound(f"no consignment {consignment_id}", reference=consignment_id)
        return row

    def _referred_to(self, principal: Principal, consignment_id: str) -> bool:
        return cases.referred_to(self.engine, consignment_id, principal.agency)

    def case_file(self, principal: Principal, consignment_id: str) -> CaseFile:
        """The whole case file, when `principal` may see the consignment; NotFound otherwise."""
        meta = self.owned(principal, consignment_id)
        _, consignment = self.app.store.consignment(consignment_id)
        with self.engine.connect() as conn:
            journey = manifests_of(conn, [consignment.transport_document.id]).get(consignment.transport_document.id, [])
            joined = [] if principal.is_submitter else dossiers.joining(conn, [consignment_id]).get(consignment_id, [])
        filings = [f | {"decision": self.decision(f["id"])} for f in joined]  # their reasons, for the officer
        decision = self.decision(consignment_id)
        return CaseFile(
            consignment_id, meta, consignment, msgspec.convert(decision, DecisionRecord) if decision else None,
            msgspec.convert(self.referrals(consignment_id), list[ReferralRecord]),
            msgspec.convert(self.inspections(consignment_id), list[InspectionRecord]), self.events(consignment_id),
            self.app.store.assessment_failure(consignment_id), journey, filings,
        )  # fmt: skip

    def events(self, consignment_id: str) -> list[CaseEvent]:
        """The consignment's events in order, their facts decoded and their times in UTC."""
        return [
            CaseEvent(e["type"], as_utc(e["at"]), e["actor"], msgspec.json.decode(e["data"]))
            for e in self.app.store.events(consignment_id)
        ]

    def referrals(self, consignment_id: str) -> list[dict[str, Any]]:
        return cases.referrals_of(self.engine, consignment_id)

    def decision(self, consignment_id: str) -> dict[str, Any] | None:
        return cases.latest_decision(self.engine, consignment_id)

    def inspections(self, consignment_id: str) -> list[dict[str, Any]]:
        return cases.inspections_of(self.engine, consignment_id)

    def worklist(
        self,
        *,
        lane: str | None = None,
        status: str | None = None,
        channel: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Consignments waiting for an officer (held or inspected; or, asked for, those whose assessment
        failed), highest score and oldest first."""
        statuses = [status] if status else ["held", "inspected", "full_declaration_required"]
        now = self.now()
        return [
            item | {"age_seconds": int((now - item["received_at"]).total_seconds())}
            for item in cases.worklist(self.engine, statuses, lane, channel, limit, offset)
        ]

    # --- officers ---

    def reroute(self, officer: Principal, consignment_id: str, lane: str, note: str) -> dict[str, Any]:
        if lane not in LANES:
            raise InvalidInput(f"unknown lane {lane!r}: one of {', '.join(LANES)}")

        def change(row: dict[str, Any]) -> dict[str, Any]:
            status = next_status(row["status"], "reroute")
            if lane in ("red", "yellow"):
                status = "held"
            return {"lane": lane, "status": status}

        return self._act(officer, consignment_id, "rerouted", change, {"note": note, "lane": lane})

    def move(self, officer: Principal, consignment_id: str, what: str, note: str) -> dict[str, Any]:
        """release, seize, return (to sender), abandon (to customs, by the owner) or destroy (under customs
        supervision). A parcel returned, abandoned or destroyed before release owes no duty or tax: what its
        declaration made owed (assessment and demands, not penalties) is cancelled and what was paid on it
        owed back (`NOT_IMPORTED`)."""
        if what not in OFFICER_MOVES:
            raise InvalidInput(f"unknown action {what!r}: one of {', '.join(OFFICER_MOVES)}")
        action, kind = OFFICER_MOVES[what]

        def change(row: dict[str, Any]) -> dict[str, Any]:
            status = next_status(row["status"], action)
            return {"status": status, **({"released_at": self.now()} if status == "released" else {})}

        def also(conn: Connection, at: dt.datetime, event_id: str, recorded: EventBatch) -> None:
            supersede(conn, [consignment_id], at, recorded, officer.name, NOT_IMPORTED[kind], DEBT)

        return self._act(officer, consignment_id, kind, change, {"note": note},
                         also=also if kind in NOT_IMPORTED else None)  # fmt: skip

    def declare_fully(
        self, officer: Principal, consignment_id: str, declaration: str, note: str = ""
    ) -> dict[str, Any]:
        """A parcel above the low-value ceiling is transferred to the full declaration lodged for it (its
        reference, e.g. the MRN): that declaration's release takes over, and this consignment ends released.
        The duty and tax are owed under the full declaration: this consignment made no payable."""
        reference = declaration.strip()
        if not reference or len(reference) > 35 or not storable(reference):
            raise InvalidInput("the full declaration's reference (e.g. the MRN) is 1 to 35 characters")

        def change(row: dict[str, Any]) -> dict[str, Any]:
            return {"status": next_status(row["status"], "declare_fully"), "released_at": self.now()}

        return self._act(officer, consignment_id, "transferred_to_full_declaration", change,
                         {"declaration": reference, "note": note})  # fmt: skip

    def inspect(self, officer: Principal, consignment_id: str, inspection: Inspection) -> dict[str, Any]:
        if inspection.method == "non_intrusive" and not inspection.scan_reference:
            raise InvalidInput("a non-intrusive inspection needs the scan reference")
        if inspection.outcome == "infringement" and not inspection.findings:
            raise InvalidInput("an infringement needs at least one finding")
        ids = IdSequence()
        facts = {"method": inspection.method, "outcome": inspection.outcome,
                 "findings": sorted({f.kind for f in inspection.findings})}  # fmt: skip

        def change(row: dict[str, Any]) -> dict[str, Any]:
            return {"status": next_status(row["status"], "inspect")}

        inspection_id = ids()
        findings = list(inspection.findings)
        accounts.check_findings(self.app, consignment_id, findings)  # refused, if it cannot stand, before anything

        def also(conn: Connection, at: dt.datetime, event_id: str, _: EventBatch) -> None:
            add_inspection(conn, {
                "id": inspection_id, "consignment_id": consignment_id, "officer": officer.name, "at": at,
                "method": inspection.method, "scan_reference": inspection.scan_reference,
                "outcome": inspection.outcome, "findings": _encode(inspection.findings).decode(), "event_id": event_id,
            })  # fmt: skip

        done = self._act(officer, consignment_id, "inspected", change, facts, also=also)
        recorded = EventBatch(IdSequence())
        with self.app.store.writing() as conn:  # what the inspection found is reassessed: a demand, or a refund
            made = accounts.correct(self.app, officer, consignment_id, findings, f"inspection:{inspection_id}",
                                    self.now(), conn, recorded)  # fmt: skip
            recorded.write(conn)
        return done | {"payables": [{"id": m["id"], "kind": m["kind"], "amount": m["amount"],
                                     "currency": m["currency"], "due_on": m["due_on"]} for m in made]}  # fmt: skip

    # --- agencies ---

    def agency_referrals(self, agency: Principal, state: str | None = None) -> list[dict[str, Any]]:
        return cases.agency_referrals(self.engine, agency.agency, state)

    def agency_decide(self, agency: Principal, referral_id: str, decision: str, note: str) -> dict[str, Any]:
        """An agency closes its referral: `cleared` (its concern is satisfied) or `refused` (hold for it)."""
        if decision not in ("cleared", "refused"):
            raise InvalidInput("an agency's decision is `cleared` or `refused`")
        row = cases.referral(self.engine, referral_id)
        if row is None or row["kind"] != "oga" or row["agency"] != agency.agency:
            raise NotFound(f"no referral {referral_id}")
        return self._close_referral(agency, row["consignment_id"], referral_id, {"decision": decision, "note": note})

    # --- submitters ---

    def answer_referral(
        self, submitter: Principal, consignment_id: str, kind: str, answer: dict[str, Any]
    ) -> dict[str, Any]:
        """The submitter answers an open `rfi` (information requested), `screening` (screening done) or
        `carrier` (what the carrier or post did with goods it may not carry)."""
        if kind not in ANSWERABLE:
            raise InvalidInput(
                "a submitter answers `rfi`, `screening` or `carrier` referrals; `dnl` and `oga` are customs' own"
            )
        self.owned(submitter, consignment_id)
        referral_id = cases.open_referral(self.engine, consignment_id, kind)
        if referral_id is None:
            raise IllegalTransition(f"no open {kind} referral on consignment {consignment_id}")
        return self._close_referral(submitter, consignment_id, referral_id, answer, state="answered")

    def invalidate(self, submitter: Principal, consignment_id: str, note: str) -> dict[str, Any]:
        """The filer withdraws its filing before release. Not while the parcel is held under a control
        (`lifecycle.under_control`: UCC art. 174(1)(b)). The customs debt it made is extinguished (UCC art.
        124(1)(d)): what its assessment made owed is cancelled, and what was paid on it is owed back."""
        self.owned(submitter, consignment_id)

        def change(row: dict[str, Any]) -> dict[str, Any]:
            return {"status": next_status(row["status"], "invalidate")}

        def guard(conn: Connection) -> None:
            if dossiers.under_control(conn, [consignment_id]):
                raise IllegalTransition(
                    f"consignment {consignment_id} is held for a customs control (an inspection, or a referral to"
                    " answer or to be decided): it cannot be withdrawn before the control is done (Union Customs"
                    " Code art. 174(1)(b))"
                )

        def also(conn: Connection, at: dt.datetime, event_id: str, recorded: EventBatch) -> None:
            supersede(conn, [consignment_id], at, recorded, submitter.name, INVALIDATED)

        return self._act(submitter, consignment_id, "invalidated", change, {"note": note}, also=also, guard=guard)

    # --- arrival and time ---

    def arrive(self, actor: Principal, consignment_id: str, office: str | None = None) -> dict[str, Any]:
        """Arrival at the office of import, reported by the carrier or post that carries the parcel (it filed
        the consignment, or filed the same transport document itself) or by an officer; never by a platform,
        whose word would release its own parcels. A parcel that was waiting for it (released on arrival,
        nothing open on it) is released."""
        if actor.is_submitter:
            self._carried_by(actor, consignment_id, "arrival")
        else:
            self.owned(actor, consignment_id)
        with self.engine.connect() as conn:
            lead = dossiers.lead_of(conn, consignment_id)  # the parcel arrives: its dossier does
        open_referrals = [r for r in self.referrals(lead) if r["state"] == "open"]

        def change(row: dict[str, Any]) -> dict[str, Any]:
            status = after_arrival(row["status"], bool(open_referrals))
            return {"status": status, "released_at": self.now()} if status != row["status"] else {}

        done = self._act(actor, lead, "arrived", change, {"office": office} if office else {})
        return done | {"consignment_id": consignment_id}  # the caller's own filing, never the lead's id

    def exit(self, actor: Principal, consignment_id: str, office: str | None = None) -> dict[str, Any]:
        """A declared return (`returned_goods` naming the consignment it sends back) has left the customs
        territory, reported by the carrier or post that carries it or by an officer: the duty and tax of the
        lines it sends back are refunded on the original now, once (Union Customs Code art. 118(2): repayment
        provided the goods are taken out of the customs territory), with the exit's event."""
        if actor.is_submitter:
            self._carried_by(actor, consignment_id, "exit")
        elif actor.role == "agency":
            raise NotFound(f"no consignment {consignment_id}", reference=consignment_id)
        with self.engine.connect() as conn:
            lead = dossiers.lead_of(conn, consignment_id)  # a carrier's filing of the return: the dossier leaves
        row = cases.consignment_row(self.engine, lead)
        if row is None:
            raise NotFound(f"no consignment {consignment_id}", reference=consignment_id)
        _, returned = self.app.store.consignment(lead)
        if not is_return(returned):
            raise IllegalTransition(
                f"consignment {consignment_id} is not a declared return (category returned_goods, naming the "
                "consignment it sends back): only a return's exit is reported here"
            )
        if row["status"] in NO_EXIT:
            raise IllegalTransition(f"consignment {consignment_id} is {row['status']}: its exit is not recorded")
        original, lines = returned_lines(self.app, row["submitter"], returned)

        def guard(conn: Connection) -> None:
            if cases.has_event(conn, lead, "exited"):
                raise IllegalTransition(f"the exit of consignment {consignment_id} is recorded already")

        def also(conn: Connection, at: dt.datetime, event_id: str, recorded: EventBatch) -> None:
            refund_in(conn, self.app, original, lines, on=at.date(), at=at, reason=f"returned as {returned.reference}")

        facts = {"original": original} | ({"office": office} if office else {})
        done = self._act(actor, lead, "exited", lambda row: {}, facts, also=also, guard=guard)
        return done | {"consignment_id": consignment_id}  # the caller's own filing, never the lead's id

    def _carried_by(self, actor: Principal, consignment_id: str, what: str) -> None:
        if actor.role not in CARRIER_ROLES:
            raise Forbidden(f"{what} is reported by the carrier or post that carries the parcel, or by an officer")
        if not cases.carried_by(self.engine, consignment_id, actor.tenant):
            raise NotFound(f"no consignment {consignment_id}", reference=consignment_id)

    def expire_referrals(self) -> int:
        """Time out referrals open longer than the policy allows; the parcel stays held for an officer."""
        now = self.now()
        rows = cases.open_referrals(self.engine)
        expired = 0
        clock = Principal("clearway", "clearway", "system", None, frozenset())
        for rid, cid, kind, opened_at in rows:
            due = self.app.policy.referral_due(kind, opened_at)
            if due is None or due > now:
                continue
            try:
                self._close_referral(clock, cid, rid, {"timed_out_at": due.isoformat()}, state="timed_out")
                expired += 1
            except IllegalTransition:  # answered meanwhile
                continue
        return expired

    # --- the one way a change is written ---

    def _close_referral(
        self, actor: Principal, consignment_id: str, referral_id: str, answer: dict[str, Any], state: str = "closed"
    ) -> dict[str, Any]:
        def change(row: dict[str, Any]) -> dict[str, Any]:
            return {}

        def also(conn: Connection, at: dt.datetime, event_id: str, _: EventBatch) -> None:
            if not cases.close_referral(conn, referral_id, state, at, answer, actor.name):
                raise IllegalTransition(f"referral {referral_id} is not open")

        facts = {"referral": referral_id} | ({"decision": answer["decision"]} if "decision" in answer else {})
        return self._act(actor, consignment_id, f"referral_{state}", change, facts, also=also)

    def _act(
        self,
        actor: Principal,
        consignment_id: str,
        kind: str,
        change: Callable[[dict[str, Any]], dict[str, Any]],
        facts: dict[str, Any],
        *,
        also: Callable[[Connection, dt.datetime, str, EventBatch], None] | None = None,
        guard: Callable[[Connection], None] | None = None,
    ) -> dict[str, Any]:
        at = self.now()
        ids = IdSequence()
        event_id = ids()
        with self.engine.begin() as conn:
            found = cases.lock_for_change(conn, consignment_id)
            if found is None:
                raise NotFound(f"no consignment {consignment_id}", reference=consignment_id)
            if found["dossier_id"] and not actor.is_submitter:
                raise IllegalTransition(
                    f"consignment {consignment_id} is another filing of a parcel whose dossier is consignment "
                    f"{found['dossier_id']}: officers act on that one, and this filing follows it"
                )
            if guard is not None:  # a refusal that reads more than the row, before anything changes
                guard(conn)
            before = {"status": found["status"], "lane": found["lane"]}
            updates = change({k: v for k, v in found.items() if k != "dossier_id"})
            after = before | {k: v for k, v in updates.items() if k in before}
            if updates:
                cases.change_consignment(conn, consignment_id, updates, at)
            public = {k: v for k, v in facts.items() if k not in PRIVATE_FACTS} | {"status": after["status"]}
            audit = None if actor.is_submitter else Audit(actor.name, actor.role, before, after | {"facts": facts})
            recorded = EventBatch(ids)
            recorded.add(consignment_id, kind, actor.name, at, public, shown=facts | {"status": after["status"]},
                         audit=audit, event_id=event_id)  # fmt: skip
            if also is not None:  # what else the change writes, and the events that follow from it
                also(conn, at, event_id, recorded)
            moved: list[tuple[str, str]] = []
            if updates and not found["dossier_id"]:  # a lead: the filings that joined its dossier follow it
                if after["status"] == "invalidated":
                    dossiers.take_over(conn, consignment_id, at, recorded, actor.name)
                else:
                    moved = dossiers.follow(conn, [consignment_id], at, recorded, actor.name)
            recorded.write(conn)
        for listener in self.listeners:
            listener(consignment_id, kind, {"status": after["status"]})
            for filing, status in moved:
                listener(filing, kind, {"status": status})
        return {"consignment_id": consignment_id, "event": kind, "at": at, "before": before, "after": after}

    def audit(self, consignment_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        return cases.audit_entries(self.engine, consignment_id, limit)
