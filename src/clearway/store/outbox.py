"""The transactional outbox: events read in the order they were stored, past a named cursor that moves only
once what was read is published."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import sqlalchemy as sa

from clearway.store import tables as t


def after_cursor(
    engine: sa.Engine, name: str, kinds: Collection[str], before: dt.datetime, limit: int
) -> list[tuple[int, str, str, str, dt.datetime, str]]:
    """Up to `limit` events of these kinds past the cursor `name`, stored before `before`, in order: their
    sequence number, id, consignment, kind, time and facts (JSON)."""
    e, o = t.events.c, t.outbox_cursors.c
    with engine.connect() as conn:
        cursor = conn.execute(sa.select(o.seq).where(o.name == name)).scalar_one_or_none() or 0
        rows = conn.execute(
            sa.select(e.seq, e.id, e.consignment_id, e.type, e.at, e.data)
            .where(e.seq > cursor, e.type.in_(list(kinds)), e.at <= before)
            .order_by(e.seq)
            .limit(limit)
        ).all()
    return [(int(r.seq), str(r.id), str(r.consignment_id), str(r.type), r.at, str(r.data)) for r in rows]


def move_cursor(engine: sa.Engine, name: str, seq: int) -> None:
    """The cursor `name` is past `seq`."""
    o = t.outbox_cursors.c
    with engine.begin() as conn:
        if not conn.execute(t.outbox_cursors.update().where(o.name == name).values(seq=seq)).rowcount:
            conn.execute(t.outbox_cursors.insert().values(name=name, seq=seq))
