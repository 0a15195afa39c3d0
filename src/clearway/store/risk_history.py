"""What the store remembers that the risk detectors read, for one batch (`services/history.py` gathers it,
caches what moves slowly and adds what is kept in memory): earlier parcels of the day to the batch's
consignees, its parties' earlier infringements and seizures, earlier assessments of its consignees, other
filings and export records of its transport documents, the loading of its manifests, the day's decisions
so far, inspected consignments' reasons, and recent accepted bodies for the unit-value reference.

Parties are matched on keyed hashes only; a consignment in the batch never counts as its own history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Container, Iterator, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

import msgspec
import polars as pl
import sqlalchemy as sa

from clearway.model.vocabulary import HOLDING_LANES
from clearway.pipeline import BatchRow
from clearway.pipeline.history import AMENDED, ASSESSED, FILINGS, LOADING, OFFENDERS, PARCELS
from clearway.store import tables as t
from clearway.store.bulk import as_utc, chunked
from clearway.store.cooperation import exports_for
from clearway.store.dossiers import FILINGS_OF
from clearway.store.manifests import loading_of
from clearway.store.offences import OFFENCES
from clearway.store.period import AMOUNT

VALUE = pl.Struct({"currency": pl.String, "items": pl.List(pl.Struct({"quantity": pl.Int64, "unit_price": AMOUNT}))})


class _Finding(msgspec.Struct):
    kind: str


_FINDINGS = msgspec.json.Decoder(list[_Finding])


class _Assessed(msgspec.Struct):
    rules: list[str]
    threshold_value: Decimal


_ASSESSED = msgspec.json.Decoder(_Assessed)


class _Line(msgspec.Struct):
    quantity: int
    unit_price: Decimal
    hs_code: str | None = None


class _Filed(msgspec.Struct):
    currency: str
    items: list[_Line]


_FILED = msgspec.json.Decoder(_Filed)


def infringing() -> Any:
    """Consignments an inspection found infringing."""
    i = t.inspections.c
    return sa.select(i.consignment_id).where(i.outcome == "infringement")


def received_by(rows: Sequence[BatchRow]) -> dt.datetime:
    """The batch's receipt (the latest of its rows'): what was stored after it is not its history, even when
    it is already stored while the batch is assessed (the writer and the assessor run side by side)."""
    return max(as_utc(r.received_at) for r in rows)


class Kept(NamedTuple):
    """What the store holds of one batch's history (`of_batch`)."""

    parcels: pl.DataFrame
    offenders: pl.DataFrame
    assessed: pl.DataFrame
    exports: pl.DataFrame
    filings: pl.DataFrame
    loading: pl.DataFrame
    amended: pl.DataFrame
    stopped_before: dict[str, tuple[str, bool]]


def of_batch(engine: sa.Engine, rows: Sequence[BatchRow], annual: Sequence[str]) -> Kept:
    """The batch's history that the store holds, read in one go."""
    batch = {r.key for r in rows}
    documents = sorted({r.consignment.transport_document.id for r in rows})
    with engine.connect() as conn:
        amended = amended_in(conn, rows)
        withdrawn = withdrawn_before(conn, rows, amended)
        return Kept(
            parcels(conn, rows, batch), offenders(conn, rows, batch), assessed(conn, rows, batch, annual),
            exports_for(conn, documents), filings(conn, rows, batch),
            pl.DataFrame(loading_of(conn, documents), schema=LOADING, orient="row"),
            earlier_values(conn, list(amended), withdrawn), stopped_before(amended, withdrawn),
        )  # fmt: skip


def amended_in(conn: sa.Connection, rows: Sequence[BatchRow]) -> dict[str, str | None]:
    """The batch's amended consignments (a version after the first), each with its lane as last decided (an
    amendment leaves it so until the new decision)."""
    found: dict[str, str | None] = {}
    for chunk in chunked([r.key for r in rows]):
        found |= {str(cid): lane for cid, lane in conn.execute(_AMENDED, {"ids": chunk})}
    return found


