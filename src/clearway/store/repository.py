"""The store: keeps every raw submission, registers consignments once per (submitter, reference).

The same content again is a no-op; other content is an amendment that becomes a new version, the
previous ones kept. Writes are grouped per batch in one transaction (one durable commit).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import random
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from clearway.accounts.guarantees import GUARANTEE_EXHAUSTED
from clearway.accounts.owed import Terms
from clearway.clearance import FINAL
from clearway.clearance.lifecycle import AMENDABLE
from clearway.clearance.settle import hold_for, settle
from clearway.errors import NotFound
from clearway.intake.submitted import Submitted
from clearway.model.consignment import Consignment
from clearway.model.findings import Finding
from clearway.store import accounts, dossiers, ledger_log
from clearway.store import tables as t
from clearway.store.accounts import transport_filers
from clearway.store.bulk import as_utc, chunked, insert_columns, insert_rows
from clearway.store.events import EventBatch
from clearway.store.write_turn import WriteTurn

RegistrationOutcome = Literal["registered", "unchanged", "amended", "rejected"]
_encoder = msgspec.json.Encoder(order="deterministic")
_CHUNK = 500
FIRST_RETRY = dt.timedelta(seconds=30)
LONGEST_RETRY = dt.timedelta(hours=1)
"""A consignment whose assessment failed is tried again after 30 s, doubling, at most an hour apart."""


@dataclass(frozen=True)
class Prepared:
    """What storing a batch of decisions reads, read once (`Store.prepare_decisions`)."""

    filed: dict[str, Any]  # consignment id -> its filing row (`dossiers.filings`)
    joined: dict[str, dossiers.Joined]  # filings that join another filer's dossier
    carriers: set[str]  # the joining filers that are carriers or posts
    followed: set[str]  # leads among the batch that other filings joined
    owing: accounts.Liabilities  # what the assessments make owed, and by whom


@dataclass(frozen=True)
class Registration:
    """What became of one submitted consignment."""

    submission_id: str
    outcome: RegistrationOutcome
    consignment_id: str | None
    version: int | None
    reference: str | None
    errors: tuple[Finding, ...] = ()  # the store's own refusals (an amendment after release)
    party_keys: dict[str, str] | None = None  # the keyed hashes of its parties, as stored beside it


@dataclass(frozen=True)
class Staged:
    """What storing an accepted consignment needs that no stored row decides: its canonical body, content
    hash and the keyed hashes of its parties. Made before the write turn (`Store.stage`), so that the turn
    is held for the reads and writes only, not for this work (the other process waits for the turn)."""

    body: bytes
    digest: str
    party_keys: dict[str, str] | None


def canonical(consignment: Consignment) -> bytes:
    """The canonical JSON of a consignment: keys sorted, so equal content hashes equal."""
    return _encoder.encode(consignment)


def content_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def new_id() -> str:
    return _random_hex()


def _random_hex() -> str:
    return uuid.uuid4().hex if _seeded is None else f"{_seeded.getrandbits(128):032x}"


_seeded: random.Random | None = None


def reproducible_ids(seed: int | None) -> None:
    """Draw ids from a generator seeded with `seed` from now on (None: at random again, the default).

    For simulations only: the pilot replays a simulated world, and random selection is a keyed hash of the
    consignment's id, so random ids would draw another sample on every run of the same seed. A running
    service keeps random ids: they are what makes the draw unpredictable to a submitter."""
    global _seeded
    _seeded = None if seed is None else random.Random(seed)


class IdSequence:
    """Ids for one batch: a random 20-hex prefix and a counter (uuid4 per row costs more than the insert)."""

    def __init__(self) -> None:
        self.prefix = _random_hex()[:20]
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"{self.prefix}{self.n:012x}"


def _findings(findings: Sequence[Any]) -> str:
    return _encoder.encode(findings).decode()


_DECIDED = sa.select(t.consignments.c.id, t.consignments.c.version, t.consignments.c.status).where(
    t.consignments.c.id.in_(sa.bindparam("ids", expanding=True))
)


def _already_decided(conn: sa.Connection, versions: dict[str, int], keys: list[str]) -> set[str]:
    """The consignments among `keys` that are no longer waiting for this decision: decided since they were
    read (neither `registered` nor set aside), or moved on to a later version."""
    found = conn.execute(_DECIDED, {"ids": keys}).all()
    return {
        str(cid)
        for cid, version, status in found
        if status not in ("registered", "assessment_failed") or version > versions.get(str(cid), version)
    }


class Store:
    """Repository over one engine (SQLite or PostgreSQL); `party_keys` gives the keyed hashes of a
    consignment's parties, kept beside it (risk history that survives erasure)."""

    def __init__(
        self,
        engine: sa.Engine,
        party_keys: Callable[[Consignment], dict[str, str]] | None = None,
        terms: Callable[[str], Terms | None] | None = None,
    ) -> None:
        self.engine = engine
        self.party_keys = party_keys
        self.terms = terms  # a revenue rule's payment terms, by rule id: what an assessment makes owed
        self.write_lock = WriteTurn(engine)
        """Taken around the write transactions of the write path (intake, decisions), in this process and, on
        an SQLite file, across the processes sharing it: they queue here and start the moment the other ends,
        instead of polling SQLite's busy lock (which sleeps up to 100 ms a try) or PostgreSQL's ledger lock."""

    @contextlib.contextmanager
    def writing(self) -> Iterator[sa.Connection]:
        """A write transaction of the write path, its turn taken in this process first."""
        with self.write_lock, self.engine.begin() as conn:
            yield conn

    def record_batch(self, submitter: str, received_at: dt.datetime, batch: Sequence[Submitted]) -> list[Registration]:
        """Keep every submission; register, skip or amend each accepted consignment; one transaction.

        An amendment of a consignment that is released (or otherwise final) is refused: after release
        neither the goods nor the fiscal scheme id (the IOSS number the VAT was collected under) may change.
        """
        staged = self.stage(batch)
        with self.writing() as conn:
            return self.record_in(conn, submitter, received_at, batch, staged)

    def stage(self, batch: Sequence[Submitted]) -> list[Staged | None]:
        """Each accepted consignment's `Staged` (None for a rejected submission), made outside any transaction."""
        staged: list[Staged | None] = []
        for item in batch:
            consignment = item.outcome.consignment
            if consignment is None:
                staged.append(None)
                continue
            body = canonical(consignment)
            keys = self.party_keys(consignment) if self.party_keys else None
            staged.append(Staged(body, content_hash(body), keys))
        return staged

    def record_in(
        self, conn: sa.Connection, submitter: str, received_at: dt.datetime, batch: Sequence[Submitted],
        staged: Sequence[Staged | None] | None = None,
    ) -> list[Registration]:  # fmt: skip
        """Keep every submission and register, skip or amend each accepted consignment, in `conn`'s
        transaction; `staged` is `stage(batch)` when the caller made it before taking the write turn."""
        staged = self.stage(batch) if staged is None else staged
        ids = IdSequence()
        refs = [s.outcome.consignment.reference for s in batch if s.outcome.consignment is not None]
        known = self._existing(conn, submitter, refs)
        held = [cid for cid, _, _, status in known.values() if status == "held"]
        controlled = dossiers.under_control(conn, held) if held else set()
        documents = [s.outcome.consignment.transport_document.id for s in batch if s.outcome.consignment is not None]
        parcels_held = dossiers.documents_under_control(conn, submitter, documents)
        subs, new, versions, registrations = [], [], [], []
        recorded = EventBatch(ids)
        amended: list[dict[str, Any]] = []
        for item, ready in zip(batch, staged, strict=True):
            sid = ids()
            consignment = item.outcome.consignment
            cid: str | None = None
            version: int | None = None
            outcome: RegistrationOutcome = "rejected"
            refused: tuple[Finding, ...] = ()
            if consignment is not None:
                assert ready is not None
                body, digest = ready.body, ready.digest
                current = known.get(consignment.reference)
                holding = parcels_held.get(consignment.transport_document.id)
                if holding is not None and (current is None or current[0] != holding):
                    refused = (_parcel_under_control(consignment.transport_document.id),)
                elif current is None:
                    cid, version, outcome = ids(), 1, "registered"
                    new.append(_consignment_row(cid, submitter, consignment, digest, received_at))
                elif current[2] == digest:
                    cid, version, outcome = current[0], current[1], "unchanged"
                elif current[3] in FINAL:
                    refused = (_refusal(current[3]),)
                elif current[3] not in AMENDABLE or current[0] in controlled:  # inspected, or held for it
                    refused = (_UNDER_CONTROL,)
                else:
                    cid, version, outcome = current[0], current[1] + 1, "amended"
                    amended.append({"cid": cid, "version": version, "digest": digest, "at": received_at})
                if outcome in ("registered", "amended"):
                    assert cid is not None and version is not None
                    known[consignment.reference] = (cid, version, digest, "registered")
                    versions.append(
                        {"consignment_id": cid, "version": version, "content_hash": digest, "submission_id": sid,
                         "recorded_at": received_at, "body": body.decode()}
                    )  # fmt: skip
                    facts = {"version": version, "content_hash": digest, "submitter": submitter,
                             "reference": consignment.reference}  # fmt: skip
                    recorded.add(cid, outcome, submitter, received_at, facts,
                                 shown={"version": version, "submission": sid})  # fmt: skip
            subs.append(
                {
                    "id": sid, "submitter": submitter, "received_at": received_at, "format": item.format,
                    "line": item.line, "reference": item.outcome.reference,
                    "accepted": consignment is not None and not refused, "outcome": outcome, "consignment_id": cid,
                    "errors": _findings([*item.outcome.errors, *refused]),
                    "warnings": _findings(item.outcome.warnings), "raw": item.raw,
                }
            )  # fmt: skip
            registrations.append(Registration(sid, outcome, cid, version, item.outcome.reference, refused,
                                              ready.party_keys if ready is not None else None))  # fmt: skip
        insert_rows(conn, t.submissions, subs)
        insert_rows(conn, t.consignments, new)
        if amended:
            conn.execute(
                t.consignments.update()
                .where(t.consignments.c.id == sa.bindparam("cid"))
                .values(
                    version=sa.bindparam("version"),
                    content_hash=sa.bindparam("digest"),
                    updated_at=sa.bindparam("at"),
                    status="registered",
                ),
                amended,
            )
        insert_rows(conn, t.consignment_versions, versions)
        self._keep_party_keys(conn, batch, registrations)
        recorded.write(conn, ledger_log.new_salts(conn, [row["id"] for row in new]))
        return registrations

    def _keep_party_keys(
        self, conn: sa.Connection, batch: Sequence[Submitted], registrations: Sequence[Registration]
    ) -> None:
        if self.party_keys is None:
            return
        rows: dict[tuple[str | None, str], dict[str, Any]] = {}  # a parcel registered and amended in one
        amended = []  # batch keeps its latest version's keys
        for item, registration in zip(batch, registrations, strict=True):
            if registration.outcome not in ("registered", "amended") or item.outcome.consignment is None:
                continue
            if registration.outcome == "amended":
                amended.append(registration.consignment_id)
            keys = registration.party_keys or self.party_keys(item.outcome.consignment)
            for role, key in keys.items():
                rows[registration.consignment_id, role] = {
                    "consignment_id": registration.consignment_id,
                    "role": role,
                    "key": key,
                }
        if amended:
            conn.execute(t.party_keys.delete().where(t.party_keys.c.consignment_id.in_(amended)))
        insert_rows(conn, t.party_keys, list(rows.values()))

    def party_keys_of(self, consignment_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """The stored keyed hashes of these consignments' parties (they outlive the erasure of names)."""
        found: dict[str, dict[str, str]] = {}
        k = t.party_keys.c
        with self.engine.connect() as conn:
            for start in range(0, len(consignment_ids), _CHUNK):
                chunk = list(consignment_ids[start : start + _CHUNK])
                for cid, role, key in conn.execute(
                    sa.select(k.consignment_id, k.role, k.key).where(k.consignment_id.in_(chunk))
                ):
                    found.setdefault(cid, {})[role] = key
        return found

    def _existing(self, conn: sa.Connection, submitter: str, refs: list[str]) -> dict[str, tuple[str, int, str, str]]:
        """Id, version, content hash and status of the submitter's consignments among `refs`."""
        c = t.consignments.c
        unique = sorted(set(refs))
        columns = (c.reference, c.id, c.version, c.content_hash, c.status)
        if conn.dialect.name == "postgresql":
            # one `= ANY(array)` probe of the unique index; long IN lists get planned as scans
            wanted = sa.bindparam("refs", value=unique, type_=postgresql.ARRAY(sa.String))
            queries = [sa.select(*columns).where(c.submitter == submitter, c.reference == sa.func.any(wanted))]
        else:
            queries = [
                sa.select(*columns).where(c.submitter == submitter, c.reference.in_(unique[i : i + _CHUNK]))
                for i in range(0, len(unique), _CHUNK)
            ]
        found: dict[str, tuple[str, int, str, str]] = {}
        for query in queries:
            for reference, cid, version, digest, status in conn.execute(query):
                found[reference] = (cid, version, digest, status)
        return found

    def prepare_decisions(self, decisions: pl.DataFrame, conn: sa.Connection | None = None) -> Prepared:
        """What storing `decisions` reads (their filings and dossiers, the filers that carry, the leads others
        joined, what the assessments make owed and by whom), read once for a batch that is stored in many
        short transactions (`record_decisions(..., prepared=)`), outside the write lock."""
        keys = decisions["key"].to_list()
        assessments = (
            {k: a for k, a in decisions.select("key", "assessment").iter_rows() if a}
            if "assessment" in decisions.columns else {}
        )  # fmt: skip
        with contextlib.nullcontext(conn) if conn is not None else self.engine.connect() as reading:
            filed = dossiers.filings(reading, keys)
            joined = dossiers.leads_of(reading, filed)
            carriers = transport_filers(reading, {j.filer for j in joined.values()})
            followed = set(dossiers.joining(reading, keys))
            owing = accounts.prepare(reading, {k: a for k, a in assessments.items() if k not in joined}, filed)
        return Prepared(filed, joined, carriers, followed, owing)

    def record_decisions(
        self,
        decisions: pl.DataFrame,
        versions: dict[str, int],
        decided_at: dt.datetime,
        actor: str = "clearway",
        prepared: Prepared | None = None,
    ) -> None:
        """Store the pipeline's decisions (keyed by consignment id), open their referrals, and move each
        consignment on: held for an inspection lane or a referral; else by its `release` mode (the
        clearance policy): released at once, left assessed until arrival, or held for an officer (high
        value). Every step is an event and a ledger leaf.

        A filing of a parcel another filer filed first joins that dossier (`store/dossiers.py`): its decision
        is kept (its reasons are the officer's to read) without an assessment or referrals of its own, and it
        follows the lead; a carrier's or post's filing that would stop the parcel holds the dossier."""
        updates: list[dict[str, Any]] = []
        ids = IdSequence()
        recorded = EventBatch(ids)
        has_assessment = "assessment" in decisions.columns
        columns = ["key", "lane", "referrals", "reasons", "score", "agencies"]
        columns += ["assessment"] if has_assessment else []
        columns += ["release"] if "release" in decisions.columns else []
        columns += ["screened_with"] if "screened_with" in decisions.columns else []
        columns += ["missing"] if "missing" in decisions.columns else []

        with self.writing() as conn:
            decided = _already_decided(conn, versions, decisions["key"].to_list())
            if decided:  # assessed twice (the assessor's process started while it was queued): once is kept
                decisions = decisions.filter(~pl.col("key").is_in(sorted(decided)))
                if decisions.is_empty():
                    return
            ready = prepared or self.prepare_decisions(decisions, conn)
            part = decisions["key"].to_list()
            filed = {k: ready.filed[k] for k in part if k in ready.filed}
            joined = {k: ready.joined[k] for k in part if k in ready.joined}
            dossiers.keep(conn, filed, joined)
            carriers = ready.carriers
            escalations: list[tuple[str, str, tuple[tuple[str, str | None], ...]]] = []
            settlements = [
                (d, settle(d["key"], versions[d["key"]], d["lane"], d["referrals"], agencies=d["agencies"],
                           release=d.get("release"), assessment=d.get("assessment"),
                           screened_with=d.get("screened_with"), missing=d.get("missing")))
                for d in decisions.select(columns).iter_rows(named=True)
            ]  # fmt: skip
            assessed = [(d, s) for d, s in settlements if d.get("assessment") and s.consignment_id not in joined]
            amended = [s.consignment_id for _, s in assessed if versions[s.consignment_id] > 1]
            # a parcel above the low-value ceiling owes under the standard declaration that takes it over
            owing = [accounts.Owing(s.consignment_id, d["assessment"], s.status) for d, s in assessed
                     if s.status != "full_declaration_required"]  # fmt: skip
            if self.terms and amended:
                accounts.supersede(conn, amended, decided_at, recorded, actor)
            exhausted = (
                accounts.owe(conn, owing, decided_at, self.terms, ids, ready.owing) if self.terms and owing else set()
            )
            # the rows to write, column by column: a decision per row of `decisions`, in its order
            made: dict[str, list[Any]] = {
                "id": [],
                "consignment_id": [],
                "version": [],
                "lane": [],
                "assessment": [],
                "event_id": [],
            }
            opened: dict[str, list[Any]] = {"id": [], "consignment_id": [], "kind": [], "agency": []}
            for d, settled in settlements:
                cid = d["key"]
                if cid in exhausted:
                    settled = hold_for(settled, GUARANTEE_EXHAUSTED)
                lead = joined.get(cid)
                if lead is not None:  # one dossier, one assessment: the lead's
                    first = settled.events[0]
                    event_ids = [recorded.add(cid, "joined_dossier", actor, decided_at, first.facts, shown=first.shown)]
                    if settled.status == "held" and lead.filer in carriers:
                        escalations.append((lead.lead, settled.lane, settled.referrals))
                else:
                    event_ids = [recorded.add(cid, e.kind, actor, decided_at, e.facts, shown=e.shown)
                                 for e in settled.events]  # fmt: skip
                for column, value in zip(made.values(), (ids(), cid, settled.version, settled.lane,
                                                         None if lead else d.get("assessment"), event_ids[0]),
                                         strict=True):  # fmt: skip
                    column.append(value)
                if lead is not None:
                    continue
                for kind, agency in settled.referrals:
                    for column, value in zip(opened.values(), (ids(), cid, kind, agency), strict=True):
                        column.append(value)
                updates.append({"cid": cid, "at": decided_at, "status": settled.status, "lane": settled.lane,
                                "released": decided_at if settled.released else None})  # fmt: skip
            encode = _encoder.encode
            made |= {
                "referrals": [encode(list(kinds)).decode() for kinds in decisions["referrals"].to_list()],
                "reasons": [encode(reasons).decode() for reasons in decisions["reasons"].to_list()],
                "score": decisions["score"].to_list(),
                "likelihood": (
                    decisions["likelihood"].to_list()
                    if "likelihood" in decisions.columns
                    else [None] * decisions.height
                ),
                "decided_at": [decided_at] * decisions.height,
            }
            opened |= {"state": ["open"] * len(opened["id"]), "opened_at": [decided_at] * len(opened["id"])}
            if updates:
                r = t.referrals.c
                conn.execute(
                    t.referrals.update()
                    .where(r.consignment_id.in_([u["cid"] for u in updates]), r.state != "closed")
                    .values(state="closed", closed_by="reassessed")
                )
            keys = decisions["key"].to_list()
            if keys:
                conn.execute(t.assessment_failures.delete().where(t.assessment_failures.c.consignment_id.in_(keys)))
            insert_columns(conn, t.decisions, made)
            insert_columns(conn, t.referrals, opened)
            if updates:
                conn.execute(
                    t.consignments.update()
                    .where(t.consignments.c.id == sa.bindparam("cid"))
                    .values(
                        status=sa.bindparam("status"),
                        lane=sa.bindparam("lane"),
                        updated_at=sa.bindparam("at"),
                        released_at=sa.bindparam("released"),
                    ),
                    updates,
                )
            for lead_id, lane, kinds in escalations:
                dossiers.escalate(conn, lead_id, lane, kinds, decided_at, recorded, actor)
            leads = {u["cid"] for u in updates if u["cid"] in ready.followed} | {j.lead for j in joined.values()}
            if leads:  # the filings that joined these leads follow them
                dossiers.follow(conn, sorted(leads), decided_at, recorded, actor)
            recorded.write(conn)

    def record_assessment_failures(
        self, failures: dict[str, str], versions: dict[str, int], at: dt.datetime
    ) -> dict[str, int]:
        """Set consignments the pipeline could not assess aside (`assessment_failed`), with the error for
        officers and the next attempt after a back-off (FIRST_RETRY doubling, LONGEST_RETRY at most); each is
        an event and a ledger leaf. Returns the attempts so far of each."""
        f = t.assessment_failures.c
        ids = IdSequence()
        with self.writing() as conn:
            known = dict(
                conn.execute(sa.select(f.consignment_id, f.attempts).where(f.consignment_id.in_(list(failures)))).all()
            )
            recorded, attempts = EventBatch(ids), {}
            for cid, error in failures.items():
                tries = int(known.get(cid, 0)) + 1
                attempts[cid] = tries
                values = {"version": versions[cid], "error": error[:2000], "attempts": tries, "last_failed_at": at,
                          "next_attempt_at": at + min(FIRST_RETRY * 2 ** (tries - 1), LONGEST_RETRY)}  # fmt: skip
                if cid in known:
                    conn.execute(t.assessment_failures.update().where(f.consignment_id == cid).values(**values))
                else:
                    conn.execute(
                        t.assessment_failures.insert().values(consignment_id=cid, first_failed_at=at, **values)
                    )
                recorded.add(cid, "assessment_failed", "clearway", at, {"version": versions[cid], "attempt": tries})
            c = t.consignments.c
            conn.execute(
                t.consignments.update()
                .where(c.id.in_(list(failures)), c.status.in_(["registered", "assessment_failed"]))
                .values(status="assessment_failed", updated_at=at)
            )
            recorded.write(conn)
        return attempts

    def assessment_failure(self, consignment_id: str) -> dict[str, Any] | None:
        """Why a consignment could not be assessed, how often it was tried and when it is tried again."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.assessment_failures).where(t.assessment_failures.c.consignment_id == consignment_id)
            ).mappings().first()  # fmt: skip
        return None if row is None else {k: (as_utc(v) if isinstance(v, dt.datetime) else v) for k, v in row.items()}

    def consignment(self, consignment_id: str) -> tuple[dict[str, Any], Consignment]:
        """The stored row and the current version of a consignment."""
        c, v = t.consignments.c, t.consignment_versions.c
        query = (
            sa.select(t.consignments, v.body)
            .join(t.consignment_versions, (v.consignment_id == c.id) & (v.version == c.version))
            .where(c.id == consignment_id)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"no consignment {consignment_id}", reference=consignment_id)
        meta = {k: (as_utc(x) if isinstance(x, dt.datetime) else x) for k, x in row.items() if k != "body"}
        return meta, msgspec.json.decode(row["body"], type=Consignment)

    def versions(self, consignment_id: str) -> list[dict[str, Any]]:
        c = t.consignment_versions.c
        with self.engine.connect() as conn:
            query = sa.select(t.consignment_versions).where(c.consignment_id == consignment_id).order_by(c.version)
            return [dict(r) for r in conn.execute(query).mappings()]

    def events(self, consignment_id: str) -> list[dict[str, Any]]:
        c = t.events.c
        with self.engine.connect() as conn:
            query = sa.select(t.events).where(c.consignment_id == consignment_id).order_by(c.seq)
            return [dict(r) for r in conn.execute(query).mappings()]

    def submissions(self, submitter: str | None = None) -> list[dict[str, Any]]:
        query = sa.select(t.submissions)
        if submitter is not None:
            query = query.where(t.submissions.c.submitter == submitter)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def count(self, table: sa.Table) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

    def lanes(self) -> dict[str, int]:
        c = t.decisions.c
        with self.engine.connect() as conn:
            return {lane: int(n) for lane, n in conn.execute(sa.select(c.lane, sa.func.count()).group_by(c.lane))}


def _consignment_row(cid: str, submitter: str, c: Consignment, digest: str, at: dt.datetime) -> dict[str, Any]:
    return {
        "id": cid, "submitter": submitter, "reference": c.reference, "version": 1, "content_hash": digest,
        "status": "registered", "channel": c.channel, "dispatch_country": c.dispatch_country,
        "destination_country": c.destination_country, "transport_document_id": c.transport_document.id,
        "received_at": at, "updated_at": at,
        "expected_arrival": c.arrival.expected_at if c.arrival is not None else None,
    }  # fmt: skip


def _refusal(status: str) -> Finding:
    return Finding(
        "", "amend.final",
        f"the consignment is {status.replace('_', ' ')}; it can no longer be amended (after release neither"
        " the goods nor the fiscal scheme id may change): declare a correction or a return instead",
    )  # fmt: skip


_UNDER_CONTROL = Finding(
    "", "amend.control",
    "the consignment is under a customs control (an examination, announced or done, or a referral other than"
    " a request for information, until it is answered or decided): it cannot be amended (Union Customs Code"
    " art. 173(2)); the submission is kept",
)  # fmt: skip


def _parcel_under_control(document: str) -> Finding:
    return Finding(
        "/transport_document/id", "transport_document.control",
        f"another of your consignments with transport document {document} is under a customs control: the"
        " parcel cannot be filed again, nor another filing amended to it, until the control is done (Union"
        " Customs Code art. 173(2)); the submission is kept",
    )  # fmt: skip


def stored_answer(conn: sa.Connection, tenant: str, key: str) -> tuple[str, int, bytes | str] | None:
    """The answer kept under a tenant's idempotency key: the request's digest, status and body (None when
    the key is new)."""
    k = t.idempotency_keys.c
    row = conn.execute(
        sa.select(k.request_hash, k.status_code, k.response).where(k.tenant == tenant, k.key == key)
    ).first()
    return None if row is None else (str(row.request_hash), int(row.status_code), row.response)


def stored_answers(
    conn: sa.Connection, pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], tuple[str, int, bytes | str]]:
    """`stored_answer` of many (tenant, key) pairs at once: those kept, by pair."""
    k = t.idempotency_keys.c
    found: dict[tuple[str, str], tuple[str, int, bytes | str]] = {}
    for chunk in chunked(list(pairs), _CHUNK // 2):
        query = sa.select(k.tenant, k.key, k.request_hash, k.status_code, k.response).where(
            sa.tuple_(k.tenant, k.key).in_(chunk)
        )
        for tenant, key, digest, status, body in conn.execute(query):
            found[tenant, key] = (str(digest), int(status), body)
    return found


def keep_answer(
    conn: sa.Connection, tenant: str, key: str, digest: str, status: int, body: str, at: dt.datetime
) -> None:
    """Keep the answer to a request under its tenant's idempotency key."""
    conn.execute(t.idempotency_keys.insert().values(
        tenant=tenant, key=key, request_hash=digest, status_code=status, response=body, created_at=at
    ))  # fmt: skip
