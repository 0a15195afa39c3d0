"""The store's side of retention: which consignments are past the period, and personal data replaced where
it is kept (every version's body, the raw submissions, payers and appeals), by the cleaning the use case
gives (`services/retention.py` decides what is personal and how it is pseudonymised)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence

import sqlalchemy as sa

from clearway.store import accounts
from clearway.store import tables as t
from clearway.store.cooperation import forget_alert_names

_c, _v, _s = t.consignments.c, t.consignment_versions.c, t.submissions.c


def past_the_period(
    engine: sa.Engine, cutoff: dt.datetime, ended: Collection[str], open_case: Collection[str]
) -> tuple[list[str], int]:
    """Consignments not yet erased whose case ended (released, returned...) before `cutoff` and have no appeal
    to decide; and how many more are past it but kept because a case is open on them."""
    finished = sa.func.coalesce(_c.released_at, _c.updated_at)
    past = sa.and_(_c.erased_at.is_(None), finished < cutoff)
    with engine.connect() as conn:
        appealed = accounts.open_appeals(conn)  # an appeal to decide keeps the case open
        due = conn.execute(sa.select(_c.id).where(past, _c.status.in_(sorted(ended)), _c.id.not_in(appealed)))
        ids = [str(row.id) for row in due]
        still_open = sa.or_(
            _c.status.in_(sorted(open_case)), sa.and_(_c.status.in_(sorted(ended)), _c.id.in_(appealed))
        )
        kept_open = int(conn.execute(sa.select(sa.func.count()).where(past, still_open)).scalar_one())
    return ids, kept_open


def erase(
    engine: sa.Engine, ids: Sequence[str], *, body: Callable[[bytes], str], raw: Callable[[bytes], bytes],
    now: dt.datetime, cutoff: dt.datetime,
) -> None:  # fmt: skip
    """In one transaction: every version of these consignments cleaned by `body`, their raw submissions by
    `raw`, their payers and appeal grounds forgotten, and each marked erased at `now`."""
    with engine.begin() as conn:
        versions = conn.execute(sa.select(_v.consignment_id, _v.version, _v.body).where(_v.consignment_id.in_(ids)))
        for cid, version, text in versions.all():
            conn.execute(
                t.consignment_versions.update()
                .where(_v.consignment_id == cid, _v.version == version)
                .values(body=body(text if isinstance(text, bytes) else text.encode()))
            )
        for sid, kept in conn.execute(sa.select(_s.id, _s.raw).where(_s.consignment_id.in_(ids))).all():
            conn.execute(t.submissions.update().where(_s.id == sid).values(raw=raw(bytes(kept))))
        conn.execute(t.consignments.update().where(_c.id.in_(ids)).values(erased_at=now))
        accounts.forget_personal(conn, list(ids), cutoff)


def scrub_rejected(engine: sa.Engine, cutoff: dt.datetime, raw: Callable[[bytes], bytes], erased: bytes) -> int:
    """Rejected submissions received before `cutoff` (and not yet scrubbed) cleaned by `raw`; how many changed."""
    scrubbed = 0
    with engine.begin() as conn:
        rejected = conn.execute(
            sa.select(_s.id, _s.raw).where(_s.accepted.is_(False), _s.received_at < cutoff, _s.raw != erased)
        ).all()
        for sid, kept in rejected:
            clean = raw(bytes(kept))
            if clean != bytes(kept):
                conn.execute(t.submissions.update().where(_s.id == sid).values(raw=clean))
                scrubbed += 1
    return scrubbed


def forget_expired_names(engine: sa.Engine, now: dt.datetime, cutoff: dt.datetime) -> int:
    """Names expired risk alerts carried, and payers' names on payments older than `cutoff`, whatever they
    paid; returns how many alerts lost names."""
    with engine.begin() as conn:
        names = forget_alert_names(conn, now)
        accounts.forget_personal(conn, [], cutoff)
    return names