_c, _k = t.consignments.c, t.party_keys.c
_AMENDED = sa.select(_c.id, _c.lane).where(_c.version > 1, _c.id.in_(sa.bindparam("ids", expanding=True)))
_OTHER_FILINGS = sa.select(_c.id, _c.transport_document_id, _c.submitter, _c.received_at).where(
    _c.status.not_in(["invalidated"]), _c.received_at <= sa.bindparam("by"),
    _c.transport_document_id.in_(sa.bindparam("documents", expanding=True)),
)  # fmt: skip
_CONSIGNEES = sa.select(_k.consignment_id, _k.key).where(
    _k.consignment_id.in_(sa.bindparam("ids", expanding=True)), _k.role == "consignee"
)
_v, _d = t.consignment_versions.c, t.decisions.c
_BODIES = (
    sa.select(_c.id, _v.body)
    .join(t.consignment_versions, sa.and_(_v.consignment_id == _c.id, _v.version == _c.version))
    .where(_c.id.in_(sa.bindparam("ids", expanding=True)))
)
_ASSESSED_OF = (
    sa.select(_c.id, _c.destination_country, _c.received_at, _k.key, _d.decided_at, _d.assessment)
    .join(t.party_keys, sa.and_(_k.consignment_id == _c.id, _k.role == "consignee"))
    .join(t.decisions, sa.and_(_d.consignment_id == _c.id, _d.version == _c.version))
    .where(_d.assessment.is_not(None), _c.status.not_in(["invalidated", "returned_to_sender"]),
           sa.or_(_c.received_at >= sa.bindparam("day"),
                  sa.and_(_c.destination_country.in_(sa.bindparam("annual", expanding=True)),
                          _c.received_at >= sa.bindparam("year"))),
           _k.key.in_(sa.bindparam("who", expanding=True)))
)  # fmt: skip
_consignee, _seller = t.party_keys.alias("consignee"), t.party_keys.alias("seller")
_PARCELS = (
    sa.select(_c.id, _c.destination_country, _c.received_at, _consignee.c.key, _seller.c.key)
    .join(_consignee, sa.and_(_consignee.c.consignment_id == _c.id, _consignee.c.role == "consignee"))
    .join(_seller, sa.and_(_seller.c.consignment_id == _c.id, _seller.c.role == "seller"))
    .where(_c.received_at >= sa.bindparam("since"), _c.received_at <= sa.bindparam("by"), _c.status != "invalidated",
           _consignee.c.key.in_(sa.bindparam("who", expanding=True)))
)  # fmt: skip
"""The history's statements built once: a single filing runs each of them, and building one cost about as much
as running it."""


class Withdrawn(NamedTuple):
    """A version of a filing its filer withdrew, of the same parcel as one of the batch's new filings."""

    key: str  # the batch's new filing of that parcel
    lane: str | None  # the lane the withdrawn filing was last decided on
    body: str  # the withdrawn version's body


def withdrawn_before(conn: sa.Connection, rows: Sequence[BatchRow], amended: Container[str]) -> list[Withdrawn]:
    """Every version of the filings that the filer of one of the batch's new (not amended) filings withdrew,
    of the same transport document: the same parcel, filed again."""
    v = t.consignment_versions.c
    by_filing = {(r.submitter, r.consignment.transport_document.id): r.key for r in rows if r.key not in amended}
    filers = sorted({filer for filer, _ in by_filing})
    withdrawn: dict[str, tuple[str, str | None]] = {}  # id -> (the batch's new filing, the lane)
    for chunk in chunked(sorted({document for _, document in by_filing})):
        filed = conn.execute(FILINGS_OF, {"filers": filers, "documents": chunk})
        withdrawn |= {cid: (by_filing[(filer, document)], lane) for cid, filer, document, status, lane in filed
                      if status == "invalidated" and (filer, document) in by_filing}  # fmt: skip
    if not withdrawn:  # nearly every batch: one search of its documents
        return []
    found: list[Withdrawn] = []
    for chunk in chunked(sorted(withdrawn)):
        query = sa.select(v.consignment_id, v.body).where(v.consignment_id.in_(chunk)).order_by(v.consignment_id,
                                                                                               v.version)  # fmt: skip
        found += [Withdrawn(*withdrawn[cid], body) for cid, body in conn.execute(query)]
    return found


def stopped_before(amended: dict[str, str | None], withdrawn: Sequence[Withdrawn]) -> dict[str, tuple[str, bool]]:
    """The batch's consignments whose parcel was stopped for a control when its filer filed it again, each with
    the lane it was stopped on and whether it was filed anew: an amended filing last decided on a stop lane, or
    a new filing of a parcel whose earlier filing by the same filer was withdrawn on a stop lane."""
    found = {key: (lane, False) for key, lane in amended.items() if lane in HOLDING_LANES}
    for w in withdrawn:
        if w.lane in HOLDING_LANES and found.get(w.key, ("", True))[0] != "red":  # the stricter, if several
            found[w.key] = (w.lane, True)
    return found


def earlier_values(conn: sa.Connection, amended: Sequence[str], withdrawn: Sequence[Withdrawn]) -> pl.DataFrame:
    """AMENDED: for each consignment of the batch, the highest intrinsic value declared for it before, per
    currency: by its own earlier versions when amended, else by its filer's withdrawn filings of the parcel."""
    c, v = t.consignments.c, t.consignment_versions.c
    highest: dict[tuple[str, str, bool], Decimal] = {}

    def keep(key: str, body: str, refiled: bool) -> None:
        doc = _FILED.decode(body)
        value = sum((i.unit_price * i.quantity for i in doc.items), Decimal(0))
        found = (key, doc.currency, refiled)
        highest[found] = max(value, highest.get(found, value))

    versions = sa.select(v.consignment_id, v.body).join(t.consignments, c.id == v.consignment_id)
    for chunk in chunked(list(amended)):
        for cid, body in conn.execute(versions.where(v.consignment_id.in_(chunk), v.version < c.version)):
            keep(str(cid), body, False)
    for w in withdrawn:
        keep(w.key, w.body, True)
    found = [(key, currency, float(value), refiled) for (key, currency, refiled), value in highest.items()]
    return pl.DataFrame(found, schema=AMENDED, orient="row")


FILINGS_PER_FILER = 5
"""Filings of one transport document by one filer that a batch reads, the latest: a parcel is filed by its
platform, its carrier and a representative, and again when amended or withdrawn, not more. Without a bound, a
tenant filing one tracking number thousands of times had every other tenant's filing of it read and decode
each of them: a single filing took 100-190 ms instead of 76-92 on SQLite, 160-380 instead of 72-100 on
PostgreSQL, after 3,000 such filings."""


def filings(conn: sa.Connection, rows: Sequence[BatchRow], batch: set[str]) -> pl.DataFrame:
    """Other open filings of the batch's transport documents (another filer's, or an earlier batch's): of each
    filer, its latest `FILINGS_PER_FILER`."""
    documents = sorted({r.consignment.transport_document.id for r in rows})
    by = received_by(rows)
    by_filer: dict[tuple[str, str], list[tuple[dt.datetime, str]]] = {}
    for chunk in chunked(documents):
        for cid, document, filer, at in conn.execute(_OTHER_FILINGS, {"by": by, "documents": chunk}):
            if cid not in batch:
                by_filer.setdefault((document, filer), []).append((as_utc(at), cid))
    others = [(cid, document, filer) for (document, filer), filed in sorted(by_filer.items())
              for _, cid in sorted(filed, reverse=True)[:FILINGS_PER_FILER]]  # fmt: skip
    ids = [cid for cid, _, _ in others]
    consignees = {cid: key for chunk in chunked(ids) for cid, key in conn.execute(_CONSIGNEES, {"ids": chunk})}
    bodies = _bodies(conn, ids)
    found = []
    for cid, document, filer in others:
        if cid not in bodies:  # gone between the two reads (READ COMMITTED on PostgreSQL): not history any more
            continue
        doc = _FILED.decode(bodies[cid])
        value = sum(float(i.unit_price) * i.quantity for i in doc.items)
        chapters = sorted({i.hs_code[:2] for i in doc.items if i.hs_code})
        found.append((document, cid, filer, doc.currency, value, chapters, consignees.get(cid)))
    return pl.DataFrame(found, schema=FILINGS, orient="row")


def _bodies(conn: sa.Connection, ids: Sequence[str]) -> dict[str, str]:
    """The current body of each consignment. Read apart from the query that chose them, so that the batch's
    own rows, which every such query also finds (and leaves out), are not read with their bodies."""
    return {cid: body for chunk in chunked(ids) for cid, body in conn.execute(_BODIES, {"ids": chunk})}


def assessed(conn: sa.Connection, rows: Sequence[BatchRow], batch: set[str], annual: Sequence[str]) -> pl.DataFrame:
    """Earlier assessments of the batch's consignees: the same day, and the same year where the
    destination has an annual limit."""
    who = sorted({r.party_keys["consignee"] for r in rows if r.party_keys and "consignee" in r.party_keys})
    if not who:
        return pl.DataFrame(schema=ASSESSED)
    first = min(as_utc(r.received_at) for r in rows).date()
    day = dt.datetime.combine(first, dt.time(), dt.UTC)
    year = dt.datetime.combine(first.replace(month=1, day=1), dt.time(), dt.UTC)
    latest: dict[str, Any] = {}
    for chunk in chunked(who):
        for row in conn.execute(_ASSESSED_OF, {"day": day, "year": year, "annual": list(annual), "who": chunk}):
            if row[0] not in batch and (row[0] not in latest or row[4] > latest[row[0]][4]):
                latest[row[0]] = row
    found = []
    for cid, destination, received_at, key, _, text in latest.values():
        assessment = _ASSESSED.decode(text)
        found.append((cid, destination, key, as_utc(received_at), assessment.rules[0], assessment.threshold_value))
    return pl.DataFrame(
        found, schema=["key", "destination_country", "who", "received_at", "rule", "threshold_value"], orient="row"
    ).cast(ASSESSED)  # type: ignore[arg-type]


def parcels(conn: sa.Connection, rows: Sequence[BatchRow], batch: set[str]) -> pl.DataFrame:
    """Earlier parcels of the same day to the batch's consignees, with their sellers and values."""
    who = sorted({r.party_keys["consignee"] for r in rows if r.party_keys and "consignee" in r.party_keys})
    if not who:
        return pl.DataFrame(schema=PARCELS)
    since = dt.datetime.combine(min(as_utc(r.received_at) for r in rows).date(), dt.time(), dt.UTC)
    window = {"since": since, "by": received_by(rows)}
    found = [
        row for chunk in chunked(who) for row in conn.execute(_PARCELS, window | {"who": chunk})
        if row[0] not in batch
    ]  # fmt: skip
    bodies = _bodies(conn, [r[0] for r in found])
    found = [row for row in found if row[0] in bodies]  # gone between the two reads: not history any more
    if not found:
        return pl.DataFrame(schema=PARCELS)
    item = pl.element().struct
    frame = pl.DataFrame(
        [(r[0], r[1], as_utc(r[2]), r[3], r[4], bodies[r[0]]) for r in found],
        schema=["key", "destination_country", "received_at", "who", "seller", "body"], orient="row",
    )  # fmt: skip
    body = pl.col("body").str.json_decode(VALUE)
    return frame.with_columns(
        body.struct.field("currency").alias("currency"),
        body.struct.field("items").list.eval(item.field("unit_price").cast(pl.Float64) * item.field("quantity"))
        .list.sum().alias("value"),
    ).select(list(PARCELS)).cast(PARCELS)  # type: ignore[arg-type]  # fmt: skip


def offenders(conn: sa.Connection, rows: Sequence[BatchRow], batch: set[str]) -> pl.DataFrame:
    """The batch's parties that earlier parcels were found infringing or seized for (searched among the marked
    parcels, `store/offences.py`)."""
    keys = sorted({k for r in rows if r.party_keys for k in r.party_keys.values()})
    if not keys:
        return pl.DataFrame(schema=OFFENDERS)
    i = t.inspections.c
    found = [row for chunk in chunked(keys) for row in conn.execute(OFFENCES, {"keys": chunk}) if row[2] not in batch]
    if not found:
        return pl.DataFrame(schema=OFFENDERS)
    ids = sorted({row[2] for row in found})
    kinds: dict[str, set[str]] = {}
    for chunk in chunked(ids):
        for cid, findings in conn.execute(
            sa.select(i.consignment_id, i.findings).where(i.consignment_id.in_(chunk), i.outcome == "infringement")
        ):
            kinds.setdefault(cid, set()).update(f.kind for f in _FINDINGS.decode(findings))
    frame = pl.DataFrame(
        [(role, key, cid, status, as_utc(at), sorted(kinds.get(cid, ()))) for role, key, cid, status, at in found],
        schema={"role": pl.String, "party_key": pl.String, "id": pl.String, "status": pl.String,
                "at": pl.Datetime("us", "UTC"), "kinds": pl.List(pl.String)},
        orient="row",
    )  # fmt: skip
    return (
        frame.group_by("role", "party_key")
        .agg(
            pl.col("id").filter(pl.col("kinds").list.len() > 0).n_unique().alias("infringements"),
            pl.col("id").filter(pl.col("status") == "seized").n_unique().alias("seizures"),
            pl.col("kinds").list.explode(keep_nulls=False, empty_as_null=False).unique().sort().alias("kinds"),
            pl.col("at").max().alias("last_at"),
        )
        .select(list(OFFENDERS))
        .cast(OFFENDERS)  # type: ignore[arg-type]
    )


def decided_and_stopped(engine: sa.Engine, start: dt.datetime, as_of: dt.datetime) -> tuple[int, int]:
    """Consignments received in [start, as_of] that have a lane, and those of them stopped (yellow or red)."""
    c = t.consignments.c
    stop = sa.case((c.lane.in_(["yellow", "red"]), 1), else_=0)
    with engine.connect() as conn:
        decided, stopped = conn.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(stop), 0)).where(
                c.received_at >= start, c.received_at <= as_of, c.lane.is_not(None)
            )
        ).one()
    return int(decided), int(stopped)


def inspected_reasons(
    engine: sa.Engine, since: dt.datetime, until: dt.datetime
) -> Iterator[tuple[str, str, str, str, dt.datetime]]:
    """Inspections made in [since, until]: the consignment, the outcome, the reasons (JSON) of the decision of
    its current version, the party that answers for it (the seller's key, else the consignor's, else the
    consignment itself, so that a record can count one party's parcels as the one party they are, and a parcel
    whose parties are unknown as a party of its own), and when it was inspected."""
    c, d, i = t.consignments.c, t.decisions.c, t.inspections.c
    seller, consignor = t.party_keys.alias("seller"), t.party_keys.alias("consignor")
    query = (
        sa.select(i.consignment_id, i.outcome, d.reasons,
                  sa.func.coalesce(seller.c.key, consignor.c.key, c.id), i.at)
        .join(t.consignments, c.id == i.consignment_id)
        .join(t.decisions, sa.and_(d.consignment_id == c.id, d.version == c.version))
        .outerjoin(seller, sa.and_(seller.c.consignment_id == c.id, seller.c.role == "seller"))
        .outerjoin(consignor, sa.and_(consignor.c.consignment_id == c.id, consignor.c.role == "consignor"))
        .where(i.at >= since, i.at <= until)
    )  # fmt: skip
    with engine.connect() as conn:
        for cid, outcome, reasons, party, at in conn.execute(query):
            yield str(cid), str(outcome), reasons, str(party), as_utc(at)


def accepted_bodies(engine: sa.Engine, since: dt.datetime, until: dt.datetime, limit: int) -> list[str]:
    """The bodies of the most recent `limit` consignments received in [since, until) that were neither
    invalidated, seized nor found infringing."""
    c, v = t.consignments.c, t.consignment_versions.c
    query = (
        sa.select(v.body)
        .join(t.consignments, sa.and_(v.consignment_id == c.id, v.version == c.version))
        .where(c.received_at >= since, c.received_at < until,
               c.status.not_in(["invalidated", "seized"]), c.id.not_in(infringing()))
        .order_by(c.received_at.desc())
        .limit(limit)
    )  # fmt: skip
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(query)]
